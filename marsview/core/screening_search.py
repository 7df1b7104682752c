"""The array kernels of conjunction screening: the sampling grid, rigorous filters and Hermite minima.

Every object is sampled once on a common TDB grid (uniform step plus every segment boundary and coverage
edge, so no grid interval straddles a discontinuity). Over one interval [t_k, t_k + h] an object's path
leaves the chord between its two end positions by at most A h^2 / 8, where A bounds its acceleration
(Mars gravity above the surface plus thrust; see ``max_accel_kms2``). That gives two filters that can
never drop a true close approach:

1. a swept sphere per object and interval (chord midpoint, radius = half chord + A h^2/8): objects whose
   spheres are further apart than the threshold cannot come closer in that interval. For many objects
   the sphere overlaps are found with a uniform spatial hash per interval (cost ~ N K, not N^2 K);
2. for each remaining pair and interval, the distance from the origin to the chord of the *relative*
   motion, less 2 A h^2 / 8, is a lower bound of the relative distance in the interval.

Pairs that survive are located with the cubic Hermite of the relative position (end positions and
velocities): d/ds |p(s)|^2 / 2 = p . p' is a quintic whose real roots in the interval are found all at
once as eigenvalues of stacked companion matrices. This finds minima that samples of the distance or of
the range-rate sign would miss: a grazing minimum between two samples (both samples above threshold) and
a minimum-maximum pair inside one interval (range rate of the same sign at both ends). The grid step is
set from the fastest orbital timescale r_p^2 / h (periapsis radius over periapsis speed) of any object,
so the Hermite position error stays near 1 m for Mars orbits (error ~ r (h/tau)^4 / 384, h = tau/8); it only
places the candidates, which are refined on the ephemerides and kept with a 50 m + 0.1 % threshold margin.
"""

from __future__ import annotations

import numpy as np

from .constants import GM_MARS_KM3S2
from .orbits import cross3


def orbital_timescale_s(states: np.ndarray, gm_km3s2: float = GM_MARS_KM3S2) -> np.ndarray:
    """Periapsis radius / periapsis speed = r_p^2 / |r x v| [s] of each (N,6) osculating state."""
    r, v = states[:, :3], states[:, 3:6]
    h = np.linalg.norm(cross3(r, v), axis=1)
    rn = np.linalg.norm(r, axis=1)
    e_vec = cross3(v, cross3(r, v)) / gm_km3s2 - r / rn[:, None]
    e = np.linalg.norm(e_vec, axis=1)
    rp = h**2 / (gm_km3s2 * (1.0 + e))
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(h > 0, rp**2 / h, rn / np.maximum(np.linalg.norm(v, axis=1), 1e-12))
    return tau


def build_grid(start_tdb_s: float, stop_tdb_s: float, step_s: float, breaks) -> np.ndarray:
    """Uniform epochs from start to stop (last interval shortened) merged with the interior BREAKS."""
    n = max(1, int(np.ceil((stop_tdb_s - start_tdb_s) / step_s - 1e-9)))
    uniform = start_tdb_s + step_s * np.arange(n + 1, dtype=np.float64)
    uniform[-1] = stop_tdb_s
    b = np.asarray(breaks, dtype=np.float64).reshape(-1)
    b = b[(b > start_tdb_s) & (b < stop_tdb_s)]
    grid = np.unique(np.concatenate([uniform, b]))
    # merge epochs closer than 1 ms (a break next to a uniform epoch) keeping the break
    if grid.size > 2:
        keep = np.ones(grid.size, dtype=bool)
        close = np.diff(grid) < 1e-3
        is_break = np.isin(grid, b)
        for k in np.flatnonzero(close):
            drop = k if is_break[k + 1] else k + 1
            if drop not in (0, grid.size - 1):
                keep[drop] = False
        grid = grid[keep]
    return grid


def swept_spheres(start, end, h_s, accel_kms2):
    """Centres (N,m,3) and radii (N,m) of spheres holding each object's path over each interval."""
    centre = 0.5 * (start[..., :3] + end[..., :3])
    radius = 0.5 * np.linalg.norm(end[..., :3] - start[..., :3], axis=-1) + accel_kms2 * h_s**2 / 8.0
    return centre, radius


