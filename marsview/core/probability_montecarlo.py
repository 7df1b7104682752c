"""Monte Carlo collision probability for encounters where the 2D assumptions fail (slow or long encounters).

Samples both objects' states at TCA from their Gaussian covariances (6x6 in km, km/s; a 3x3 position-only
covariance means exact velocities), propagates every sample with two-body motion (core.twobody by default)
over the conjunction window, and counts the samples whose closest approach within the window is inside the
combined hard-body radius. The estimate comes with a Clopper-Pearson (exact binomial) confidence interval.

The window is CARA's conjunction duration (UsageViolationPc2D: t_min +/- sigma_T sqrt(2) erfcinv(1e-16)),
clipped to half the shorter orbital period so one window holds one encounter. The closest approach of each
sample is its coarse-grid minimum, refined on a fine grid and finished along the local relative velocity
(over the last step h relative motion departs from a line by ~n^2 |dr| h^2 / 2: < 0.1 m for a 2-hour orbit,
a 1 km relative distance and the widest window).

Work is done in chunks: progress(fraction) is called after each, and cancel() -> True raises
MonteCarloCancelled between chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from .constants import GM_MARS_KM3S2
from .jobs import Cancelled


_FINE = 21


class MonteCarloCancelled(Cancelled):
    """cancel() asked the Monte Carlo estimate to stop (raised between chunks; a ``core.jobs.Cancelled``)."""


@dataclass(frozen=True)
class MonteCarloResult:
    pc: float
    hits: int
    samples: int
    ci_low: float
    ci_high: float
    confidence: float
    half_window_s: float
    window_center_s: float


def _sqrt_cov(cov):
    c = np.asarray(cov, float)
    if c.shape == (3, 3):
        c = np.block([[c, np.zeros((3, 3))], [np.zeros((3, 3)), np.zeros((3, 3))]])
    if c.shape != (6, 6):
        raise ValueError(f"Monte Carlo needs a 3x3 or 6x6 covariance, got {c.shape}")
    w, v = np.linalg.eigh(0.5 * (c + c.T))
    # negative eigenvalues are rounding noise of a transmitted matrix: clip them to zero (no spread there)
    return v * np.sqrt(np.maximum(w, 0.0)), c


def _period_s(state, gm):
    r = float(np.linalg.norm(state[:3]))
    energy = 0.5 * float(state[3:6] @ state[3:6]) - gm / r
    return math.inf if energy >= 0 else 2 * math.pi * math.sqrt((-gm / (2 * energy)) ** 3 / gm)


def conjunction_window(state1, cov1, state2, cov2, hbr_km, gm_km3s2=GM_MARS_KM3S2):
    """(center_s, half_width_s) of the window, relative to the states' epoch (see module doc)."""
    c = (np.asarray(cov1, float)[:3, :3] + np.asarray(cov2, float)[:3, :3])
    w, vec = np.linalg.eigh(0.5 * (c + c.T))
    w = np.maximum(w, (1e-4 * hbr_km) ** 2)
    ainv = (vec / w) @ vec.T
    r = np.asarray(state2, float)[:3] - np.asarray(state1, float)[:3]
    v = np.asarray(state2, float)[3:6] - np.asarray(state1, float)[3:6]
    vav = float(v @ ainv @ v)
    period = min(_period_s(np.asarray(state1, float), gm_km3s2), _period_s(np.asarray(state2, float), gm_km3s2))
    if vav <= 0:
        return 0.0, 0.5 * period
    center = -float(r @ ainv @ v) / vav
    half = math.sqrt(2.0 / vav) * float(special.erfcinv(1e-16))
    limit = 0.5 * period
    return float(np.clip(center, -limit, limit)), float(min(half, limit))


