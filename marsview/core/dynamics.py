"""Numerical orbit propagation about Mars: force models, scipy DOP853 with dense output, maneuvers.

Everything is Mars-centred EME2000, km, km/s, TDB seconds past J2000.

Force models (``ForceModel``): point mass; zonal J2 or J2-J4 about the IAU 2015 pole *of date*; exponential
atmosphere drag in a co-rotating atmosphere (per-spacecraft area, mass, Cd; core.atmosphere); the Sun as a
point-mass third body on an analytic Mars heliocentric orbit (core.sun). Constants default to
core.constants and can all be overridden.

The pole is evaluated once per ``propagate`` call, at the middle of the span (per-call cost matters: the
right-hand side runs ~600 times per orbit). It moves ~3 arcsec per year (secular rates, the 1.6 deg
198-year term, and sub-arcsecond terms with periods down to ~6 months), so freezing it is a small error,
not none: for MRO, freezing it at the start instead of mid-span moves the orbit by 0.3 m after 7 days and
7 m after 30 days (the mid-span choice roughly halves that). A pole off by 1 arcmin would be kilometres a week.

The right-hand side is vectorized over objects: ``propagate_many`` integrates M orbits that share epochs in
one DOP853 integration (the step size is set by the most demanding orbit; scipy's RMS error norm then bounds
the mean error of the objects, so the default tolerance is tightened by sqrt(M)).

Engine: compiled numba kernels (core.kernels) run the force model and scipy's DOP853 algorithm itself (the same
steps, error control and dense output as solve_ivp; ~30x faster; compiled once, then cached on disk).
Finite burns and non-exponential atmospheres use scipy's solve_ivp with the numpy right-hand side below,
which stays the reference the kernels are tested against; MARSVIEW_NO_JIT=1 forces that path everywhere
(the switch is core.jit.jit_enabled, re-exported here).

Tolerances: ``rtol`` is relative; ``atol`` applies to positions [km], and ``atol * 1e-3`` to velocities
[km/s] (a 1000 s time scale), so velocity errors cannot accumulate into along-track drift unchecked.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from . import constants as C
from .atmosphere import ExponentialAtmosphere
from .ephemeris import CoverageError, Ephemeris
from .frames import mars_pole_eme2000, transform_states
from .jit import jit_enabled
from .jobs import Cancelled
from .maneuvers import FiniteBurn, ImpulsiveBurn, apply_impulse, sort_maneuvers
from .sun import SunTable
from .time import utc_label, utc_span

FORCE_MODEL_NAMES = ("two-body", "j2", "zonal", "full")
CANCEL_CHECK_EVERY = 256  # right-hand-side evaluations between cancel checks (~10 ms of work)
JIT_STEPS_PER_CHUNK = 256  # compiled DOP853 steps between cancel checks (~256 x 15 x M evaluations)


class PropagationCancelled(Cancelled, RuntimeError):
    """The caller's cancel flag was raised during a propagation (a ``core.jobs.Cancelled``; still a RuntimeError
    for older ``except`` sites)."""


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

    Built once per propagation: the pole, rotation vector, coefficients and a Sun table are fixed here.
    One object takes a plain-float path (numpy's per-call overhead on 3-vectors would dominate it);
    several objects take the vectorized numpy path. Both compute the same formulas."""

    def __init__(self, force_model: ForceModel, pole_epoch_tdb_s: float, ballistic_m2kg=None, count: int = 1,
                 span_tdb_s: tuple[float, float] | None = None):
        fm = force_model
        self.fm = fm
        self.mu = fm.gm_km3s2
        self.pole = mars_pole_eme2000(pole_epoch_tdb_s)[0]
        self.omega = fm.rotation_rate_rads * self.pole
        self._pole_tuple = tuple(self.pole.tolist())
        self._omega_tuple = tuple(self.omega.tolist())
        self.jn = [(n, getattr(fm, f"j{n}") * fm.ref_radius_km**n) for n in (2, 3, 4) if n <= fm.zonal_degree]
        # gradient of -mu/r J_n (R/r)^n P_n(u): a_n = mu/r^2 J_n (R/r)^n [((n+1) P_n + u P_n') r_hat - P_n' pole]
        # as polynomials in u = sin(latitude): coefficients of u^0..u^4 for the radial and the pole parts
        radial = {2: [-1.5, 0, 7.5, 0, 0], 3: [0, -7.5, 0, 17.5, 0], 4: [1.875, 0, -26.25, 0, 39.375]}
        polar = {2: [0, 3, 0, 0, 0], 3: [-1.5, 0, 7.5, 0, 0], 4: [0, -7.5, 0, 17.5, 0]}
        self._radial = [(n, [c * jr for c in radial[n]]) for n, jr in self.jn]
        self._polar = [(n, [c * jr for c in polar[n]]) for n, jr in self.jn]
        # the same as one (len(jn)*5, 2) matrix for the vectorized path: rows (n, k) -> r^-n u^k
        self._zonal_matrix = np.array([[cr[k], cp[k]] for (_, cr), (_, cp) in zip(self._radial, self._polar)
                                       for k in range(5)]).reshape(-1, 2)
        self._r_pow = np.array([float(n) for n, _ in self.jn])
        self._u_pow = np.arange(5.0)
        b = fm.ballistic_m2kg if ballistic_m2kg is None else ballistic_m2kg
        self.ballistic = np.broadcast_to(np.asarray(b, dtype=np.float64), (count,)).copy()
        span = span_tdb_s or (pole_epoch_tdb_s, pole_epoch_tdb_s)
        self.sun_table = SunTable(*span) if fm.sun else None
        self.finite_burn: FiniteBurn | None = None
        self.evaluations = 0
        self.cancel = None
        self.count = count

    def _zonal_coefs(self, u, inv_r):
        """Radial and polar coefficients (sums over n of J_n R^n / r^n times the u-polynomials)."""
        u2 = u * u
        upow = (1.0, u, u2, u2 * u, u2 * u2)
        c_r = c_p = 0.0
        for (n, cr), (_, cp) in zip(self._radial, self._polar):
            q = inv_r**n
            c_r = c_r + q * sum(c * p for c, p in zip(cr, upow) if c)
            c_p = c_p + q * sum(c * p for c, p in zip(cp, upow) if c)
        return c_r, c_p

    def acceleration(self, t: float, s: np.ndarray) -> np.ndarray:
        """(M,3) acceleration [km/s^2] for states s (M,6) at TDB epoch t (vectorized path)."""
        r = s[:, :3]
        inv_r = 1.0 / np.sqrt(np.einsum("ij,ij->i", r, r))
        f = self.mu * inv_r**3
        if self.jn or self.fm.drag:
            u = (r @ self.pole) * inv_r
        if self.jn:
            powers = np.power.outer(inv_r, self._r_pow)[:, :, None] * np.power.outer(u, self._u_pow)[:, None, :]
            c = powers.reshape(r.shape[0], -1) @ self._zonal_matrix
            c_r, c_p = c[:, 0], c[:, 1]
            acc = (f * (c_r - 1.0))[:, None] * r - (f * c_p / inv_r)[:, None] * self.pole
        else:
            acc = -f[:, None] * r
        if self.fm.drag:
            acc += self._drag(r, s[:, 3:6], 1.0 / inv_r, u)
        if self.fm.sun:
            rs = np.array(self.sun_table.position_km(t))
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

    def _acceleration_one(self, t: float, x, y, z, vx, vy, vz):
        """Plain-float version of ``acceleration`` for one object."""
        inv_r = 1.0 / math.sqrt(x * x + y * y + z * z)
        f = self.mu * inv_r**3
        px, py, pz = self._pole_tuple
        if self.jn or self.fm.drag:
            u = (x * px + y * py + z * pz) * inv_r
        if self.jn:
            c_r, c_p = self._zonal_coefs(u, inv_r)
            fr, fp = f * (c_r - 1.0), f * c_p / inv_r
            ax, ay, az = fr * x - fp * px, fr * y - fp * py, fr * z - fp * pz
        else:
            ax, ay, az = -f * x, -f * y, -f * z
        if self.fm.drag:
            atm = self.fm.atmosphere
            alt = 1.0 / inv_r - float(atm.surface_radius_km(u))
            if alt <= atm.ceiling_alt_km:
                rho = atm.ref_density_kgm3 * math.exp(-(alt - atm.ref_alt_km) / atm.scale_height_km)
                wx, wy, wz = self._omega_tuple
                rx, ry, rz = vx - (wy * z - wz * y), vy - (wz * x - wx * z), vz - (wx * y - wy * x)
                k = -0.5e3 * rho * float(self.ballistic[0]) * math.sqrt(rx * rx + ry * ry + rz * rz)
                ax, ay, az = ax + k * rx, ay + k * ry, az + k * rz
        if self.fm.sun:
            sx, sy, sz = self.sun_table.position_km(t)
            dx, dy, dz = sx - x, sy - y, sz - z
            gd = self.fm.gm_sun_km3s2 / math.sqrt(dx * dx + dy * dy + dz * dz) ** 3
            gs = self.fm.gm_sun_km3s2 / math.sqrt(sx * sx + sy * sy + sz * sz) ** 3
            ax, ay, az = ax + gd * dx - gs * sx, ay + gd * dy - gs * sy, az + gd * dz - gs * sz
        return ax, ay, az

    def jit_args(self):
        """This force model as ``kernels.accel_into``'s argument tuple (None for a non-exponential atmosphere)."""
        if type(self.fm.atmosphere) is not ExponentialAtmosphere:
            return None
        from . import kernels

        return kernels.force_args(self.mu, self.pole, self.omega, self._radial, self._polar, self.fm,
                                  self.ballistic, self.sun_table)

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        self.evaluations += 1
        if self.cancel is not None and self.evaluations % CANCEL_CHECK_EVERY == 0 and _cancelled(self.cancel):
            raise PropagationCancelled("propagation cancelled")
        if self.count == 1 and self.finite_burn is None:
            x, yy, z, vx, vy, vz = y.tolist()
            ax, ay, az = self._acceleration_one(t, x, yy, z, vx, vy, vz)
            return np.array((vx, vy, vz, ax, ay, az))
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
    acc = Accelerations(force_model, tdb_s, count=s.shape[0], span_tdb_s=(tdb_s, tdb_s))
    return acc.acceleration(float(tdb_s), s)


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
    acc = Accelerations(force_model, pole_t, ballistic_m2kg, count, (t0, t_end))
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
        fa = acc.jit_args() if acc.finite_burn is None and jit_enabled() else None
        if fa is not None:
            sol, y_end = _jit_solve(acc, fa, a, b, y, r_tol, a_tol)
            arcs.append(_Arc(a, b, y.copy(), sol))
            y = y_end
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