def radial_shells(centre, radius):
    """(lo, hi) per object [km]: the smallest and largest distance from Mars its swept spheres reach over the
    chunk -- a rigorous periapsis/apoapsis band of the path (NaN samples ignored)."""
    with np.errstate(invalid="ignore"):
        rc = np.linalg.norm(centre, axis=-1)
        lo = np.nanmin(np.where(np.isfinite(rc), rc - radius, np.inf), axis=1)
        hi = np.nanmax(np.where(np.isfinite(rc), rc + radius, -np.inf), axis=1)
    return lo, hi


def shell_overlap(centre, radius, pairs, pad_km):
    """Keep pairs whose radial shells over the chunk (min/max |r| of the swept spheres) come within PAD."""
    lo, hi = radial_shells(centre, radius)
    i, j = pairs[:, 0], pairs[:, 1]
    ok = (lo[j] - hi[i] < pad_km[i, j]) & (lo[i] - hi[j] < pad_km[i, j])
    return pairs[ok]


def hash_candidates(centre, radius, pad_max_km, shell_lo=None, shell_hi=None):
    """(k, i, j) with i < j whose swept spheres in interval k may come within PAD_MAX of each other.

    Each sphere inflated by pad/2 goes into every cell of a uniform grid its bounding box touches (at most
    8, as the cell is larger than the largest inflated diameter); two spheres that overlap share a cell. A
    pair is taken only in the first cell it shares (the corner of the overlap of their cell ranges: on each
    axis, the cell is the lower one of at least one of the two), so no pair is listed twice.
    SHELL_LO/SHELL_HI (per object, km; ``radial_shells``): radial bounds of each object over the chunk (the
    periapsis/apoapsis filter): pairs whose shells are further apart than PAD are dropped before the
    distance test.
    """
    n_obj, m = radius.shape
    reach = radius + 0.5 * pad_max_km
    valid = np.isfinite(reach) & np.all(np.isfinite(centre), axis=-1)
    if not np.any(valid):
        return np.empty((0, 3), dtype=np.int64)
    # a cell of 3 reaches: a sphere straddles at most 2 cells per axis, ~4.6 cells on average
    cell = 3.0 * float(np.max(reach[valid])) * (1.0 + 1e-9)
    obj, k = np.nonzero(valid)  # row-major: spheres ordered by object, so i < j within a cell
    c = centre[obj, k]
    r = reach[obj, k]
    lo = np.floor((c - r[:, None]) / cell).astype(np.int64)
    hi = np.floor((c + r[:, None]) / cell).astype(np.int64)
    base = lo.min(axis=0)
    lo -= base
    hi -= base
    span = int(max(hi.max(), 1)) + 2
    straddle = hi > lo
    home = ((k * span + lo[:, 0]) * span + lo[:, 1]) * span + lo[:, 2]
    # each entry: the cell key, and the sphere with the cell's offset from its home cell in 3 bits
    sphere = np.arange(obj.size, dtype=np.int64) * 8
    keys, members = [home], [sphere]
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                if dx == dy == dz == 0:
                    continue
                pick = np.ones(obj.size, dtype=bool)
                for axis, d in enumerate((dx, dy, dz)):
                    if d:
                        pick &= straddle[:, axis]
                idx = np.flatnonzero(pick)
                keys.append(home[idx] + (dx * span + dy) * span + dz)
                members.append(sphere[idx] + (dx * 4 + dy * 2 + dz))
    key = np.concatenate(keys)
    sph = np.concatenate(members)
    width = 8 * obj.size
    if float(key.max()) * width < 2.0**62:
        combined = np.sort(key * width + sph)  # one int64 sort
        key, sph = combined // width, combined % width
    else:
        order = np.argsort(key, kind="stable")
        key, sph = key[order], sph[order]
    edges = np.flatnonzero(np.diff(key)) + 1
    starts = np.concatenate([[0], edges])
    sizes = np.diff(np.concatenate([starts, [key.size]]))
    a_parts, b_parts = [], []
    for s in np.unique(sizes[sizes >= 2]):
        g0 = starts[sizes == s]
        group = sph[g0[:, None] + np.arange(s)]
        iu, ju = np.triu_indices(int(s), 1)
        a, b = group[:, iu].ravel(), group[:, ju].ravel()
        first = (a & b & 7) == 0  # no axis on which both spheres reach this cell from the cell below
        a_parts.append(a[first] >> 3)
        b_parts.append(b[first] >> 3)
    if not a_parts:
        return np.empty((0, 3), dtype=np.int64)
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    i, j, kk = obj[a], obj[b], k[a]
    if shell_lo is not None:
        near = (shell_lo[j] - shell_hi[i] < pad_max_km) & (shell_lo[i] - shell_hi[j] < pad_max_km)
        a, b, i, j, kk = a[near], b[near], i[near], j[near], kk[near]
    x, y, z = np.ascontiguousarray(c.T)  # 1-D gathers are several times faster than row gathers
    dx, dy, dz = x[b] - x[a], y[b] - y[a], z[b] - z[a]
    reach_sum = r[a] + r[b]  # = radius_a + radius_b + pad
    close = dx * dx + dy * dy + dz * dz < reach_sum * reach_sum
    return np.stack([kk[close], i[close], j[close]], axis=1)


