"""Probability that a 2D Gaussian falls inside a disk: the short-encounter collision probability kernels.

All functions work in the encounter plane, in principal axes of the combined covariance: the miss vector
(miss_x, miss_y), the standard deviations (sigma_x, sigma_y) and the combined hard-body radius share one
length unit (any unit; marsview's core passes km). Inputs broadcast against each other.

- `pc_circle`: the exact integral (Foster-type), vectorized. The double integral is reduced to a 1D integral
  along the axis with the smaller sigma; the other axis is integrated in closed form with the normal CDF.
  The 1D integrand is log-concave (Prekopa: marginal of a log-concave density restricted to a convex set), so
  its support that matters is found from a coarse scan and integrated with Gauss-Kronrod (7/15) panels in
  the angle theta (x = x_m + R sin theta, which removes the square-root end-point singularity). Everything
  is done in log space, so probabilities far below 1e-30 keep their relative accuracy (down to ~1e-300).
  Entries whose Gauss/Kronrod difference exceeds 1e-4 relative are recomputed with scipy.integrate.quad
  (`pc_circle_quad`, epsrel 1e-12); the others agree with quad to ~1e-10 relative (tests check this).
- `pc_chan`: Chan's (1997/2008) series with an equal-area approximation; fast, but poor for elongated
  covariances (Alfano 2009 cases 3 and 5: 3x too low and 1e200 too low) -- flagged by `chan_is_poor`.
- `pc_max_geometry`: the largest probability any covariance can give for a miss distance and radius
  (covariance collapsed onto the miss line, sigma chosen to maximize; Alfano 2005 / Frisbee).
- `pc_max_scaled`: the largest probability over a scale factor on a given covariance shape (Alfano 2005).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, special

# Gauss-Kronrod 7/15 abscissae and weights on [-1, 1] (QUADPACK qk15; Piessens et al. 1983).
_XGK = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                 0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                 0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                 0.207784955007898467600689403773245, 0.0])
_WGK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                 0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                 0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
_WG = np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                0.381830050505118944950369775488975, 0.417959183673469387755102040816327])
KRONROD_NODES = np.concatenate([-_XGK[:-1], _XGK[::-1]])          # 15 nodes, ascending
KRONROD_WEIGHTS = np.concatenate([_WGK[:-1], _WGK[::-1]])
GAUSS_WEIGHTS_ON_KRONROD = np.zeros(15)
GAUSS_WEIGHTS_ON_KRONROD[[1, 3, 5, 7, 9, 11, 13]] = np.concatenate([_WG[:-1], _WG[::-1]])

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_DROP = 80.0        # integrand support: where log g > max - 80 (e^-80 ~ 2e-35 of the peak)
_PANELS = 6
_SCAN = 48
# The Gauss(7)/Kronrod(15) difference estimates the Gauss error; Kronrod's own error is orders smaller
# (random cases against quad: difference <= 1e-4 -> Kronrod error <= 2e-11). Larger differences go to quad.
RELATIVE_TOLERANCE = 1e-4
_LOG_TINY = math.log(1e-300)


def _log_normal_mass(a, b):
    """log(Phi(b) - Phi(a)) for a <= b, accurate in both tails and for narrow intervals."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    shape = a.shape
    # work on 1-D copies: masked assignment below needs arrays, and 0-d inputs would give numpy scalars
    a, b = a.reshape(-1), b.reshape(-1)
    # reflect so the interval lies mostly in the lower half: Phi differences there have no cancellation
    flip = (a + b) > 0
    lo, hi = np.where(flip, -b, a), np.where(flip, -a, b)
    half, c = 0.5 * (hi - lo), 0.5 * (hi + lo)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        mass = special.ndtr(hi) - special.ndtr(lo)
        # narrow interval: Hermite series of the integral of phi about the midpoint (error < 1e-15)
        narrow = half * np.maximum(np.abs(c), 1.0) < 1e-2
        if np.any(narrow):
            h, cc = half[narrow], c[narrow]
            mass[narrow] = (2.0 * h * np.exp(-0.5 * cc * cc - _LOG_SQRT_2PI)
                            * (1.0 + (cc * cc - 1.0) * h * h / 6.0 + ((cc * cc - 6.0) * cc * cc + 3.0) * h**4 / 120.0))
        out = np.log(mass)
        deep = ~(mass > 1e-280) & (hi > lo)
        if np.any(deep):          # far lower tail: redo in log space
            l_hi, l_lo, h, cc = special.log_ndtr(hi[deep]), special.log_ndtr(lo[deep]), half[deep], c[deep]
            wide = l_hi + np.log(-np.expm1(l_lo - l_hi))
            thin = (np.log(2.0 * h) - 0.5 * cc * cc - _LOG_SQRT_2PI
                    + np.log1p((cc * cc - 1.0) * h * h / 6.0 + ((cc * cc - 6.0) * cc * cc + 3.0) * h**4 / 120.0))
            out[deep] = np.where(narrow[deep], thin, wide)
    return out.reshape(shape)


