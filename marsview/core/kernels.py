"""numba kernels for the hot loops of core.dynamics and core.twobody: the only core module that imports numba.

Imported lazily, never at import time of a numba-free module: importing numba costs ~1 s, compiling these
kernels ~10 s on a cold cache, loading them from numba's cache ~0.3 s. Whether they are used at all is
``core.jit.jit_enabled()`` (MARSVIEW_NO_JIT=1 selects the numpy references); ``python -m
marsview.core.precompile`` fills numba's cache. This module imports no other marsview module.

Each kernel repeats the physics of a numpy reference that stays in its home module and that the tests
compare it with (tests/core/test_jit_kernels.py):

* ``accel_into``: the force-model right-hand side of ``dynamics.Accelerations`` (point mass, zonal J2-J4
  about a fixed pole, exponential-atmosphere drag in the co-rotating atmosphere, the Sun as a third body
  from the ``SunTable`` cubic Hermite table) for M stacked states, same formulas term by term.
* ``dop853_steps``: scipy's DOP853 (``scipy.integrate._ivp.rk.DOP853``, Hairer's coefficients taken from
  scipy itself) step by step: the same stages, error norm, step-size control, initial step and 7-row dense
  output, so a jitted propagation takes the same steps as ``solve_ivp`` and agrees with it to rounding.
  scipy's per-step Python overhead (~70 us) was a quarter of a propagation's time; here it is gone.
* ``dense_eval``: scipy's OdeSolution/Dop853DenseOutput evaluation over all steps at once.
* ``kepler_table_states``: the inner loop of ``twobody._elliptic_fast``.
* ``lagrange_weights`` / ``lagrange_apply``: ``tabulated.TabulatedSegment``'s LAGRANGE interpolation (the same
  window of nearest table points, the same prefix/suffix-product basis), point by point, the basis weights
  apart so that tables on one grid of epochs share them: what the screening samples tabulated ephemerides
  with (its grid and the TCA refinement).
* ``cubic_on_uniform_nodes``: ``time.tdb_minus_tt_s``'s spline of TDB-TT (every epoch of a file read).
* ``pair_interval_candidates``: the screening's two rigorous per-interval filters for few objects (swept
  spheres, then the relative chord's lower bound; ``core.screening_search``), over all pairs and intervals
  of a chunk in one pass, without the (pairs x intervals) temporaries of the numpy version.

The kernels release the GIL (nogil): a propagation in a worker thread leaves the GUI thread running.

Caching: ``cache=True`` keeps compiled code next to this file (or in NUMBA_CACHE_DIR / the user cache).
Where none of those is writable (a read-only install) numba refuses ``cache=True`` outright; the kernels
are then compiled without a cache on each start (a one-line log message, no warning: it is not an error).
"""

from __future__ import annotations

import logging
import math

import numba
import numpy as np
from scipy.integrate._ivp import dop853_coefficients as _d

log = logging.getLogger(__name__)


def _njit(func=None, **options):
    if func is None:
        return lambda f: _njit(f, **options)
    try:
        return numba.njit(cache=True, nogil=True, **options)(func)
    except RuntimeError as exc:  # "cannot cache function ...: no locator available" (read-only install)
        log.info("numba cache unavailable, compiling %s without it: %s", func.__name__, exc)
        return numba.njit(cache=False, nogil=True, **options)(func)


# DOP853 tableau exactly as scipy uses it (passed as arguments: numba would freeze globals into the code).
# Its 16 rows: stages 1-12, row 12 = the weights B (C = 1: the derivative at the new state), rows 13-15
# the dense-output stages. One stage loop over all of them keeps one inlined force-model call in the
# compiled stepper (compile time).
DOP853_TABLEAU = (np.ascontiguousarray(_d.A), np.ascontiguousarray(_d.C), np.ascontiguousarray(_d.E3),
                  np.ascontiguousarray(_d.E5), np.ascontiguousarray(_d.D))
assert np.array_equal(_d.A[_d.N_STAGES, :_d.N_STAGES], _d.B) and _d.C[_d.N_STAGES] == 1.0
SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0  # scipy.integrate._ivp.rk
ERROR_EXPONENT = -1.0 / 8.0  # DOP853 error estimator order 7
STATUS_RUNNING, STATUS_FINISHED, STATUS_STEP_TOO_SMALL = 0, 1, -1


