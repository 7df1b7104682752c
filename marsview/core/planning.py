"""Maneuver planning: planned trajectories, before/after comparison, trade space and the smallest-dv solver.

Planned trajectory (exact): the spacecraft's own ephemeris up to the first burn, then the core dynamics
(``core.dynamics.integrate_arcs``, DOP853) from the ephemeris state at the burn, with every burn applied. A plan
whose burns are all zero returns the ephemeris itself, so a zero burn changes nothing, bit for bit.

Live preview (``BurnArc``): dragging dv must update in well under a second, and a week of DOP853 integration
for a low orbiter takes seconds. So for one impulsive burn at a fixed epoch the planned trajectory is
expanded to second order in dv: seven trajectories are integrated together once per burn epoch (reference,
+-delta along each local axis) and any dv then costs a few array operations. The expansion is done in
curvilinear coordinates about the reference orbit, q = (rho, theta, z, v_rho, v_theta, v_z) (cylindrical about
the reference's orbit normal, theta measured from the reference position), not in Cartesian ones: the burn's
main effect is a phase drift theta growing ~3 dv/v per radian of orbit, and a Cartesian expansion of
sin(theta) would be wrong by a*theta^3/6 (tens of km after a week); in q the response is nearly linear.
    q(t; dv) = q0(t) + sum_i [J_i(t) dv_i + 1/2 H_ii(t) dv_i^2]     (central differences, delta = 0.5 m/s)
then converted back to Cartesian exactly. Cross terms dv_i dv_j are neglected.
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
from dataclasses import dataclass, field, replace

import numpy as np

from .dynamics import ForceModel, evaluate_arcs, integrate_arcs
from .ephemeris import Ephemeris
from .frames import rtn_matrix, vnb_matrix
from .maneuvers import FiniteBurn, ImpulsiveBurn

PREVIEW_DELTA_MPS = 0.5
MATCH_WINDOW_S = 1800.0  # an event of the same pair within this of the old TCA is "the same encounter"


def _local_axes(state, frame: str) -> np.ndarray:
    """(3,3) rows = local axes (RTN or VNB) of STATE in its inertial frame."""
    m = rtn_matrix(state) if frame.upper() == "RTN" else vnb_matrix(state)
    return m[0]


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


def _basis(x0):
    """Per-epoch reference basis of (...,6) states: e1 = r/|r|, e2 = h x e1, h = orbit normal."""
    r0, v0 = x0[..., :3], x0[..., 3:]
    e1 = r0 / np.linalg.norm(r0, axis=-1, keepdims=True)
    h = np.cross(r0, v0)
    h /= np.linalg.norm(h, axis=-1, keepdims=True)
    return e1, np.cross(h, e1), h


def to_curvilinear(x, x0):
    """States x (...,6) -> q = (rho, theta, z, v_rho, v_theta, v_z) about reference states x0 (broadcastable)."""
    e1, e2, h = _basis(x0)
    r, v = x[..., :3], x[..., 3:]
    X, Y, z = (np.sum(r * e, axis=-1) for e in (e1, e2, h))
    theta = np.arctan2(Y, X)
    c, s = np.cos(theta)[..., None], np.sin(theta)[..., None]
    rho_hat, theta_hat = c * e1 + s * e2, c * e2 - s * e1
    return np.stack([np.hypot(X, Y), theta, z, np.sum(v * rho_hat, axis=-1), np.sum(v * theta_hat, axis=-1),
                     np.sum(v * h, axis=-1)], axis=-1)


def from_curvilinear(q, x0):
    """Inverse of ``to_curvilinear``."""
    e1, e2, h = _basis(x0)
    c, s = np.cos(q[..., 1:2]), np.sin(q[..., 1:2])
    rho_hat, theta_hat = c * e1 + s * e2, c * e2 - s * e1
    r = q[..., 0:1] * rho_hat + q[..., 2:3] * h
    v = q[..., 3:4] * rho_hat + q[..., 4:5] * theta_hat + q[..., 5:6] * h
    return np.concatenate([r, v], axis=-1)


class PlannedEphemeris(Ephemeris):
    """The base ephemeris before ``burn_epoch_tdb_s``; ``after(t)`` from it on (an epoch on the burn takes the
    post-burn state, like a segment boundary)."""

    def __init__(self, name, base: Ephemeris, burn_epoch_tdb_s: float, stop_tdb_s: float, after, source: str):
        self.name = name
        self.base = base
        self.frame = base.frame
        self.burn_epoch_tdb_s = float(burn_epoch_tdb_s)
        self._stop = float(stop_tdb_s)
        self._after = after
        self.source = source

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
                return arc.evaluate(np.array([t]))[0]
        return self.state(t)[0]

    def source_at(self, tdb_s):
        if tdb_s < self.burn_epoch_tdb_s:
            return self.base.source_at(tdb_s)
        return self.source


def planned_ephemeris(base: Ephemeris, burns, force_model: ForceModel, stop_tdb_s: float | None = None,
                      name: str | None = None, cancel=None, rtol: float = 1e-12, atol: float = 1e-9) -> Ephemeris:
    """Exact planned trajectory of BASE with BURNS (core ImpulsiveBurn/FiniteBurn), to STOP (default: the end
    of BASE's coverage). No effective burn -> BASE itself."""
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
    state0 = base.state(t_burn)[0]
    arcs = integrate_arcs(state0, t_burn, stop, force_model, burns, rtol=rtol, atol=atol, cancel=cancel)
    total = sum(b.total_dv_mps for b in burns)
    eph = PlannedEphemeris(name or base.name, base, t_burn, stop, lambda t: evaluate_arcs(arcs, t),
                           f"planned {total:.4f} m/s ({force_model.name})")
    eph.arcs = arcs
    return eph


class BurnArc:
    """Second-order dv expansion of the trajectory after one impulsive burn at ``burn_epoch_tdb_s`` (see the
    module docstring). Build once per (spacecraft, burn epoch, frame, force model); ``ephemeris(dv)`` is cheap."""

    def __init__(self, base: Ephemeris, burn_epoch_tdb_s: float, frame: str, force_model: ForceModel,
                 stop_tdb_s: float | None = None, delta_mps: float = PREVIEW_DELTA_MPS, cancel=None):
        self.base = base
        self.burn_epoch_tdb_s = float(burn_epoch_tdb_s)
        self.frame = frame.upper()
        self.force_model = force_model
        start, stop = base.coverage
        self.stop_tdb_s = stop if stop_tdb_s is None else float(stop_tdb_s)
        if not start <= self.burn_epoch_tdb_s < self.stop_tdb_s:
            raise ValueError(f"{base.name}: burn epoch outside the ephemeris coverage")
        self.delta_mps = float(delta_mps)
        s0 = base.state(self.burn_epoch_tdb_s)[0]
        axes = _local_axes(s0, self.frame)
        stack = np.tile(s0, (7, 1))
        for i in range(3):
            stack[1 + 2 * i, 3:] += axes[i] * self.delta_mps / 1000.0
            stack[2 + 2 * i, 3:] -= axes[i] * self.delta_mps / 1000.0
        # rtol 1e-11: the preview's own truncation (metres per m/s after a day) dominates the integration
        # error of the differences; the exact trajectory that follows uses 1e-12
        self._arcs = integrate_arcs(stack, self.burn_epoch_tdb_s, self.stop_tdb_s, force_model,
                                    rtol=1e-11, atol=1e-9, cancel=cancel)
        self._cache: dict = {}

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
        return from_curvilinear(q, x0)

    def ephemeris(self, dv_mps, name: str | None = None) -> Ephemeris:
        """The planned trajectory for dv_mps (zero dv -> the base ephemeris itself)."""
        dv = tuple(float(x) for x in dv_mps)
        if not any(dv):
            return self.base
        total = float(np.linalg.norm(dv))
        return PlannedEphemeris(name or self.base.name, self.base, self.burn_epoch_tdb_s, self.stop_tdb_s,
                                lambda t: self.states(t, dv), f"planned {total:.4f} m/s (preview)")


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


# --- trade space and solver (linear response of one encounter) --------------------------------------------

@dataclass(frozen=True)
class Encounter:
    """The targeted encounter: spacecraft (maneuvered) and other object ephemerides, nominal TCA."""

    spacecraft: Ephemeris
    other: Ephemeris
    tca_tdb_s: float


def _stm_columns(encounter: Encounter, burn_epochs, force_model, delta_km=1e-3, progress=None, cancel=None):
    """Yield (k, S_k) for burn epochs in descending order: S_k = dx(tca)/dv_inertial (6,3) [km, km/s per km/s]
    from Phi(tca, t_k) = Phi(t_k, tca)^-1, the reverse flow integrated from the TCA in chunks."""
    tca = encounter.tca_tdb_s
    x_tca = encounter.spacecraft.state(tca)[0]
    scale = np.array([delta_km] * 3 + [delta_km * 1e-3] * 3)  # position km, velocity km/s (1000 s scale)
    stack = np.tile(x_tca, (13, 1))
    for j in range(6):
        stack[1 + 2 * j, j] += scale[j]
        stack[2 + 2 * j, j] -= scale[j]
    order = np.argsort(burn_epochs)[::-1]
    t_prev, y = tca, stack
    for n, k in enumerate(order):
        tk = float(burn_epochs[k])
        if tk > tca:
            raise ValueError("burn epochs must precede the encounter")
        if tk < t_prev:
            arcs = integrate_arcs(y, t_prev, tk, force_model, rtol=1e-12, atol=1e-10, cancel=cancel)
            y = arcs[-1].evaluate(np.array([tk]))[0].reshape(13, 6)
            t_prev = tk
        # Phi(t_k, tca) by central differences, column j = d x(t_k) / d x_j(tca)
        phi_back = ((y[1::2] - y[2::2]) / (2.0 * scale[:, None])).T
        phi = np.linalg.inv(phi_back)
        yield int(k), phi[:, 3:6]
        if progress is not None:
            progress((n + 1) / len(order))
        if cancel is not None and (cancel.is_set() if hasattr(cancel, "is_set") else cancel()):
            return


def _q_jacobian(x1):
    """(6,6) d q / d x at reference state x1 (central differences of ``to_curvilinear`` about x1)."""
    steps = np.array([1e-3] * 3 + [1e-6] * 3)
    plus = x1 + np.diag(steps)
    minus = x1 - np.diag(steps)
    return ((to_curvilinear(plus, x1) - to_curvilinear(minus, x1)) / (2.0 * steps[:, None])).T


def _kicked_states(x1, sens, dv_inertial_kms):
    """States (L,6) at TCA after velocity kicks (L,3): linear in curvilinear q, then back to Cartesian."""
    dq = dv_inertial_kms @ (_q_jacobian(x1) @ sens).T
    return from_curvilinear(to_curvilinear(x1, x1) + dq, x1)


def linear_miss_km(r_rel_km, v_rel_kms):
    """Miss distance of straight-line relative motion through (r, v): |r - (r.v)v/|v|^2| (vectorized (...,3))."""
    r = np.asarray(r_rel_km, dtype=np.float64)
    v = np.asarray(v_rel_kms, dtype=np.float64)
    dt = -np.sum(r * v, axis=-1) / np.sum(v * v, axis=-1)
    return np.linalg.norm(r + v * dt[..., None], axis=-1)


def encounter_pc(r_rel_km, v_rel_kms, cov_km2, hbr_km):
    """Short-encounter Pc (core.probability_2d.pc_circle) for relative states (L,3): the combined position
    covariance COV_KM2 (3,3) projected on each encounter plane (normal to v_rel), in its principal axes."""
    from .probability_2d import pc_circle

    r = np.atleast_2d(np.asarray(r_rel_km, dtype=np.float64))
    v = np.atleast_2d(np.asarray(v_rel_kms, dtype=np.float64))
    z = v / np.linalg.norm(v, axis=1, keepdims=True)
    miss = r - np.sum(r * z, axis=1, keepdims=True) * z
    helper = np.where(np.abs(z[:, :1]) < 0.9, np.array([[1.0, 0, 0]]), np.array([[0, 1.0, 0]]))
    x = np.cross(helper, z)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    basis = np.stack([x, y], axis=1)  # (L,2,3)
    c2 = basis @ np.asarray(cov_km2, dtype=np.float64) @ basis.transpose(0, 2, 1)
    w, u = np.linalg.eigh(c2)
    m2 = np.einsum("lij,lj->li", basis, miss)
    m_principal = np.einsum("lji,lj->li", u, m2)
    sig = np.sqrt(np.maximum(w, 1e-30))
    return np.asarray(pc_circle(m_principal[:, 0], m_principal[:, 1], sig[:, 0], sig[:, 1], hbr_km))


@dataclass
class TradeSpace:
    """Miss distance [km] (and Pc when asked) of the targeted encounter over burn epoch x dv magnitude."""

    burn_epochs_tdb_s: np.ndarray  # (K,)
    dv_mps: np.ndarray  # (L,)
    direction: tuple  # unit vector in the local frame
    frame: str
    miss_km: np.ndarray  # (K,L), NaN until computed
    pc: np.ndarray | None = None
    done: np.ndarray = field(default=None)  # (K,) bool


def trade_space(encounter: Encounter, burn_epochs_tdb_s, dv_mps, direction=(0.0, 1.0, 0.0), frame="RTN",
                force_model: ForceModel | None = None, pc_func=None, on_column=None, progress=None, cancel=None):
    """Linear trade space (module docstring). ``on_column(k, miss_row, pc_row)`` is called as each burn epoch
    is finished (latest epoch first); ``pc_func(r_rel (L,3), v_rel (L,3)) -> (L,)`` adds a Pc map."""
    fm = force_model or ForceModel.two_body()
    epochs = np.asarray(burn_epochs_tdb_s, dtype=np.float64)
    mags = np.asarray(dv_mps, dtype=np.float64)
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    ts = TradeSpace(epochs, mags, tuple(d), frame.upper(), np.full((epochs.size, mags.size), np.nan),
                    np.full((epochs.size, mags.size), np.nan) if pc_func else None, np.zeros(epochs.size, bool))
    tca = encounter.tca_tdb_s
    x1 = encounter.spacecraft.state(tca)[0]
    x2 = encounter.other.state(tca)[0]
    for k, sens in _stm_columns(encounter, epochs, fm, progress=progress, cancel=cancel):
        axes = _local_axes(encounter.spacecraft.state(epochs[k])[0], ts.frame)
        dv_inertial_kms = np.outer(mags, d @ axes) / 1000.0  # (L,3)
        kicked = _kicked_states(x1, sens, dv_inertial_kms)
        r_rel, v_rel = x2[:3] - kicked[:, :3], x2[3:] - kicked[:, 3:]
        ts.miss_km[k] = linear_miss_km(r_rel, v_rel)
        if pc_func is not None:
            ts.pc[k] = pc_func(r_rel, v_rel)
        ts.done[k] = True
        if on_column is not None:
            on_column(k, ts.miss_km[k], None if ts.pc is None else ts.pc[k])
    return ts


@dataclass(frozen=True)
class Solution:
    """Smallest dv found at one burn epoch. dv_mps in the local frame; predicted_* from the linear model."""

    burn_epoch_tdb_s: float
    dv_mps: tuple
    frame: str
    total_dv_mps: float
    predicted_miss_km: float
    predicted_pc: float | None = None


def _fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    phi = np.pi * (1.0 + 5**0.5) * i
    rho = np.sqrt(1.0 - z * z)
    return np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)


