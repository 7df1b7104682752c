"""Numerical orbit propagation about Mars: force models, scipy DOP853 with dense output, maneuvers.

Everything is Mars-centred EME2000, km, km/s, TDB seconds past J2000.

Force models (``ForceModel``): point mass; zonal J2 or J2-J4 about the IAU 2015 pole *of date*; exponential
atmosphere drag in a co-rotating atmosphere (per-spacecraft area, mass, Cd; core.atmosphere); the Sun as a
point-mass third body on an analytic Mars heliocentric orbit (core.sun). Constants default to
core.constants and can all be overridden.

The pole is evaluated once per ``propagate`` call, at the middle of the span. It moves by ~3 arcsec per
year (secular rates plus the 1.6 deg, 198-year periodic term), so over a 30-day span the frozen pole is off
by < 0.15 arcsec: a few metres after a week for a low orbiter (1 arcmin would be kilometres).

The right-hand side is vectorized over objects: ``propagate_many`` integrates M orbits that share epochs in
one solve_ivp call (the step size is set by the most demanding orbit; scipy's RMS error norm then bounds
the mean error of the objects, so the default tolerance is tightened by sqrt(M)).

Tolerances: ``rtol`` is relative; ``atol`` applies to positions [km], and ``atol * 1e-3`` to velocities
[km/s] (a 1000 s time scale), so velocity errors cannot accumulate into along-track drift unchecked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from . import constants as C
from .atmosphere import ExponentialAtmosphere
from .ephemeris import CoverageError, Ephemeris
from .frames import mars_pole_eme2000, transform_states
from .maneuvers import FiniteBurn, ImpulsiveBurn, apply_impulse, sort_maneuvers
from .sun import sun_position_mars_centred_km

FORCE_MODEL_NAMES = ("two-body", "j2", "zonal", "full")
CANCEL_CHECK_EVERY = 256  # right-hand-side evaluations between cancel checks (~10 ms of work)


class PropagationCancelled(RuntimeError):
    """The caller's cancel flag was raised during a propagation."""


@dataclass(frozen=True)
class ForceModel:
    """What accelerates the spacecraft. zonal_degree 0 = point mass, 2 = J2, 3 = J2+J3, 4 = J2..J4."""

    gm_km3s2: float = C.GM_MARS_KM3S2
    zonal_degree: int = 0
    j2: float = C.J2_MARS
    j3: float = C.J3_MARS
    j4: float = C.J4_MARS
    ref_radius_km: float = C.GRAVITY_REF_RADIUS_KM
    drag: bool = False
    area_m2: float = 10.0
    mass_kg: float = 1000.0
    cd: float = 2.2
    sun: bool = False
    gm_sun_km3s2: float = C.GM_SUN_KM3S2
    rotation_rate_rads: float = C.ROTATION_RATE_RADS
    atmosphere: ExponentialAtmosphere = ExponentialAtmosphere()
    name: str = "custom"

    def __post_init__(self):
        if self.zonal_degree not in (0, 2, 3, 4):
            raise ValueError(f"zonal_degree must be 0, 2, 3 or 4, got {self.zonal_degree}")
        if not self.gm_km3s2 > 0.0:
            raise ValueError(f"gm_km3s2 must be > 0, got {self.gm_km3s2}")
        if self.drag and not (self.area_m2 >= 0.0 and self.mass_kg > 0.0 and self.cd >= 0.0):
            raise ValueError("drag needs area_m2 >= 0, mass_kg > 0 and cd >= 0")

    @classmethod
    def two_body(cls, **overrides) -> ForceModel:
        return cls(**{"name": "two-body", **overrides})

    @classmethod
    def j2_model(cls, **overrides) -> ForceModel:
        return cls(**{"name": "j2", "zonal_degree": 2, **overrides})

    @classmethod
    def zonal(cls, **overrides) -> ForceModel:
        return cls(**{"name": "zonal", "zonal_degree": 4, **overrides})

    @classmethod
    def full(cls, area_m2: float = 10.0, mass_kg: float = 1000.0, cd: float = 2.2, **overrides) -> ForceModel:
        """Zonal J2-J4 + drag (this spacecraft's area, mass, Cd) + Sun third body."""
        return cls(**{"name": "full", "zonal_degree": 4, "drag": True, "sun": True, "area_m2": area_m2,
                      "mass_kg": mass_kg, "cd": cd, **overrides})

    @classmethod
    def from_name(cls, name: str, **overrides) -> ForceModel:
        key = name.strip().lower().replace("_", "-")
        makers = {"two-body": cls.two_body, "twobody": cls.two_body, "point-mass": cls.two_body,
                  "j2": cls.j2_model, "zonal": cls.zonal, "full": cls.full}
        if key not in makers:
            raise ValueError(f"unknown force model {name!r} (choose {', '.join(FORCE_MODEL_NAMES)})")
        return makers[key](**overrides)

    def replace(self, **changes) -> ForceModel:
        return dataclasses.replace(self, **changes)

    @property
    def ballistic_m2kg(self) -> float:
        """Cd A / m [m^2/kg]."""
        return self.cd * self.area_m2 / self.mass_kg