def _log_integrand(x, xm, ym, sx, sy, r):
    """log of g(x) = phi_sx(x) * P(|y - ym| <= h(x)) with h(x) the half chord of the disk at x."""
    h = np.sqrt(np.maximum(r * r - (x - xm) ** 2, 0.0))
    return (-0.5 * (x / sx) ** 2 - np.log(sx) - _LOG_SQRT_2PI
            + _log_normal_mass((ym - h) / sy, (ym + h) / sy))


def _prepare(miss_x, miss_y, sigma_x, sigma_y, hbr):
    xm, ym, sx, sy, r = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in
                                              (miss_x, miss_y, sigma_x, sigma_y, hbr)))
    if np.any(~np.isfinite(np.stack([xm, ym, sx, sy, r]))):
        raise ValueError("collision probability: miss, sigmas and radius must be finite")
    if np.any(sx <= 0) or np.any(sy <= 0):
        raise ValueError("collision probability: sigmas must be positive (repair the covariance first)")
    if np.any(r < 0):
        raise ValueError("collision probability: hard-body radius must be >= 0")
    # integrate along the axis with the smaller sigma; the wider axis goes through the closed-form CDF
    swap = sy < sx
    xm, ym = np.where(swap, ym, xm), np.where(swap, xm, ym)
    sx, sy = np.where(swap, sy, sx), np.where(swap, sx, sy)
    return np.abs(xm), np.abs(ym), sx, sy, r