@_njit
def accel_into(t, y, out, fa):
    """dy/dt of stacked states y (6M,) into out (6M,). ``fa`` = (mu, pole(3), omega(3), zn(J), zr(J,5),
    zp(J,5), drag, atm(6), ballistic(M), sun, gm_sun, sun_start, sun_step, sun_r(K,3), sun_v(K,3))."""
    mu, pole, omega, zn, zr, zp, drag, atm, ballistic, sun, gm_sun, sun_start, sun_step, sun_r, sun_v = fa
    px, py, pz = pole[0], pole[1], pole[2]
    sx = sy = sz = gs = 0.0
    if sun:  # SunTable.position_km: cubic Hermite on a fixed grid
        xs = (t - sun_start) / sun_step
        k = min(max(int(xs), 0), sun_r.shape[0] - 2)
        s = xs - k
        s2, s3 = s * s, s * s * s
        h00, h10, h01, h11 = 2 * s3 - 3 * s2 + 1, s3 - 2 * s2 + s, -2 * s3 + 3 * s2, s3 - s2
        sx = h00 * sun_r[k, 0] + h10 * sun_v[k, 0] + h01 * sun_r[k + 1, 0] + h11 * sun_v[k + 1, 0]
        sy = h00 * sun_r[k, 1] + h10 * sun_v[k, 1] + h01 * sun_r[k + 1, 1] + h11 * sun_v[k + 1, 1]
        sz = h00 * sun_r[k, 2] + h10 * sun_v[k, 2] + h01 * sun_r[k + 1, 2] + h11 * sun_v[k + 1, 2]
        gs = gm_sun / math.sqrt(sx * sx + sy * sy + sz * sz) ** 3
    for m in range(y.size // 6):
        i = 6 * m
        x, yy, z, vx, vy, vz = y[i], y[i + 1], y[i + 2], y[i + 3], y[i + 4], y[i + 5]
        inv_r = 1.0 / math.sqrt(x * x + yy * yy + z * z)
        f = mu * inv_r ** 3
        u = (x * px + yy * py + z * pz) * inv_r
        if zn.size:
            u2 = u * u
            u3, u4 = u2 * u, u2 * u2
            c_r = c_p = 0.0
            for j in range(zn.size):
                q = inv_r ** zn[j]
                c_r += q * (zr[j, 0] + zr[j, 1] * u + zr[j, 2] * u2 + zr[j, 3] * u3 + zr[j, 4] * u4)
                c_p += q * (zp[j, 0] + zp[j, 1] * u + zp[j, 2] * u2 + zp[j, 3] * u3 + zp[j, 4] * u4)
            fr, fp = f * (c_r - 1.0), f * c_p / inv_r
            ax, ay, az = fr * x - fp * px, fr * yy - fp * py, fr * z - fp * pz
        else:
            ax, ay, az = -f * x, -f * yy, -f * z
        if drag:  # ExponentialAtmosphere: altitude above the ellipsoid along the radius
            ref_alt, ref_rho, scale_h, ra, rb, ceiling = atm[0], atm[1], atm[2], atm[3], atm[4], atm[5]
            alt = 1.0 / inv_r - ra * rb / math.sqrt((rb * rb) * (1.0 - u * u) + (ra * ra) * u * u)
            if alt <= ceiling:
                rho = ref_rho * math.exp(-(alt - ref_alt) / scale_h)
                wx, wy, wz = omega[0], omega[1], omega[2]
                rx, ry, rz = vx - (wy * z - wz * yy), vy - (wz * x - wx * z), vz - (wx * yy - wy * x)
                kd = -0.5e3 * rho * ballistic[m] * math.sqrt(rx * rx + ry * ry + rz * rz)
                ax, ay, az = ax + kd * rx, ay + kd * ry, az + kd * rz
        if sun:
            dx, dy, dz = sx - x, sy - yy, sz - z
            gd = gm_sun / math.sqrt(dx * dx + dy * dy + dz * dz) ** 3
            ax, ay, az = ax + (gd * dx - gs * sx), ay + (gd * dy - gs * sy), az + (gd * dz - gs * sz)
        out[i], out[i + 1], out[i + 2], out[i + 3], out[i + 4], out[i + 5] = vx, vy, vz, ax, ay, az


@_njit
def _rms(v, scale):
    acc = 0.0
    for i in range(v.size):
        q = v[i] / scale[i]
        acc += q * q
    return math.sqrt(acc / v.size)


@_njit
def initial_step(t0, y0, f0, t_bound, direction, rtol, atol, fa):
    """scipy.integrate._ivp.common.select_initial_step for DOP853 (order 7 estimator, no max_step)."""
    interval = abs(t_bound - t0)
    if interval == 0.0:
        return 0.0
    scale = atol + np.abs(y0) * rtol
    d0, d1 = _rms(y0, scale), _rms(f0, scale)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, interval)
    f1 = np.empty_like(y0)
    accel_into(t0 + h0 * direction, y0 + h0 * direction * f0, f1, fa)
    d2 = _rms(f1 - f0, scale) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / 8.0)
    return min(100.0 * h0, h1, interval)


