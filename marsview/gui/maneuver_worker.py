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


class LatestWorker(QObject):
    """Single-thread executor for the newest request only. Signals arrive on the GUI thread (queued):
    ``finished(request_id, result, elapsed_ms)`` for the newest request, ``failed(request_id, message, details)``.
    Results of superseded requests are dropped here, never emitted."""

    finished = Signal(int, object, float)
    failed = Signal(int, str, str)
    _done = Signal(int, object, float, str, str)  # worker thread -> GUI thread

    def __init__(self, parent=None):
        super().__init__(parent)
        fix_emit_refcount()
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


# --- the planning job (Qt-free; runs on the worker thread) ----------------------------------------------------

@dataclass(frozen=True)
class PlanRequest:
    """Everything one recomputation needs, frozen at submit time. ``arc_cache`` is a dict only the single
    worker thread touches (burn arcs are reused while only dv changes)."""

    spacecraft: str
    burns: tuple  # model.plan.PlannedBurn
    targets: tuple  # core.screening.ScreeningTarget, spacecraft with its unplanned ephemeris
    baseline: Any  # core.screening.ScreeningResult without the plan
    force_model: Any
    stop_tdb_s: float
    targeted: tuple | None = None  # (other name, old TCA TDB s)
    exact: bool = False
    arc_cache: dict | None = None
    preview: bool | None = None  # None: preview only when the compiled dynamics (core.kernels) are unavailable
    method: str = "differential"  # core.planning.PLAN_METHODS: delivered + our difference, or ours alone


@dataclass(frozen=True)
class PlanOutcome:
    request: PlanRequest
    planned: Any  # Ephemeris of the spacecraft with the plan (the base itself without burns)
    result: Any  # merged ScreeningResult with the plan
    changes: tuple  # core.planning.EventChange, the spacecraft's encounters before/after
    targeted_before: Any
    targeted_after: tuple | None  # (tca_tdb_s, miss_km, relative_speed_kms, event or None)
    mode: str  # "none", "preview" or "exact"
    model_mismatch_km: float | None = None  # |delivered - our unburned propagation| at the plan's end (the correction)
    outside: tuple = ()  # (status, other, tca_tdb_s, miss_km): the other side of a NEW/REMOVED row, above threshold
    planned_samples: tuple | None = None  # (burn epoch, epochs, planned - delivered states) from a child process

    @property
    def new_events(self) -> tuple:
        return tuple(c for c in self.changes if c.status == "new")


def compute_plan(req: PlanRequest, cancel: CancelToken) -> PlanOutcome:
    """Planned trajectory (preview from a cached BurnArc for one impulsive burn, else exact), re-screen of the
    spacecraft's pairs only, before/after comparison and the targeted encounter's new miss."""
    from dataclasses import replace as _replace

    from marsview.core import planning

    base = next(t.ephemeris for t in req.targets if t.name == req.spacecraft)
    burns = [b for b in req.burns if b.is_finite or any(b.dv_mps)]
    mode = "none"
    if not burns:
        planned, result = base, req.baseline
    else:
        preview = req.preview
        if preview is None:  # with numba an exact week of zonal dynamics takes ~0.1 s: no need to approximate
            from marsview.core.dynamics import jit_enabled

            preview = not jit_enabled()
        if preview and not req.exact and len(burns) == 1 and not burns[0].is_finite:
            b = burns[0]
            stop = min(req.stop_tdb_s, base.coverage[1])
            key = (req.spacecraft, id(base), b.epoch_tdb_s, b.frame, req.force_model, stop, req.method)
            cache = req.arc_cache if req.arc_cache is not None else {}
            arc = cache.get(key)
            if arc is None:
                arc = planning.BurnArc(base, b.epoch_tdb_s, b.frame, req.force_model, stop_tdb_s=stop,
                                       cancel=cancel, method=req.method)
                cache.clear()  # one arc at a time: they hold a week of dense output
                cache[key] = arc
            planned, mode = arc.ephemeris(b.dv_mps), "preview"
        else:
            planned = planning.planned_ephemeris(base, [x.to_core() for x in burns], req.force_model,
                                                 stop_tdb_s=min(req.stop_tdb_s, base.coverage[1]), cancel=cancel,
                                                 method=req.method)
            mode = "exact"
        cancel.check()
        targets = [_replace(t, ephemeris=planned) if t.name == req.spacecraft else t for t in req.targets]
        result = planning_rescreen(req.baseline, targets, req.spacecraft, cancel)
    changes = tuple(planning.compare_events(req.baseline.events, result.events, req.spacecraft))
    before = after = None
    if req.targeted is not None:
        other, tca = req.targeted
        before = planning.find_event(req.baseline.events, req.spacecraft, other, tca)
        event = planning.find_event(result.events, req.spacecraft, other, tca)
        if event is not None:
            after = (event.tca_tdb_s, event.miss_km, event.relative_speed_kms, event)
        else:  # moved above the threshold: find the closest approach anyway
            other_eph = next(t.ephemeris for t in req.targets if t.name == other)
            after = (*planning.refine_encounter(planned, other_eph, tca), None)
    outside = _outside_threshold(changes, planned, base, req.targets) if burns else ()
    return PlanOutcome(req, planned, result, changes, before, after, mode, getattr(planned, "model_mismatch_km", None),
                       outside)