def smallest_dv(encounter: Encounter, burn_epoch_tdb_s: float, target_miss_km: float | None = None,
                target_pc: float | None = None, direction=None, frame: str = "RTN", force_model=None,
                pc_func=None, max_dv_mps: float = 10.0, resolution_mps: float = 1e-4, cancel=None) -> Solution:
    """Smallest |dv| at BURN_EPOCH reaching miss >= TARGET_MISS_KM (and/or Pc <= TARGET_PC with PC_FUNC), along
    DIRECTION (either sign) or, with direction None, any direction. Linear model; verify with ``verify_plan``."""
    if target_miss_km is None and target_pc is None:
        raise ValueError("give target_miss_km or target_pc")
    if target_pc is not None and pc_func is None:
        raise ValueError("a Pc target needs pc_func")
    fm = force_model or ForceModel.two_body()
    tca = encounter.tca_tdb_s
    _, sens = next(_stm_columns(encounter, np.array([burn_epoch_tdb_s]), fm, cancel=cancel))
    x1, x2 = encounter.spacecraft.state(tca)[0], encounter.other.state(tca)[0]
    axes = _local_axes(encounter.spacecraft.state(burn_epoch_tdb_s)[0], frame)
    q1, qsens = to_curvilinear(x1, x1), _q_jacobian(x1) @ sens
    if direction is None:
        dirs = _fibonacci_sphere(2000)
    else:
        d = np.asarray(direction, dtype=np.float64)
        dirs = np.stack([d, -d]) / np.linalg.norm(d)

    def ok(dv_local):  # (..., 3) -> (bool mask, miss, pc)
        kicked = from_curvilinear(q1 + (dv_local @ axes / 1000.0) @ qsens.T, x1)
        r_rel, v_rel = x2[:3] - kicked[..., :3], x2[3:] - kicked[..., 3:]
        miss = linear_miss_km(r_rel, v_rel)
        good = np.ones(miss.shape, bool) if target_miss_km is None else miss >= target_miss_km
        pc = None
        if target_pc is not None:
            pc = np.asarray(pc_func(r_rel.reshape(-1, 3), v_rel.reshape(-1, 3))).reshape(miss.shape)
            good &= pc <= target_pc
        return good, miss, pc

    def min_magnitude(directions):  # (D,3) -> (D,) smallest magnitude reaching the target (inf: none)
        coarse = np.concatenate([[0.0], np.geomspace(resolution_mps, max_dv_mps, 120)])
        good = ok(directions[:, None, :] * coarse[None, :, None])[0]
        first = np.where(good.any(axis=1), good.argmax(axis=1), coarse.size)
        found = first < coarse.size
        hi = np.where(found, coarse[np.minimum(first, coarse.size - 1)], np.inf)
        lo = np.where(found, coarse[np.maximum(first - 1, 0)], 0.0)
        for _ in range(int(np.ceil(np.log2(max_dv_mps / resolution_mps))) + 1):  # vectorized bisection
            mid = 0.5 * (lo + hi)
            sel = found & (np.where(found, hi, 0.0) - lo > resolution_mps)
            if not sel.any():
                break
            g = ok(directions[sel] * mid[sel, None])[0]
            idx = np.flatnonzero(sel)
            hi[idx[g]], lo[idx[~g]] = mid[idx[g]], mid[idx[~g]]
        return hi

    mags = min_magnitude(dirs)
    i = int(np.argmin(mags))
    if not np.isfinite(mags[i]):
        raise ValueError(f"no dv up to {max_dv_mps} m/s reaches the target at this burn epoch")
    d = dirs[i]
    if direction is None:  # polish the direction on the sphere (the grid is ~5 deg)
        from scipy.optimize import minimize

        def cost(angles):
            u = np.array([np.cos(angles[1]) * np.cos(angles[0]), np.cos(angles[1]) * np.sin(angles[0]),
                          np.sin(angles[1])])
            return float(min_magnitude(u[None])[0])

        start = np.array([np.arctan2(d[1], d[0]), np.arcsin(np.clip(d[2], -1, 1))])
        res = minimize(cost, start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": resolution_mps})
        if res.fun < mags[i]:
            a = res.x
            d = np.array([np.cos(a[1]) * np.cos(a[0]), np.cos(a[1]) * np.sin(a[0]), np.sin(a[1])])
    hi = float(min_magnitude(d[None])[0])
    dv = hi * d
    _, miss, pc = ok(dv)
    return Solution(float(burn_epoch_tdb_s), tuple(float(x) for x in dv), frame.upper(), float(hi), float(miss),
                    None if pc is None else float(pc))


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
