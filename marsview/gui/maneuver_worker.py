"""The drag-to-recompute loop (DESIGN.md "Threads"): throttle, immutable request with an id, one worker thread,
a newer request supersedes and cancels the older one, stale results are dropped, errors are shown.

``Throttler`` fires on the leading edge and once more on the trailing edge of a burst of changes, so the first
value is computed at once and the last value is never lost. ``LatestWorker`` runs ``fn(request, cancel)`` on a
single background thread; ``cancel`` is a ``CancelToken`` the kernel checks between chunks.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal

THROTTLE_MS = 40


class Cancelled(Exception):
    """Raised inside a kernel when its request was superseded."""


class CancelToken:
    """A cancel flag usable as ``token()`` (callable -> bool), ``token.is_set()`` or ``token.check()``."""

    def __init__(self):
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    __call__ = is_set

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass(frozen=True)
class Request:
    """An immutable snapshot of the inputs of one recomputation."""

    request_id: int
    payload: Any


class Throttler(QObject):
    """Leading + trailing edge rate limiter: ``trigger()`` as often as you like, ``fired`` at most once per
    interval, and always once after the last trigger."""

    fired = Signal()

    def __init__(self, interval_ms: int = THROTTLE_MS, parent=None):
        super().__init__(parent)
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


class LatestWorker(QObject):
    """Single-thread executor for the newest request only. Signals arrive on the GUI thread (queued):
    ``finished(request_id, result, elapsed_ms)`` for the newest request, ``failed(request_id, message, details)``.
    Results of superseded requests are dropped here, never emitted."""

    finished = Signal(int, object, float)
    failed = Signal(int, str, str)
    _done = Signal(int, object, float, str, str)  # worker thread -> GUI thread

    def __init__(self, parent=None):
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="marsview-maneuver")
        self._ids = itertools.count(1)
        self._latest_id = 0
        self._current: tuple[Future, CancelToken] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._done.connect(self._on_done)

    @property
    def latest_id(self) -> int:
        return self._latest_id

    @property
    def busy(self) -> bool:
        cur = self._current
        return cur is not None and not cur[0].done()

    def submit(self, payload, fn: Callable[[Any, CancelToken], Any]) -> int:
        """Run fn(payload, cancel) in the background, superseding (and cancelling) any earlier request."""
        if self._closed:
            raise RuntimeError("worker is shut down")
        request = Request(next(self._ids), payload)
        token = CancelToken()
        with self._lock:
            if self._current is not None:
                old_future, old_token = self._current
                old_token.set()
                old_future.cancel()  # not started yet -> never runs
            self._latest_id = request.request_id
            future = self._executor.submit(self._run, request, fn, token)
            self._current = (future, token)
        return request.request_id

    def _run(self, request: Request, fn, token: CancelToken) -> None:
        timer = QElapsedTimer()
        timer.start()
        try:
            if token.is_set():
                return
            result = fn(request.payload, token)
        except Cancelled:
            return
        except Exception as exc:  # shown to the user by the GUI, never swallowed
            if not token.is_set():
                self._emit(request.request_id, None, 0.0, f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return
        if not token.is_set():
            self._emit(request.request_id, result, float(timer.nsecsElapsed()) / 1e6, "", "")

    def _emit(self, *args) -> None:
        if not self._closed:
            try:
                self._done.emit(*args)
            except RuntimeError:  # the QObject was deleted while we computed
                pass

    def _on_done(self, request_id: int, result, elapsed_ms: float, message: str, details: str) -> None:
        if self._closed or request_id != self._latest_id:
            return  # stale: a newer request exists
        if message:
            self.failed.emit(request_id, message, details)
        else:
            self.finished.emit(request_id, result, elapsed_ms)

    def cancel(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current[1].set()
                self._current[0].cancel()
            self._latest_id = next(self._ids)  # anything in flight is now stale

    def shutdown(self) -> None:
        """Cancel and join: call before the window goes away."""
        if self._closed:
            return
        self.cancel()
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
