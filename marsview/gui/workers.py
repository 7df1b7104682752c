"""The Qt side of background work (DESIGN.md "Threads"): ``JobBridge`` turns ``core.jobs`` futures into Qt
signals on the GUI thread, and ``Throttler`` rate-limits the changes that submit them.

The loop: a control changes -> ``Throttler.trigger()`` (leading + trailing edge, 40 ms) -> an immutable request
(``core.jobs.Request``: ``id`` + ``__call__(cancel)``, or a plain ``job(cancel)``) -> ``JobBridge.submit``,
which supersedes and cancels the older one -> ``finished(id, result, elapsed_ms)`` for the newest request only,
or ``failed(id, message, details)`` -- a worker exception is shown to the user, never swallowed; stale results
and cancellations are dropped. ``progress(id, fraction)`` follows ``cancel.progress``. The executor behind it is
a ``core.jobs.ThreadExecutor`` (one thread) or, with ``process=True``, a ``core.jobs_process.ProcessExecutor``
(one child process; ``set_context``, ``warm``). Call ``shutdown`` before the window goes away.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from marsview.core.jobs import Cancelled, JobFailed, ThreadExecutor, WorkerStartFailed, as_request

THROTTLE_MS = 40


def fix_emit_refcount() -> bool:
    """Work around a PySide6 6.12.0 bug on Python < 3.12: ``SignalInstance.emit`` returns True/False without a
    new reference, so every emit from Python drops one reference to the bool singleton and after a few
    hundred emits the interpreter aborts ("bool_dealloc: deallocating True or False"). Detected once with a
    probe signal; when present, ``emit`` is wrapped to add the missing reference. Returns True if patched."""
    import ctypes
    import sys

    from PySide6.QtCore import SignalInstance

    if getattr(SignalInstance.emit, "_marsview_fixed", False):
        return True

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = (sys.getrefcount(True), sys.getrefcount(False))
    for _ in range(8):
        probe.ping.emit()
    lost = (before[0] - sys.getrefcount(True), before[1] - sys.getrefcount(False))
    if max(lost) < 8:
        return False
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    for value, n in zip((True, False), lost):  # give back what the probe took
        for _ in range(max(n, 0)):
            incref(value)
    original = SignalInstance.emit

    def emit(self, *args):
        result = original(self, *args)
        incref(result)
        return result

    emit._marsview_fixed = True
    SignalInstance.emit = emit
    return True


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """(message, details) for the user: "Class: text" and the traceback; a ParseError or a lost worker process
    is a user message already (file:line: keyword: why), shown without the class name."""
    from marsview.io.errors import ParseError

    if isinstance(exc, JobFailed):  # raised in a child process: its class name, text and traceback came back
        return f"{exc.type_name}: {exc.text}", exc.details
    details = exc.details if hasattr(exc, "details") else "".join(traceback.format_exception(exc))
    if isinstance(exc, ParseError) or getattr(exc, "user_message", False):
        return str(exc), details
    return f"{type(exc).__name__}: {exc}", details


class JobBridge(QObject):
    """One executor's futures as signals on the GUI thread, for the newest request only:
    ``finished(request_id, result, elapsed_ms)``, ``failed(request_id, message, details)``,
    ``progress(request_id, fraction)``; ``warmed(child_ms)`` after a ``warm`` job."""

    finished = Signal(int, object, float)
    failed = Signal(int, str, str)
    progress = Signal(int, float)
    warmed = Signal(float)
    _arrived = Signal(object)  # a done JobFuture: worker thread -> GUI thread (queued)
    _progressed = Signal(int, float)

    def __init__(self, name: str = "job", parent=None, process: bool = False):
        super().__init__(parent)
        fix_emit_refcount()
        self.name = name
        self.process = process  # a child process (set_context, warm) rather than a thread
        if process:
            from marsview.core.jobs_process import ProcessExecutor

            self.executor = ProcessExecutor(name=f"marsview-{name}", label=f"{name} process")
        else:
            self.executor = ThreadExecutor(name=f"marsview-{name}", on_progress=self._emit_progress)
        self._latest_id = 0
        self._closed = False
        self.warm_ms = None  # the child's milliseconds for the last ``warm`` job
        # always through the event loop, even when a future is already done on submit (a start failure, a job
        # faster than add_done_callback): a result never re-enters the code that submitted it
        self._arrived.connect(self._deliver, Qt.QueuedConnection)
        self._progressed.connect(self._on_progress, Qt.QueuedConnection)

    @property
    def latest_id(self) -> int:
        return self._latest_id

    @property
    def busy(self) -> bool:
        return self.executor.busy

    @property
    def items(self):
        """What jobs ``post`` (e.g. the trade space's columns from the child), a thread-safe queue."""
        return self.executor.items

    def submit(self, job) -> int:
        """Run JOB (a request, or a plain ``job(cancel)``), superseding and cancelling every earlier one;
        returns its request id. After ``shutdown`` (a late signal while the window closes) nothing runs."""
        request = as_request(job)
        if self._closed:
            return request.id
        self._latest_id = request.id  # before submit: a start failure resolves the future at once
        future = self.executor.submit(request)
        future.add_done_callback(self._emit_arrived)
        return request.id

    def set_context(self, context) -> None:
        """The process executor's context (sent once, and again to a restarted child)."""
        self.executor.set_context(context)

    def warm(self, job) -> None:
        """Run JOB quietly in the child (start it first if needed); ``warm_ms``/``warmed`` when it is done. A start
        failure is reported through ``failed``; a real request supersedes the job at its next check."""
        if self._closed:
            return
        self.executor.post(job).add_done_callback(self._emit_arrived)

    def cancel(self) -> None:
        self.executor.cancel()
        self._latest_id = self.executor.latest_id  # anything in flight is now stale

    def begin_shutdown(self) -> None:
        """Cancel and ask a child process to stop without waiting (several then stop in parallel)."""
        if hasattr(self.executor, "begin_shutdown"):
            self.executor.begin_shutdown()
        else:
            self.cancel()

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Cancel and join (call before the window goes away); True when every job has finished. A process
        returns within about ``ProcessExecutor.SHUTDOWN_S`` + 1.5 s, a thread job at its next cancel check."""
        if self._closed:
            return True
        self._closed = True
        return self.executor.shutdown() if timeout_s is None else self.executor.shutdown(timeout_s)

    # --- worker side -> GUI thread -------------------------------------------------------------------------
    def _emit_arrived(self, future) -> None:
        if self._closed:
            return
        try:
            self._arrived.emit(future)
        except RuntimeError:  # the QObject was deleted while the job ran
            pass

    def _emit_progress(self, request_id: int, fraction: float) -> None:
        if not self._closed:
            try:
                self._progressed.emit(request_id, fraction)
            except RuntimeError:
                pass

    def _on_progress(self, request_id: int, fraction: float) -> None:
        if not self._closed and request_id == self._latest_id:
            self.progress.emit(request_id, fraction)

    def _deliver(self, future) -> None:
        if self._closed or future.cancelled():
            return
        exc = future.exception()
        if future.quiet:
            if exc is None:
                self.warm_ms = future.elapsed_ms
                self.warmed.emit(future.elapsed_ms)
            elif isinstance(exc, WorkerStartFailed):
                self.failed.emit(self._latest_id, *describe_failure(exc))
            return
        if future.id != self._latest_id or isinstance(exc, Cancelled):
            return  # stale: a newer request exists, or it was cancelled
        if exc is None:
            self.finished.emit(future.id, future.result(), future.elapsed_ms)
        else:
            self.failed.emit(future.id, *describe_failure(exc))


class Throttler(QObject):
    """Leading + trailing edge rate limiter (pyqtgraph's ``SignalProxy`` with a leading edge):
    ``trigger()`` as often as you like, ``fired`` at most once per interval, and always once after the last
    trigger."""

    fired = Signal()

    def __init__(self, interval_ms: int = THROTTLE_MS, parent=None):
        super().__init__(parent)
        fix_emit_refcount()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timeout)
        self._pending = False

    def trigger(self) -> None:
        if self._timer.isActive():
            self._pending = True  # trailing edge will fire
            return
        self._pending = False
        self._timer.start()
        self.fired.emit()  # leading edge

    def _on_timeout(self) -> None:
        if self._pending:
            self._pending = False
            self._timer.start()
            self.fired.emit()

    def stop(self) -> None:
        self._timer.stop()
        self._pending = False