def chord_lower_bound_km(r0, r1, h_s, accel_kms2):
    """Lower bound of |relative position| over an interval from its end points (M,3) and step (M,)."""
    d = r1 - r0
    dd = np.einsum("ij,ij->i", d, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.clip(np.where(dd > 0, -np.einsum("ij,ij->i", r0, d) / np.where(dd > 0, dd, 1.0), 0.0), 0.0, 1.0)
    closest = np.linalg.norm(r0 + s[:, None] * d, axis=1)
    return closest - 2.0 * accel_kms2 * h_s**2 / 8.0


def hermite_coefficients(r0, v0, r1, v1, h_s):
    """Cubic Hermite p(s) = a0 + a1 s + a2 s^2 + a3 s^3, s in [0,1], of relative position (M,3) each."""
    hv0 = h_s[:, None] * v0
    hv1 = h_s[:, None] * v1
    a2 = 3.0 * (r1 - r0) - 2.0 * hv0 - hv1
    a3 = 2.0 * (r0 - r1) + hv0 + hv1
    return r0, hv0, a2, a3


def hermite_minima(r0, v0, r1, v1, h_s, imag_tol=1e-6, edge_tol=1e-7):
    """Local minima of |p(s)| of the relative-position Hermite on each interval.

    Returns (row, s, distance_km): the candidate row, the fraction of the interval and the Hermite distance.
    Near-double roots (grazing minimum-maximum pairs) are kept; refinement on the ephemerides decides.
    """
    a0, a1, a2, a3 = hermite_coefficients(r0, v0, r1, v1, h_s)

    def dot(x, y):
        return np.einsum("ij,ij->i", x, y)

    # q(s) = p . p' (quintic), coefficients low -> high degree
    q = np.stack([
        dot(a0, a1),
        2 * dot(a0, a2) + dot(a1, a1),
        3 * dot(a0, a3) + 3 * dot(a1, a2),
        4 * dot(a1, a3) + 2 * dot(a2, a2),
        5 * dot(a2, a3),
        3 * dot(a3, a3),
    ], axis=1)
    scale = np.max(np.abs(q), axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    q = q / scale
    # a vanishing leading term (straight-line relative motion) gets a tiny one: adds a root far outside [0,1]
    lead = np.maximum(q[:, 5], 1e-13)
    comp = np.zeros((q.shape[0], 5, 5))
    comp[:, 0, :] = -(q[:, 4::-1] / lead[:, None])
    comp[:, np.arange(1, 5), np.arange(0, 4)] = 1.0
    roots = np.linalg.eigvals(comp)
    real = roots.real
    ok = (np.abs(roots.imag) < imag_tol) & (real >= -edge_tol) & (real <= 1.0 + edge_tol)
    row, col = np.nonzero(ok)
    s = np.clip(real[row, col], 0.0, 1.0)
    # keep minima: q'(s) >= 0 (with slack for near-double roots)
    dq = sum(k * q[row, k] * s ** (k - 1) for k in range(1, 6))
    keep = dq >= -1e-6
    row, s = row[keep], s[keep]
    p = a0[row] + s[:, None] * (a1[row] + s[:, None] * (a2[row] + s[:, None] * a3[row]))
    return row, s, np.linalg.norm(p, axis=1)