def _outside_threshold(changes, planned, base, targets) -> tuple:
    """For each REMOVED row, the closest approach the plan leaves (its after-miss, above the threshold); for
    each NEW row, the delivered trajectory's closest approach there (its before-miss)."""
    from marsview.core.planning import refine_encounter

    ephs = {t.name: t.ephemeris for t in targets}
    out = []
    for c in changes:
        if c.status not in ("gone", "new") or c.other not in ephs:
            continue
        ev = c.before if c.status == "gone" else c.after
        mine = planned if c.status == "gone" else base
        try:
            tca, miss, _ = refine_encounter(mine, ephs[c.other], ev.tca_tdb_s)
        except ValueError:
            continue
        out.append((c.status, c.other, tca, miss))
    return tuple(out)


def planned_samples(planned, step_s: float = 60.0):
    """(burn epoch, epochs, planned - delivered states) after the burn, every STEP_S: a compact, smooth form of
    the planned trajectory for the GUI (3D ghost, distance plot); ``planned_from_samples`` rebuilds it."""
    import numpy as np

    t_burn = float(planned.burn_epoch_tdb_s)
    stop = float(planned.coverage[1])
    t = np.unique(np.concatenate([np.arange(t_burn, stop, step_s), [stop]]))
    return t_burn, t, planned.state(t) - planned.base.state(t)


def planned_from_samples(base, samples, source: str = "planned"):
    """The planned trajectory as delivered + interpolated difference (core.planning.PlannedEphemeris)."""
    from marsview.core.planning import PlannedEphemeris
    from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment

    t_burn, t, delta = samples
    if t.size < 2:
        return None
    table = TabulatedEphemeris(base.name, [TabulatedSegment(t, delta, "LAGRANGE", min(7, t.size - 1))])
    eph = PlannedEphemeris(base.name, base, t_burn, float(t[-1]), lambda x: base.state(x) + table.state(x), source)
    eph.from_samples = True  # for display; exports recompute the exact trajectory
    return eph


def planning_rescreen(baseline, targets, name, cancel):
    from marsview.core.screening import ScreeningCancelled, rescreen

    try:
        return rescreen(baseline, targets, name, cancel=cancel)
    except ScreeningCancelled as exc:
        raise Cancelled() from exc


# --- the same loop in a child process ---------------------------------------------------------------------
# A worker *thread* running Python (screening, DOP853 right-hand sides) holds the GIL, and every Qt call of
# the GUI thread must win it back: the table stalls for tens of ms per update. A child process removes that
# contention. The scenario's targets and the baseline screening are sent once per change ("context"); each
# request then carries only the burns. Cancellation: a shared integer holds the newest request id; the child's
# kernels poll it between chunks, so a superseded computation stops early.

_CHILD: dict = {}


def _child_init(latest, queue=None) -> None:
    _CHILD.update(latest=latest, queue=queue, context=None, arcs={})


def _child_context(key, targets, baseline):
    _CHILD.update(context=(key, tuple(targets), baseline), arcs={})
    return key


class _SharedCancel:
    def __init__(self, request_id: int):
        self.request_id = request_id

    def is_set(self) -> bool:
        return _CHILD["latest"].value != self.request_id

    __call__ = is_set

    def check(self) -> None:
        if self.is_set():
            raise Cancelled()


