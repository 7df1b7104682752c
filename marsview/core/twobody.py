"""Two-body (Keplerian) propagation with universal variables, for any conic, many objects x many epochs.

The universal anomaly chi solves Kepler's universal equation (Battin 1999, sec. 4.5; Vallado 2013,
alg. 8) with Stumpff functions c2, c3; Lagrange f, g, fdot, gdot then map the initial state to each
epoch. The root is found by the Laguerre iteration (Conway 1986, "An improved algorithm due to Laguerre
for the solution of Kepler's equation"), kept inside a rigorous bracket with a bisection fallback, so
it converges for circular, highly eccentric, near-parabolic and hyperbolic orbits alike. Elliptic
time offsets are first reduced modulo the period (exact for a Keplerian orbit; keeps chi small and the
result as precise after 10 000 revolutions as after one).

Ellipses with e <= 0.95 asked at >= 256 epochs take a faster path with the same physics: Kepler's
equation solved from a cached per-eccentricity table plus a series correction, with no trigonometric
call per epoch (see ``_elliptic_fast``; its loop runs compiled by numba, core.kernels, unless
MARSVIEW_NO_JIT=1). Both paths are tested against each other and against an independent integrator
(tests/core/test_twobody.py); the compiled loop against the numpy one (tests/core/test_jit_kernels.py).

Units: km, km/s, s; states Mars-centred in whatever inertial frame they are given in.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .constants import GM_MARS_KM3S2
from .ephemeris import Ephemeris
from .jit import jit_enabled
from .orbits import cross3, solve_kepler

_CHUNK = 1 << 15  # elements per vectorized chunk: keeps temporaries in cache
_SERIES_PSI = 1.0
# 1/(2k+2)! and 1/(2k+3)! for the small-|psi| Stumpff series (12 terms: error < 1e-26 at |psi| = 1)
_C2_COEF = np.array([1.0 / np.prod(np.arange(1.0, 2 * k + 3)) for k in range(12)])
_C3_COEF = np.array([1.0 / np.prod(np.arange(1.0, 2 * k + 4)) for k in range(12)])


def stumpff_c2_c3(psi):
    """Stumpff functions c2(psi) = (1 - cos sqrt psi)/psi, c3(psi) = (sqrt psi - sin sqrt psi)/sqrt psi^3,
    continued to psi <= 0 with cosh/sinh; series near 0 (no cancellation)."""
    psi = np.asarray(psi, dtype=np.float64)
    c2 = np.empty_like(psi)
    c3 = np.empty_like(psi)
    pos = psi > _SERIES_PSI
    neg = psi < -_SERIES_PSI
    mid = ~(pos | neg)
    if np.any(pos):
        s = np.sqrt(psi[pos])
        sh, ch = np.sin(0.5 * s), np.cos(0.5 * s)
        c2[pos] = 2.0 * sh * sh / psi[pos]  # 1 - cos s = 2 sin^2(s/2): no cancellation near s = 2 pi k
        c3[pos] = (s - 2.0 * sh * ch) / (s * psi[pos])
    if np.any(neg):
        s = np.sqrt(-psi[neg])
        c2[neg] = (np.cosh(s) - 1.0) / -psi[neg]
        c3[neg] = (np.sinh(s) - s) / (s * -psi[neg])
    if np.any(mid):
        x = -psi[mid]
        a2 = np.full_like(x, _C2_COEF[-1])
        a3 = np.full_like(x, _C3_COEF[-1])
        for k in range(len(_C2_COEF) - 2, -1, -1):
            a2 = a2 * x + _C2_COEF[k]
            a3 = a3 * x + _C3_COEF[k]
        c2[mid], c3[mid] = a2, a3
    return c2, c3


def _kepler_universal(dt, r0, sigma0, alpha, sqmu, rp, guess, tol=1e-15, max_iter=60):
    """chi at each time offset dt (N,) for one orbit: sigma0 = r0.v0/sqrt(mu), alpha = 1/a, rp = periapsis
    radius (scalars, or (N,) arrays: one orbit per offset).

    F(chi) = sigma0 chi^2 c2 + (1 - alpha r0) chi^3 c3 + r0 chi - sqrt(mu) dt is increasing with
    F' = r >= rp, so chi lies between 0 and sqrt(mu) dt / rp: a bracket for every conic.
    """
    bound = sqmu * dt / rp
    lo = np.minimum(0.0, bound)
    hi = np.maximum(0.0, bound)
    chi = np.clip(guess, lo, hi)
    oa = 1.0 - alpha * r0
    n = 5.0
    active = np.arange(dt.size)
    per_orbit = np.ndim(r0) > 0
    if per_orbit:
        r0_all, sigma0_all, alpha_all, oa_all = r0, sigma0, alpha, oa
    for _ in range(max_iter):
        if per_orbit:
            r0, sigma0, alpha, oa = r0_all[active], sigma0_all[active], alpha_all[active], oa_all[active]
        x = chi[active]
        x2 = x * x
        psi = alpha * x2
        c2, c3 = stumpff_c2_c3(psi)
        t1, t2, t3 = sigma0 * x2 * c2, oa * x2 * x * c3, r0 * x
        f = t1 + t2 + t3 - sqmu * dt[active]
        noise = 4e-16 * (np.abs(t1) + np.abs(t2) + np.abs(t3) + sqmu * np.abs(dt[active]))
        df = x2 * c2 + sigma0 * x * (1.0 - psi * c3) + r0 * (1.0 - psi * c2)
        ddf = sigma0 * (1.0 - psi * c2) + oa * x * (1.0 - psi * c3)
        # shrink the bracket with the sign of F
        neg = f < 0.0
        lo[active] = np.where(neg, np.maximum(lo[active], x), lo[active])
        hi[active] = np.where(neg, hi[active], np.minimum(hi[active], x))
        disc = np.sqrt(np.abs((n - 1.0) ** 2 * df * df - n * (n - 1.0) * f * ddf))
        xn = x - n * f / (df + np.copysign(disc, df))
        la, ha = lo[active], hi[active]
        outside = (xn <= la) | (xn >= ha) | ~np.isfinite(xn)
        xn = np.where(outside, 0.5 * (la + ha), xn)
        at_floor = np.abs(f) <= noise  # F is zero to rounding: chi is as exact as float64 allows
        done = at_floor | (np.abs(xn - x) <= tol * np.maximum(np.abs(xn), 1.0)) | (ha - la <= tol * np.maximum(np.abs(xn), 1.0))
        chi[active] = np.where(at_floor, x, xn)
        active = active[~done]
        if active.size == 0:
            return chi
    raise ArithmeticError(f"universal Kepler equation did not converge for {active.size} epochs")


def _universal_one(state0, dt, mu):
    """(N,6) states at time offsets dt (N,) from one initial state, by universal variables."""
    r0v, v0v = state0[:3], state0[3:]
    sqmu = math.sqrt(mu)
    r0 = math.sqrt(r0v @ r0v)
    rv = float(r0v @ v0v)
    alpha = 2.0 / r0 - float(v0v @ v0v) / mu
    hv = cross3(r0v, v0v)
    p = float(hv @ hv) / mu
    ecc = math.sqrt(max(0.0, 1.0 - p * alpha))
    rp = p / (1.0 + ecc)
    sigma0 = rv / sqmu
    dt = np.array(dt, dtype=np.float64)
    if alpha > 0.0:  # elliptic: reduce dt modulo the period (exact for Kepler motion)
        per = 2.0 * math.pi / (sqmu * alpha ** 1.5)
        dt -= per * np.round(dt / per)
        guess = sqmu * alpha * dt  # eccentric-anomaly change ~ mean-anomaly change
    elif ecc > 1.0 + 1e-6:
        # hyperbola: chi grows like log t and a poor guess costs many steps, so start from the exact
        # hyperbolic-anomaly change (nearer to parabolic it is ill-conditioned: Laguerre copes alone)
        sa = math.sqrt(-alpha)
        h0 = math.asinh(sigma0 * sa / ecc)
        mean = ecc * math.sinh(h0) - h0 + sqmu * sa ** 3 * dt
        guess = (solve_kepler(mean, ecc) - h0) / sa
    else:
        guess = sqmu * dt / max(r0, rp)
    chi = _kepler_universal(dt, r0, sigma0, alpha, sqmu, rp, np.atleast_1d(guess))
    f, g, fdot, gdot = _lagrange_coefficients(chi, dt, r0, sigma0, alpha, sqmu)
    out = np.empty((dt.size, 6))
    out[:, :3] = np.multiply.outer(f, r0v) + np.multiply.outer(g, v0v)
    out[:, 3:] = np.multiply.outer(fdot, r0v) + np.multiply.outer(gdot, v0v)
    return out


# --- fast path for elliptic orbits: Kepler's equation from a per-orbit table --------------------------
# A table of E at K equally spaced mean anomalies (solved once per orbit, by solve_kepler) leaves a local
# correction delta = E - E_j with |delta| <= (2 pi/K)/(1-e). Two Halley steps on
#   delta + e sin E_j (1 - cos delta) - e cos E_j sin delta = M - M_j
# with short series for sin/cos delta converge to rounding, and sin E, cos E follow from the angle-
# addition formulas: no trigonometric call per epoch (the universal path needs ~8). Used for e <= 0.95.
_FAST_MAX_ECC = 0.95
_FAST_TABLE = 8192
_FAST_MIN_EPOCHS = 256  # below this the per-epoch saving does not pay for building a table


def _sin_1mcos(d, short: bool):
    """sin d and 1 - cos d by Taylor series: to d^9 (|d| <= 0.02, truncation < 1e-25) or, when
    ``short``, to d^6 (|d| <= 8e-3, relative truncation < 1e-16)."""
    d2 = d * d
    if short:
        return d * (1.0 - d2 * (1.0 / 6.0 - d2 * (1.0 / 120.0))), d2 * (0.5 - d2 * (1.0 / 24.0 - d2 * (1.0 / 720.0)))
    sin_d = d * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0 * (1.0 - d2 / 42.0 * (1.0 - d2 / 72.0))))
    omc = 0.5 * d2 * (1.0 - d2 / 12.0 * (1.0 - d2 / 30.0 * (1.0 - d2 / 56.0 * (1.0 - d2 / 90.0))))
    return sin_d, omc


@functools.lru_cache(maxsize=1024)
def _kepler_table(e: float):
    """sin E and cos E at _FAST_TABLE + 1 equally spaced mean anomalies; depends on e alone, so it is
    cached: an ephemeris asked again and again (screening, plots) solves it once. 1024 entries (131 kB
    each, so at most 134 MB): screening asks every object in turn, chunk after chunk, and a cache smaller
    than the number of objects would rebuild every table for every chunk."""
    grid_e = solve_kepler(np.arange(_FAST_TABLE + 1) * (2.0 * np.pi / _FAST_TABLE), e)
    sin_g, cos_g = np.sin(grid_e), np.cos(grid_e)
    sin_g.flags.writeable = False
    cos_g.flags.writeable = False
    return sin_g, cos_g


def _elliptic_fast(state0, dt, mu, out=None):
    """(N,6) Keplerian states at offsets dt from one elliptic state (e <= _FAST_MAX_ECC), written into
    ``out`` when given (a C-contiguous (N,6) view: no fresh pages to fault in and no copy)."""
    r0v, v0v = state0[:3], state0[3:]
    r0 = np.linalg.norm(r0v)
    a = 1.0 / (2.0 / r0 - (v0v @ v0v) / mu)
    hvec = cross3(r0v, v0v)
    hhat = hvec / np.linalg.norm(hvec)
    evec = ((v0v @ v0v - mu / r0) * r0v - (r0v @ v0v) * v0v) / mu
    e = float(np.linalg.norm(evec))
    phat = evec / e if e > 0.0 else r0v / r0  # circular: periapsis taken at the initial position
    qhat = cross3(hhat, phat)
    nu0 = np.arctan2(r0v @ qhat, r0v @ phat)
    sq = np.sqrt(1.0 - e * e)
    e0 = 2.0 * np.arctan2(np.sqrt(1.0 - e) * np.sin(0.5 * nu0), np.sqrt(1.0 + e) * np.cos(0.5 * nu0))
    m0 = e0 - e * np.sin(e0)
    period = 2.0 * np.pi * np.sqrt(a ** 3 / mu)
    step = 2.0 * np.pi / _FAST_TABLE
    sin_g, cos_g = _kepler_table(e)
    # |delta| <= d_max; its first guess dm/(1 - e cos E_j) is off by eps0 ~ e d^2 / (2 (1 - e)).
    # Newton squares that error (with factor e/(2(1 - e))), Halley cubes it: pick the fewest steps
    # that reach 1e-17 rad.
    d_max = step / (1.0 - e)
    eps0 = e * d_max ** 2 / (2.0 * (1.0 - e))
    if eps0 * eps0 * e / (2.0 * (1.0 - e)) < 1e-17:
        steps = ("newton",)
    elif eps0 < 1e-6:
        steps = ("halley",)
    else:
        steps = ("halley", "halley")
    short = d_max < 8e-3
    ra, vk = a, np.sqrt(mu * a)
    u0 = m0 / (2.0 * np.pi)
    out = np.empty((dt.size, 6)) if out is None else out
    if _use_jit():  # the same loop compiled (core.kernels): ~10x faster than the chunked numpy below
        from . import kernels

        code = {("newton",): 1, ("halley",): 2}.get(steps, 3)
        kernels.kepler_table_states(np.ascontiguousarray(dt, dtype=np.float64), float(period), float(u0), _FAST_TABLE,
                                 sin_g, cos_g, e, code, bool(short), float(ra), float(vk), float(sq),
                                 np.ascontiguousarray(phat, dtype=np.float64),
                                 np.ascontiguousarray(qhat, dtype=np.float64), out)
        return out
    for start in range(0, dt.size, _CHUNK):
        sl = slice(start, min(start + _CHUNK, dt.size))
        # orbit phase in revolutions; its fraction picks the table interval (the whole revolutions go)
        u = dt[sl] / period + u0
        u -= np.floor(u)
        u *= _FAST_TABLE
        j = u.astype(np.intp)  # u < _FAST_TABLE; the table has one spare entry at 2 pi anyway
        dm = (u - j) * step
        sg, cg = sin_g[j], cos_g[j]
        es, ec = e * sg, e * cg
        f1_0 = 1.0 - ec
        d = dm / f1_0
        for kind in steps:
            sin_d, omc = _sin_1mcos(d, short)
            f = d + es * omc - ec * sin_d - dm
            f1 = f1_0 + es * sin_d + ec * omc
            if kind == "newton":
                d -= f / f1
            else:
                f2 = es - es * omc + ec * sin_d
                d -= 2.0 * f * f1 / (2.0 * f1 * f1 - f * f2)
        sin_d, omc = _sin_1mcos(d, short)
        sin_e = sg + (cg * sin_d - sg * omc)
        cos_e = cg - (sg * sin_d + cg * omc)
        k = vk / (ra * (1.0 - e * cos_e))
        xp, yq = ra * (cos_e - e), (ra * sq) * sin_e
        vp, vq = -k * sin_e, (k * sq) * cos_e
        o = out[sl]
        for i in range(3):  # explicit components: BLAS matmul threads fight for cores here
            o[:, i] = xp * phat[i] + yq * qhat[i]
            o[:, 3 + i] = vp * phat[i] + vq * qhat[i]
    return out


def _use_jit() -> bool:
    return jit_enabled()  # one switch for all compiled kernels (MARSVIEW_NO_JIT); the tests replace this


def _fast_path_applies(state0, mu) -> bool:
    r0 = np.linalg.norm(state0[:3])
    v2 = state0[3:] @ state0[3:]
    if 2.0 / r0 - v2 / mu <= 0.0:
        return False
    evec = ((v2 - mu / r0) * state0[:3] - (state0[:3] @ state0[3:]) * state0[3:]) / mu
    return bool(np.linalg.norm(evec) <= _FAST_MAX_ECC)


def _lagrange_coefficients(chi, dt, r0, sigma0, alpha, sqmu):
    """f, g, fdot, gdot of the universal-variable solution chi (scalars or arrays that broadcast)."""
    psi = alpha * chi * chi
    c2, c3 = stumpff_c2_c3(psi)
    chi2 = chi * chi
    f = 1.0 - chi2 * c2 / r0
    g = dt - chi2 * chi * c3 / sqmu
    rn = chi2 * c2 + sigma0 * chi * (1.0 - psi * c3) + r0 * (1.0 - psi * c2)
    fdot = sqmu * chi * (psi * c3 - 1.0) / (rn * r0)
    gdot = 1.0 - chi2 * c2 / rn
    return f, g, fdot, gdot


def propagate_twobody(states0, t0_tdb_s, tdb_s, gm_km3s2: float = GM_MARS_KM3S2,
                      method: str = "auto") -> np.ndarray:
    """Keplerian states at epochs ``tdb_s`` (N,) from initial states at ``t0_tdb_s``.

    ``states0`` (6,) -> (N,6); (M,6) -> (M,N,6). ``t0_tdb_s`` is a scalar or one epoch per object (M,).
    Frame and centre are those of ``states0``. ``method="universal"`` forces the universal-variable
    solver for every orbit; ``"auto"`` uses the tabulated-Kepler fast path for ellipses with e <= 0.95
    when there are at least 256 epochs.
    """
    s0 = np.asarray(states0, dtype=np.float64)
    single = s0.ndim == 1
    s0 = np.atleast_2d(s0)
    if s0.shape[-1] != 6 or s0.ndim != 2:
        raise ValueError(f"states0 must be (6,) or (M,6), got {np.shape(states0)}")
    if method not in ("auto", "universal"):
        raise ValueError(f"method must be 'auto' or 'universal', not {method!r}")
    t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
    t0 = np.broadcast_to(np.asarray(t0_tdb_s, dtype=np.float64), (s0.shape[0],))
    if not (np.all(np.isfinite(s0)) and np.all(np.isfinite(t)) and np.all(np.isfinite(t0))):
        raise ValueError("propagate_twobody needs finite states and epochs")
    mu = float(gm_km3s2)
    out = np.empty((s0.shape[0], t.size, 6))
    for k in range(s0.shape[0]):
        if not np.any(cross3(s0[k, :3], s0[k, 3:])):
            raise ValueError("rectilinear state (r parallel to v): two-body propagation undefined")
        if method == "auto" and t.size >= _FAST_MIN_EPOCHS and _fast_path_applies(s0[k], mu):
            _elliptic_fast(s0[k], t - t0[k], mu, out[k])
            continue
        for start in range(0, t.size, _CHUNK):
            sl = slice(start, min(start + _CHUNK, t.size))
            out[k, sl] = _universal_one(s0[k], t[sl] - t0[k], mu)
    return out[0] if single else out


def propagate_twobody_each(states0, t0_tdb_s, tdb_s, gm_km3s2: float = GM_MARS_KM3S2) -> np.ndarray:
    """(K,6) Keplerian states: orbit k from states0[k] at t0_tdb_s[k] to its own epoch tdb_s[k], all K
    solved together by universal variables (the same equations as ``propagate_twobody``'s universal path;
    screening refines many close approaches of many orbits at once). Elliptic orbits only; others go one
    by one through ``propagate_twobody``."""
    s0 = np.asarray(states0, dtype=np.float64).reshape(-1, 6)
    t0 = np.broadcast_to(np.asarray(t0_tdb_s, dtype=np.float64), (s0.shape[0],))
    t = np.broadcast_to(np.asarray(tdb_s, dtype=np.float64), (s0.shape[0],))
    mu = float(gm_km3s2)
    sqmu = math.sqrt(mu)
    r0v, v0v = s0[:, :3], s0[:, 3:]
    r0 = np.sqrt(np.einsum("ij,ij->i", r0v, r0v))
    alpha = 2.0 / r0 - np.einsum("ij,ij->i", v0v, v0v) / mu
    hv = np.cross(r0v, v0v)
    p = np.einsum("ij,ij->i", hv, hv) / mu
    out = np.empty((s0.shape[0], 6))
    ell = (alpha > 0.0) & (p > 0.0) & np.all(np.isfinite(s0), axis=1)
    for k in np.flatnonzero(~ell):
        out[k] = propagate_twobody(s0[k], t0[k], t[k:k + 1], mu)[0]
    if not np.any(ell):
        return out
    r0v, v0v, r0, alpha, p = r0v[ell], v0v[ell], r0[ell], alpha[ell], p[ell]
    ecc = np.sqrt(np.maximum(0.0, 1.0 - p * alpha))
    rp = p / (1.0 + ecc)
    sigma0 = np.einsum("ij,ij->i", r0v, v0v) / sqmu
    dt = t[ell] - t0[ell]
    per = 2.0 * math.pi / (sqmu * alpha ** 1.5)
    dt = dt - per * np.round(dt / per)
    chi = _kepler_universal(dt, r0, sigma0, alpha, sqmu, rp, sqmu * alpha * dt)
    f, g, fdot, gdot = _lagrange_coefficients(chi, dt, r0, sigma0, alpha, sqmu)
    out[ell, :3] = f[:, None] * r0v + g[:, None] * v0v
    out[ell, 3:] = fdot[:, None] * r0v + gdot[:, None] * v0v
    return out


class TwoBodyEphemeris(Ephemeris):
    """A Keplerian orbit as an :class:`Ephemeris` over [start_tdb_s, stop_tdb_s]."""

    def __init__(self, name: str, state0, t0_tdb_s: float, start_tdb_s: float, stop_tdb_s: float,
                 gm_km3s2: float = GM_MARS_KM3S2, frame: str = "EME2000", source: str = ""):
        s = np.asarray(state0, dtype=np.float64)
        if s.shape != (6,):
            raise ValueError(f"{name}: state0 must have 6 components, got shape {s.shape}")
        if not stop_tdb_s >= start_tdb_s:
            from .time import utc_label

            raise ValueError(f"{name}: stop {utc_label(stop_tdb_s)} is before start {utc_label(start_tdb_s)}")
        self.name = name
        self.frame = frame
        self.state0 = s.copy()
        self.t0_tdb_s = float(t0_tdb_s)
        self.gm_km3s2 = float(gm_km3s2)
        self._coverage = (float(start_tdb_s), float(stop_tdb_s))
        self.source = source or f"two-body from {name} state"

    @property
    def coverage(self) -> tuple[float, float]:
        return self._coverage

    def _state(self, tdb_s: np.ndarray) -> np.ndarray:
        return propagate_twobody(self.state0, self.t0_tdb_s, tdb_s, self.gm_km3s2)

    @staticmethod
    def states_each(ephemerides, tdb_s) -> np.ndarray:
        """(K,6): ephemerides[k] (TwoBodyEphemeris) at tdb_s[k], in one vectorized solve (coverage checked)."""
        t = np.asarray(tdb_s, dtype=np.float64)
        cov = np.array([e.coverage for e in ephemerides]).reshape(-1, 2)
        outside = (t < cov[:, 0]) | (t > cov[:, 1]) | ~np.isfinite(t)
        if np.any(outside):
            k = int(np.argmax(outside))
            ephemerides[k].state(t[k])  # raises its CoverageError
        out = np.empty((t.size, 6))
        gms = np.array([e.gm_km3s2 for e in ephemerides])
        for gm in np.unique(gms):
            sel = np.flatnonzero(gms == gm)
            out[sel] = propagate_twobody_each(np.array([ephemerides[k].state0 for k in sel]),
                                              np.array([ephemerides[k].t0_tdb_s for k in sel]), t[sel], gm)
        return out
