"""Maneuver planning: planned trajectories, before/after comparison, trade space and the smallest-dv solver.

Planned trajectory (exact), the rule: a plan is a *change* to the delivered trajectory.
    planned(t) = delivered(t)                                         t < t_burn
    planned(t) = delivered(t) + [ours_with_burns(t) - ours_without(t)]   t >= t_burn
where both of our propagations (core dynamics, DOP853, the same force model, the same step sequence when they
can be integrated together) start from the delivered state at the first burn. A partner's ephemeris comes from
its own high-fidelity dynamics that no force model of ours reproduces; the difference removes that mismatch
(kilometres after a week for a low orbiter) from the burn's effect, so a 0.1 mm/s burn moves a miss by
millimetres, not by the force-model error. A plan whose burns are all zero returns the ephemeris itself (bit
for bit). ``method="absolute"`` keeps the former behaviour (our propagation alone after the burn) as an explicit
option; ``PlannedEphemeris.model_mismatch_km`` is the size of the correction (|delivered - ours_without| at the
end of the plan).

Live preview (``BurnArc``): dragging dv must update in well under a second, and a week of DOP853 integration
for a low orbiter takes seconds. So for one impulsive burn at a fixed epoch the planned trajectory is
expanded to second order in dv: seven trajectories are integrated together once per burn epoch (reference,
+-delta along each local axis) and any dv then costs a few array operations. The expansion is done in
curvilinear coordinates about the reference orbit, q = (rho, theta, z, v_rho, v_theta, v_z) (cylindrical about
the reference's orbit normal, theta measured from the reference position), not in Cartesian ones: the burn's
main effect is a phase drift theta growing ~3 dv/v per radian of orbit, and a Cartesian expansion of
sin(theta) would be wrong by a*theta^3/6 (tens of km after a week); in q the response is nearly linear.
    q(t; dv) = q0(t) + sum_i [J_i(t) dv_i + 1/2 H_ii(t) dv_i^2]     (central differences, delta = 0.5 m/s)
then converted back to Cartesian exactly. Cross terms dv_i dv_j are neglected. The preview follows the same
rule: delivered(t) + [x(t; dv) - x(t; 0)].
tests/core/test_planning.py measures the preview against the exact trajectory.

Trade space (``trade_space``) and solver (``smallest_dv``): linear response of the targeted encounter to a
velocity kick, from the state transition matrix Phi(tca, t_burn) obtained by integrating 13 trajectories
(reference, +-delta on each state component) backwards from the TCA: every burn epoch passed yields one column
of the map (progressive display). The nominal at dv = 0 is the ephemeris itself at TCA; the miss distance
follows the relative motion as a straight line near TCA (the TCA shift is seconds). The solver's answer is
then re-checked with the exact trajectory against every other object (``verify_plan``).

Epochs are TDB seconds past J2000; states are Mars-centred EME2000 km, km/s; dv in m/s in RTN or VNB.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np

from .dynamics import ForceModel, evaluate_arcs, integrate_arcs
from .ephemeris import Ephemeris
from .curvilinear import from_curvilinear, to_curvilinear
from .frames import local_axes
from .maneuvers import FiniteBurn, ImpulsiveBurn, apply_impulse
from .planning_trade import (  # the trade space and the solver (re-exported: one planning API)
    Encounter,
    Solution,
    TradeSpace,
    encounter_pc,
    linear_miss_km,
    smallest_dv,
    trade_space,
)

PREVIEW_DELTA_MPS = 0.5
PLAN_METHODS = ("differential", "absolute")  # delivered + (ours with - ours without) | ours alone after the burn
MATCH_WINDOW_S = 1800.0  # an event of the same pair within this of the old TCA is "the same encounter"


def active_burns(burns) -> list:
    """Burns that change something (zero impulses and zero-acceleration finite burns dropped)."""
    out = []
    for b in burns:
        if isinstance(b, ImpulsiveBurn) and not any(b.dv_mps):
            continue
        if isinstance(b, FiniteBurn) and b.accel_mps2 == 0.0:
            continue
        out.append(b)
    return sorted(out, key=lambda b: b.start_tdb_s)


class PlannedEphemeris(Ephemeris):
    """The base ephemeris before ``burn_epoch_tdb_s``; ``after(t)`` from it on (an epoch on the burn takes the
    post-burn state, like a segment boundary). ``method`` ("differential" or "absolute", module docstring),
    ``force_model_name`` and ``model_mismatch_km`` (the size of the correction the differential rule applies:
    |delivered - our unburned propagation| in position at the end of the plan; None when unknown) say how it
    was built."""

    def __init__(self, name, base: Ephemeris, burn_epoch_tdb_s: float, stop_tdb_s: float, after, source: str,
                 method: str = "differential", force_model_name: str = "", model_mismatch_km: float | None = None,
                 after_left=None):
        self.name = name
        self.base = base
        self.frame = base.frame
        self.burn_epoch_tdb_s = float(burn_epoch_tdb_s)
        self._stop = float(stop_tdb_s)
        self._after = after
        self._after_left = after_left  # (t) -> state just before t on an arc boundary (finite burns)
        self.source = source
        self.method = method
        self.force_model_name = force_model_name
        self.model_mismatch_km = model_mismatch_km

    @property
    def coverage(self):
        return (self.base.coverage[0], self._stop)

    def _state(self, t):
        out = np.empty((t.size, 6))
        before = t < self.burn_epoch_tdb_s
        if np.any(before):
            out[before] = self.base.state(t[before])
        if not np.all(before):
            out[~before] = self._after(t[~before])
        return out

    def segment_boundaries(self):
        b = np.asarray(self.base.segment_boundaries(), dtype=float).reshape(-1)
        cuts = [self.burn_epoch_tdb_s] + [a.start_tdb_s for a in getattr(self, "arcs", ())[1:]]
        return np.unique(np.concatenate([b[b < self.burn_epoch_tdb_s], cuts]))

    def left_state(self, tdb_s: float) -> np.ndarray:
        """(6,) state just before TDB_S: the pre-burn state on a burn epoch (``state`` gives the post-burn one)."""
        t = float(tdb_s)
        if t == self.burn_epoch_tdb_s:
            return self.base.state(t)[0]
        for arc in getattr(self, "arcs", ()):
            if arc.start_tdb_s < t == arc.stop_tdb_s:
                if self._after_left is not None:
                    return self._after_left(arc, t)
                return arc.evaluate(np.array([t]))[0]
        return self.state(t)[0]

    def source_at(self, tdb_s):
        if tdb_s < self.burn_epoch_tdb_s:
            return self.base.source_at(tdb_s)
        return self.source


def _check_method(method: str) -> str:
    m = method.strip().lower()
    if m not in PLAN_METHODS:
        raise ValueError(f"unknown planning method {method!r} (choose {' or '.join(PLAN_METHODS)})")
    return m


def planned_ephemeris(base: Ephemeris, burns, force_model: ForceModel, stop_tdb_s: float | None = None,
                      name: str | None = None, cancel=None, rtol: float = 1e-12, atol: float = 1e-9,
                      method: str = "differential") -> Ephemeris:
    """Exact planned trajectory of BASE with BURNS (core ImpulsiveBurn/FiniteBurn), to STOP (default: the end
    of BASE's coverage), by METHOD (module docstring: "differential", the rule, or "absolute"). No effective
    burn -> BASE itself."""
    method = _check_method(method)
    burns = active_burns(burns)
    if not burns:
        return base
    if base.frame.upper() not in ("EME2000", "ICRF"):
        raise ValueError(f"{base.name}: planning needs an EME2000/ICRF ephemeris, got {base.frame}")
    t_burn = burns[0].start_tdb_s
    start, stop = base.coverage
    stop = stop if stop_tdb_s is None else float(stop_tdb_s)
    if not start <= t_burn < stop:
        raise ValueError(f"{base.name}: burn at TDB {t_burn:.3f} s is outside [{start:.3f}, {stop:.3f}]")
    if method == "differential":
        stop = min(stop, base.coverage[1])  # the rule needs the delivered trajectory wherever it applies
    state0 = base.state(t_burn)[0]
    total = sum(b.total_dv_mps for b in burns)
    kw = dict(rtol=rtol, atol=atol, cancel=cancel)
    label = f"planned {total:.4f} m/s ({force_model.name}, {method})"
    if method == "absolute":
        arcs = integrate_arcs(state0, t_burn, stop, force_model, burns, **kw)
        eph = PlannedEphemeris(name or base.name, base, t_burn, stop, lambda t: evaluate_arcs(arcs, t), label,
                               method, force_model.name, None)
        eph.arcs = arcs
        return eph
    if len(burns) == 1 and isinstance(burns[0], ImpulsiveBurn):
        # one impulse at t_burn: both trajectories integrated together (one step sequence, so their difference
        # carries no step-size noise: a 0.1 mm/s burn is resolved to well under a millimetre)
        pair = np.stack([state0, apply_impulse(state0, burns[0])])
        both = integrate_arcs(pair, t_burn, stop, force_model, **kw)

        def after(t):
            y = evaluate_arcs(both, t)
            return base.state(t) + (y[:, 6:] - y[:, :6])

        mismatch = float(np.linalg.norm(base.state(stop)[0, :3] - evaluate_arcs(both, np.array([stop]))[0, :3]))
        return PlannedEphemeris(name or base.name, base, t_burn, stop, after, label, method, force_model.name,
                                mismatch)
    arcs = integrate_arcs(state0, t_burn, stop, force_model, burns, **kw)
    reference = integrate_arcs(state0, t_burn, stop, force_model, (), **kw)

    def after(t):
        return base.state(t) + (evaluate_arcs(arcs, t) - evaluate_arcs(reference, t))

    def after_left(arc, t):
        x = np.array([t])
        return base.state(x)[0] + arc.evaluate(x)[0] - evaluate_arcs(reference, x)[0]

    mismatch = float(np.linalg.norm(base.state(stop)[0, :3] - evaluate_arcs(reference, np.array([stop]))[0, :3]))
    eph = PlannedEphemeris(name or base.name, base, t_burn, stop, after, label, method, force_model.name,
                           mismatch, after_left)
    eph.arcs = arcs
    return eph


class BurnArc:
    """Second-order dv expansion of the trajectory after one impulsive burn at ``burn_epoch_tdb_s`` (see the
    module docstring). Build once per (spacecraft, burn epoch, frame, force model); ``ephemeris(dv)`` is cheap."""

    def __init__(self, base: Ephemeris, burn_epoch_tdb_s: float, frame: str, force_model: ForceModel,
                 stop_tdb_s: float | None = None, delta_mps: float = PREVIEW_DELTA_MPS, cancel=None,
                 method: str = "differential"):
        self.base = base
        self.method = _check_method(method)
        self.burn_epoch_tdb_s = float(burn_epoch_tdb_s)
        self.frame = frame.upper()
        self.force_model = force_model
        start, stop = base.coverage
        self.stop_tdb_s = stop if stop_tdb_s is None else float(stop_tdb_s)
        if not start <= self.burn_epoch_tdb_s < self.stop_tdb_s:
            raise ValueError(f"{base.name}: burn epoch outside the ephemeris coverage")
        self.delta_mps = float(delta_mps)
        s0 = base.state(self.burn_epoch_tdb_s)[0]
        axes = local_axes(s0, self.frame)
        stack = np.tile(s0, (7, 1))
        for i in range(3):
            stack[1 + 2 * i, 3:] += axes[i] * self.delta_mps / 1000.0
            stack[2 + 2 * i, 3:] -= axes[i] * self.delta_mps / 1000.0
        # rtol 1e-11: the preview's own truncation (metres per m/s after a day) dominates the integration
        # error of the differences; the exact trajectory that follows uses 1e-12
        self._arcs = integrate_arcs(stack, self.burn_epoch_tdb_s, self.stop_tdb_s, force_model,
                                    rtol=1e-11, atol=1e-9, cancel=cancel)
        self._cache: dict = {}
        stop = np.array([self.stop_tdb_s])
        self.model_mismatch_km = float(np.linalg.norm(base.state(stop)[0, :3] - evaluate_arcs(self._arcs, stop)[0, :3]))

    def _terms(self, t: np.ndarray):
        """(x0, q0, J, H) at epochs t: (N,6), (N,6), (N,3,6), (N,3,6) in q; memoised per epoch array (screening grids repeat)."""
        key = (t.size, hashlib.blake2b(t.tobytes(), digest_size=16).digest())
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        y = evaluate_arcs(self._arcs, t).reshape(t.size, 7, 6)
        x0 = y[:, 0]
        q = to_curvilinear(y, x0[:, None, :])
        q0, plus, minus = q[:, 0], q[:, 1::2], q[:, 2::2]
        d = self.delta_mps
        jac = (plus - minus) / (2.0 * d)
        hess = (plus - 2.0 * q0[:, None, :] + minus) / (d * d)
        out = (x0, q0, jac, hess)
        if t.size >= 64:  # sampling grids (refinement's few-epoch calls would only evict them)
            if len(self._cache) >= 4:
                self._cache.pop(next(iter(self._cache)))  # oldest first
            self._cache[key] = out
        return out

    def states(self, t, dv_mps) -> np.ndarray:
        """(N,6) approximate post-burn states for dv_mps (local frame, m/s) at epochs t >= the burn."""
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        dv = np.asarray(dv_mps, dtype=np.float64)
        x0, q0, jac, hess = self._terms(t)
        q = q0 + np.einsum("i,nij->nj", dv, jac) + 0.5 * np.einsum("i,nij->nj", dv * dv, hess)
        x = from_curvilinear(q, x0)
        if self.method == "differential":
            return self.base.state(t) + (x - x0)
        return x

    def ephemeris(self, dv_mps, name: str | None = None) -> Ephemeris:
        """The planned trajectory for dv_mps (zero dv -> the base ephemeris itself)."""
        dv = tuple(float(x) for x in dv_mps)
        if not any(dv):
            return self.base
        total = float(np.linalg.norm(dv))
        return PlannedEphemeris(name or self.base.name, self.base, self.burn_epoch_tdb_s, self.stop_tdb_s,
                                lambda t: self.states(t, dv),
                                f"planned {total:.4f} m/s ({self.force_model.name}, {self.method}, preview)",
                                self.method, self.force_model.name,
                                self.model_mismatch_km if self.method == "differential" else None)


# --- before / after ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventChange:
    """One encounter of the maneuvered spacecraft before and after the plan. status: "changed" (matched),
    "new" (only after: the burn created it), "gone" (only before)."""

    object1: str
    object2: str
    before: object | None
    after: object | None
    status: str

    @property
    def other(self) -> str:
        return self.object2

    @property
    def miss_before_km(self) -> float | None:
        return None if self.before is None else self.before.miss_km

    @property
    def miss_after_km(self) -> float | None:
        return None if self.after is None else self.after.miss_km


def _involves(ev, name):
    return name in (ev.object1, ev.object2)


def _other(ev, name):
    return ev.object2 if ev.object1 == name else ev.object1


def compare_events(before_events, after_events, spacecraft: str, match_window_s: float = MATCH_WINDOW_S):
    """Pair up the close approaches of SPACECRAFT before and after a plan (same other object, nearest TCA
    within MATCH_WINDOW_S). Returns EventChanges (object1 = SPACECRAFT) sorted by TCA."""
    old = [e for e in before_events if _involves(e, spacecraft)]
    new = [e for e in after_events if _involves(e, spacecraft)]
    used: set[int] = set()
    changes = []
    for e in new:
        best, best_dt = None, match_window_s
        for k, o in enumerate(old):
            if k in used or _other(o, spacecraft) != _other(e, spacecraft):
                continue
            dt = abs(o.tca_tdb_s - e.tca_tdb_s)
            if dt <= best_dt:
                best, best_dt = k, dt
        if best is None:
            changes.append(EventChange(spacecraft, _other(e, spacecraft), None, e, "new"))
        else:
            used.add(best)
            changes.append(EventChange(spacecraft, _other(e, spacecraft), old[best], e, "changed"))
    for k, o in enumerate(old):
        if k not in used:
            changes.append(EventChange(spacecraft, _other(o, spacecraft), o, None, "gone"))
    return sorted(changes, key=lambda c: (c.after or c.before).tca_tdb_s)


def find_event(events, object_a: str, object_b: str, tca_tdb_s: float, window_s: float = MATCH_WINDOW_S):
    """The event of the pair {a, b} nearest TCA within WINDOW_S, else None."""
    best, best_dt = None, window_s
    for e in events:
        if {e.object1, e.object2} == {object_a, object_b}:
            dt = abs(e.tca_tdb_s - tca_tdb_s)
            if dt <= best_dt:
                best, best_dt = e, dt
    return best


def refine_encounter(eph1: Ephemeris, eph2: Ephemeris, tca_guess_tdb_s: float, half_window_s: float = 900.0,
                     step_s: float = 10.0):
    """(tca_tdb_s, miss_km, relative_speed_kms) of the closest approach of EPH1 and EPH2 within
    +-HALF_WINDOW_S of a guess (sampled, then the range-rate root by brentq). Works above any threshold, so
    the targeted encounter's new miss is known even when the burn moves it out of the screening."""
    from scipy.optimize import brentq

    lo = max(tca_guess_tdb_s - half_window_s, eph1.coverage[0], eph2.coverage[0])
    hi = min(tca_guess_tdb_s + half_window_s, eph1.coverage[1], eph2.coverage[1])
    t = np.linspace(lo, hi, max(3, int((hi - lo) / step_s) + 1))
    rel = eph2.state(t) - eph1.state(t)
    k = int(np.argmin(np.linalg.norm(rel[:, :3], axis=1)))

    def rdot(x):
        s = eph2.state(x)[0] - eph1.state(x)[0]
        return float(s[:3] @ s[3:])

    tca = float(t[k])
    if 0 < k < t.size - 1 and rdot(t[k - 1]) < 0 < rdot(t[k + 1]):
        tca = brentq(rdot, t[k - 1], t[k + 1], xtol=1e-6)
    s = eph2.state(tca)[0] - eph1.state(tca)[0]
    return tca, float(np.linalg.norm(s[:3])), float(np.linalg.norm(s[3:]))


@dataclass(frozen=True)
class Verification:
    """Exact check of a plan: the targeted encounter after the burn, and every close approach the planned
    trajectory has with any other object (new ones flagged)."""

    targeted: object | None
    changes: tuple
    new_events: tuple
    result: object


def verify_plan(targets, spacecraft: str, planned: Ephemeris, previous_result, other: str | None = None,
                tca_tdb_s: float | None = None, settings=None, cancel=None) -> Verification:
    """Re-screen SPACECRAFT's pairs with its PLANNED trajectory (core.screening.rescreen) and compare."""
    from .screening import rescreen

    new_targets = [replace(t, ephemeris=planned) if t.name == spacecraft else t for t in targets]
    result = rescreen(previous_result, new_targets, spacecraft, settings=settings, cancel=cancel)
    changes = tuple(compare_events(previous_result.events, result.events, spacecraft))
    targeted = None
    if other is not None and tca_tdb_s is not None:
        targeted = find_event(result.events, spacecraft, other, tca_tdb_s)
    new = tuple(c for c in changes if c.status == "new")
    return Verification(targeted, changes, new, result)


__all__ = ["PLAN_METHODS", "BurnArc", "Encounter", "EventChange", "PlannedEphemeris", "Solution", "TradeSpace",
           "Verification", "active_burns", "compare_events", "encounter_pc", "find_event", "from_curvilinear",
           "linear_miss_km", "planned_ephemeris", "refine_encounter", "smallest_dv", "to_curvilinear", "trade_space",
           "verify_plan"]
