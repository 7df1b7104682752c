"""Background work, Qt-free: one ``Cancelled`` exception, a cancel token, a request protocol and executors that
run requests on a thread or in a child process behind the same interface (DESIGN.md "Threads").

- A **request** is an immutable snapshot of a job's inputs with an ``id`` and ``__call__(cancel)`` (napari's
  slice requests have the same shape). ``Call(fn, *args)`` makes one from a function: ``fn(*args, cancel)``;
  ``submit`` wraps a plain ``job(cancel)`` callable the same way.
- The **cancel token** is what a job polls between chunks: ``cancel()`` / ``cancel.is_set()`` -> bool,
  ``cancel.check()`` raises ``Cancelled``; ``cancel.progress(fraction)`` and ``cancel.post(item)`` send progress
  and partial results back (``post`` puts into the executor's ``items`` queue, whichever side the job runs on).
  Core kernels take it as their ``cancel`` callable and raise ``Cancelled`` (or one of its subclasses:
  ``PropagationCancelled``, ``ScreeningCancelled``, ``MonteCarloCancelled``) when it turns true.
- An **executor** returns a ``JobFuture`` (a ``concurrent.futures.Future`` with ``id``, ``elapsed_ms`` and its
  token). With ``latest_wins`` (the default) submitting cancels every older future: one not started never runs,
  a running one sees its token set and stops at its next check; its future ends ``Cancelled``. ``cancel()``
  cancels everything in flight; ``shutdown(timeout_s)`` cancels and joins. ``ThreadExecutor`` runs requests on a
  pool of threads (one by default; ``latest_wins=False`` gives a plain FIFO or parallel lane);
  ``ProcessExecutor`` (``core.jobs_process``) runs them in one spawned child process.

The GUI turns futures into Qt signals on its own thread (``marsview.gui.workers.JobBridge``); the CLI and the
tests can wait on the futures directly.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any, Callable, Protocol, runtime_checkable


class Cancelled(Exception):
    """A job stopped because its request was superseded or cancelled (raised between chunks). Core's older
    names (``PropagationCancelled``, ``ScreeningCancelled``, ``MonteCarloCancelled``) are subclasses."""


class JobFailed(Exception):
    """A job failed where its exception could not travel (a child process): the exception's class name, its
    text and the formatted traceback."""

    def __init__(self, type_name: str, text: str, details: str = ""):
        super().__init__(text)
        self.type_name, self.text, self.details = type_name, text, details


class WorkerLost(RuntimeError):
    """The worker process died while jobs were in flight (or could not start): the message is for the user;
    DETAILS, the traceback of a start failure."""

    user_message = True

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


class WorkerStartFailed(WorkerLost):
    """The worker process could not be started; the next request tries again."""


_REQUEST_IDS = itertools.count(1)


def new_request_id() -> int:
    """A process-wide increasing id (itertools.count is atomic under the GIL)."""
    return next(_REQUEST_IDS)


@runtime_checkable
class Request(Protocol):
    """What an executor runs: ``id`` (unique, increasing) and ``__call__(cancel) -> result``. For the process
    executor it must pickle (a top-level class or function)."""

    id: int

    def __call__(self, cancel: CancelToken) -> Any: ...


class Call:
    """A request from a function: ``fn(*args, cancel)``. Picklable when FN and ARGS are."""

    def __init__(self, fn: Callable, *args):
        self.id = new_request_id()
        self.fn, self.args = fn, args

    def __call__(self, cancel):
        return self.fn(*self.args, cancel)

    def __repr__(self) -> str:
        return f"Call#{self.id}({getattr(self.fn, '__qualname__', self.fn)!r})"


def as_request(job) -> Request:
    """JOB itself when it has an ``id``; a plain ``job(cancel)`` callable wrapped in a ``Call``."""
    if hasattr(job, "id") and callable(job):
        return job
    if not callable(job):
        raise TypeError(f"a job must be callable as job(cancel), got {type(job).__name__}")
    return Call(job)


class CancelToken:
    """A job's line to its owner: is it cancelled (``token()``, ``is_set()``, ``check()``), and how far along it
    is (``progress(fraction)``, ``post(item)``)."""

    def __init__(self, progress: Callable[[float], None] | None = None, post: Callable[[Any], None] | None = None):
        self._event = threading.Event()
        self._progress, self._post = progress, post

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        return self.is_set()

    def check(self) -> None:
        if self.is_set():
            raise Cancelled()

    def progress(self, fraction: float) -> None:
        if self._progress is not None:
            self._progress(float(fraction))

    def post(self, item) -> None:
        if self._post is not None:
            self._post(item)


class JobFuture(Future):
    """A Future with the request's ``id``, its cancel ``token``, ``elapsed_ms`` (time in the job itself, set
    before the result) and ``quiet`` (a background job nobody waits for, e.g. a warm-up)."""

    def __init__(self, request_id: int, token: CancelToken | None = None, quiet: bool = False):
        super().__init__()
        self.id = request_id
        self.token = token
        self.quiet = quiet
        self.elapsed_ms = 0.0

    def stop(self) -> None:
        """Cancel: never started -> never runs; running -> its token is set and it stops at its next check."""
        if self.token is not None:
            self.token.set()
        self.cancel()

    def resolve(self, result=None, exc: BaseException | None = None, elapsed_ms: float = 0.0) -> bool:
        """Set the outcome unless the future is already done (cancelled meanwhile); True when set."""
        self.elapsed_ms = elapsed_ms
        try:
            if exc is not None:
                self.set_exception(exc)
            else:
                self.set_result(result)
        except InvalidStateError:
            return False
        return True


def run_request(request, token) -> tuple[Any, float]:
    """REQUEST(TOKEN) timed: (result, elapsed_ms). Exceptions propagate."""
    t0 = time.perf_counter()
    result = request(token)
    return result, (time.perf_counter() - t0) * 1000.0


class ThreadExecutor:
    """Requests on a pool of ``max_workers`` threads. ``latest_wins``: each submit cancels every older future
    (the drag-to-recompute loop, loading, screening); otherwise jobs run FIFO (or in parallel) to the end.
    ``on_progress(request_id, fraction)`` receives ``cancel.progress`` calls (on the worker thread)."""

    def __init__(self, name: str = "marsview-job", latest_wins: bool = True, max_workers: int = 1,
                 on_progress: Callable[[int, float], None] | None = None):
        self.name = name
        self.latest_wins = latest_wins
        self.on_progress = on_progress
        self.items = queue.Queue()  # what jobs ``post``: partial results, in order
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._futures: list[JobFuture] = []
        self._latest_id = 0
        self._closed = False

    @property
    def latest_id(self) -> int:
        return self._latest_id

    @property
    def busy(self) -> bool:
        with self._lock:
            return any(not f.done() for f in self._futures)

    def submit(self, job) -> JobFuture:
        request = as_request(job)
        rid = request.id
        token = CancelToken(progress=(lambda f: self._progress(rid, f)), post=self.items.put)
        future = JobFuture(rid, token)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name}: the executor is shut down")
            if self.latest_wins:
                for old in self._futures:
                    old.stop()
            self._futures = [f for f in self._futures if not f.done()] + [future]
            self._latest_id = rid
            self._pool.submit(self._run, future, request, token)
        return future

    def _progress(self, rid: int, fraction: float) -> None:
        if self.on_progress is not None:
            self.on_progress(rid, fraction)

    @staticmethod
    def _run(future: JobFuture, request, token: CancelToken) -> None:
        if not future.set_running_or_notify_cancel():
            return  # cancelled before it started
        if token.is_set():
            future.resolve(exc=Cancelled())
            return
        try:
            result, ms = run_request(request, token)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the future's owner, traceback and all
            future.resolve(exc=Cancelled() if token.is_set() and not isinstance(exc, Cancelled) else exc)
            return
        if token.is_set():
            future.resolve(exc=Cancelled())
        else:
            future.resolve(result, elapsed_ms=ms)

    def cancel(self) -> None:
        """Cancel everything submitted so far (a result that still arrives is ``Cancelled``)."""
        with self._lock:
            for f in self._futures:
                f.stop()
            self._latest_id = new_request_id()  # anything still in flight is stale

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Cancel and join; True when every job has finished within TIMEOUT_S."""
        with self._lock:
            self._closed = True
            futures = list(self._futures)
        self.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        _, not_done = wait_futures(futures, timeout=timeout_s)
        return not not_done