class _BuilderOnClass:
    """``ForceModel.j2()`` on the class builds the J2 model (the agreed API), while ``model.j2`` on an
    instance is the J2 coefficient: a non-data descriptor loses to the instance's own attribute."""

    def __init__(self, builder):
        self.builder = builder

    def __get__(self, obj, owner):
        if obj is None:
            return lambda **overrides: self.builder(owner, **overrides)
        raise AttributeError("j2")


ForceModel.j2 = _BuilderOnClass(lambda cls, **kw: cls.j2_model(**kw))


# --- accelerations ---------------------------------------------------------------------------------

class Accelerations:
    """Right-hand side for M stacked objects sharing one force model (drag ballistics may differ).

    Built once per propagation: the pole, rotation vector and coefficients are fixed here."""

    def __init__(self, force_model: ForceModel, pole_epoch_tdb_s: float, ballistic_m2kg=None, count: int = 1):
        fm = force_model
        self.fm = fm
        self.mu = fm.gm_km3s2
        self.pole = mars_pole_eme2000(pole_epoch_tdb_s)[0]
        self.omega = fm.rotation_rate_rads * self.pole
        self.jn = [(n, getattr(fm, f"j{n}") * fm.ref_radius_km**n) for n in (2, 3, 4) if n <= fm.zonal_degree]
        # gradient of -mu/r J_n (R/r)^n P_n(u): a_n = mu/r^2 J_n (R/r)^n [((n+1) P_n + u P_n') r_hat - P_n' pole]
        # columns: radial polynomials then pole polynomials (coefficients of u^0..u^4), scaled by J_n R^n
        radial = {2: [-1.5, 0, 7.5, 0, 0], 3: [0, -7.5, 0, 17.5, 0], 4: [1.875, 0, -26.25, 0, 39.375]}
        polar = {2: [0, 3, 0, 0, 0], 3: [-1.5, 0, 7.5, 0, 0], 4: [0, -7.5, 0, 17.5, 0]}
        cols = [np.array(radial[n]) * jr for n, jr in self.jn] + [np.array(polar[n]) * jr for n, jr in self.jn]
        self._zonal_matrix = np.array(cols).T if self.jn else None
        self._u_pow = np.arange(5.0)
        self._r_pow = np.array([float(n) for n, _ in self.jn])
        b = fm.ballistic_m2kg if ballistic_m2kg is None else ballistic_m2kg
        self.ballistic = np.broadcast_to(np.asarray(b, dtype=np.float64), (count,)).copy()
        self.finite_burn: FiniteBurn | None = None
        self.evaluations = 0
        self.cancel = None

    def acceleration(self, t: float, s: np.ndarray) -> np.ndarray:
        """(M,3) acceleration [km/s^2] for states s (M,6) at TDB epoch t."""
        r = s[:, :3]
        inv_r = 1.0 / np.sqrt(np.einsum("ij,ij->i", r, r))
        f = self.mu * inv_r**3
        if self.jn or self.fm.drag:
            u = (r @ self.pole) * inv_r
        if self.jn:
            # the zonal terms as polynomials in u = sin(latitude) and 1/r: one matrix product
            c = ((u[:, None] ** self._u_pow) @ self._zonal_matrix).reshape(-1, 2, len(self.jn))
            c = np.einsum("mkn,mn->mk", c, inv_r[:, None] ** self._r_pow)
            acc = (f * (c[:, 0] - 1.0))[:, None] * r - (f * c[:, 1] / inv_r)[:, None] * self.pole
        else:
            acc = -f[:, None] * r
        if self.fm.drag:
            acc += self._drag(r, s[:, 3:6], 1.0 / inv_r, u)
        if self.fm.sun:
            rs = sun_position_mars_centred_km(t)[0]
            d = rs - r
            dn = np.sqrt(np.einsum("ij,ij->i", d, d))
            acc += self.fm.gm_sun_km3s2 * (d / (dn**3)[:, None] - rs / np.dot(rs, rs) ** 1.5)
        if self.finite_burn is not None:
            acc += self.finite_burn.accel_inertial_kms2(t, s)
        return acc

    def _drag(self, r, v, rn, u):
        alt = self.fm.atmosphere.altitude_km(rn, u)
        rho = self.fm.atmosphere.density_kgm3(alt)
        v_rel = v - np.cross(self.omega, r)
        speed = np.sqrt(np.einsum("ij,ij->i", v_rel, v_rel))
        # 0.5 rho Cd A/m |v| v with v in km/s and a in km/s^2 -> factor 1e3 from (1e3)^2 / 1e3
        return (-0.5e3 * rho * self.ballistic * speed)[:, None] * v_rel

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        self.evaluations += 1
        if self.cancel is not None and self.evaluations % CANCEL_CHECK_EVERY == 0 and _cancelled(self.cancel):
            raise PropagationCancelled("propagation cancelled")
        s = y.reshape(-1, 6)
        out = np.empty_like(s)
        out[:, :3] = s[:, 3:6]
        out[:, 3:] = self.acceleration(t, s)
        return out.reshape(-1)


