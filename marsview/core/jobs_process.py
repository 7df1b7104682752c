"""``ProcessExecutor``: ``core.jobs``' latest-wins executor over one spawned child process.

Why a process: a worker *thread* running Python (screening, DOP853 right-hand sides, scipy) holds the GIL, and
every Qt call of the GUI thread must win it back; a child process removes that contention. What it keeps:

- only pipes and two lock-free shared integers cross the process boundary (no ``ProcessPoolExecutor``, no
  ``multiprocessing.Queue``: no semaphores a SIGTERM could leak, no queue feeder a closing window waits on); a
  sender thread keeps large contexts off the caller's thread, a reader thread resolves the futures;
- a **context** (``set_context``: e.g. the scenario's targets and baseline screening) is sent once per change
  and again to a restarted child; requests then carry only what changes. In the child, ``child_context()`` is
  it and ``child_cache()`` a dict that lives as long as it;
- cancellation: the newest request id sits in a shared integer; the child's token compares its own id with it,
  so a superseded computation stops at its next check. A **quiet** job (``post``: a warm-up) gives way only to
  a newer ``submit``, not to ``cancel()``;
- the child asks the kernel to SIGTERM it when the parent dies (``PR_SET_PDEATHSIG``), ignores SIGINT (the
  parent's to handle), is started on first use, restarted by the next request after it died or failed to
  start (the in-flight futures fail with ``WorkerLost`` / ``WorkerStartFailed``, messages for the user), and
  stopped by ``shutdown`` within about ``SHUTDOWN_S`` (asked, then terminated, then killed).
"""

from __future__ import annotations

import itertools
import queue
import threading
import traceback

from .jobs import (Cancelled, CancelToken, JobFailed, JobFuture, WorkerLost, WorkerStartFailed, as_request,
                   new_request_id, run_request)

# --- the child's side ---------------------------------------------------------------------------------------

_CHILD: dict = {}


def child_context():
    """In the child: the context last sent by ``ProcessExecutor.set_context`` (None before any)."""
    return _CHILD.get("context")


def child_cache() -> dict:
    """In the child: a scratch dict emptied whenever a new context arrives (e.g. integrated burn arcs)."""
    return _CHILD.setdefault("cache", {})


class _ChildToken(CancelToken):
    """Set once a newer request than REQUEST_ID was submitted or ``cancel()`` was called (the shared latest id
    moved); ``post`` and ``progress`` go back over the result pipe."""

    def __init__(self, request_id: int):
        super().__init__()
        self.request_id = request_id

    def is_set(self) -> bool:
        return _CHILD["latest"].value != self.request_id

    def __call__(self) -> bool:
        return self.is_set()

    def post(self, item) -> None:
        _CHILD["conn"].send(("item", item))

    def progress(self, fraction: float) -> None:
        self.post((self.request_id, "progress", float(fraction), None))


class _QuietToken(_ChildToken):
    """Set once a request newer than the one that was newest when the quiet job was posted is submitted (a
    warm-up gives way to a real request, not to ``cancel()``)."""

    def is_set(self) -> bool:
        requests = _CHILD.get("requests")
        return requests is not None and requests.value != self.request_id