def _jit_solve(acc: Accelerations, fa, t0: float, t1: float, y0, rtol: float, atol):
    from . import kernels

    def check_cancel(evaluations):
        acc.evaluations += evaluations
        if acc.cancel is not None and _cancelled(acc.cancel):
            raise PropagationCancelled("propagation cancelled")

    return kernels.solve_dop853(fa, t0, t1, y0, rtol, atol, check_cancel, JIT_STEPS_PER_CHUNK)


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


# --- the propagated ephemeris ----------------------------------------------------------------------

class PropagatedEphemeris(Ephemeris):
    """A numerically propagated orbit as an Ephemeris (Mars-centred EME2000, dense output on [t0, stop]).

    With ``initial_ephemeris`` this is a *planned* trajectory: the existing ephemeris (e.g. a partner's
    OEM) is followed up to the first maneuver, whose pre-burn state starts the propagation; ``state0`` is
    then ignored and may be None. Without maneuvers it is the initial ephemeris itself, bit for bit.
    ``delta=True`` instead returns initial(t) + [propagated with burns - propagated without], which removes
    the force-model mismatch between the file's dynamics and ours from the burn's effect (costs a second
    propagation). Maneuver epochs (impulsive epochs, finite start/stop) are the segment boundaries; on a
    boundary the post-burn state is returned."""

    def __init__(self, name: str, state0, t0_tdb_s: float, stop_tdb_s: float, force_model: ForceModel,
                 maneuvers=(), initial_ephemeris: Ephemeris | None = None, rtol: float = 1e-12,
                 atol: float = 1e-9, cancel=None, delta: bool = False):
        self.name = name
        self.frame = "EME2000"
        self.force_model = force_model
        self.t0_tdb_s, self.stop_tdb_s = float(t0_tdb_s), float(stop_tdb_s)
        if not self.stop_tdb_s >= self.t0_tdb_s:
            raise ValueError(f"{name}: stop epoch {utc_label(stop_tdb_s)} is before the start {utc_label(t0_tdb_s)}")
        self.maneuvers = tuple(sort_maneuvers(maneuvers))
        burns = _active_maneuvers(self.maneuvers)
        for m in burns:
            if not self.t0_tdb_s <= m.start_tdb_s <= self.stop_tdb_s:
                raise ValueError(f"{name}: maneuver at {utc_label(m.start_tdb_s)} is outside the propagation "
                                 f"span {utc_span(self.t0_tdb_s, self.stop_tdb_s)}")
        self._boundaries = np.array(sorted({b for m in burns for b in m.boundaries_tdb_s
                                            if self.t0_tdb_s <= b <= self.stop_tdb_s}))
        self.initial_ephemeris = initial_ephemeris
        self.delta = bool(delta) and initial_ephemeris is not None
        self._arcs: list[_Arc] = []
        self._reference_arcs: list[_Arc] = []
        if initial_ephemeris is not None:
            lo, hi = initial_ephemeris.coverage
            self.switch_tdb_s = burns[0].start_tdb_s if burns else math.inf
            needed_hi = self.stop_tdb_s if (self.delta or not burns) else self.switch_tdb_s
            if self.t0_tdb_s < lo or needed_hi > hi:
                raise CoverageError(f"{name}: initial ephemeris {initial_ephemeris.name} covers "
                                    f"{utc_span(lo, hi)}, not {utc_span(self.t0_tdb_s, needed_hi)}")
            if burns:
                start = self._initial_state(self.switch_tdb_s)
                kw = dict(rtol=rtol, atol=atol, cancel=cancel, pole_epoch_tdb_s=0.5 * (
                    self.switch_tdb_s + self.stop_tdb_s))
                self._arcs = integrate_arcs(start, self.switch_tdb_s, self.stop_tdb_s, force_model, burns, **kw)
                if self.delta:
                    self._reference_arcs = integrate_arcs(start, self.switch_tdb_s, self.stop_tdb_s,
                                                          force_model, (), **kw)
        else:
            if state0 is None:
                raise ValueError(f"{name}: give state0 or initial_ephemeris")
            self.switch_tdb_s = -math.inf
            self._arcs = integrate_arcs(state0, self.t0_tdb_s, self.stop_tdb_s, force_model, burns,
                                        rtol=rtol, atol=atol, cancel=cancel)

    def _initial_state(self, tdb_s):
        eph = self.initial_ephemeris
        s = eph.state(np.atleast_1d(tdb_s))
        if eph.frame.upper() not in ("EME2000", "ICRF", "J2000"):
            s = transform_states(s, tdb_s, eph.frame, "EME2000")
        return s

    @property
    def coverage(self) -> tuple[float, float]:
        return (self.t0_tdb_s, self.stop_tdb_s)

    def _state(self, tdb_s: np.ndarray) -> np.ndarray:
        out = np.empty((tdb_s.size, 6))
        before = tdb_s < self.switch_tdb_s
        if np.any(before):
            out[before] = self._initial_state(tdb_s[before])
        after = ~before
        if np.any(after):
            t = tdb_s[after]
            planned = evaluate_arcs(self._arcs, t)
            if self.delta:
                planned = self._initial_state(t) + (planned - evaluate_arcs(self._reference_arcs, t))
            out[after] = planned
        return out

    def segment_boundaries(self) -> np.ndarray:
        return self._boundaries.copy()

    def source_at(self, tdb_s: float) -> str:
        if tdb_s < self.switch_tdb_s and self.initial_ephemeris is not None:
            return self.initial_ephemeris.source_at(tdb_s)
        return f"{self.name}: propagated ({self.force_model.name})"