@_njit
def dop853_steps(t, y, f, h_abs, t_bound, direction, rtol, atol, max_steps, ts, F, y_old, fa, tab):
    """Up to ``max_steps`` accepted DOP853 steps from (t, y, f) toward t_bound, as scipy's DOP853
    (_step_impl, rk_step, _estimate_error_norm, _dense_output_impl). y and f are updated in place; step
    k's start time, start state and dense-output rows go to ts[k], y_old[k], F[k].
    Returns (steps, t, h_abs, status, evaluations)."""
    A, C, E3, E5, D = tab
    n = y.size
    K = np.empty((16, n))
    yt = np.empty(n)
    y_new = np.empty(n)
    nfev = 0
    for step in range(max_steps):
        if direction * (t - t_bound) >= 0.0:
            return step, t, h_abs, STATUS_FINISHED, nfev
        min_step = 10.0 * abs(np.nextafter(t, direction * np.inf) - t)
        h_abs = max(h_abs, min_step)
        rejected = False
        s = 16  # 16 = start a new trial step
        while True:
            if s == 16:
                if h_abs < min_step:
                    return step, t, h_abs, STATUS_STEP_TOO_SMALL, nfev
                t_new = t + h_abs * direction
                if direction * (t_new - t_bound) > 0.0:
                    t_new = t_bound
                h = t_new - t
                h_abs = abs(h)
                K[0] = f
                s = 1
            for i in range(n):  # stage s (12: the new state, 13-15: dense output)
                acc = 0.0
                for j in range(s):
                    acc += K[j, i] * A[s, j]
                yt[i] = y[i] + acc * h
            accel_into(t + C[s] * h, yt, K[s], fa)
            nfev += 1
            if s == 12:
                y_new[:] = yt
                e5 = e3 = 0.0
                for i in range(n):
                    sc = atol[i] + max(abs(y[i]), abs(y_new[i])) * rtol
                    a5 = a3 = 0.0
                    for j in range(13):
                        a5 += K[j, i] * E5[j]
                        a3 += K[j, i] * E3[j]
                    e5 += (a5 / sc) ** 2
                    e3 += (a3 / sc) ** 2
                err = 0.0 if (e5 == 0.0 and e3 == 0.0) else abs(h) * e5 / math.sqrt((e5 + 0.01 * e3) * n)
                if err < 1.0:
                    factor = MAX_FACTOR if err == 0.0 else min(MAX_FACTOR, SAFETY * err ** ERROR_EXPONENT)
                    if rejected:
                        factor = min(1.0, factor)
                    h_abs *= factor
                else:
                    h_abs *= max(MIN_FACTOR, SAFETY * err ** ERROR_EXPONENT)
                    rejected = True
                    s = 16
                    continue
            if s == 15:
                break
            s += 1
        for i in range(n):  # the 7 interpolant rows (Dop853DenseOutput's F)
            dy = y_new[i] - y[i]
            F[step, 0, i] = dy
            F[step, 1, i] = h * K[0, i] - dy
            F[step, 2, i] = 2.0 * dy - h * (K[12, i] + K[0, i])
            for r in range(4):
                acc = 0.0
                for j in range(16):
                    acc += D[r, j] * K[j, i]
                F[step, 3 + r, i] = h * acc
            y_old[step, i] = y[i]
        ts[step] = t
        t = t_new
        y[:] = y_new
        f[:] = K[12]
    status = STATUS_FINISHED if direction * (t - t_bound) >= 0.0 else STATUS_RUNNING
    return max_steps, t, h_abs, status, nfev


