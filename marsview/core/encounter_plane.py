"""The encounter plane of a short encounter: the one projection every 2D collision probability starts from.

At closest approach the relative motion is taken as a straight line, so only the plane normal to the relative
velocity matters: axes x along the miss vector, y = z x x, z along the relative velocity (the conjunction
"B-plane" of CARA and Orekit's ShortTermEncounter2DDefinition). The combined position covariance (both
objects' 3x3 blocks summed, one inertial frame) is projected on it, and the 2D Pc kernels of
core.probability_2d take the miss and the standard deviations in the principal axes of that 2x2 matrix.

Users: core.pc_methods (the CDM/screening Pc, through ``encounter_plane``), core.planning_trade (the Pc map of
the trade space, vectorized), render.encounter (the drawn covariance ellipse is the projected matrix itself).
Units: km, km/s, km^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# CARA's eigenvalue clipping factor (UsageViolationPc2D.m / CovRemEigValClip, Hall 2021): the 2x2 covariance's
# eigenvalues are raised to at least (FCLIP * HBR)^2 before the probability integral.
FCLIP = 1e-4


@dataclass(frozen=True)
class Encounter:
    """Encounter-plane geometry: x along the miss vector at TCA, z along the relative velocity."""

    miss_km: float
    relative_speed_kms: float
    tca_shift_s: float                 # time added to the input epoch to reach the true (linear) TCA
    miss_xy_km: np.ndarray             # (2,) miss in the principal axes of cov_xy_km2
    sigma_xy_km: np.ndarray            # (2,) principal 1-sigma
    cov_plane_km2: np.ndarray          # (2,2) in the (x = miss, y = z cross x) basis
    basis: np.ndarray                  # (2,3) inertial unit vectors of the plane
    clipped: bool                      # eigenvalues of the 2x2 covariance were clipped (non-PD input)


def project_on_encounter_plane(r_rel_km, v_rel_kms, cov_km2, min_miss_km=None):
    """Relative positions (...,3) and velocities (...,3), combined position covariance (...,3,3) ->
    (basis (...,2,3): rows x and y, miss_km (...,), cov_plane_km2 (...,2,2)). x is along the miss vector (the
    part of r_rel normal to v_rel); where the miss is below ``min_miss_km`` (default 1e-12 |r_rel|, at least
    1e-12 km) any unit vector normal to v_rel serves, taken across the smallest component of v_rel."""
    r = np.asarray(r_rel_km, dtype=np.float64)
    v = np.asarray(v_rel_kms, dtype=np.float64)
    z = v / _norm(v)[..., None]
    x = r - (r @ z if r.ndim == 1 else np.einsum("...i,...i->...", r, z))[..., None] * z
    miss = _norm(x)
    if min_miss_km is None:
        min_miss_km = 1e-12 * np.maximum(1.0, _norm(r))
    degenerate = miss < min_miss_km
    if np.any(degenerate):  # r_rel along v_rel: the plane's x axis is arbitrary, the probability is not
        helper = np.eye(3)[np.argmin(np.abs(z), axis=-1)]
        x = np.where(degenerate[..., None], np.cross(z, helper), x)
    x = x / _norm(x)[..., None]
    basis = np.stack([x, np.cross(z, x)], axis=-2)
    cov_plane = basis @ np.asarray(cov_km2, dtype=np.float64) @ np.swapaxes(basis, -1, -2)
    return basis, miss, cov_plane


def _norm(a):
    """Euclidean norm over the last axis; a single vector takes numpy's 1-D norm (a dot product), so the
    scalar path gives the same bits as before the projection was shared."""
    return np.linalg.norm(a) if a.ndim == 1 else np.linalg.norm(a, axis=-1)


def principal_axes(cov_plane_km2, miss_km, floor_km2: float = 0.0):
    """Miss (...,2) and 1-sigma (...,2) [km] in the principal axes of the plane covariance (...,2,2), for a
    miss along the plane's x axis; variances below ``floor_km2`` are raised to it."""
    w, vec = np.linalg.eigh(np.asarray(cov_plane_km2, dtype=np.float64))
    miss_xy = vec[..., 0, :] * np.asarray(miss_km, dtype=np.float64)[..., None]  # vec^T @ (miss, 0)
    return miss_xy, np.sqrt(np.maximum(w, floor_km2))


def repair_covariance(cov, floor):
    """Eigenvalue clipping (Hall et al. 2017; CARA CovRemEigValClip): eigenvalues below FLOOR (>= 0) are
    raised to FLOOR, eigenvectors kept. Negative eigenvalues come from rounding in a transmitted matrix
    and carry no information, so the smallest change that makes the matrix usable is the honest one.
    Returns (repaired, clipped: bool, eigenvalues_before)."""
    c = 0.5 * (np.asarray(cov, float) + np.asarray(cov, float).T)
    w, v = np.linalg.eigh(c)
    clipped = bool(np.any(w < floor))
    if not clipped:
        return c, False, w
    wc = np.maximum(w, floor)
    return (v * wc) @ v.T, True, w


def encounter_plane(state1, state2, cov1_km2, cov2_km2, hbr_km, at_true_tca=True) -> Encounter:
    """Project the combined position covariance on the plane normal to the relative velocity. With
    at_true_tca the relative state is first moved linearly to where relative velocity is perpendicular to
    relative position (CDM TCAs are rounded to ~1 ms; at 14 km/s that alone is 14 m along-track). The 2x2
    covariance is clipped at (FCLIP hbr_km)^2 (``clipped`` says whether that changed it)."""
    s1, s2 = np.asarray(state1, float), np.asarray(state2, float)
    r, v = s2[:3] - s1[:3], s2[3:6] - s1[3:6]
    speed = float(np.linalg.norm(v))
    if speed == 0.0:
        raise ValueError("relative velocity is zero: the 2D encounter plane is undefined (use Monte Carlo)")
    dt = -float(r @ v) / speed**2 if at_true_tca else 0.0
    r = r + v * dt
    c3 = np.asarray(cov1_km2, float)[:3, :3] + np.asarray(cov2_km2, float)[:3, :3]
    basis, miss, c2 = project_on_encounter_plane(r, v, c3, 1e-12 * max(1.0, float(np.linalg.norm(s1[:3]))))
    c2, clipped, _ = repair_covariance(c2, (FCLIP * hbr_km) ** 2)
    miss_xy, sigma = principal_axes(c2, miss)
    if np.any(sigma <= 0):
        raise ValueError("combined covariance projects to zero in the encounter plane; give a hard-body radius > 0")
    return Encounter(float(miss), speed, dt, miss_xy, sigma, c2, basis, clipped)
