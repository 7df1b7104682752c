"""Timing (along-track) uncertainty for Mars orbiters when no covariance exists.

Around Mars, predicted-orbit error is dominated by timing: the along-track position error grows with the
prediction span (drag variability, momentum-wheel desaturations), while radial and cross-track errors stay
small. marsview models each spacecraft's 1-sigma errors in its own RTN frame as

    sigma_T(t) = sigma0_km + growth_km_per_day * max(0, t - epoch0) / 86400     (along-track, T)
    sigma_R    = radial_sigma_km,  sigma_N = cross_track_sigma_km                (constant)

with epoch0 the start of the prediction (the ephemeris' first epoch unless the scenario says otherwise).
Defaults come from core.constants (mars_facts.md section 5: "a few days ahead is more than 2 km", "weeks
ahead ... dozens of km"; 0.5 km + 0.7 km/day gives 2.6 km at 3 days and 10.3 km at 14 days).

The model is a diagonal RTN covariance; it is turned into an inertial (EME2000) covariance at an epoch
so that screening (miss distance in sigmas) and collision probability use the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .constants import (
    DEFAULT_ALONG_TRACK_GROWTH_KM_PER_DAY,
    DEFAULT_ALONG_TRACK_SIGMA0_KM,
    DEFAULT_CROSS_TRACK_SIGMA_KM,
    DEFAULT_RADIAL_SIGMA_KM,
)
from .frames import rtn_matrix

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class AlongTrackModel:
    """1-sigma position errors [km] of one object: along-track growing linearly with prediction span."""

    sigma0_km: float = DEFAULT_ALONG_TRACK_SIGMA0_KM
    growth_km_per_day: float = DEFAULT_ALONG_TRACK_GROWTH_KM_PER_DAY
    radial_sigma_km: float = DEFAULT_RADIAL_SIGMA_KM
    cross_track_sigma_km: float = DEFAULT_CROSS_TRACK_SIGMA_KM
    epoch0_tdb_s: float = 0.0

    def __post_init__(self):
        for name in ("sigma0_km", "growth_km_per_day", "radial_sigma_km", "cross_track_sigma_km"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value < 0.0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "epoch0_tdb_s", float(self.epoch0_tdb_s))

    def along_track_sigma_km(self, tdb_s):
        """sigma_T [km] at TDB epochs; the span before epoch0 counts as zero (no back-prediction growth)."""
        span_days = np.maximum(0.0, (np.asarray(tdb_s, dtype=np.float64) - self.epoch0_tdb_s) / SECONDS_PER_DAY)
        return self.sigma0_km + self.growth_km_per_day * span_days

    def rtn_covariance_km2(self, tdb_s) -> np.ndarray:
        """(N,3,3) diagonal position covariance [km^2] in the object's RTN frame."""
        t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
        cov = np.zeros((t.size, 3, 3))
        cov[:, 0, 0] = self.radial_sigma_km**2
        cov[:, 1, 1] = self.along_track_sigma_km(t) ** 2
        cov[:, 2, 2] = self.cross_track_sigma_km**2
        return cov

    def inertial_covariance_km2(self, states, tdb_s) -> np.ndarray:
        """(N,3,3) position covariance [km^2] in the inertial frame of STATES (N,6) at TDB epochs."""
        return rtn_to_inertial_covariance(states, self.rtn_covariance_km2(tdb_s))


def rtn_to_inertial_covariance(states, rtn_cov_km2) -> np.ndarray:
    """Rotate (N,3,3) RTN position covariances into the inertial frame of the (N,6) states: M^T C M."""
    m = rtn_matrix(states)
    c = np.broadcast_to(np.asarray(rtn_cov_km2, dtype=np.float64), (m.shape[0], 3, 3))
    return np.einsum("nki,nkl,nlj->nij", m, c, m)


def sigma_along_km(relative_position_km, combined_cov_km2) -> np.ndarray:
    """1-sigma of the combined position error projected on the miss direction [km] (N,)."""
    r = np.atleast_2d(np.asarray(relative_position_km, dtype=np.float64))
    c = np.asarray(combined_cov_km2, dtype=np.float64).reshape(-1, 3, 3)
    norm = np.linalg.norm(r, axis=1, keepdims=True)
    u = np.divide(r, norm, out=np.zeros_like(r), where=norm > 0)
    var = np.einsum("ni,nij,nj->n", u, c, u)
    return np.sqrt(np.maximum(var, 0.0))


def miss_in_sigmas(relative_position_km, combined_cov_km2) -> np.ndarray:
    """Miss distance divided by the combined 1-sigma along the miss vector (N,); inf where sigma is 0."""
    r = np.atleast_2d(np.asarray(relative_position_km, dtype=np.float64))
    miss = np.linalg.norm(r, axis=1)
    sigma = sigma_along_km(r, combined_cov_km2)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sigma > 0, miss / np.where(sigma > 0, sigma, 1.0), np.inf)
    return out