@_njit
def dense_eval(ts, F, y_old, tq, out):
    """scipy OdeSolution(ts, Dop853DenseOutput...)(tq).T into out (len(tq), n): the step holding each
    epoch (an epoch on a step boundary takes the earlier step in the direction of integration)."""
    nseg = F.shape[0]
    ascending = ts[-1] >= ts[0]
    for q in range(tq.size):
        t = tq[q]
        if ascending:
            seg = np.searchsorted(ts, t, side="left") - 1
        else:  # scipy searches the reversed (ascending) nodes with side="right": count nodes <= t
            lo, hi = 0, ts.size  # first index with ts[idx] <= t
            while lo < hi:
                mid = (lo + hi) // 2
                if ts[mid] > t:
                    lo = mid + 1
                else:
                    hi = mid
            seg = nseg - 1 - min(max(ts.size - lo - 1, 0), nseg - 1)
        seg = min(max(seg, 0), nseg - 1)
        x = (t - ts[seg]) / (ts[seg + 1] - ts[seg])
        for i in range(F.shape[2]):
            acc = 0.0
            for r in range(6, -1, -1):
                acc += F[seg, r, i]
                acc *= x if (6 - r) % 2 == 0 else 1.0 - x
            out[q, i] = acc + y_old[seg, i]


@_njit(fastmath={"contract"})  # fused multiply-adds (one rounding instead of two): ~20 % faster
def kepler_table_states(dt, period, u0, table_size, sin_g, cos_g, e, steps, short, ra, vk, sq, phat, qhat,
                        out):
    """The per-epoch loop of twobody._elliptic_fast (same series, same Newton/Halley schedule:
    ``steps`` = 1 Newton, 2 one Halley, 3 two Halley steps)."""
    step = 2.0 * math.pi / table_size
    for k in range(dt.size):
        u = dt[k] / period + u0
        u -= math.floor(u)
        u *= table_size
        j = int(u)
        dm = (u - j) * step
        sg, cg = sin_g[j], cos_g[j]
        es, ec = e * sg, e * cg
        f1_0 = 1.0 - ec
        d = dm / f1_0
        for it in range(2 if steps == 3 else 1):
            sin_d, omc = _sin_1mcos(d, short)
            f = d + es * omc - ec * sin_d - dm
            f1 = f1_0 + es * sin_d + ec * omc
            if steps == 1:
                d -= f / f1
            else:
                f2 = es - es * omc + ec * sin_d
                d -= 2.0 * f * f1 / (2.0 * f1 * f1 - f * f2)
        sin_d, omc = _sin_1mcos(d, short)
        sin_e = sg + (cg * sin_d - sg * omc)
        cos_e = cg - (sg * sin_d + cg * omc)
        kk = vk / (ra * (1.0 - e * cos_e))
        xp, yq = ra * (cos_e - e), (ra * sq) * sin_e
        vp, vq = -kk * sin_e, (kk * sq) * cos_e
        for i in range(3):
            out[k, i] = xp * phat[i] + yq * qhat[i]
            out[k, 3 + i] = vp * phat[i] + vq * qhat[i]


@_njit(fastmath={"contract"})
def _sin_1mcos(d, short):
    d2 = d * d
    if short:
        return d * (1.0 - d2 * (1.0 / 6.0 - d2 * (1.0 / 120.0))), d2 * (0.5 - d2 * (1.0 / 24.0 - d2 * (1.0 / 720.0)))
    sin_d = d * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0 * (1.0 - d2 / 42.0 * (1.0 - d2 / 72.0))))
    omc = 0.5 * d2 * (1.0 - d2 / 12.0 * (1.0 - d2 / 30.0 * (1.0 - d2 / 56.0 * (1.0 - d2 / 90.0))))
    return sin_d, omc


