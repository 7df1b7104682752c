"""Off-GUI-thread work with request ids (DESIGN.md thread rules).

``TaskLane`` runs one kind of job (load, screen, plot) on its own single-thread pool. Submitting a job
cancels the one before it (a cancel flag the kernel polls between chunks); each result comes back to the GUI
thread through a queued signal with its request id, and results whose id is not the lane's latest are dropped.
A worker exception arrives as ``failed(request_id, message, details)`` -- never swallowed.
"""

from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


class _Relay(QObject):
    # emitted from the worker thread; Qt queues delivery to the receiver living on the GUI thread
    done = Signal(int, object)
    error = Signal(int, str, str)
    progress = Signal(int, float)


class _Job(QRunnable):
    def __init__(self, relay, request_id, fn, cancel_event):
        super().__init__()
        self.setAutoDelete(True)
        self.relay, self.request_id, self.fn, self.cancel_event = relay, request_id, fn, cancel_event

    def run(self):
        if self.cancel_event.is_set():
            return
        try:
            result = self.fn(self.cancel_event.is_set, lambda f: self.relay.progress.emit(self.request_id, f))
        except Exception as exc:  # reported to the user by the lane's owner
            if not self.cancel_event.is_set():
                # a ParseError is a user message already (file:line: keyword: why): no class name in front
                text = str(exc) if _is_user_message(exc) else f"{type(exc).__name__}: {exc}"
                self.relay.error.emit(self.request_id, text, traceback.format_exc())
            return
        if not self.cancel_event.is_set():
            self.relay.done.emit(self.request_id, result)


def _is_user_message(exc) -> bool:
    from marsview.io.errors import ParseError

    return isinstance(exc, ParseError)


class TaskLane(QObject):
    """finished(request_id, result) / failed(request_id, message, details) / progress(request_id, fraction),
    all on the GUI thread and only for the latest request."""

    finished = Signal(int, object)
    failed = Signal(int, str, str)
    progress = Signal(int, float)

    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self.name = name
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = _Relay()
        self._relay.done.connect(self._on_done)
        self._relay.error.connect(self._on_error)
        self._relay.progress.connect(self._on_progress)
        self._latest = 0
        self._cancel = None
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self.pool.activeThreadCount() > 0

    @property
    def latest_id(self) -> int:
        return self._latest

    def submit(self, fn) -> int:
        """Run fn(cancelled: () -> bool, progress: (float) -> None) in the lane; supersedes the previous job."""
        with self._lock:
            if self._cancel is not None:
                self._cancel.set()
            self._latest += 1
            self._cancel = threading.Event()
            job = _Job(self._relay, self._latest, fn, self._cancel)
        self.pool.start(job)
        return self._latest

    def cancel(self) -> None:
        with self._lock:
            if self._cancel is not None:
                self._cancel.set()
            self._latest += 1  # anything still in flight is now stale

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel and join (call from closeEvent). True when every job finished."""
        self.cancel()
        self.pool.clear()
        return self.pool.waitForDone(timeout_ms)

    @Slot(int, object)
    def _on_done(self, request_id, result):
        if request_id == self._latest:
            self.finished.emit(request_id, result)

    @Slot(int, str, str)
    def _on_error(self, request_id, message, details):
        if request_id == self._latest:
            self.failed.emit(request_id, message, details)

    @Slot(int, float)
    def _on_progress(self, request_id, fraction):
        if request_id == self._latest:
            self.progress.emit(request_id, fraction)