def log_pc_circle(miss_x, miss_y, sigma_x, sigma_y, hbr):
    """Natural log of the exact 2D probability (see module doc); returns (log_pc, rel_error_estimate)."""
    xm, ym, sx, sy, r = _prepare(miss_x, miss_y, sigma_x, sigma_y, hbr)
    shape = xm.shape
    xm, ym, sx, sy, r = (v.ravel() for v in (xm, ym, sx, sy, r))
    n = xm.size
    log_pc = np.full(n, -np.inf)
    err = np.zeros(n)
    live = r > 0
    if not np.any(live):
        return log_pc.reshape(shape), err.reshape(shape)
    xm_, ym_, sx_, sy_, r_ = (v[live] for v in (xm, ym, sx, sy, r))
    col = lambda v: v[:, None]  # noqa: E731
    # 1) coarse scan in theta to get a lower bound on the peak of log g (x = xm + R sin theta)
    th = np.linspace(-0.5 * np.pi, 0.5 * np.pi, _SCAN)[None, :]
    xs = col(xm_) + col(r_) * np.sin(th)
    x0 = np.clip(0.0, xm_ - r_, xm_ + r_)                    # where phi_sx peaks inside the chord range
    xs = np.concatenate([xs, x0[:, None]], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = _log_integrand(xs, col(xm_), col(ym_), col(sx_), col(sy_), col(r_))
    peak = np.max(lg, axis=1)
    # 2) log g <= log phi(x); so |x| <= xlim wherever log g can exceed peak - DROP (a safe superset)
    lim2 = -2.0 * (peak - _DROP + np.log(sx_) + _LOG_SQRT_2PI)
    xlim = sx_ * np.sqrt(np.maximum(lim2, 0.0))
    lo = np.maximum(xm_ - r_, -xlim)
    hi = np.minimum(xm_ + r_, xlim)
    empty = ~(hi > lo) | ~np.isfinite(peak)
    lo, hi = np.where(empty, xm_ - r_, lo), np.where(empty, xm_ + r_, hi)
    s_lo = np.arcsin(np.clip((lo - xm_) / r_, -1.0, 1.0))
    s_hi = np.arcsin(np.clip((hi - xm_) / r_, -1.0, 1.0))
    # 3) composite Gauss-Kronrod panels in theta; dx = R cos(theta) dtheta
    edges = col(s_lo) + (col(s_hi) - col(s_lo)) * np.linspace(0.0, 1.0, _PANELS + 1)[None, :]
    mid = 0.5 * (edges[:, 1:] + edges[:, :-1])
    half = 0.5 * (edges[:, 1:] - edges[:, :-1])
    theta = mid[:, :, None] + half[:, :, None] * KRONROD_NODES[None, None, :]
    x = xm_[:, None, None] + r_[:, None, None] * np.sin(theta)
    with np.errstate(divide="ignore", invalid="ignore"):
        lf = (_log_integrand(x, xm_[:, None, None], ym_[:, None, None], sx_[:, None, None],
                             sy_[:, None, None], r_[:, None, None])
              + np.log(r_[:, None, None] * np.cos(theta)) + np.log(half)[:, :, None])
    lf = lf.reshape(lf.shape[0], -1)
    wk = np.tile(KRONROD_WEIGHTS, _PANELS)[None, :]
    wg = np.tile(GAUSS_WEIGHTS_ON_KRONROD, _PANELS)[None, :]
    with np.errstate(divide="ignore"):
        lk = special.logsumexp(lf, b=wk, axis=1)
        lgs = special.logsumexp(lf, b=wg, axis=1)
        rel = np.abs(np.expm1(lgs - lk))
    rel = np.where(np.isfinite(lk), rel, 0.0)
    rel = np.where(np.isnan(rel), np.inf, rel)
    lk = np.where(empty & ~np.isfinite(peak), -np.inf, lk)
    log_pc[live] = np.minimum(lk, 0.0)
    err[live] = rel
    # 4) the Gauss/Kronrod difference is a (pessimistic) error bound on the Kronrod value; recompute the rest
    # (values below 1e-300 are 0 in double precision anyway: no refinement there)
    bad = np.flatnonzero(live)[(rel > RELATIVE_TOLERANCE) & (lk > _LOG_TINY)]
    for i in bad:
        p = _quad_principal(xm[i], ym[i], sx[i], sy[i], r[i])
        log_pc[i] = math.log(p) if p > 0 else -np.inf
        err[i] = 1e-10
    return log_pc.reshape(shape), err.reshape(shape)


def pc_circle(miss_x, miss_y, sigma_x, sigma_y, hbr):
    """Exact 2D probability of a Gaussian (principal axes sigma_x, sigma_y, centred at the origin) inside the
    disk of radius hbr centred at (miss_x, miss_y). Vectorized; ~1e-9 relative or better."""
    log_pc, _ = log_pc_circle(miss_x, miss_y, sigma_x, sigma_y, hbr)
    return np.exp(log_pc)


def _quad_principal(xm, ym, sx, sy, r):
    """Reference value by adaptive quadrature (scipy QUADPACK) over the theta substitution."""
    def f(theta):
        x = xm + r * math.sin(theta)
        lg = _log_integrand(np.array([x]), xm, ym, sx, sy, r)[0]
        return math.exp(lg) * r * math.cos(theta) if np.isfinite(lg) else 0.0

    # break points at the peak of phi_sx and a few sigmas around it help QUADPACK find narrow peaks
    pts = []
    for k in (-8.0, -3.0, 0.0, 3.0, 8.0):
        u = (k * sx - xm) / r
        if -1.0 < u < 1.0:
            pts.append(math.asin(u))
    val, _ = integrate.quad(f, -0.5 * math.pi, 0.5 * math.pi, points=sorted(pts) or None,
                            epsabs=0.0, epsrel=1e-12, limit=500)
    return min(max(val, 0.0), 1.0)


def pc_circle_quad(miss_x, miss_y, sigma_x, sigma_y, hbr) -> float:
    """Scalar reference: the same integral with scipy.integrate.quad (epsrel 1e-12). Slow; for checks."""
    xm, ym, sx, sy, r = (float(v) for v in _prepare(miss_x, miss_y, sigma_x, sigma_y, hbr))
    if r == 0.0:
        return 0.0
    return _quad_principal(xm, ym, sx, sy, r)


def pc_chan(miss_x, miss_y, sigma_x, sigma_y, hbr, orders: int = 20):
    """Chan's series: the disk replaced by an equal-area ellipse similar to the covariance ellipse, giving a
    Rician integral summed over orders m = 0..orders-1 (Chan 1997; "Spacecraft Collision Probability",
    2008). 20 orders, as Orekit's Chan1997, reproduce Orekit's published test values."""
    xm, ym, sx, sy, r = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in
                                              (miss_x, miss_y, sigma_x, sigma_y, hbr)))
    u = r * r / (sx * sy)
    v = (xm / sx) ** 2 + (ym / sy) ** 2
    total = np.zeros(u.shape)
    # sum_m e^{-v/2} (v/2)^m / m! * (1 - e^{-u/2} sum_{k<=m} (u/2)^k / k!)
    for m in range(orders):
        pois_v = np.exp(-0.5 * v + special.xlogy(m, 0.5 * v) - special.gammaln(m + 1))
        total = total + pois_v * special.gammainc(m + 1, 0.5 * u)
    return total