@_njit
def lagrange_weights(nodes, t, window, first_out, weights_out):
    """For each t[m]: the first of the WINDOW table points nearest t[m] (nodes (n,) strictly increasing) and the
    Lagrange basis weights (m, window) of those points at t[m], as tabulated.TabulatedSegment._interpolate
    forms them for LAGRANGE, term by term (window centred on the interval holding t, shifted to the nearer node
    for an odd window, clipped at the ends; time scaled to [0, 1] over the window; basis from prefix and
    suffix products of (u - x_k) over the node differences). They depend on the nodes only: tables on one
    grid of epochs share them (``lagrange_apply`` per table)."""
    n, w = nodes.size, window
    x = np.empty(w)
    pre = np.empty(w)
    suf = np.empty(w)
    denoms = np.empty(w)
    i = -1
    last_first = -1
    for m in range(t.size):
        tm = t[m]
        # t_i <= t < t_i+1 (searchsorted right, minus one): epochs usually come in order, a step or two on
        if i < 0 or not nodes[i] <= tm:
            i = np.searchsorted(nodes, tm, side="right") - 1
        else:
            while i < n - 1 and nodes[i + 1] <= tm:
                i += 1
        first = i - (w - 1) // 2
        if w % 2 == 1:
            right = min(max(i + 1, 0), n - 1)
            left = min(max(i, 0), n - 1)
            if nodes[right] - tm < tm - nodes[left]:
                first += 1
        first = min(max(first, 0), n - w)
        t_ref = nodes[first]
        h = max(nodes[first + w - 1] - t_ref, 1e-300)
        if first != last_first:  # a new window: its scaled nodes and basis denominators
            last_first = first
            for k in range(w):
                x[k] = (nodes[first + k] - t_ref) / h
            for j in range(w):
                denom = 1.0
                for k in range(w):
                    if k != j:
                        denom *= x[j] - x[k]
                denoms[j] = denom
        u = (tm - t_ref) / h
        pre[0] = 1.0
        suf[w - 1] = 1.0
        for j in range(1, w):
            pre[j] = pre[j - 1] * (u - x[j - 1])
            k = w - 1 - j
            suf[k] = suf[k + 1] * (u - x[k + 1])
        first_out[m] = first
        for j in range(w):
            weights_out[m, j] = pre[j] * suf[j] / denoms[j]


@_njit
def lagrange_apply(values, first, weights, out):
    """out[m] = sum_j weights[m, j] values[first[m] + j] for a table's values (n, 6): the interpolated states
    at the epochs ``lagrange_weights`` was given."""
    w = weights.shape[1]
    for m in range(first.size):
        f = first[m]
        s0 = s1 = s2 = s3 = s4 = s5 = 0.0  # in registers: out and values could alias for all numba knows
        for j in range(w):
            weight = weights[m, j]
            row = f + j
            s0 += weight * values[row, 0]
            s1 += weight * values[row, 1]
            s2 += weight * values[row, 2]
            s3 += weight * values[row, 3]
            s4 += weight * values[row, 4]
            s5 += weight * values[row, 5]
        out[m, 0], out[m, 1], out[m, 2], out[m, 3], out[m, 4], out[m, 5] = s0, s1, s2, s3, s4, s5


@_njit
def cubic_on_uniform_nodes(t, first_node, node_step, coefficients, out):
    """out[m] = the piecewise cubic of COEFFICIENTS (4, K: scipy PPoly's, highest power first) on the uniform
    nodes first_node + k node_step at t[m], term by term as ``time.tdb_minus_tt_s`` evaluates it with numpy
    (the interval by truncated division, clipped to the table; Horner in t - node): the same bits, without
    its eight temporaries."""
    last = coefficients.shape[1] - 1
    for m in range(t.size):
        k = min(max(np.int64((t[m] - first_node) / node_step), 0), last)
        x = t[m] - (first_node + k * node_step)
        out[m] = ((coefficients[0, k] * x + coefficients[1, k]) * x + coefficients[2, k]) * x + coefficients[3, k]


PAIR_BLOCK = 16
"""Intervals per block of pair_interval_candidates' radial-band test (a global: numba freezes it as a constant)."""


