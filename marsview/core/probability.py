"""Collision probability from two states and two covariances (short-encounter 2D model and its checks).

Units: states in km and km/s, covariances in km^2 (km^2/s, km^2/s^2 for 6x6), hard-body radius in km. CDM
covariances are in m^2 and in each object's RTN frame: convert with `cdm_covariance_to_inertial_km2`.
Frames: both states and both covariances must be in the same inertial frame (EME2000 for marsview, or the
CDM's REF_FRAME); RTN covariances are rotated with each object's own RTN axes (R = r/|r|, N = r x v/|r x v|,
T = N x R; the velocity block uses the same non-rotating axes, as CARA and Orekit's QSW_INERTIAL do).

Method names (`PcResult.method`): "FOSTER-2D" (exact integral over the disk, default), "CHAN" (series),
"MAX-PC" (largest value over covariance scale, Alfano 2005), "MONTE-CARLO" (probability_montecarlo): the
table of core.pc_methods (``PC_METHODS``), where a new method is one function and one entry. The encounter
plane they share is core.encounter_plane (``encounter_plane``, ``Encounter`` and ``repair_covariance`` are
re-exported here).
Covariance sources (`PcResult.covariance_source`): "CDM", "OEM-COV" (at its epoch), "OEM-COV-INTERPOLATED",
"OEM-COV-PROPAGATED" (see core.uncertainty.ephemeris_covariance_km2), "TIMING-MODEL", "USER".
`PcResult.pc_method` joins them ("FOSTER-2D/CDM") and appends the 2D usage-violation flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from .constants import GM_MARS_KM3S2
from .encounter_plane import FCLIP, Encounter, encounter_plane, repair_covariance
from .frames import rtn_matrix
from .pc_methods import DEFAULT_PC_METHOD, PC_METHODS, PcRequest

METHODS = tuple(PC_METHODS)  # the names, in the table's order (FOSTER-2D first: the default)
SOURCES = ("CDM", "OEM-COV", "OEM-COV-INTERPOLATED", "OEM-COV-PROPAGATED", "TIMING-MODEL", "USER")

# CARA's usage-violation defaults (UsageViolationPc2D.m, Hall 2021): conjunction-duration gamma 1e-16,
# clipping factor 1e-4 of the HBR (FCLIP, core.encounter_plane), and the recommended cut-offs on the two
# timing indicators.
CONJ_DURATION_GAMMA = 1e-16
EXTENDED_LIMIT = 2e-2
OFFSET_LIMIT = 1e-2


@dataclass(frozen=True)
class UsageViolation:
    """CARA 2D usage-violation indicators (0 = fine, 1 = very bad) and the covariance checks."""

    extended: float          # 2*dtau / shorter orbital period (limit 0.02)
    offset: float            # max |Ta|,|Tb| / shorter period (limit 0.01)
    npd: tuple               # (object1 position cov NPD, object2 NPD, combined NPD)
    duration_s: float        # 2*dtau: time the relative-position density spends near the disk
    period_min_s: float

    @property
    def flags(self) -> tuple:
        out = []
        if self.extended > EXTENDED_LIMIT:
            out.append("EXTENDED-ENCOUNTER")
        if self.offset > OFFSET_LIMIT:
            out.append("OFFSET-FROM-TCA")
        if any(self.npd):
            out.append("NPD-COVARIANCE")
        return tuple(out)


@dataclass(frozen=True)
class PcResult:
    pc: float
    method: str
    covariance_source: str
    hbr_km: float
    miss_km: float
    relative_speed_kms: float
    sigma_xy_km: tuple = (math.nan, math.nan)
    flags: tuple = ()
    usage: UsageViolation | None = None
    ci_low: float | None = None        # Monte Carlo confidence interval (Clopper-Pearson)
    ci_high: float | None = None
    samples: int | None = None
    hits: int | None = None
    notes: tuple = field(default_factory=tuple)

    @property
    def pc_method(self) -> str:
        text = f"{self.method}/{self.covariance_source}"
        return text + (" [" + ",".join(self.flags) + "]" if self.flags else "")

    @property
    def assumptions_ok(self) -> bool:
        return not any(f in self.flags for f in ("EXTENDED-ENCOUNTER", "OFFSET-FROM-TCA", "SLOW-ENCOUNTER"))


# --- covariances --------------------------------------------------------------------------------------

def rtn_to_inertial(state, cov):
    """(3,3) or (6,6) covariance in the RTN frame of STATE (6,) -> the state's inertial frame."""
    m = rtn_matrix(np.asarray(state, float)[None])[0]
    c = np.asarray(cov, float)
    n = c.shape[0]
    if c.shape not in ((3, 3), (6, 6)):
        raise ValueError(f"covariance must be 3x3 or 6x6, got {c.shape}")
    rot = m if n == 3 else np.block([[m, np.zeros((3, 3))], [np.zeros((3, 3)), m]])
    return rot.T @ c @ rot


def cdm_covariance_to_inertial_km2(state_km, cov_rtn_m2):
    """A CDM object's RTN covariance (6x6 or larger, m^2, m^2/s, m^2/s^2) -> 6x6 inertial in km units."""
    c = np.asarray(cov_rtn_m2, float)[:6, :6] * 1e-6
    return rtn_to_inertial(state_km, c)


# --- geometry -----------------------------------------------------------------------------------------