def _cancelled(cancel) -> bool:
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def acceleration_kms2(states, tdb_s: float, force_model: ForceModel) -> np.ndarray:
    """(M,3) acceleration of Mars-centred EME2000 states (M,6) at one TDB epoch (for checks and plots)."""
    s = np.atleast_2d(np.asarray(states, dtype=np.float64))
    return Accelerations(force_model, tdb_s, count=s.shape[0]).acceleration(float(tdb_s), s)


# --- integration -----------------------------------------------------------------------------------

@dataclass
class _Arc:
    """One integration arc [start, stop] (forward or backward) between maneuver boundaries."""

    start_tdb_s: float
    stop_tdb_s: float
    state0: np.ndarray  # (6M,) at start, after any impulse there
    sol: object = None  # scipy OdeSolution, None for a zero-length arc

    def evaluate(self, t: np.ndarray) -> np.ndarray:
        """(len(t), 6M) states."""
        if self.sol is None:
            return np.broadcast_to(self.state0, (t.size, self.state0.size)).copy()
        return np.asarray(self.sol(t)).T.reshape(t.size, -1)


def _tolerances(rtol: float, atol: float, count: int):
    scale = np.sqrt(count)
    atol_vec = np.tile(np.array([atol] * 3 + [atol * 1e-3] * 3), count) / scale
    return rtol / scale, atol_vec


def _active_maneuvers(maneuvers) -> list:
    """Drop burns of zero magnitude: they change nothing, bit-for-bit (no integration restart)."""
    kept = []
    for m in sort_maneuvers(maneuvers):
        if isinstance(m, ImpulsiveBurn) and not any(m.dv_mps):
            continue
        if isinstance(m, FiniteBurn) and m.accel_mps2 == 0.0:
            continue
        kept.append(m)
    return kept


def integrate_arcs(states0, t0_tdb_s: float, t_end_tdb_s: float, force_model: ForceModel, maneuvers=(),
                   rtol: float = 1e-12, atol: float = 1e-9, cancel=None, ballistic_m2kg=None,
                   pole_epoch_tdb_s: float | None = None) -> list[_Arc]:
    """Integrate M stacked states from t0 to t_end (either direction), restarting at each maneuver
    boundary. Maneuvers (single object only) must lie on the forward side of t0. An impulsive burn at an
    arc boundary is applied at the start of the next arc (the later arc wins on a shared epoch)."""
    s0 = np.atleast_2d(np.asarray(states0, dtype=np.float64))
    if s0.shape[1] != 6 or not np.all(np.isfinite(s0)):
        raise ValueError(f"initial states must be finite (M,6) arrays, got shape {s0.shape}")
    count = s0.shape[0]
    t0, t_end = float(t0_tdb_s), float(t_end_tdb_s)
    burns = _active_maneuvers(maneuvers)
    if burns and count != 1:
        raise ValueError("maneuvers apply to one object at a time")
    forward = t_end >= t0
    if burns and not forward:
        raise ValueError("cannot propagate backwards through maneuvers")
    if any(m.start_tdb_s < t0 for m in burns):
        raise ValueError("a maneuver starts before the initial epoch")
    pole_t = 0.5 * (t0 + t_end) if pole_epoch_tdb_s is None else pole_epoch_tdb_s
    acc = Accelerations(force_model, pole_t, ballistic_m2kg, count)
    acc.cancel = cancel
    r_tol, a_tol = _tolerances(rtol, atol, count)

    cuts = sorted({b for m in burns for b in m.boundaries_tdb_s if t0 < b < t_end})
    edges = [t0, *cuts, t_end]
    arcs: list[_Arc] = []
    y = s0.reshape(-1).copy()
    for a, b in zip(edges[:-1], edges[1:]):
        for m in burns:
            if isinstance(m, ImpulsiveBurn) and m.epoch_tdb_s == a:
                y = apply_impulse(y.reshape(1, 6), m).reshape(-1)
        acc.finite_burn = next((m for m in burns if isinstance(m, FiniteBurn)
                                and m.start_tdb_s <= a < m.stop_tdb_s), None)
        if a == b:
            arcs.append(_Arc(a, b, y.copy()))
            continue
        res = solve_ivp(acc.rhs, (a, b), y, method="DOP853", rtol=r_tol, atol=a_tol, dense_output=True)
        if not res.success:
            raise RuntimeError(f"propagation failed at TDB {res.t[-1]:.3f} s: {res.message}")
        arcs.append(_Arc(a, b, y.copy(), res.sol))
        y = res.y[:, -1].copy()
    # impulsive burns exactly at the final epoch: a zero-length arc carries the post-burn state
    final = [m for m in burns if isinstance(m, ImpulsiveBurn) and m.epoch_tdb_s == t_end and t_end > t0]
    if final:
        for m in final:
            y = apply_impulse(y.reshape(1, 6), m).reshape(-1)
        arcs.append(_Arc(t_end, t_end, y.copy()))
    return arcs