@_njit
def pair_interval_candidates(start, end, h_s, pairs, pair_thr_km, accel_kms2, out):
    """(k, i, j) rows, into OUT (room for every pair and interval), of the intervals k of each pair (i, j) of
    PAIRS where the swept spheres of the two objects come within the pair's threshold AND the lower bound
    of the relative distance from the relative chord is below it (screening_search.swept_spheres and
    chord_lower_bound_km, the numpy formulas); start/end (N, m, 6) the states at each interval's ends
    (NaN: not covered), h_s (m,). Returns the number of rows."""
    count = 0
    m = h_s.size
    # radial bands of blocks of PAIR_BLOCK intervals per object: [min, max] of |centre| -/+ radius of its swept
    # spheres (a rigorous periapsis/apoapsis band of the path over the block; +-inf where nothing is covered).
    # A pair's block where one band lies beyond the other by the threshold cannot pass the sphere test below
    # (|c_j - c_i| >= |c_j| - |c_i|), so it is skipped whole: the same rows, without the pair-by-interval work
    # where orbits never come near (on the 10-object reference ~60 % of the pairs' blocks).
    n_blocks = (m + PAIR_BLOCK - 1) // PAIR_BLOCK
    band_lo = np.full((start.shape[0], n_blocks), np.inf)
    band_hi = np.full((start.shape[0], n_blocks), -np.inf)
    for n in range(start.shape[0]):
        for k in range(m):
            bow = accel_kms2 * h_s[k] ** 2 / 8.0
            ax, ay, az = start[n, k, 0], start[n, k, 1], start[n, k, 2]
            bx, by, bz = end[n, k, 0], end[n, k, 1], end[n, k, 2]
            radius = 0.5 * math.sqrt((bx - ax) ** 2 + (by - ay) ** 2 + (bz - az) ** 2) + bow
            centre = 0.5 * math.sqrt((ax + bx) ** 2 + (ay + by) ** 2 + (az + bz) ** 2)
            b = k // PAIR_BLOCK
            if centre - radius < band_lo[n, b]:  # (NaN: not covered, left out)
                band_lo[n, b] = centre - radius
            if centre + radius > band_hi[n, b]:
                band_hi[n, b] = centre + radius
    for p in range(pairs.shape[0]):
        i, j = pairs[p, 0], pairs[p, 1]
        thr = pair_thr_km[i, j]
        clear = thr * (1.0 + 1e-9) + 1e-6  # a margin over the rounding of the two ways of computing the gap
        for b in range(n_blocks):
            if band_lo[j, b] - band_hi[i, b] > clear or band_lo[i, b] - band_hi[j, b] > clear \
                    or band_lo[i, b] > band_hi[i, b] or band_lo[j, b] > band_hi[j, b]:
                continue
            for k in range(b * PAIR_BLOCK, min(m, (b + 1) * PAIR_BLOCK)):
                bow = accel_kms2 * h_s[k] ** 2 / 8.0
                # swept spheres: chord midpoints and half chords plus the bow of the path
                ax, ay, az = start[i, k, 0], start[i, k, 1], start[i, k, 2]
                bx, by, bz = end[i, k, 0], end[i, k, 1], end[i, k, 2]
                cx, cy, cz = start[j, k, 0], start[j, k, 1], start[j, k, 2]
                dx, dy, dz = end[j, k, 0], end[j, k, 1], end[j, k, 2]
                ri = 0.5 * math.sqrt((bx - ax) ** 2 + (by - ay) ** 2 + (bz - az) ** 2) + bow
                rj = 0.5 * math.sqrt((dx - cx) ** 2 + (dy - cy) ** 2 + (dz - cz) ** 2) + bow
                gx = 0.5 * (cx + dx) - 0.5 * (ax + bx)
                gy = 0.5 * (cy + dy) - 0.5 * (ay + by)
                gz = 0.5 * (cz + dz) - 0.5 * (az + bz)
                gap = math.sqrt(gx * gx + gy * gy + gz * gz) - ri - rj
                if not gap < thr:  # (NaN: an object not covered there)
                    continue
                # the relative chord: closest point to the origin, less the bows of both paths
                r0x, r0y, r0z = cx - ax, cy - ay, cz - az
                ux, uy, uz = (dx - bx) - r0x, (dy - by) - r0y, (dz - bz) - r0z
                dd = ux * ux + uy * uy + uz * uz
                s = 0.0
                if dd > 0:
                    s = min(max(-(r0x * ux + r0y * uy + r0z * uz) / dd, 0.0), 1.0)
                qx, qy, qz = r0x + s * ux, r0y + s * uy, r0z + s * uz
                if math.sqrt(qx * qx + qy * qy + qz * qz) - 2.0 * bow < thr:
                    out[count, 0] = k
                    out[count, 1] = i
                    out[count, 2] = j
                    count += 1
    return count