def child_plan(payload, request_id: int, cancel=None):
    """Run ``compute_plan`` in the child; the outcome comes back without what the GUI already has."""
    import time
    from dataclasses import replace as _replace

    from marsview.core.dynamics import PropagationCancelled

    key, req = payload
    ctx_key, targets, baseline = _CHILD["context"]
    if ctx_key != key:
        raise RuntimeError("planning context out of date")
    full = _replace(req, targets=targets, baseline=baseline, arc_cache=_CHILD["arcs"])
    t0 = time.perf_counter()
    try:
        out = compute_plan(full, cancel or _SharedCancel(request_id))
    except PropagationCancelled as exc:
        raise Cancelled() from exc
    samples = planned_samples(out.planned) if out.mode != "none" and hasattr(out.planned, "base") else None
    light = _replace(out, request=_replace(req, targets=(), baseline=None, arc_cache=None), planned=None,
                     result=_replace(out.result, cache={}), planned_samples=samples)
    return light, (time.perf_counter() - t0) * 1000.0


def encounter_pc_func(t1, t2, tca_tdb_s: float):
    """pc(r_rel (L,3), v_rel (L,3)) for the trade space/solver: the two targets' covariances at the nominal TCA
    (core.uncertainty via ScreeningTarget), combined and projected on each encounter plane."""
    from marsview.core.planning import encounter_pc

    s1, s2 = t1.ephemeris.state(tca_tdb_s)[0], t2.ephemeris.state(tca_tdb_s)[0]
    cov = (t1.uncertainty().inertial_covariance_km2(s1[None], tca_tdb_s)[0]
           + t2.uncertainty().inertial_covariance_km2(s2[None], tca_tdb_s)[0])
    hbr = t1.hbr_km + t2.hbr_km
    return lambda r_rel, v_rel: encounter_pc(r_rel, v_rel, cov, hbr)


def child_trade(payload, request_id: int):
    """core.planning.trade_space in the child; columns and progress go to the GUI through the shared queue."""
    import time

    from marsview.core.dynamics import PropagationCancelled
    from marsview.core.planning import Encounter, trade_space

    key, spacecraft, other, tca, epochs, dv, direction, force_model, use_pc = payload
    ctx_key, targets, _baseline = _CHILD["context"]
    if ctx_key != key:
        raise RuntimeError("planning context out of date")
    by_name = {t.name: t for t in targets}
    t1, t2 = by_name[spacecraft], by_name[other]
    queue = _CHILD["queue"]
    t0 = time.perf_counter()
    try:
        ts = trade_space(Encounter(t1.ephemeris, t2.ephemeris, tca), epochs, dv, direction, "RTN", force_model,
                         pc_func=encounter_pc_func(t1, t2, tca) if use_pc else None,
                         on_column=lambda k, miss, pc: queue.put((request_id, k, miss, pc)),
                         progress=lambda f: queue.put((request_id, "progress", f, None)),
                         cancel=_SharedCancel(request_id))
    except PropagationCancelled as exc:
        raise Cancelled() from exc
    return ts, (time.perf_counter() - t0) * 1000.0


class _ChildLink:
    """The child's end of the progress channel (``put`` like a queue): items go back over the result pipe."""

    def __init__(self, conn):
        self.conn = conn

    def put(self, item) -> None:
        self.conn.send(("item", item))


def _die_with_parent() -> None:
    """Linux: have the kernel send SIGTERM to this process when its parent dies (no orphan keeps computing)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child_main(conn, latest, requests=None) -> None:
    """The planning child: run jobs (job_id, request_id, fn, payload) from CONN one at a time until None or EOF;
    reply ("done", job_id, request_id, (result, elapsed_ms) or None, error or None)."""
    import signal

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it then stops us
    _child_init(latest, _ChildLink(conn))
    _CHILD["requests"] = requests  # the newest submitted request id (a warm-up gives way to a real request)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if msg is None:
            return
        job_id, request_id, fn, payload = msg
        try:
            out, err = fn(payload, request_id), None
        except Cancelled:
            out, err = None, ("Cancelled", "", "")
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the GUI, with its traceback
            out, err = None, (type(exc).__name__, str(exc), "".join(traceback.format_exception(exc)))
        try:
            conn.send(("done", job_id, request_id, out, err))
        except (OSError, ValueError):
            return


def _child_set_context(payload, _request_id):
    key, targets, baseline = payload
    return _child_context(key, targets, baseline), 0.0


def _child_warm(payload, request_id: int):
    """Warm the child completely: import, load the compiled kernels and run one exact plan + re-screen on the
    context (a 1 mm/s burn, thrown away), so the operator's first drag costs what every later one does."""
    import time

    from marsview.model.plan import PlannedBurn

    key, spacecraft, burn_epoch_tdb_s, stop_tdb_s, force_model, method, targeted, requests_at_post = payload
    ctx_key, targets, baseline = _CHILD["context"]
    if ctx_key != key or baseline is None:
        return None, 0.0
    import pickle

    t0 = time.perf_counter()
    req = PlanRequest(spacecraft, (PlannedBurn(burn_epoch_tdb_s, (0.0, 1e-3, 0.0)),), (), None, force_model,
                      stop_tdb_s, targeted=targeted, exact=True, method=method)
    try:
        # exactly what a request does, reply pickling included; not cancelled by ``cancel()`` (the panel
        # cancels when it shows the unplanned baseline), only by a real request, which needs the child
        light, _ = child_plan((key, req), 0, _RequestCancel(requests_at_post))
        pickle.dumps(light, protocol=pickle.HIGHEST_PROTOCOL)
    except Cancelled:
        pass
    return None, (time.perf_counter() - t0) * 1000.0