def _die_with_parent() -> None:
    """Linux: have the kernel send SIGTERM to this process when its parent dies (no orphan keeps computing)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child_main(conn, latest, requests) -> None:
    """The child: messages from CONN one at a time until None or EOF. ("context", ctx) replaces the context;
    ("job", job_id, request, quiet_at) runs REQUEST and replies ("done", job_id, result, elapsed_ms, error)
    with error None, ("Cancelled",) or (class name, text, traceback)."""
    import signal

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it then stops us
    _CHILD.update(conn=conn, latest=latest, requests=requests, context=None, cache={})
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if msg is None:
            return
        if msg[0] == "context":
            _CHILD.update(context=msg[1], cache={})
            continue
        _, job_id, request, quiet_at = msg
        token = _ChildToken(request.id) if quiet_at is None else _QuietToken(quiet_at)
        out, ms, err = None, 0.0, None
        try:
            out, ms = run_request(request, token)
        except Cancelled:
            err = ("Cancelled",)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent, with its traceback
            err = (type(exc).__name__, str(exc), "".join(traceback.format_exception(exc)))
        try:
            conn.send(("done", job_id, out, ms, err))
        except (OSError, ValueError):
            return


# --- the parent's side --------------------------------------------------------------------------------------

class ProcessExecutor:
    """``ThreadExecutor``'s interface (submit -> JobFuture, cancel, busy, latest_id, items, shutdown) over one
    spawned child (see the module docstring); plus ``set_context``, ``post`` (quiet jobs), ``pid``, ``alive()``,
    ``restarts``. LABEL names the process in the user-facing messages ("the planning process stopped ...")."""

    SHUTDOWN_S = 2.0

    def __init__(self, name: str = "marsview-worker", label: str = "worker process"):
        import multiprocessing as mp

        self.name, self.label = name, label
        self._mp = mp.get_context("spawn")  # never fork a process that runs (Qt) threads
        self._latest_shared = self._mp.RawValue("q", 0)
        self._requests_shared = self._mp.RawValue("q", 0)  # the newest submitted request (not bumped by cancel)
        self.items: queue.Queue = queue.Queue()  # what jobs ``post`` (partial results, progress), in order
        self._job_ids = itertools.count(1)
        self._latest_id = 0
        self._pending: dict[int, JobFuture] = {}
        self._lock = threading.Lock()
        self._proc = self._conn = self._outbox = None
        self._context = None
        self._has_context = False
        self._closed = False
        self._stop_sent = False
        self.restarts = 0

    @property
    def latest_id(self) -> int:
        return self._latest_id

    @property
    def busy(self) -> bool:
        with self._lock:
            return any(not f.quiet for f in self._pending.values())

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    # --- the child's life ------------------------------------------------------------------------------
    def _spawn(self):
        """Start the child; returns (process, parent end of the pipe). Raises OSError/RuntimeError on failure."""
        parent_conn, child_conn = self._mp.Pipe()
        proc = self._mp.Process(target=_child_main, args=(child_conn, self._latest_shared, self._requests_shared),
                                daemon=True, name=self.name)
        proc.start()
        child_conn.close()
        return proc, parent_conn

    def _ensure_started(self) -> None:
        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            return
        if self._proc is not None:
            self.restarts += 1  # it died: start a fresh one (the context is sent again below)
        self._stop_child(0.0)
        self._proc, self._conn = self._spawn()
        outbox = self._outbox = queue.Queue()
        conn = self._conn
        threading.Thread(target=self._send_loop, args=(conn, outbox), daemon=True,
                         name=self.name + "-send").start()
        threading.Thread(target=self._read_loop, args=(conn, self._proc), daemon=True,
                         name=self.name + "-read").start()
        if self._has_context:
            outbox.put(("context", self._context))

    def _start_or_fail(self, future: JobFuture) -> bool:
        """Start the child if needed; on failure resolve FUTURE with ``WorkerStartFailed`` and return False."""
        try:
            self._ensure_started()
        except (OSError, RuntimeError, ValueError) as exc:
            self._stop_child(0.0)
            self._proc = self._conn = None
            self.restarts += 1
            future.resolve(exc=WorkerStartFailed(
                f"the {self.label} could not start ({type(exc).__name__}: {exc}); it is tried again on the next "
                "change", "".join(traceback.format_exception(exc))))
            return False
        return True

    @staticmethod
    def _send_loop(conn, outbox) -> None:
        while True:
            msg = outbox.get()
            try:
                conn.send(msg)  # None tells the child to stop
            except (OSError, ValueError, EOFError):
                return  # the child died: the reader reports it
            if msg is None:
                return

    def _read_loop(self, conn, proc) -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError, ValueError):
                break
            if msg[0] == "item":
                self.items.put(msg[1])
                continue
            _, job_id, out, ms, err = msg
            with self._lock:
                future = self._pending.pop(job_id, None)
            if future is None:
                continue
            if err is None:
                future.resolve(out, elapsed_ms=float(ms))
            elif err[0] == "Cancelled":
                future.resolve(exc=Cancelled())
            else:
                future.resolve(exc=JobFailed(*err))
        # the pipe closed: a deliberate stop, or the child died
        with self._lock:
            lost = list(self._pending.values())
            self._pending.clear()
        if self._closed or proc is not self._proc:
            for f in lost:
                f.resolve(exc=Cancelled())
            return
        proc.join(0.5)
        code = proc.exitcode
        for f in lost:
            f.resolve(exc=WorkerLost(f"the {self.label} stopped unexpectedly (exit code {code}); it restarts on "
                                     "the next change"))

    def _send(self, future: JobFuture, request, quiet_at: int | None) -> JobFuture:
        job_id = next(self._job_ids)
        with self._lock:
            self._pending[job_id] = future
        self._outbox.put(("job", job_id, request, quiet_at))
        return future

    # --- requests --------------------------------------------------------------------------------------
    def set_context(self, context) -> None:
        """The child's ``child_context()`` from now on (re-sent to a restarted child)."""
        self._context, self._has_context = context, True
        if self._proc is not None and self._proc.is_alive() and self._outbox is not None:
            self._outbox.put(("context", context))

    def submit(self, job) -> JobFuture:
        """Run the request in the child, superseding (and cancelling) every earlier one."""
        if self._closed:
            raise RuntimeError(f"{self.name}: the executor is shut down")
        request = as_request(job)
        rid = request.id
        future = JobFuture(rid)
        self._latest_id = rid
        self._latest_shared.value = rid  # the running request sees it and stops at its next check
        self._requests_shared.value = rid
        if not self._start_or_fail(future):
            return future
        return self._send(future, request, None)

    def post(self, job) -> JobFuture:
        """Start the child if needed and run a quiet job there (a warm-up): not a request (``busy`` ignores it),
        cancelled only by a newer ``submit`` at its next check."""
        request = as_request(job)
        future = JobFuture(request.id, quiet=True)
        if self._closed:
            future.resolve(exc=Cancelled())
            return future
        if not self._start_or_fail(future):
            return future
        return self._send(future, request, self._requests_shared.value)

    def cancel(self) -> None:
        self._latest_id = new_request_id()
        self._latest_shared.value = self._latest_id

    def _stop_child(self, timeout_s: float) -> None:
        """Ask the child to stop (cancel + end of input), then terminate, then kill; close the pipe."""
        proc, conn, outbox = self._proc, self._conn, self._outbox
        if outbox is not None and not self._stop_sent:
            outbox.put(None)  # after what is queued: the child stops once its job is done or cancelled
        self._stop_sent = False
        if proc is not None:
            proc.join(timeout_s)
            if proc.is_alive():
                proc.terminate()
                proc.join(max(timeout_s, 0.5))
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
            try:
                proc.close()
            except ValueError:
                pass
        if conn is not None:
            conn.close()  # the child is gone: the reader thread has seen EOF
        self._proc = self._conn = self._outbox = None

    def begin_shutdown(self) -> None:
        """Cancel and ask the child to stop without waiting (several executors then stop in parallel)."""
        if self._closed or self._stop_sent:
            return
        self.cancel()
        self._requests_shared.value = -1  # a quiet job in progress stops too
        if self._outbox is not None:
            self._outbox.put(None)
            self._stop_sent = True

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Cancel and stop the child; returns within about ``SHUTDOWN_S`` + 1.5 s whatever it was doing."""
        if self._closed:
            return True
        self.begin_shutdown()
        self._closed = True
        self._stop_child(self.SHUTDOWN_S if timeout_s is None else timeout_s)
        with self._lock:
            lost = list(self._pending.values())
            self._pending.clear()
        for f in lost:
            f.resolve(exc=Cancelled())
        return True