# --- Python drivers -------------------------------------------------------------------------------

def force_args(mu, pole, omega, radial, polar, fm, ballistic, sun_table):
    """``accel_into``'s argument tuple from dynamics.Accelerations' fixed quantities."""
    atm = fm.atmosphere
    zn = np.array([float(n) for n, _ in radial])
    zr = np.array([c for _, c in radial], dtype=np.float64).reshape(-1, 5)
    zp = np.array([c for _, c in polar], dtype=np.float64).reshape(-1, 5)
    atm_arr = np.array([atm.ref_alt_km, atm.ref_density_kgm3, atm.scale_height_km, atm.equatorial_radius_km,
                        atm.polar_radius_km, atm.ceiling_alt_km], dtype=np.float64)
    if sun_table is not None:
        sun = (float(sun_table.start), float(sun_table.step), *sun_table.hermite_nodes())
    else:
        sun = (0.0, 1.0, np.zeros((2, 3)), np.zeros((2, 3)))
    return (float(mu), np.array(pole, dtype=np.float64), np.array(omega, dtype=np.float64), zn, zr, zp,
            bool(fm.drag), atm_arr, np.array(ballistic, dtype=np.float64), bool(fm.sun),
            float(fm.gm_sun_km3s2), *sun)


class JitDenseSolution:
    """Dense output of a compiled DOP853 run, called like scipy's OdeSolution: ``sol(t)`` -> (n, len(t)),
    or (n,) for a scalar t; ``sol.ts`` are the step boundaries. Same interpolant, same step choice."""

    def __init__(self, ts, F, y_old, evaluations: int = 0):
        self.ts, self.F, self.y_old = ts, F, y_old
        self.evaluations = evaluations  # right-hand-side evaluations it took

    def __call__(self, t):
        t = np.asarray(t, dtype=np.float64)
        tq = np.ascontiguousarray(np.atleast_1d(t))
        out = np.empty((tq.size, self.F.shape[2]))
        dense_eval(self.ts, self.F, self.y_old, tq, out)
        return out[0] if t.ndim == 0 else out.T


def solve_dop853(fa, t0: float, t1: float, y0, rtol: float, atol, check_cancel, chunk_steps: int = 256):
    """solve_ivp(method="DOP853", dense_output=True) with the compiled right-hand side, run in chunks of
    ``chunk_steps`` steps; ``check_cancel(evaluations_since_last_call)`` runs between chunks (it may
    raise). Returns (JitDenseSolution, state at t1)."""
    y = np.array(y0, dtype=np.float64)
    atol = np.ascontiguousarray(np.broadcast_to(np.asarray(atol, dtype=np.float64), y.shape))
    f = np.empty_like(y)
    accel_into(t0, y, f, fa)
    direction = 1.0 if t1 >= t0 else -1.0
    h_abs = initial_step(t0, y, f, t1, direction, rtol, atol, fa)
    chunks, t, nfev, total = [], t0, 2, 2
    while True:
        check_cancel(nfev)
        ts = np.empty(chunk_steps)
        F = np.empty((chunk_steps, 7, y.size))
        y_old = np.empty((chunk_steps, y.size))
        steps, t, h_abs, status, nfev = dop853_steps(t, y, f, h_abs, t1, direction, rtol, atol, chunk_steps,
                                                     ts, F, y_old, fa, DOP853_TABLEAU)
        total += nfev
        chunks.append((ts[:steps], F[:steps], y_old[:steps]))
        if status == STATUS_STEP_TOO_SMALL:
            raise RuntimeError(f"propagation failed at TDB {t:.3f} s: Required step size is less than "
                               "spacing between numbers.")
        if status == STATUS_FINISHED:
            break
    check_cancel(nfev)
    ts = np.concatenate([c[0] for c in chunks] + [np.array([t])])
    F = np.ascontiguousarray(np.concatenate([c[1] for c in chunks]))
    y_old = np.ascontiguousarray(np.concatenate([c[2] for c in chunks]))
    return JitDenseSolution(ts, F, y_old, total), y
