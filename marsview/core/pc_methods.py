"""Collision-probability methods behind one table, as Orekit's ShortTermEncounter2DPOCMethodType: a name ->
function registry that ``core.probability.collision_probability``, ``marsview assess --method`` and the
README's method list all read.

Every method is a function ``(PcRequest) -> PcEstimate``. A request carries the two states and inertial
covariances at (or near) TCA, the combined hard-body radius and the options some methods use; the 2D methods
start from ``PcRequest.plane()`` (core.encounter_plane: the one encounter-plane projection). The estimate is
what the method adds to the common result (``core.probability.PcResult``: method name, covariance source and
CARA's usage-violation flags are filled in by the caller).

Adding a method: write its function here and add one ``PC_METHODS`` entry. This module stays light (numpy
only at import; each method imports its kernels when it runs) so the command line can list the names fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .encounter_plane import Encounter, encounter_plane


@dataclass(frozen=True)
class PcRequest:
    """One encounter as every method receives it: states (6,) [km, km/s] and covariances (3x3 or 6x6) [km^2,
    ...] in one inertial frame, the combined hard-body radius [km] and the method options."""

    state1: np.ndarray
    cov1_km2: np.ndarray
    state2: np.ndarray
    cov2_km2: np.ndarray
    hbr_km: float
    at_true_tca: bool = True
    gm_km3s2: float = math.nan
    chan_orders: int = 20
    mc_samples: int = 100_000
    mc_seed: int | None = None
    progress: Callable | None = None
    cancel: Callable | None = None

    def plane(self) -> Encounter:
        """The encounter plane (core.encounter_plane.encounter_plane); ValueError where it is undefined."""
        return encounter_plane(self.state1, self.state2, self.cov1_km2, self.cov2_km2, self.hbr_km,
                               self.at_true_tca)


@dataclass(frozen=True)
class PcEstimate:
    """What a method found: the probability and the geometry it used, its own flags and notes, and (Monte
    Carlo) the sample counts with their Clopper-Pearson interval."""

    pc: float
    miss_km: float
    relative_speed_kms: float
    sigma_xy_km: tuple = (math.nan, math.nan)
    flags: tuple = ()
    notes: tuple = field(default_factory=tuple)
    ci_low: float | None = None
    ci_high: float | None = None
    samples: int | None = None
    hits: int | None = None


def _planar(plane: Encounter, pc: float, flags=(), notes=()) -> PcEstimate:
    """A 2D method's estimate: the plane's geometry, NPD-REPAIRED when its covariance was clipped."""
    (sx, sy) = plane.sigma_xy_km
    return PcEstimate(pc, plane.miss_km, plane.relative_speed_kms, (float(sx), float(sy)),
                      (("NPD-REPAIRED",) if plane.clipped else ()) + tuple(flags), tuple(notes))


def foster_2d(req: PcRequest) -> PcEstimate:
    """Exact integral of the 2D Gaussian over the hard-body disk (core.probability_2d.log_pc_circle)."""
    from .probability_2d import log_pc_circle

    plane = req.plane()
    (mx, my), (sx, sy) = plane.miss_xy_km, plane.sigma_xy_km
    return _planar(plane, float(math.exp(log_pc_circle(mx, my, sx, sy, req.hbr_km)[0])))


def chan(req: PcRequest) -> PcEstimate:
    """Chan's equal-area series (``chan_orders`` terms); flagged CHAN-POOR where it is known to be poor."""
    from .probability_2d import chan_is_poor, pc_chan

    plane = req.plane()
    (mx, my), (sx, sy) = plane.miss_xy_km, plane.sigma_xy_km
    pc = float(pc_chan(mx, my, sx, sy, req.hbr_km, orders=req.chan_orders))
    if bool(chan_is_poor(sx, sy, req.hbr_km)):
        return _planar(plane, pc, ("CHAN-POOR",),
                       ("Chan's equal-area series is unreliable for this covariance shape; use FOSTER-2D",))
    return _planar(plane, pc)


def max_pc(req: PcRequest) -> PcEstimate:
    """The largest exact 2D probability over a scale factor on the covariance (Alfano 2005)."""
    from .probability_2d import pc_max_scaled

    plane = req.plane()
    (mx, my), (sx, sy) = plane.miss_xy_km, plane.sigma_xy_km
    pc, k = pc_max_scaled(mx, my, sx, sy, req.hbr_km)
    return _planar(plane, pc, notes=(f"maximum over covariance scale factor; reached at k = {k:.4g}",))