COVARIANCE_AT_EPOCH = "OEM-COV"
COVARIANCE_INTERPOLATED = "OEM-COV-INTERPOLATED"
COVARIANCE_PROPAGATED = "OEM-COV-PROPAGATED"
MAX_COVARIANCE_PROPAGATION_S = 7 * 86400.0
"""Beyond this span from the nearest covariance epoch a linear (STM) propagation is not trusted: None."""
AT_EPOCH_S = 10.0
"""Within this span of a covariance epoch the matrix is used as given: over 10 s the gravity gradient changes
the position terms by ~(10 s)^2 GM/r^3 < 1e-4 relative, below the precision a delivered covariance has."""


def ephemeris_covariance_km2(ephemeris, tdb_s: float, state=None, force_model=None):
    """The covariance an ephemeris carries (OEM COVARIANCE blocks, as ``core.tabulated`` segments hold them:
    epochs (K,), (K,6,6) EME2000 [km^2, km^2/s, km^2/s^2]) brought to TDB_S, with how it was obtained:
    (matrix (6,6), label), or None when the segment holding TDB_S carries none.

    - at a covariance epoch (within AT_EPOCH_S = 10 s): that matrix as given, ``OEM-COV``;
    - between two covariance epochs: the two matrices rotated into the RTN frame of their own epoch's state,
      interpolated linearly in time there (orbit-determination errors evolve slowly in RTN, not in
      inertial axes) and rotated back with the RTN axes of STATE (the object's state at TDB_S; taken from
      the ephemeris when None), ``OEM-COV-INTERPOLATED``;
    - before the first or after the last covariance epoch (up to MAX_COVARIANCE_PROPAGATION_S): the nearest
      matrix propagated linearly, P = Phi P0 Phi^T, with the state transition matrix Phi of FORCE_MODEL
      (default: the ephemeris' own force model when it has one, else point mass + J2, marsview's default),
      ``OEM-COV-PROPAGATED``.
    """
    for seg in getattr(ephemeris, "segments", ()) or ():
        cov = getattr(seg, "covariances", None)
        if not cov or not (seg.useable_start_tdb_s <= tdb_s <= seg.useable_stop_tdb_s):
            continue
        epochs, mats = np.asarray(cov[0], dtype=np.float64), np.asarray(cov[1], dtype=np.float64)
        k = int(np.argmin(np.abs(epochs - tdb_s)))
        if abs(epochs[k] - tdb_s) <= AT_EPOCH_S:
            return mats[k].copy(), COVARIANCE_AT_EPOCH
        if state is None:
            state = seg.state(np.array([tdb_s]))[0]
        if epochs[0] < tdb_s < epochs[-1]:
            hi = int(np.searchsorted(epochs, tdb_s))
            lo = hi - 1
            ends = seg.state(epochs[[lo, hi]])
            w = (tdb_s - epochs[lo]) / (epochs[hi] - epochs[lo])
            rtn = (1.0 - w) * _to_rtn(ends[0], mats[lo]) + w * _to_rtn(ends[1], mats[hi])
            rot = _rtn6(state)
            return rot.T @ rtn @ rot, COVARIANCE_INTERPOLATED
        if abs(epochs[k] - tdb_s) > MAX_COVARIANCE_PROPAGATION_S:
            return None
        model = force_model or getattr(ephemeris, "force_model", None)
        if model is None:
            from .dynamics import ForceModel

            model = ForceModel.j2_model()
        phi = state_transition_matrix(seg.state(epochs[[k]])[0], float(epochs[k]), float(tdb_s), model)
        return phi @ mats[k] @ phi.T, COVARIANCE_PROPAGATED
    return None


def state_transition_matrix(state0, t0_tdb_s: float, t1_tdb_s: float, force_model, step_km: float = 1e-2,
                            step_kms: float = 1e-5) -> np.ndarray:
    """(6,6) d state(t1) / d state(t0) of FORCE_MODEL by central differences: the nominal and 12 displaced
    states (10 m, 1 cm/s) integrated together; the truncation error is O(step^2), ~1e-9 relative here."""
    from .dynamics import propagate_many

    s0 = np.asarray(state0, dtype=np.float64)
    steps = np.array([step_km] * 3 + [step_kms] * 3)
    displaced = np.concatenate([s0 + np.diag(steps), s0 - np.diag(steps)])
    out = propagate_many(displaced, t0_tdb_s, np.array([t1_tdb_s]), force_model)[:, 0, :]
    return ((out[:6] - out[6:]) / (2.0 * steps[:, None])).T


def _rtn6(state) -> np.ndarray:
    m = rtn_matrix(np.asarray(state, dtype=np.float64)[None])[0]
    rot = np.zeros((6, 6))
    rot[:3, :3] = rot[3:, 3:] = m
    return rot


def _to_rtn(state, cov) -> np.ndarray:
    rot = _rtn6(state)
    return rot @ np.asarray(cov, dtype=np.float64) @ rot.T