class _RequestCancel(_SharedCancel):
    """Set once a request newer than REQUEST_ID has been submitted."""

    def is_set(self) -> bool:
        requests = _CHILD.get("requests")
        return requests is not None and requests.value != self.request_id

    __call__ = is_set


class ProcessWorker(QObject):
    """``LatestWorker``'s interface (finished/failed, submit, cancel, busy, latest_id, shutdown) over one
    spawned child process (``_child_main``) that this object owns: started on first use, restarted on the next
    request after it died or failed to start (the failure is reported through ``failed``), stopped within
    ``SHUTDOWN_S`` by ``shutdown`` (asked, then terminated, then killed). Only pipes and one lock-free shared
    integer cross the process boundary (no semaphores to leak); a sender thread keeps large contexts off the GUI
    thread and a reader thread turns replies into queued signals. ``set_context(key, targets, baseline)`` before
    submitting requests of that key (it is re-sent to a restarted child); ``submit(payload, fn)`` runs top-level
    ``fn(payload, request_id)`` in the child, which returns (result, elapsed_ms). Progress items the child
    ``put``s arrive in ``queue`` (a thread-safe ``queue.Queue``)."""

    SHUTDOWN_S = 2.0
    finished = Signal(int, object, float)
    failed = Signal(int, str, str)
    warmed = Signal(float)  # child-side milliseconds of the warm-up
    _done = Signal(int, object, float, str, str)
    _warm_done = Signal(float)

    def __init__(self, parent=None):
        import multiprocessing as mp
        import queue

        super().__init__(parent)
        fix_emit_refcount()
        self._mp = mp.get_context("spawn")  # never fork a process that runs Qt threads
        self._latest_shared = self._mp.RawValue("q", 0)
        self._requests_shared = self._mp.RawValue("q", 0)  # the newest submitted request (not bumped by cancel)
        self.queue = queue.Queue()  # progressive output of long jobs (trade space): (request_id, ...) items
        self._ids = itertools.count(1)
        self._job_ids = itertools.count(1)
        self._latest_id = 0
        self._pending: dict = {}  # job_id -> request_id (None: a quiet job whose result nobody waits for)
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self._outbox = None
        self._context = None
        self._closed = False
        self._stop_sent = False
        self.restarts = 0
        self.warm_ms = None
        self._done.connect(self._on_done)
        self._warm_done.connect(self._on_warm_done)

    @property
    def latest_id(self) -> int:
        return self._latest_id

    @property
    def busy(self) -> bool:
        with self._lock:
            return any(kind == "request" for kind, _ in self._pending.values())

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
                                daemon=True, name="marsview-planning")
        proc.start()
        child_conn.close()
        return proc, parent_conn

    def _ensure_started(self) -> None:
        import queue

        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            return
        if self._proc is not None:
            self.restarts += 1  # it died: start a fresh one (the context is sent again below)
        self._stop_child(0.0)
        self._proc, self._conn = self._spawn()
        outbox = self._outbox = queue.Queue()
        conn = self._conn
        threading.Thread(target=self._send_loop, args=(conn, outbox), daemon=True,
                         name="marsview-planning-send").start()
        threading.Thread(target=self._read_loop, args=(conn, self._proc), daemon=True,
                         name="marsview-planning-read").start()
        if self._context is not None:
            self._post(None, _child_set_context, self._context)

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
                self.queue.put(msg[1])
                continue
            _, job_id, rid, out, err = msg
            with self._lock:
                kind = self._pending.pop(job_id, ("quiet", None))
            if kind[0] == "quiet":
                if kind[1] is _child_warm and err is None:
                    self._emit_safe(self._warm_done, float(out[1]))
                continue
            if err is None:
                self._emit_safe(self._done, rid, out[0], float(out[1]), "", "")
            elif err[0] != "Cancelled":
                self._emit_safe(self._done, rid, None, 0.0, f"{err[0]}: {err[1]}", err[2])
        # the pipe closed: a deliberate stop, or the child died
        with self._lock:
            lost = [rid for kind, rid in self._pending.values() if kind == "request"]
            self._pending.clear()
        if self._closed or proc is not self._proc:
            return
        proc.join(0.5)
        code = proc.exitcode
        if lost:
            self._emit_safe(self._done, max(lost), None, 0.0,
                            f"the planning process stopped unexpectedly (exit code {code}); it restarts on the "
                            "next change", "")

    def _emit_safe(self, signal, *args) -> None:
        if self._closed:
            return
        try:
            signal.emit(*args)
        except RuntimeError:  # the QObject is gone
            pass

    def _post(self, rid, fn, payload) -> int:
        """Queue fn(payload) for the child: a request (RID) whose reply is shown, or (RID None) a quiet job that
        a newer request cancels."""
        job_id = next(self._job_ids)
        with self._lock:
            self._pending[job_id] = ("request", rid) if rid is not None else ("quiet", fn)
        self._outbox.put((job_id, rid if rid is not None else self._latest_id, fn, payload))
        return job_id

    # --- requests --------------------------------------------------------------------------------------
    def set_context(self, key, targets, baseline) -> None:
        self._context = (key, tuple(targets), baseline)
        if self._proc is not None and self._proc.is_alive():
            self._post(None, _child_set_context, self._context)

    def warm(self, payload) -> None:
        """Start the child if needed, send the context and run ``_child_warm(payload)`` there (quietly; a real
        request supersedes it at its next cancellation check)."""
        if self._closed:
            return
        try:
            self._ensure_started()
        except (OSError, RuntimeError, ValueError) as exc:
            self._report_start_failure(self._latest_id, exc)
            return
        self._post(None, _child_warm, (*payload, self._requests_shared.value))

    def _on_warm_done(self, ms: float) -> None:
        self.warm_ms = ms
        self.warmed.emit(ms)

    def _report_start_failure(self, rid, exc) -> None:
        self._stop_child(0.0)
        self._proc = self._conn = None
        self.restarts += 1
        self._done.emit(rid, None, 0.0, f"the planning process could not start ({type(exc).__name__}: {exc}); "
                        "it is tried again on the next change", "".join(traceback.format_exception(exc)))

    def submit(self, payload, fn) -> int:
        if self._closed:
            raise RuntimeError("worker is shut down")
        rid = next(self._ids)
        self._latest_id = rid
        self._latest_shared.value = rid  # the running request sees it and stops at its next check
        self._requests_shared.value = rid
        try:
            self._ensure_started()
        except (OSError, RuntimeError, ValueError) as exc:
            self._report_start_failure(rid, exc)
            return rid
        self._post(rid, fn, payload)
        return rid

    def _on_done(self, rid, result, elapsed_ms, message, details) -> None:
        if self._closed or rid != self._latest_id:
            return
        if message:
            self.failed.emit(rid, message, details)
        else:
            self.finished.emit(rid, result, elapsed_ms)

    def cancel(self) -> None:
        self._latest_id = next(self._ids)
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
        """Cancel and ask the child to stop without waiting (several workers then stop in parallel)."""
        if self._closed or self._stop_sent:
            return
        self.cancel()
        self._requests_shared.value = -1  # a warm-up in progress stops too
        if self._outbox is not None:
            self._outbox.put(None)
            self._stop_sent = True

    def shutdown(self) -> None:
        """Cancel and stop the child; returns within about ``SHUTDOWN_S`` + 1.5 s whatever it was doing."""
        if self._closed:
            return
        self.begin_shutdown()
        self._closed = True
        self._stop_child(self.SHUTDOWN_S)