def _twobody(gm):
    """Two-body propagator vectorized over samples and epochs: core.orbits elements, mean anomaly advanced
    by n*t, Kepler's equation solved for all (sample, epoch) pairs at once; open orbits (rare here) go
    through core.twobody's universal-variable propagator one by one."""
    from .orbits import cartesian_to_elements, elements_to_cartesian, mean_to_true, true_to_mean
    from .twobody import propagate_twobody

    def prop(states, times):
        el = cartesian_to_elements(states, gm)
        times = np.broadcast_to(times, (states.shape[0], np.shape(times)[-1]))
        k = times.shape[1]
        out = np.empty((states.shape[0], k, 6))
        ok = (el.e < 0.99) & (el.a_km > 0)
        if np.any(ok):
            a, e = el.a_km[ok][:, None], el.e[ok][:, None]
            n = np.sqrt(gm / a**3)
            mean = true_to_mean(el.nu_rad[ok], el.e[ok])[:, None] + n * times[ok]
            nu = mean_to_true(mean, np.broadcast_to(e, mean.shape))
            flat = [np.broadcast_to(x, nu.shape).ravel() for x in
                    (a, e, el.inc_rad[ok][:, None], el.raan_rad[ok][:, None], el.argp_rad[ok][:, None], nu)]
            st = elements_to_cartesian(*flat, gm_km3s2=gm)
            out[ok] = st.reshape(-1, k, 6)
        for i in np.flatnonzero(~ok):
            out[i] = propagate_twobody(states[i], 0.0, times[i], gm_km3s2=gm, method="universal")
        return out

    return prop


def monte_carlo_pc(state1, cov1, state2, cov2, hbr_km, samples=100_000, chunk=4000, grid=41,
                   gm_km3s2=GM_MARS_KM3S2, seed=None, confidence=0.95, propagator=None,
                   window=None, progress=None, cancel=None) -> MonteCarloResult:
    """Monte Carlo Pc. propagator(states (M,6), times (K,) or (M,K)) -> (M,K,6), times relative to the
    states' epoch; default two-body about Mars (gm_km3s2). window = (center_s, half_width_s) overrides the
    default window. A coarse grid of `grid` epochs finds each sample's minimum, a 21-epoch grid over the
    two neighbouring steps refines it, and a straight-line step finishes it."""
    if not hbr_km > 0:
        raise ValueError("combined hard-body radius must be > 0 km")
    samples, chunk, grid = int(samples), max(1, int(chunk)), max(3, int(grid))
    s1, s2 = np.asarray(state1, float), np.asarray(state2, float)
    l1, c1 = _sqrt_cov(cov1)
    l2, c2 = _sqrt_cov(cov2)
    center, half = window if window is not None else conjunction_window(s1, c1, s2, c2, hbr_km, gm_km3s2)
    times = center + np.linspace(-half, half, grid)
    step = times[1] - times[0]
    prop = propagator or _twobody(gm_km3s2)
    rng = np.random.default_rng(seed)
    hits = done = 0
    while done < samples:
        if cancel is not None and cancel():
            raise MonteCarloCancelled("Monte Carlo cancelled")
        m = min(chunk, samples - done)
        x1 = s1 + rng.standard_normal((m, 6)) @ l1.T
        x2 = s2 + rng.standard_normal((m, 6)) @ l2.T
        rel = prop(x2, times) - prop(x1, times)            # (m, K, 6)
        d2 = np.einsum("mki,mki->mk", rel[:, :, :3], rel[:, :, :3])
        k = np.argmin(d2, axis=1)
        # second pass: a fine grid over the two coarse steps around each sample's minimum
        fine = (times[k][:, None] + np.linspace(-step, step, _FINE)[None, :]).clip(times[0], times[-1])
        rel = prop(x2, fine) - prop(x1, fine)
        d2 = np.einsum("mki,mki->mk", rel[:, :, :3], rel[:, :, :3])
        j = np.argmin(d2, axis=1)
        rk = rel[np.arange(m), j]
        r, v = rk[:, :3], rk[:, 3:]
        vv = np.einsum("mi,mi->m", v, v)
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = np.where(vv > 0, -np.einsum("mi,mi->m", r, v) / vv, 0.0)
        h = 2.0 * step / (_FINE - 1)
        at_edge = (fine[np.arange(m), j] <= times[0]) | (fine[np.arange(m), j] >= times[-1])
        tau = np.where(at_edge, 0.0, np.clip(tau, -h, h))     # the window's ends stay ends
        dmin = np.linalg.norm(r + v * tau[:, None], axis=1)
        hits += int(np.count_nonzero(dmin < hbr_km))
        done += m
        if progress is not None:
            progress(done / samples)
    ci = stats.binomtest(hits, done).proportion_ci(confidence_level=confidence, method="exact")
    return MonteCarloResult(hits / done, hits, done, float(ci.low), float(ci.high), confidence, half, center)
