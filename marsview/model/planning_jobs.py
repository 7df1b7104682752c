"""The maneuver-planning jobs, Qt-free: what the maneuver panel and the trade space run in the background
(``core.jobs``: a thread in bare tests, a child process in the app).

``PlanRequest`` freezes everything one recomputation needs; ``compute_plan(request, cancel)`` makes the planned
trajectory (second-order preview from a cached burn arc for one impulsive burn without the compiled dynamics,
else exact), re-screens the spacecraft's pairs only, compares before/after and finds the targeted encounter's
new miss. For the child process, the scenario's targets and baseline screening travel once as the executor's
context ``(key, targets, baseline)``; ``ChildPlan`` and ``ChildTrade`` carry only the burns / the grid, and
``WarmPlan`` plans once (thrown away) so the operator's first drag costs what every later one does. The
planned trajectory comes back as a 60 s table of (planned - delivered) (``planned_samples``), rebuilt for
display by ``planned_from_samples``; exports recompute the exact trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace as _replace
from typing import Any

from marsview.core.jobs import Cancelled, new_request_id
from marsview.core.jobs_process import child_cache, child_context


@dataclass(frozen=True)
class PlanRequest:
    """Everything one recomputation needs, frozen at submit time. ``arc_cache`` is a dict only the single
    worker touches (burn arcs are reused while only dv changes)."""

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


def compute_plan(req: PlanRequest, cancel) -> PlanOutcome:
    """Planned trajectory (preview from a cached BurnArc for one impulsive burn, else exact), re-screen of the
    spacecraft's pairs only, before/after comparison and the targeted encounter's new miss. CANCEL: a
    ``core.jobs.CancelToken`` (or any callable with ``check()``)."""
    from marsview.core import planning
    from marsview.core.screening import rescreen

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
        result = rescreen(req.baseline, targets, req.spacecraft, cancel=cancel)  # ScreeningCancelled: a Cancelled
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


# --- requests for the planning child process (core.jobs_process; context = (key, targets, baseline)) -------

def _context(key):
    """The child's (targets, baseline) for context KEY; RuntimeError when the child holds another scenario's."""
    ctx = child_context()
    if ctx is None or ctx[0] != key:
        raise RuntimeError("planning context out of date")
    return ctx[1], ctx[2]


class ChildPlan:
    """``compute_plan`` in the child for REQUEST (sent without targets, baseline and arc cache: the child has
    them); the outcome comes back without what the GUI already has, the trajectory as ``planned_samples``."""

    def __init__(self, key, request: PlanRequest):
        self.id = new_request_id()
        self.key, self.request = key, request

    def __call__(self, cancel) -> PlanOutcome:
        targets, baseline = _context(self.key)
        req = self.request
        full = _replace(req, targets=targets, baseline=baseline, arc_cache=child_cache())
        out = compute_plan(full, cancel)
        samples = planned_samples(out.planned) if out.mode != "none" and hasattr(out.planned, "base") else None
        return _replace(out, request=_replace(req, targets=(), baseline=None, arc_cache=None), planned=None,
                        result=_replace(out.result, cache={}), planned_samples=samples)


class WarmPlan:
    """Warm the child completely: imports, the compiled kernels and one exact plan + re-screen on the context
    (a 1 mm/s in-track burn at BURN_EPOCH_TDB_S, thrown away), reply pickling included. Posted as a quiet job:
    only a real request (which needs the child) stops it, not the panel's ``cancel()`` when it shows the
    unplanned baseline."""

    def __init__(self, key, spacecraft: str, burn_epoch_tdb_s: float, stop_tdb_s: float, force_model, method: str,
                 targeted):
        self.id = new_request_id()
        self.key, self.spacecraft, self.burn_epoch_tdb_s = key, spacecraft, burn_epoch_tdb_s
        self.stop_tdb_s, self.force_model, self.method, self.targeted = stop_tdb_s, force_model, method, targeted

    def __call__(self, cancel) -> None:
        import pickle

        from marsview.model.plan import PlannedBurn

        ctx = child_context()
        if ctx is None or ctx[0] != self.key or ctx[2] is None:
            return None
        req = PlanRequest(self.spacecraft, (PlannedBurn(self.burn_epoch_tdb_s, (0.0, 1e-3, 0.0)),), (), None,
                          self.force_model, self.stop_tdb_s, targeted=self.targeted, exact=True, method=self.method)
        try:
            light = ChildPlan(self.key, req)(cancel)
            pickle.dumps(light, protocol=pickle.HIGHEST_PROTOCOL)
        except Cancelled:
            pass
        return None


class ChildTrade:
    """``core.planning.trade_space`` in the child for the targeted encounter (SPACECRAFT, OTHER, TCA); each
    column and the progress are posted back as (request id, k, miss, pc) / (request id, "progress", f, None)."""

    def __init__(self, key, spacecraft: str, other: str, tca_tdb_s: float, epochs, dv, direction, force_model,
                 use_pc: bool):
        self.id = new_request_id()
        self.key, self.spacecraft, self.other, self.tca_tdb_s = key, spacecraft, other, tca_tdb_s
        self.epochs, self.dv, self.direction, self.force_model, self.use_pc = epochs, dv, direction, force_model, use_pc

    def __call__(self, cancel):
        from marsview.core.planning import Encounter, trade_space
        from marsview.model.options import encounter_pc_func

        targets, _baseline = _context(self.key)
        by_name = {t.name: t for t in targets}
        t1, t2 = by_name[self.spacecraft], by_name[self.other]
        rid = self.id
        return trade_space(Encounter(t1.ephemeris, t2.ephemeris, self.tca_tdb_s), self.epochs, self.dv,
                           self.direction, "RTN", self.force_model,
                           pc_func=encounter_pc_func(t1, t2, self.tca_tdb_s) if self.use_pc else None,
                           on_column=lambda k, miss, pc: cancel.post((rid, k, miss, pc)),
                           progress=lambda f: cancel.post((rid, "progress", f, None)), cancel=cancel)