def patera_2005(req: PcRequest) -> PcEstimate:
    """Patera's contour integral (J. Guid. Control Dyn. 28(6), 2005; Orekit's PATERA_2005): the 2D Gaussian over
    the disk as a line integral along the disk's edge, an independent check of FOSTER-2D's area integral.

    In coordinates scaled to unit variance (q = (x/sigma_x, y/sigma_y)) the density is radial, so the area
    integral in polar coordinates about the covariance centre integrates in closed form along each ray:
    Pc = [origin inside] - 1/(2 pi) * contour integral of exp(-|q|^2/2) d(theta), counter-clockwise along the
    edge. The integrand is smooth and periodic in the edge angle, so the trapezoid rule converges
    geometrically; the number of nodes doubles until two estimates agree to 1e-12 (relative) or 2^18 nodes.
    Where the covariance centre lies on (within 1e-9 sigma of) the edge the integrand has a pole on the contour:
    FOSTER-2D's value is given, flagged CONTOUR-SINGULAR."""
    plane = req.plane()
    (mx, my), (sx, sy) = plane.miss_xy_km, plane.sigma_xy_km
    hbr = float(req.hbr_km)
    if not hbr > 0:
        return _planar(plane, 0.0)
    if abs(math.hypot(mx, my) - hbr) < 1e-9 * min(sx, sy):   # the integrand's pole lies on the contour
        est = foster_2d(req)
        return PcEstimate(est.pc, est.miss_km, est.relative_speed_kms, est.sigma_xy_km,
                          est.flags + ("CONTOUR-SINGULAR",),
                          ("the covariance centre lies on the disk's edge: FOSTER-2D's area integral is given",))

    def contour(n: int) -> float:
        phi = (np.arange(n) + 0.5) * (2.0 * math.pi / n)
        c, s = np.cos(phi), np.sin(phi)
        qx, qy = (mx + hbr * c) / sx, (my + hbr * s) / sy
        dqx, dqy = -hbr * s / sx, hbr * c / sy
        rho2 = qx * qx + qy * qy
        return float(np.sum(np.exp(-0.5 * rho2) * (qx * dqy - qy * dqx) / rho2) / n)  # (1/2pi) * sum * 2pi/n

    n, prev = 64, contour(32)
    while True:
        now = contour(n)
        if abs(now - prev) <= 1e-12 * max(abs(now), 1e-300) or n >= 1 << 18:
            break
        prev, n = now, 2 * n
    pc = (1.0 if math.hypot(mx, my) < hbr else 0.0) - now
    return _planar(plane, min(max(pc, 0.0), 1.0), notes=(f"contour integral, {n} nodes",))


def monte_carlo(req: PcRequest) -> PcEstimate:
    """Two-body sampling of both states over the conjunction window (core.probability_montecarlo)."""
    from .probability_montecarlo import monte_carlo_pc

    mc = monte_carlo_pc(req.state1, req.cov1_km2, req.state2, req.cov2_km2, req.hbr_km, samples=req.mc_samples,
                        gm_km3s2=req.gm_km3s2, seed=req.mc_seed, progress=req.progress, cancel=req.cancel)
    rel = np.asarray(req.state2, float) - np.asarray(req.state1, float)
    return PcEstimate(mc.pc, float(np.linalg.norm(rel[:3])), float(np.linalg.norm(rel[3:])),
                      notes=(f"two-body propagation over +/-{mc.half_window_s:.0f} s",), ci_low=mc.ci_low,
                      ci_high=mc.ci_high, samples=mc.samples, hits=mc.hits)


PC_METHODS: dict[str, Callable[[PcRequest], PcEstimate]] = {
    "FOSTER-2D": foster_2d,       # the default
    "CHAN": chan,
    "MAX-PC": max_pc,
    "PATERA-2005": patera_2005,
    "MONTE-CARLO": monte_carlo,
}
"""Method name (as in ``PcResult.method``, CDM-style) -> function. The first entry is the default."""
DEFAULT_PC_METHOD = next(iter(PC_METHODS))