def _period_s(state, gm):
    r = float(np.linalg.norm(state[:3]))
    v2 = float(state[3:6] @ state[3:6])
    energy = 0.5 * v2 - gm / r
    if energy >= 0:
        return math.inf
    a = -gm / (2 * energy)
    return 2 * math.pi * math.sqrt(a**3 / gm)


def usage_violation(state1, state2, cov1_km2, cov2_km2, hbr_km, gm_km3s2=GM_MARS_KM3S2) -> UsageViolation:
    """CARA's rectilinear usage-violation indicators for the 2D method (UsageViolationPc2D, Hall 2021):
    the relative-position density passes the disk during 2*dtau, dtau = sigma_T*sqrt(2)*erfcinv(gamma) with
    sigma_T = 1/sqrt(v' A^-1 v) and A the combined position covariance (clipped at (1e-4 HBR)^2). The 2D
    method assumes that span is a small part of an orbit ("extended") and centred on TCA ("offset")."""
    s1, s2 = np.asarray(state1, float), np.asarray(state2, float)
    c1, c2 = np.asarray(cov1_km2, float)[:3, :3], np.asarray(cov2_km2, float)[:3, :3]
    npd1 = bool(np.any(np.linalg.eigvalsh(c1) <= 0))
    npd2 = bool(np.any(np.linalg.eigvalsh(c2) <= 0))
    a = c1 + c2
    w, vec = np.linalg.eigh(0.5 * (a + a.T))
    npd = bool(np.any(w <= 0))
    w = np.maximum(w, (FCLIP * hbr_km) ** 2)
    ainv = (vec / w) @ vec.T
    r, v = s2[:3] - s1[:3], s2[3:6] - s1[3:6]
    vav = float(v @ ainv @ v)
    period = min(_period_s(s1, gm_km3s2), _period_s(s2, gm_km3s2))
    if vav <= 0:
        return UsageViolation(1.0, 1.0, (npd1, npd2, npd), math.inf, period)
    t_min = -float(r @ ainv @ v) / vav
    dtau = math.sqrt(1.0 / vav) * math.sqrt(2.0) * float(special.erfcinv(CONJ_DURATION_GAMMA))
    extended = min(1.0, 2 * dtau / period) if math.isfinite(period) else 0.0
    offset = min(1.0, max(abs(t_min - dtau), abs(t_min + dtau)) / period) if math.isfinite(period) else 0.0
    return UsageViolation(extended, offset, (npd1, npd2, npd), 2 * dtau, period)


# --- the main entry point -----------------------------------------------------------------------------

def collision_probability(state1, cov1_km2, state2, cov2_km2, hbr_km, method=DEFAULT_PC_METHOD,
                          covariance_source="USER", cov_frame="INERTIAL", at_true_tca=True,
                          gm_km3s2=GM_MARS_KM3S2, chan_orders=20, mc_samples=100_000, mc_seed=None,
                          progress=None, cancel=None) -> PcResult:
    """Probability of collision of two objects whose states (6,) [km, km/s] are at (or near) TCA, with
    position(/velocity) covariances [km^2...] in the states' inertial frame (cov_frame="INERTIAL") or in each
    object's RTN frame (cov_frame="RTN"). hbr_km is the combined hard-body radius. ``method`` names an entry
    of core.pc_methods.PC_METHODS (METHODS)."""
    method = method.upper()
    if method not in PC_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(PC_METHODS)}")
    if not hbr_km > 0:
        raise ValueError(f"combined hard-body radius must be > 0 km, got {hbr_km!r}")
    s1, s2 = np.asarray(state1, float), np.asarray(state2, float)
    c1, c2 = np.asarray(cov1_km2, float), np.asarray(cov2_km2, float)
    if cov_frame.upper() == "RTN":
        c1, c2 = rtn_to_inertial(s1, c1), rtn_to_inertial(s2, c2)
    elif cov_frame.upper() not in ("INERTIAL", "EME2000", "ICRF", "GCRF"):
        raise ValueError(f"cov_frame must be INERTIAL or RTN, not {cov_frame!r}")
    usage = usage_violation(s1, s2, c1, c2, hbr_km, gm_km3s2)
    request = PcRequest(s1, c1, s2, c2, hbr_km, at_true_tca, gm_km3s2, chan_orders, mc_samples, mc_seed,
                        progress, cancel)
    est = PC_METHODS[method](request)
    return PcResult(est.pc, method, covariance_source, hbr_km, est.miss_km, est.relative_speed_kms,
                    est.sigma_xy_km, usage.flags + est.flags, usage, ci_low=est.ci_low, ci_high=est.ci_high,
                    samples=est.samples, hits=est.hits, notes=est.notes)


def screening_pc(state1, state2, cov1_km2, cov2_km2, hbr_km, covariance_source="TIMING-MODEL"):
    """Hook used by core.screening for each close approach: (pc, pc_method) with inertial position
    covariances [km^2] (the timing model's, unless the caller has real ones). None pc when undefined."""
    if not hbr_km > 0:
        return 0.0, f"FOSTER-2D/{covariance_source}"
    try:
        res = collision_probability(state1, cov1_km2, state2, cov2_km2, hbr_km,
                                    covariance_source=covariance_source)
    except ValueError:
        return None, f"FOSTER-2D/{covariance_source} [UNDEFINED]"
    return res.pc, res.pc_method


__all__ = ["METHODS", "SOURCES", "Encounter", "PcResult", "UsageViolation", "cdm_covariance_to_inertial_km2",
           "collision_probability", "encounter_plane", "repair_covariance", "rtn_to_inertial", "screening_pc",
           "usage_violation", "FCLIP"]