def chan_is_poor(sigma_x, sigma_y, hbr, aspect_limit: float = 10.0):
    """True where Chan's equal-area approximation is known to be poor: a strongly elongated covariance
    (aspect ratio > aspect_limit, e.g. Alfano 2009 case 3 at 81 and case 5 at 4800) or a hard-body radius
    comparable to the smaller sigma (the disk is no longer 'small' across the narrow axis)."""
    sx, sy, r = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (sigma_x, sigma_y, hbr)))
    small, large = np.minimum(sx, sy), np.maximum(sx, sy)
    return (large / small > aspect_limit) | (r > 0.5 * small)


def pc_max_geometry(miss, hbr):
    """Largest probability any Gaussian covariance can give for a miss distance and hard-body radius
    (Alfano 2005; Frisbee): the covariance collapsed onto the miss line with
    sigma^2 = 2 d R / ln((d+R)/(d-R)). Returns (pc_max, sigma_at_max); pc_max = 1 when 0 < d <= R and
    0 when R = 0 (a point cannot be hit). Scalars or arrays (broadcast)."""
    d, r = np.broadcast_arrays(np.abs(np.asarray(miss, float)), np.asarray(hbr, float))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # log1p keeps ln((d+R)/(d-R)) = ln(1 + 2R/(d-R)) accurate when d >> R (sigma -> d there)
        sig2 = 2.0 * d * r / np.log1p(2.0 * r / (d - r))
        sig = np.sqrt(sig2)
        p = np.exp(_log_normal_mass((d - r) / sig, (d + r) / sig))
    inside = d <= r
    point = r <= 0
    return (np.where(point, 0.0, np.where(inside, 1.0, p)),
            np.where(point | inside, 0.0, sig))


def pc_max_scaled(miss_x, miss_y, sigma_x, sigma_y, hbr):
    """Largest exact 2D probability over a scale factor k on the covariance (shape and orientation kept):
    Alfano 2005's worst case for a covariance of unknown size. Returns (pc_max, k_at_max) (scalars)."""
    def neg(logk):
        k = math.exp(logk)
        return -float(log_pc_circle(miss_x, miss_y, k * sigma_x, k * sigma_y, hbr)[0])

    res = optimize.minimize_scalar(neg, bounds=(math.log(1e-6), math.log(1e6)), method="bounded",
                                   options={"xatol": 1e-10})
    return math.exp(-res.fun), math.exp(res.x)