def evaluate_arcs(arcs: list[_Arc], tdb_s: np.ndarray) -> np.ndarray:
    """(N, 6M) states at epochs inside the arcs; an epoch on a boundary takes the later arc."""
    t = np.asarray(tdb_s, dtype=np.float64)
    forward = arcs[-1].stop_tdb_s >= arcs[0].start_tdb_s
    width = arcs[0].state0.size
    out = np.empty((t.size, width))
    starts = np.array([a.start_tdb_s for a in arcs])
    if forward:
        idx = np.searchsorted(starts, t, side="right") - 1
    else:
        idx = np.zeros(t.size, dtype=int)
    idx = np.clip(idx, 0, len(arcs) - 1)
    for k in np.unique(idx):
        mask = idx == k
        out[mask] = arcs[k].evaluate(t[mask])
    return out


def _propagate_stacked(states0, t0, tdb_s, force_model, maneuvers, rtol, atol, cancel, ballistic=None):
    t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
    if t.ndim != 1 or not np.all(np.isfinite(t)):
        raise ValueError("output epochs must be a finite 1-D array")
    s0 = np.atleast_2d(np.asarray(states0, dtype=np.float64))
    out = np.empty((t.size, s0.size))
    if t.size == 0:
        return out
    # one pole for the whole request, so the forward and backward parts see the same field
    pole_t = 0.5 * (min(t.min(), t0) + max(t.max(), t0))
    after = t >= t0
    if np.any(after):
        arcs = integrate_arcs(s0, t0, t[after].max(), force_model, maneuvers, rtol, atol, cancel,
                              ballistic, pole_t)
        out[after] = evaluate_arcs(arcs, t[after])
    if np.any(~after):
        arcs = integrate_arcs(s0, t0, t[~after].min(), force_model, (), rtol, atol, cancel, ballistic, pole_t)
        out[~after] = evaluate_arcs(arcs, t[~after])
    return out


def propagate(state0, t0_tdb_s: float, tdb_s, force_model: ForceModel, maneuvers=(), rtol: float = 1e-12,
              atol: float = 1e-9, cancel=None) -> np.ndarray:
    """(N,6) Mars-centred EME2000 states [km, km/s] at TDB epochs ``tdb_s`` (any order, either side of
    t0) from ``state0`` (6,) at ``t0_tdb_s``, with maneuvers applied after t0. ``cancel`` is a callable or
    a threading.Event; when it turns true the call raises PropagationCancelled."""
    s0 = np.asarray(state0, dtype=np.float64).reshape(1, 6)
    return _propagate_stacked(s0, float(t0_tdb_s), tdb_s, force_model, maneuvers, rtol, atol, cancel)


def propagate_many(states0, t0_tdb_s: float, tdb_s, force_model: ForceModel, ballistic_m2kg=None,
                   rtol: float = 1e-12, atol: float = 1e-9, cancel=None) -> np.ndarray:
    """(M,N,6) states of M orbits (M,6) sharing epoch t0, integrated together in one solve_ivp call.
    ``ballistic_m2kg`` (M,) gives each object's Cd A/m when the model has drag (default: the model's)."""
    s0 = np.atleast_2d(np.asarray(states0, dtype=np.float64))
    out = _propagate_stacked(s0, float(t0_tdb_s), tdb_s, force_model, (), rtol, atol, cancel, ballistic_m2kg)
    return out.reshape(out.shape[0], s0.shape[0], 6).transpose(1, 0, 2)
