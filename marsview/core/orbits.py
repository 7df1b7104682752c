"""Classical orbital elements <-> Cartesian states, anomaly conversions and a robust Kepler solver.

Units: km, km/s, radians, km^3/s^2. Everything is vectorized (arrays broadcast); float64 throughout.
Elements are osculating two-body elements in whatever inertial frame the state is given in (the
"equator" is that frame's xy plane).

Conventions for the singular cases (so that no element is NaN and every state round-trips):
- ``e < ECC_TOL`` (circular): argp = 0 and ``nu`` holds the argument of latitude (angle from the
  ascending node to the position, in the direction of motion).
- ``inc < INC_TOL`` or ``inc > pi - INC_TOL`` (equatorial, prograde or retrograde): raan = 0, the
  "node" is the +x axis, argp is measured from +x to periapsis in the direction of motion (longitude of
  periapsis), and for circular-equatorial orbits ``nu`` is the true longitude from +x.
- Hyperbolic orbits have ``a_km < 0``; parabolic ones ``a_km = inf`` (``p_km`` is always finite and is
  what :func:`elements_to_cartesian` uses when given).
- Anomalies: elliptic E, hyperbolic H (M = e sinh H - H), parabolic D = tan(nu/2) (Barker: M = D + D^3/3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .constants import GM_MARS_KM3S2, RADIUS_EQUATORIAL_KM

ECC_TOL = 1e-11
INC_TOL = 1e-11
TWO_PI = 2.0 * np.pi


@dataclass(frozen=True)
class Elements:
    """Osculating classical elements (arrays of equal shape). Angles in radians, in [0, 2pi) except inc."""

    a_km: np.ndarray
    e: np.ndarray
    inc_rad: np.ndarray
    raan_rad: np.ndarray
    argp_rad: np.ndarray
    nu_rad: np.ndarray
    p_km: np.ndarray

    @property
    def periapsis_radius_km(self) -> np.ndarray:
        return self.p_km / (1.0 + self.e)

    @property
    def apoapsis_radius_km(self) -> np.ndarray:
        """inf for parabolic and hyperbolic orbits."""
        with np.errstate(divide="ignore"):
            return np.where(self.e < 1.0, self.p_km / (1.0 - self.e), np.inf)


def cross3(a, b):
    """Row-wise cross product of (..., 3) arrays; several times cheaper than np.cross on small arrays,
    which matters for ephemerides asked one epoch at a time (animation, root finding)."""
    a, b = np.asarray(a), np.asarray(b)
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)


def _unit(v, fallback):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > 0.0, v / np.where(n > 0.0, n, 1.0), fallback), n[..., 0]


def cartesian_to_elements(states, gm_km3s2: float = GM_MARS_KM3S2) -> Elements:
    """Osculating elements of (N,6) or (6,) states [km, km/s]; arrays of shape (N,) or scalars-as-0d."""
    s = np.asarray(states, dtype=np.float64)
    single = s.ndim == 1
    s = np.atleast_2d(s)
    if s.shape[-1] != 6:
        raise ValueError(f"states must have 6 columns (x, y, z, vx, vy, vz), got shape {s.shape}")
    r, v = s[:, :3], s[:, 3:]
    rn = np.linalg.norm(r, axis=1)
    if np.any(rn <= 0.0) or not np.all(np.isfinite(s)):
        raise ValueError("states must be finite with a non-zero position")
    mu = float(gm_km3s2)
    h = cross3(r, v)
    hhat, hn = _unit(h, np.array([0.0, 0.0, 1.0]))
    if np.any(hn <= 0.0):
        raise ValueError("rectilinear state (r parallel to v): classical elements are undefined")
    vn2 = np.einsum("ij,ij->i", v, v)
    rv = np.einsum("ij,ij->i", r, v)
    evec = ((vn2 - mu / rn)[:, None] * r - rv[:, None] * v) / mu
    e = np.linalg.norm(evec, axis=1)
    p = hn * hn / mu
    with np.errstate(divide="ignore"):
        a = np.where(np.abs(1.0 - e) > 0.0, p / (1.0 - e * e), np.inf)

    inc = np.arctan2(np.hypot(h[:, 0], h[:, 1]), h[:, 2])  # arccos(h_z/|h|) loses i near 0 and 180 deg
    equatorial = (inc < INC_TOL) | (inc > np.pi - INC_TOL)
    node = np.stack([-h[:, 1], h[:, 0], np.zeros_like(hn)], axis=1)  # z x h
    nhat, _ = _unit(node, np.array([1.0, 0.0, 0.0]))
    nhat = np.where(equatorial[:, None], np.array([1.0, 0.0, 0.0]), nhat)
    raan = np.where(equatorial, 0.0, np.mod(np.arctan2(nhat[:, 1], nhat[:, 0]), TWO_PI))

    circular = e < ECC_TOL
    ehat = np.where(circular[:, None], nhat, evec / np.where(e > 0, e, 1.0)[:, None])
    m = cross3(hhat, nhat)  # 90 deg ahead of the node, in the orbit plane
    argp = np.where(circular, 0.0,
                    np.mod(np.arctan2(np.einsum("ij,ij->i", ehat, m), np.einsum("ij,ij->i", ehat, nhat)), TWO_PI))
    q = cross3(hhat, ehat)
    nu = np.mod(np.arctan2(np.einsum("ij,ij->i", r, q), np.einsum("ij,ij->i", r, ehat)), TWO_PI)
    out = Elements(a, e, inc, raan, argp, nu, p)
    if single:
        out = Elements(*(x[0] for x in (a, e, inc, raan, argp, nu, p)))
    return out


def _perifocal_matrix(inc, raan, argp):
    """(..., 3, 3) matrix whose columns are the perifocal P, Q, W axes in the reference frame."""
    ci, si = np.cos(inc), np.sin(inc)
    co, so = np.cos(raan), np.sin(raan)
    cw, sw = np.cos(argp), np.sin(argp)
    m = np.empty(np.shape(ci) + (3, 3))
    m[..., 0, 0] = co * cw - so * sw * ci
    m[..., 0, 1] = -co * sw - so * cw * ci
    m[..., 0, 2] = so * si
    m[..., 1, 0] = so * cw + co * sw * ci
    m[..., 1, 1] = -so * sw + co * cw * ci
    m[..., 1, 2] = -co * si
    m[..., 2, 0] = sw * si
    m[..., 2, 1] = cw * si
    m[..., 2, 2] = ci
    return m


def elements_to_cartesian(a_km, e, inc_rad, raan_rad, argp_rad, nu_rad,
                          gm_km3s2: float = GM_MARS_KM3S2, p_km=None) -> np.ndarray:
    """(N,6) states [km, km/s] from classical elements (broadcast); (6,) when all inputs are scalars.

    ``p_km`` (semi-latus rectum) overrides ``a_km*(1-e^2)``; it is required for a parabola (e = 1).
    For an open orbit ``nu`` must lie within the asymptotes (|nu| < arccos(-1/e)).
    """
    args = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in
                                 (a_km, e, inc_rad, raan_rad, argp_rad, nu_rad)))
    scalar = args[0].ndim == 0
    a, ecc, inc, raan, argp, nu = (np.atleast_1d(x) for x in args)
    if np.any(ecc < 0.0):
        raise ValueError("eccentricity must be >= 0")
    if p_km is None:
        if np.any(ecc == 1.0):
            raise ValueError("a parabola (e = 1) needs p_km")
        p = a * (1.0 - ecc * ecc)
    else:
        p = np.broadcast_to(np.atleast_1d(np.asarray(p_km, dtype=np.float64)), a.shape)
    if np.any(p <= 0.0):
        raise ValueError("semi-latus rectum must be positive (a > 0 for e < 1, a < 0 for e > 1)")
    denom = 1.0 + ecc * np.cos(nu)
    if np.any(denom <= 0.0):
        raise ValueError("true anomaly beyond the asymptote of an open orbit")
    mu = float(gm_km3s2)
    rr = p / denom
    cn, sn = np.cos(nu), np.sin(nu)
    sq = np.sqrt(mu / p)
    r_pf = np.stack([rr * cn, rr * sn, np.zeros_like(rr)], axis=-1)
    v_pf = np.stack([-sq * sn, sq * (ecc + cn), np.zeros_like(rr)], axis=-1)
    m = _perifocal_matrix(inc, raan, argp)
    out = np.concatenate([np.einsum("nij,nj->ni", m, r_pf), np.einsum("nij,nj->ni", m, v_pf)], axis=1)
    return out[0] if scalar else out


# --- anomalies -----------------------------------------------------------------------------------

def solve_kepler(M_rad, e, tol: float = 1e-15, max_iter: int = 100):
    """Solve Kepler's equation, vectorized: E (e < 1, M = E - e sin E), H (e > 1, M = e sinh H - H),
    or D (e = 1, Barker: M = D + D^3/3, closed form).

    Newton from the upper end of a bracket where the function is convex, so every step stays inside
    the bracket and convergence is monotone for any e in [0, 1) and any e > 1 (no divergence near
    e -> 1). Elliptic results keep the revolution count of M (E - M in (-pi, pi]).
    """
    M, ecc = np.broadcast_arrays(np.asarray(M_rad, dtype=np.float64), np.asarray(e, dtype=np.float64))
    scalar = M.ndim == 0
    M, ecc = np.atleast_1d(M).copy(), np.atleast_1d(ecc)
    if np.any(ecc < 0.0) or not np.all(np.isfinite(M)):
        raise ValueError("solve_kepler needs finite M and e >= 0")
    out = np.empty_like(M)
    ell, hyp, par = ecc < 1.0, ecc > 1.0, ecc == 1.0
    if np.any(ell):
        out[ell] = _kepler_elliptic(M[ell], ecc[ell], tol, max_iter)
    if np.any(hyp):
        out[hyp] = _kepler_hyperbolic(M[hyp], ecc[hyp], tol, max_iter)
    if np.any(par):
        # Barker's equation D^3 + 3D - 3M = 0 has one real root, D = 2 sinh(asinh(1.5 M)/3)
        # (Cardano in hyperbolic form: no cancellation at small or negative M)
        out[par] = 2.0 * np.sinh(np.arcsinh(1.5 * M[par]) / 3.0)
    return out[0] if scalar else out


def _newton_convex(f_df, x, lo, tol, max_iter):
    """Newton for increasing convex f started at/above the root: iterates decrease monotonically.

    ``f_df`` returns (f, f', scale) where scale bounds the magnitude of the terms of f: once |f| is at
    rounding level of scale the root is as good as float64 allows (near-parabolic cancellation)."""
    active = np.arange(x.size)
    for _ in range(max_iter):
        f, df, scale = f_df(x[active], active)
        step = f / df
        xn = np.maximum(x[active] - step, lo[active])
        done = (np.abs(xn - x[active]) <= tol * np.maximum(1.0, np.abs(xn))) | (np.abs(f) <= 4e-16 * scale)
        x[active] = np.where(np.abs(f) <= 4e-16 * scale, x[active], xn)
        active = active[~done]
        if active.size == 0:
            return x
    raise ArithmeticError("Kepler solver did not converge")  # cannot happen for valid input


def _kepler_elliptic(M, e, tol, max_iter):
    # reduce to m in [0, pi] by symmetry; E lies in [m, min(m + e, pi)] and f is convex there.
    # E - sin E >= E^3/12 on [0, pi] gives E <= cbrt(12 m / e): a tight start near e -> 1, small m.
    k = np.round(M / TWO_PI)
    m = M - k * TWO_PI
    sign = np.where(m < 0.0, -1.0, 1.0)
    m = np.abs(m)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hi = np.fmin(np.minimum(m + e, np.pi), np.cbrt(12.0 * m / e))  # fmin: 0/0 at e = m = 0

    def f_df(x, idx):
        es = e[idx] * np.sin(x)
        return x - es - m[idx], 1.0 - e[idx] * np.cos(x), x + np.abs(es) + m[idx]

    E = _newton_convex(f_df, hi.copy(), m, tol, max_iter)
    return k * TWO_PI + sign * E


def _kepler_hyperbolic(M, e, tol, max_iter):
    sign = np.where(M < 0.0, -1.0, 1.0)
    m = np.abs(M)
    lo = np.arcsinh(m / e)
    # from (e-1) sinh H <= e sinh H - H and e (sinh H - H) >= e H^3/6
    hi = np.minimum(np.arcsinh(m / (e - 1.0)), np.cbrt(6.0 * m / e))

    def f_df(x, idx):
        es = e[idx] * np.sinh(x)
        return es - x - m[idx], e[idx] * np.cosh(x) - 1.0, es + x + m[idx]

    return sign * _newton_convex(f_df, hi.copy(), lo, tol, max_iter)


def _by_conic(x, ecc, elliptic, hyperbolic, parabolic):
    """Apply the branch for each conic only where it applies (no overflow from the others)."""
    x, ecc = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(ecc, dtype=np.float64))
    out = np.empty(x.shape)
    for mask, func in ((ecc < 1.0, elliptic), (ecc > 1.0, hyperbolic), (ecc == 1.0, parabolic)):
        if np.any(mask):
            out[mask] = func(x[mask], ecc[mask])
    return out if out.ndim else out[()]


def _keep_revolutions(angle, reference):
    return angle + TWO_PI * np.round((reference - angle) / TWO_PI)


def true_to_anomaly(nu_rad, e):
    """Eccentric (e<1), hyperbolic (e>1) or parabolic D (e=1) anomaly from the true anomaly.
    Elliptic results keep the revolution count of nu."""
    return _by_conic(
        nu_rad, e,
        lambda nu, ec: _keep_revolutions(
            2.0 * np.arctan2(np.sqrt(1.0 - ec) * np.sin(0.5 * nu), np.sqrt(1.0 + ec) * np.cos(0.5 * nu)), nu),
        lambda nu, ec: 2.0 * np.arctanh(np.sqrt((ec - 1.0) / (ec + 1.0)) * np.tan(0.5 * nu)),
        lambda nu, ec: np.tan(0.5 * nu))


def anomaly_to_true(x, e):
    """True anomaly from E (e<1), H (e>1) or D (e=1)."""
    return _by_conic(
        x, e,
        lambda E, ec: _keep_revolutions(
            2.0 * np.arctan2(np.sqrt(1.0 + ec) * np.sin(0.5 * E), np.sqrt(1.0 - ec) * np.cos(0.5 * E)), E),
        lambda H, ec: 2.0 * np.arctan(np.sqrt((ec + 1.0) / (ec - 1.0)) * np.tanh(0.5 * H)),
        lambda D, ec: 2.0 * np.arctan(D))


def true_to_mean(nu_rad, e):
    """Mean anomaly (elliptic M, hyperbolic M_h, parabolic Barker M) from the true anomaly."""
    x = true_to_anomaly(nu_rad, e)
    return _by_conic(x, e, lambda E, ec: E - ec * np.sin(E), lambda H, ec: ec * np.sinh(H) - H,
                     lambda D, ec: D + D ** 3 / 3.0)


def mean_to_true(M_rad, e):
    """True anomaly from the mean anomaly (elliptic keeps the revolution count of M)."""
    return anomaly_to_true(solve_kepler(M_rad, e), e)


def period_s(a_km, gm_km3s2: float = GM_MARS_KM3S2):
    """Keplerian period 2 pi sqrt(a^3/GM) [s]; inf for a <= 0 (open orbits)."""
    a = np.asarray(a_km, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(a > 0.0, TWO_PI * np.sqrt(np.abs(a) ** 3 / gm_km3s2), np.inf)


def mean_motion_rads(a_km, gm_km3s2: float = GM_MARS_KM3S2):
    """sqrt(GM/|a|^3) [rad/s] (for hyperbolae the hyperbolic mean motion)."""
    return np.sqrt(gm_km3s2 / np.abs(np.asarray(a_km, dtype=np.float64)) ** 3)


def state_from_peri_apo(periapsis_alt_km, apoapsis_alt_km, inc_deg, raan_deg, argp_deg, true_anomaly_deg,
                        gm_km3s2: float = GM_MARS_KM3S2, ref_radius_km: float = RADIUS_EQUATORIAL_KM):
    """(6,) state [km, km/s] of the elliptic orbit with these altitudes above a sphere of ``ref_radius_km``.

    Angles are relative to the equator and x axis of whatever frame the caller means (MCI for the
    Mars equator, EME2000 otherwise); the returned state is in that same frame.
    """
    rp = ref_radius_km + float(periapsis_alt_km)
    ra = ref_radius_km + float(apoapsis_alt_km)
    if rp <= 0.0 or ra < rp:
        raise ValueError(f"need 0 < periapsis radius <= apoapsis radius (got {rp} km, {ra} km)")
    a = 0.5 * (rp + ra)
    e = (ra - rp) / (ra + rp)
    return elements_to_cartesian(a, e, np.radians(inc_deg), np.radians(raan_deg), np.radians(argp_deg),
                                 np.radians(true_anomaly_deg), gm_km3s2)
