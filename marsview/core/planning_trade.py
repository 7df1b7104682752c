"""Trade space and smallest-dv solver for one targeted encounter (see core.planning's docstring).

The response of the encounter to a velocity kick at a burn epoch is linear in dv through the state transition
matrix Phi(tca, t_burn), applied in the curvilinear coordinates of core.curvilinear so the along-track phase
drift does not bend the prediction; it is obtained by integrating 13 trajectories (reference, +-delta on each
state component) backwards from the TCA with the core dynamics. The nominal at dv = 0 is the spacecraft's own
ephemeris at TCA; the miss distance follows straight-line relative motion near TCA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .curvilinear import from_curvilinear, to_curvilinear
from .dynamics import ForceModel, PropagationCancelled, integrate_arcs
from .encounter_plane import principal_axes, project_on_encounter_plane
from .ephemeris import Ephemeris
from .frames import local_axes


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
    covariance COV_KM2 (3,3) projected on each encounter plane (normal to v_rel, core.encounter_plane), in its
    principal axes (variances floored at 1e-30 km^2)."""
    from .probability_2d import pc_circle

    r = np.atleast_2d(np.asarray(r_rel_km, dtype=np.float64))
    v = np.atleast_2d(np.asarray(v_rel_kms, dtype=np.float64))
    _, miss_km, cov_plane = project_on_encounter_plane(r, v, cov_km2)
    miss_xy, sig = principal_axes(cov_plane, miss_km, 1e-30)
    return np.asarray(pc_circle(miss_xy[:, 0], miss_xy[:, 1], sig[:, 0], sig[:, 1], hbr_km))


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
        axes = local_axes(encounter.spacecraft.state(epochs[k])[0], ts.frame)
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
    axes = local_axes(encounter.spacecraft.state(burn_epoch_tdb_s)[0], frame)
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

    def check_cancel():  # the search runs seconds for "any direction": a superseded or closing caller stops it
        if cancel is not None and (cancel.is_set() if hasattr(cancel, "is_set") else cancel()):
            raise PropagationCancelled("solver cancelled")

    def min_magnitude(directions):  # (D,3) -> (D,) smallest magnitude reaching the target (inf: none)
        check_cancel()
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
