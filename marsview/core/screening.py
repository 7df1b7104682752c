"""Conjunction screening: every close approach among Mars orbiters and moons over a window.

Pipeline (kernels and the argument why no event is dropped are in ``screening_search``):
  1. sample every object once on a common TDB grid (step from the fastest orbit; segment boundaries and
     coverage edges are grid epochs, and the left limit is sampled at each object's own boundaries);
  2. per chunk of intervals: radial-shell (periapsis/apoapsis) filter per pair, swept-sphere filter (spatial
     hash for many objects: each pair taken once, in the first cell it shares), relative-chord lower bound
     per pair and interval;
  3. all minima of the cubic Hermite of the relative position in surviving intervals;
  4. the time of closest approach of each Hermite minimum near the threshold is refined to the root of the
     range rate r.v on the ephemerides themselves (bracketed Illinois/bisection, vectorized over all
     candidates, tolerance ``tca_tol_s``; see ``screening_refine``), then checked against the threshold.

Keep-out rule (documented choice): a local minimum of centre-to-centre distance is an event when
``miss_km < max(settings.threshold_km, target1.threshold_km, target2.threshold_km) + hbr1_km + hbr2_km``
(hard-body radii added when ``settings.add_hard_body_radii``; Phobos as a 30 km sphere then widens its pairs).
A per-spacecraft threshold can only widen the screen, never narrow the global one.

Only interior minima count: a distance still falling at the window's end is not an event.
Times are TDB seconds past J2000; positions km, velocities km/s, Mars-centred EME2000 (all targets must
share one inertial frame).
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field, replace

import numpy as np

from .constants import (
    DEFAULT_ALONG_TRACK_GROWTH_KM_PER_DAY,
    DEFAULT_ALONG_TRACK_SIGMA0_KM,
    DEFAULT_CROSS_TRACK_SIGMA_KM,
    DEFAULT_RADIAL_SIGMA_KM,
)
from .ephemeris import Ephemeris
from .frames import rtn_matrix
from .jit import jit_enabled
from .jobs import Cancelled
from .screening_search import (
    build_grid,
    chord_lower_bound_km,
    hash_candidates,
    hermite_minima,
    orbital_timescale_s,
    radial_shells,
    shell_overlap,
    swept_spheres,
)
from .screening_refine import crossing_dt_s, eval_pairs, refine_tca, segment_limits
from .uncertainty import AlongTrackModel, ephemeris_covariance_km2, miss_in_sigmas, sigma_along_km

LEFT_LIMIT_S = 1e-5
"""An object's state 'just before' its own segment boundary is sampled this long before it."""


class ScreeningCancelled(Cancelled):
    """The cancel callback asked the screening to stop (raised between chunks; a ``core.jobs.Cancelled``)."""


@dataclass(frozen=True)
class ScreeningTarget:
    """One object to screen: its ephemeris (Mars-centred, inertial), keep-out and uncertainty model."""

    name: str
    ephemeris: Ephemeris
    hbr_km: float = 0.0
    threshold_km: float | None = None
    sigma0_km: float = DEFAULT_ALONG_TRACK_SIGMA0_KM
    sigma_growth_km_per_day: float = DEFAULT_ALONG_TRACK_GROWTH_KM_PER_DAY
    epoch0_tdb_s: float | None = None
    source: str = ""
    radial_sigma_km: float = DEFAULT_RADIAL_SIGMA_KM
    cross_track_sigma_km: float = DEFAULT_CROSS_TRACK_SIGMA_KM

    def __post_init__(self):
        if not (np.isfinite(self.hbr_km) and self.hbr_km >= 0.0):
            raise ValueError(f"{self.name}: hbr_km must be a finite number >= 0, got {self.hbr_km!r}")
        if self.threshold_km is not None and not (np.isfinite(self.threshold_km) and self.threshold_km > 0.0):
            raise ValueError(f"{self.name}: threshold_km must be positive or None, got {self.threshold_km!r}")

    def uncertainty(self) -> AlongTrackModel:
        """The along-track model; prediction starts at epoch0_tdb_s, else at the ephemeris' first epoch."""
        epoch0 = self.ephemeris.coverage[0] if self.epoch0_tdb_s is None else self.epoch0_tdb_s
        return AlongTrackModel(self.sigma0_km, self.sigma_growth_km_per_day, self.radial_sigma_km,
                               self.cross_track_sigma_km, epoch0)


@dataclass(frozen=True)
class ScreeningSettings:
    threshold_km: float = 10.0
    step_s: float | None = None
    """Grid step; None = min over objects of (orbital timescale / samples_per_timescale), clipped."""
    samples_per_timescale: float = 8.0
    min_step_s: float = 1.0
    max_step_s: float = 120.0
    max_accel_kms2: float = 0.005
    """Bound on any object's acceleration: Mars gravity at 3300 km (below the surface) is 3.9e-3 km/s^2,
    plus 1.1 m/s^2 for thrust (Mars orbiters' engines give < 0.5 m/s^2)."""
    add_hard_body_radii: bool = True
    tca_tol_s: float = 1e-6
    chunk_values: int = 3_000_000
    """Object-interval samples per chunk (memory and progress/cancel granularity)."""
    max_chunk_intervals: int = 4096
    hash_min_objects: int = 40
    """Use the spatial hash when screening all pairs of at least this many objects."""
    compute_pc: bool = True


@dataclass(frozen=True)
class CloseApproach:
    object1: str
    object2: str
    tca_tdb_s: float
    miss_km: float
    relative_speed_kms: float
    radial_km: float
    in_track_km: float
    cross_track_km: float
    crossing_dt_s: float
    """Object 2 passes the point where the two paths cross this many seconds after object 1 (NaN if parallel)."""
    miss_sigma: float
    source1: str
    source2: str
    pc: float | None = None
    pc_method: str | None = None
    state1: np.ndarray = field(default=None, repr=False, compare=False)
    state2: np.ndarray = field(default=None, repr=False, compare=False)
    threshold_km: float = 0.0
    hbr1_km: float = 0.0
    hbr2_km: float = 0.0
    sigma_km: float = float("nan")
    """Combined 1-sigma position error along the miss vector at TCA [km]: from each ephemeris' own covariance
    (OEM covariance blocks) brought to TCA, else from the along-track model; ``pc_method`` names which:
    …/OEM-COV (TCA at a covariance epoch), …/OEM-COV-INTERPOLATED (between two, in RTN),
    …/OEM-COV-PROPAGATED (outside them, with the state transition matrix), …/TIMING-MODEL, or two joined
    by '+' when the objects differ (see ``uncertainty.ephemeris_covariance_km2``)."""


@dataclass(frozen=True)
class ScreeningResult:
    events: tuple
    pairs_screened: int
    start_tdb_s: float
    stop_tdb_s: float
    step_s: float
    threshold_km: float
    objects: tuple
    candidate_intervals: int = 0
    refined: int = 0
    elapsed_s: float = 0.0
    settings: ScreeningSettings = field(default_factory=ScreeningSettings, repr=False)
    cache: dict = field(default_factory=dict, repr=False, compare=False)


def _pair_thresholds(targets, settings):
    thr = np.array([t.threshold_km if t.threshold_km is not None else 0.0 for t in targets], dtype=float)
    hbr = np.array([t.hbr_km for t in targets], dtype=float) if settings.add_hard_body_radii else np.zeros(len(targets))
    base = np.maximum(settings.threshold_km, np.maximum(thr[:, None], thr[None, :]))
    return base + hbr[:, None] + hbr[None, :]


def _auto_step(targets, start, stop, settings):
    if settings.step_s is not None:
        return float(settings.step_s)
    samples = []
    spans = {(max(t.ephemeris.coverage[0], start), min(t.ephemeris.coverage[1], stop)) for t in targets}
    kinds = {type(t.ephemeris) for t in targets}
    sample_all = getattr(next(iter(kinds)), "sample_all", None) if len(kinds) == 1 else None
    if len(spans) == 1 and callable(sample_all) and min(spans)[1] >= min(spans)[0]:
        # all on one span (a delivery): one call, the tables on one grid sharing their basis weights
        samples.append(sample_all([t.ephemeris for t in targets], np.linspace(*min(spans), 5)).reshape(-1, 6))
    for t in targets if not samples else ():
        a, b = t.ephemeris.coverage
        lo, hi = max(a, start), min(b, stop)
        if hi >= lo:  # one call per object: r_p^2/h barely changes over days
            samples.append(_bulk_states(t.ephemeris, np.linspace(lo, hi, 5)))
    tau = float(np.min(orbital_timescale_s(np.concatenate(samples)))) if samples else np.inf
    return float(np.clip(tau / settings.samples_per_timescale, settings.min_step_s, settings.max_step_s))


def _covered(eph, epochs):
    """Epochs an ephemeris can evaluate: its coverage, less the gaps between tabulated segments."""
    mask = eph.covers(epochs)
    segments = getattr(eph, "segments", None)
    if segments and all(hasattr(s, "useable_start_tdb_s") for s in segments):
        spans = np.array([(s.useable_start_tdb_s, s.useable_stop_tdb_s) for s in segments])
        mask &= np.any((epochs[:, None] >= spans[None, :, 0]) & (epochs[:, None] <= spans[None, :, 1]), axis=1)
    return mask


def _pair_kernel():
    """core.kernels.pair_interval_candidates where the compiled kernels are on (few objects: every pair and
    interval in one pass; the shell filter it makes redundant is skipped), else None (the numpy filters)."""
    if not jit_enabled():
        return None
    from .kernels import pair_interval_candidates

    return pair_interval_candidates


def _bulk_states(eph, epochs):
    """States at many epochs: the compiled ``sample`` of ephemerides that have one (tabulated), else ``state``."""
    sample = getattr(eph, "sample", None)
    return sample(epochs) if callable(sample) else eph.state(epochs)


class _Sampler:
    """States of every object on the grid (NaN outside its coverage), with left limits at its boundaries."""

    def __init__(self, targets, grid, cache, keep_cache):
        self.targets, self.grid = targets, grid
        self.full = np.empty((len(targets), grid.size, 6)) if keep_cache else None  # all samples, one array
        self.left = {}
        together = self._together(cache) if keep_cache else []
        if together:
            ephs = [targets[n].ephemeris for n in together]
            if len(together) == len(targets):
                type(ephs[0]).sample_all(ephs, grid, out=self.full)
            else:
                self.full[together] = type(ephs[0]).sample_all(ephs, grid)
        for n, t in enumerate(targets):
            eph = t.ephemeris
            a, b = eph.coverage
            bounds = np.asarray(eph.segment_boundaries(), dtype=float).reshape(-1)
            bounds = bounds[np.isin(bounds, grid)] if bounds.size else bounds
            self.left[n] = {float(x): eph.state(x - LEFT_LIMIT_S)[0] for x in bounds if x - LEFT_LIMIT_S >= a}
            if keep_cache:
                if n not in together:
                    self.full[n] = self._sample(n, grid, cache.get(t.name))
                cache[t.name] = (eph, grid, self.full[n])

    def _together(self, cache):
        """Objects sampled all at once (``sample_all``: tables on one grid of epochs share their basis weights):
        one-table tabulated ephemerides covering the whole grid, with nothing to reuse from CACHE."""
        a, b = self.grid[0], self.grid[-1]
        out = []
        for n, t in enumerate(self.targets):
            eph = t.ephemeris
            cached = cache.get(t.name)
            if callable(getattr(type(eph), "sample_all", None)) and len(eph.segments) == 1 \
                    and eph.coverage[0] <= a and b <= eph.coverage[1] and (cached is None or cached[0] is not eph):
                out.append(n)
        kinds = {type(self.targets[n].ephemeris) for n in out}
        return out if len(kinds) == 1 else []

    def _sample(self, n, epochs, cached=None):
        eph = self.targets[n].ephemeris
        out = np.full((epochs.size, 6), np.nan)
        todo = np.ones(epochs.size, dtype=bool)
        if cached is not None and cached[0] is eph and cached[1].shape == epochs.shape \
                and np.array_equal(cached[1], epochs):
            return cached[2]  # same object, same grid (re-screening another object): reuse as is
        if cached is not None and cached[0] is eph:
            idx = np.clip(np.searchsorted(cached[1], epochs), 0, cached[1].size - 1)
            hit = cached[1][idx] == epochs
            out[hit] = cached[2][idx[hit]]
            todo &= ~hit
        inside = todo & _covered(eph, epochs)
        if np.any(inside):
            out[inside] = _bulk_states(eph, epochs[inside])
        return out

    def chunk(self, k0, k1):
        """start (N,m,6) and end (N,m,6) states of intervals k0..k1-1."""
        s, end = self.chunk_samples(k0, k1)
        return s[:, :-1], end

    def chunk_samples(self, k0, k1):
        """(N,m+1,6) states at the grid epochs k0..k1 (start of interval k: [:, k]) and (N,m,6) the end states
        of intervals k0..k1-1 (left limits at an object's own boundaries)."""
        ep = self.grid[k0:k1 + 1]
        if self.full is not None:
            s = self.full[:, k0:k1 + 1]  # a view
        else:
            s = np.stack([self._sample(n, ep) for n in range(len(self.targets))])
        end, own = s[:, 1:], False
        for n, lefts in self.left.items():
            for x, state in lefts.items():
                k = np.searchsorted(ep, x)
                if 1 <= k < ep.size and ep[k] == x:
                    if not own:  # a view of the samples until a left limit replaces one end state
                        end, own = end.copy(), True
                    end[n, k - 1] = state
        return s, end


def _pc_hook(settings):
    """The collision-probability function for events (core.probability's ``screening_pc``: FOSTER-2D on the
    encounter plane, the model CDMs use), or None when the settings turn Pc off."""
    if not settings.compute_pc:
        return None
    from .probability import screening_pc  # scipy's integrators: imported only when Pc is wanted

    return screening_pc


def event_covariances_km2(t1, t2, tca, s1, s2):
    """((3,3), (3,3)) EME2000 position covariances [km^2] of the two targets at TCA, and their sources
    ("OEM" or "TIMING-MODEL"): what the screening uses for miss_sigma and Pc (and the 3D view draws)."""
    covs, sources = [], []
    for target, state in ((t1, s1), (t2, s2)):
        given = ephemeris_covariance_km2(target.ephemeris, tca, state)  # partner's own covariance first
        if given is not None and np.all(np.isfinite(given[0][:3, :3])):
            covs.append(given[0][:3, :3])
            sources.append(given[1])
        else:
            covs.append(target.uncertainty().inertial_covariance_km2(np.asarray(state)[None], tca)[0])
            sources.append("TIMING-MODEL")
    return covs, sources


def _make_events(targets, i, j, tca, s1, s2, crossing_dt, thr_km, pc_func):
    """CloseApproach objects of the pairs (i, j) at TCA (M,) with states s1, s2 (M,6): what does not depend
    on the pair's own covariance (RTN miss components, the timing-model covariances of each target, miss in
    sigmas) in one vectorized step for all events, the partners' own covariances and Pc event by event.
    The same numbers ``event_covariances_km2`` gives for one event."""
    m = len(tca)
    if m == 0:
        return []
    rel = s2 - s1
    rtn = np.einsum("mij,mj->mi", rtn_matrix(s1), rel[:, :3])
    covs = np.empty((2, m, 3, 3))
    sources = np.empty((2, m), dtype=object)
    timing = {}  # target index -> [(side, event)], the events whose covariance is the timing model
    for side, (idx, states) in enumerate(((i, s1), (j, s2))):
        for e in range(m):
            given = ephemeris_covariance_km2(targets[idx[e]].ephemeris, tca[e], states[e])
            if given is not None and np.all(np.isfinite(given[0][:3, :3])):
                covs[side, e], sources[side, e] = given[0][:3, :3], given[1]
            else:
                timing.setdefault(int(idx[e]), []).append((side, e))
    for k, rows in timing.items():
        side, e = np.array(rows).T
        states = np.where((side == 0)[:, None], s1[e], s2[e])
        covs[side, e] = targets[k].uncertainty().inertial_covariance_km2(states, tca[e])
        sources[side, e] = "TIMING-MODEL"
    combined = covs[0] + covs[1]
    miss_sigma = miss_in_sigmas(rel[:, :3], combined)
    sigma = sigma_along_km(rel[:, :3], combined)
    miss, speed = np.linalg.norm(rel[:, :3], axis=1), np.linalg.norm(rel[:, 3:], axis=1)
    events = []
    for e in range(m):
        t1, t2 = targets[i[e]], targets[j[e]]
        pc = method = None
        if pc_func is not None:
            a, b = sources[0, e], sources[1, e]
            pc, method = pc_func(s1[e], s2[e], covs[0, e], covs[1, e], t1.hbr_km + t2.hbr_km,
                                 a if a == b else f"{a}+{b}")
        events.append(CloseApproach(
            object1=t1.name, object2=t2.name, tca_tdb_s=float(tca[e]), miss_km=float(miss[e]),
            relative_speed_kms=float(speed[e]), radial_km=float(rtn[e, 0]), in_track_km=float(rtn[e, 1]),
            cross_track_km=float(rtn[e, 2]), crossing_dt_s=float(crossing_dt[e]), miss_sigma=float(miss_sigma[e]),
            source1=t1.ephemeris.source_at(tca[e]), source2=t2.ephemeris.source_at(tca[e]), pc=pc,
            pc_method=method, state1=s1[e], state2=s2[e], threshold_km=float(thr_km[e]), hbr1_km=t1.hbr_km,
            hbr2_km=t2.hbr_km, sigma_km=float(sigma[e])))
    return events


def _all_pairs(n, only):
    if only is None:
        i, j = np.triu_indices(n, 1)
    else:
        others = np.array([k for k in range(n) if k != only], dtype=np.int64)
        i, j = np.minimum(others, only), np.maximum(others, only)
    return np.stack([i, j], axis=1).astype(np.int64)


def screen(targets, start_tdb_s, stop_tdb_s, settings=None, progress=None, cancel=None, only=None,
           _cache=None) -> ScreeningResult:
    """All close approaches among TARGETS in [start, stop] TDB s; ONLY = a name to screen just its pairs.

    progress(fraction) is called after each chunk; cancel() -> True raises ScreeningCancelled between chunks.
    """
    settings = settings or ScreeningSettings()
    wall0 = _time.perf_counter()
    targets = list(targets)
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate target names: {sorted({n for n in names if names.count(n) > 1})}")
    frames = {t.ephemeris.frame for t in targets}
    if len(frames) > 1:
        raise ValueError(f"targets are in different frames {sorted(frames)}; convert them to one inertial frame")
    if not settings.threshold_km > 0.0:
        raise ValueError(f"the screening threshold must be positive, got {settings.threshold_km!r} km")
    if not stop_tdb_s > start_tdb_s:
        from .time import utc_span

        raise ValueError(f"empty screening window {utc_span(start_tdb_s, stop_tdb_s)}")
    only_idx = None
    if only is not None:
        if only not in names:
            raise ValueError(f"{only!r} is not one of the screened objects {names}")
        only_idx = names.index(only)
    n = len(targets)
    pairs = _all_pairs(n, only_idx)
    step = _auto_step(targets, start_tdb_s, stop_tdb_s, settings) if n >= 2 else 60.0
    breaks = [start_tdb_s, stop_tdb_s]
    for t in targets:
        breaks.extend(t.ephemeris.coverage)
        breaks.extend(np.asarray(t.ephemeris.segment_boundaries(), dtype=float).reshape(-1))
    grid = build_grid(start_tdb_s, stop_tdb_s, step, breaks)
    cache = {} if _cache is None else dict(_cache)
    keep_cache = n * grid.size * 6 <= 20_000_000
    sampler = _Sampler(targets, grid, cache, keep_cache) if n >= 2 else None
    pair_thr = _pair_thresholds(targets, settings)
    pad_max = float(pair_thr[pairs[:, 0], pairs[:, 1]].max()) if pairs.size else 0.0
    use_hash = only_idx is None and n >= settings.hash_min_objects
    m_chunk = max(8, int(settings.chunk_values // max(n, 1) // (4 if not use_hash else 8)))
    if not use_hash:
        m_chunk = max(8, min(m_chunk, int(settings.chunk_values // max(len(pairs), 1))))
    m_chunk = min(m_chunk, settings.max_chunk_intervals)  # progress and cancel at least this often
    n_int = grid.size - 1
    accel = settings.max_accel_kms2
    pair_kernel = _pair_kernel() if not use_hash else None
    found = []  # (i, j, t_guess, lo, hi)
    n_candidates = 0
    for k0 in range(0, n_int if pairs.size else 0, m_chunk):
        if cancel is not None and cancel():
            raise ScreeningCancelled("screening cancelled")
        k1 = min(n_int, k0 + m_chunk)
        samples, end = sampler.chunk_samples(k0, k1)
        start = samples[:, :-1]
        h = np.diff(grid[k0:k1 + 1])
        if pair_kernel is not None:  # both filters over every pair and interval in one compiled pass
            room = np.empty((len(pairs) * (k1 - k0), 3), np.int64)
            cand = room[:pair_kernel(samples, end, h, pairs, pair_thr, accel, room)]
            kk, ii, jj = cand[:, 0], cand[:, 1], cand[:, 2]
            r0 = start[jj, kk] - start[ii, kk]
            r1 = end[jj, kk] - end[ii, kk]
            hk = h[kk]
        else:
            centre, radius = swept_spheres(start, end, h[None, :], accel)
            if use_hash:
                cand = hash_candidates(centre, radius, pad_max, *radial_shells(centre, radius))
                kk, ii, jj = cand[:, 0], cand[:, 1], cand[:, 2]
            else:
                live = shell_overlap(centre, radius, pairs, pair_thr)
                kk = np.tile(np.arange(k1 - k0), len(live))
                ii, jj = np.repeat(live[:, 0], k1 - k0), np.repeat(live[:, 1], k1 - k0)
                with np.errstate(invalid="ignore"):
                    gap = np.linalg.norm(centre[jj, kk] - centre[ii, kk], axis=1) - radius[ii, kk] - radius[jj, kk]
                sel = gap < pair_thr[ii, jj]
                kk, ii, jj = kk[sel], ii[sel], jj[sel]
            r0 = start[jj, kk] - start[ii, kk]
            r1 = end[jj, kk] - end[ii, kk]
            hk = h[kk]
            lb = chord_lower_bound_km(r0[:, :3], r1[:, :3], hk, accel)
            sel = lb < pair_thr[ii, jj]
            kk, ii, jj, r0, r1, hk = kk[sel], ii[sel], jj[sel], r0[sel], r1[sel], hk[sel]
        n_candidates += kk.size
        if kk.size:
            row, s, dist = hermite_minima(r0[:, :3], r0[:, 3:], r1[:, :3], r1[:, 3:], hk)
            thr = pair_thr[ii[row], jj[row]]
            near = dist < thr * (1.0 + 1e-3) + 0.05
            row, s = row[near], s[near]
            kg = kk[row] + k0
            t_guess = grid[kg] + s * hk[row]
            # refinement may look half an interval into the neighbours (a minimum on a grid epoch)
            lo = np.maximum(grid[np.maximum(kg - 1, 0)], start_tdb_s)
            hi = np.minimum(grid[np.minimum(kg + 2, grid.size - 1)], stop_tdb_s)
            found.extend(zip(ii[row], jj[row], t_guess, lo, hi))
        if progress is not None:
            progress(0.9 * k1 / n_int)
    events = _refine_all(targets, found, pair_thr, settings, cancel, start_tdb_s, stop_tdb_s)
    if progress is not None:
        progress(1.0)
    return ScreeningResult(
        events=tuple(events), pairs_screened=len(pairs), start_tdb_s=float(start_tdb_s),
        stop_tdb_s=float(stop_tdb_s), step_s=step, threshold_km=settings.threshold_km, objects=tuple(names),
        candidate_intervals=n_candidates, refined=len(found), elapsed_s=_time.perf_counter() - wall0,
        settings=settings, cache=cache if keep_cache else {},
    )


def _refine_all(targets, found, pair_thr, settings, cancel, start, stop):
    """Candidates (i, j, t_guess, lo, hi) -> events: TCA on the ephemerides, dedupe, threshold, attributes."""
    if cancel is not None and cancel():
        raise ScreeningCancelled("screening cancelled")
    if not found:
        return []
    ephs = [t.ephemeris for t in targets]
    i = np.array([f[0] for f in found], dtype=np.int64)
    j = np.array([f[1] for f in found], dtype=np.int64)
    guess = np.array([f[2] for f in found], dtype=float)
    lo = np.array([f[3] for f in found], dtype=float)
    hi = np.array([f[4] for f in found], dtype=float)
    for m in range(guess.size):  # stay on the trajectory pieces that hold the estimate
        lo[m], hi[m] = segment_limits(ephs[i[m]], lo[m], hi[m], guess[m], LEFT_LIMIT_S)
        lo[m], hi[m] = segment_limits(ephs[j[m]], lo[m], hi[m], guess[m], LEFT_LIMIT_S)
    tca = refine_tca(ephs, i, j, guess, lo, hi, settings.tca_tol_s)
    ok = np.isfinite(tca) & (tca > start) & (tca < stop)
    i, j, tca = i[ok], j[ok], tca[ok]
    order = np.lexsort((tca, j, i))
    i, j, tca = i[order], j[order], tca[order]
    dup = np.zeros(tca.size, dtype=bool)
    dup[1:] = (i[1:] == i[:-1]) & (j[1:] == j[:-1]) & (np.diff(tca) < 1e-3)
    i, j, tca = i[~dup], j[~dup], tca[~dup]
    s1, s2 = eval_pairs(ephs, i, j, tca, tca)
    close = np.linalg.norm(s2[:, :3] - s1[:, :3], axis=1) < pair_thr[i, j]
    i, j, tca, s1, s2 = i[close], j[close], tca[close], s1[close], s2[close]
    dt = crossing_dt_s(ephs, i, j, tca, s1, s2)
    pc_func = _pc_hook(settings)
    events = _make_events(targets, i, j, tca, s1, s2, dt, pair_thr[i, j], pc_func)
    events.sort(key=lambda e: (e.tca_tdb_s, e.object1, e.object2))
    return events


def rescreen(previous: ScreeningResult, targets, changed_name: str, settings=None, progress=None,
             cancel=None) -> ScreeningResult:
    """Re-screen only the pairs of CHANGED_NAME (e.g. after a maneuver edit) and merge with PREVIOUS.

    Events of other pairs are kept from PREVIOUS; the window and settings are PREVIOUS's unless given.
    Grid samples of unchanged ephemerides (same object identity) are reused from PREVIOUS's cache.
    """
    settings = settings or previous.settings
    targets = list(targets)
    names = {t.name for t in targets}
    if changed_name not in names:
        raise ValueError(f"{changed_name!r} is not one of the screened objects {sorted(names)}")
    settings = replace(settings, step_s=previous.step_s) if settings.step_s is None else settings
    part = screen(targets, previous.start_tdb_s, previous.stop_tdb_s, settings, progress, cancel,
                  only=changed_name, _cache=previous.cache)
    kept = [e for e in previous.events
            if changed_name not in (e.object1, e.object2) and e.object1 in names and e.object2 in names]
    events = sorted(kept + list(part.events), key=lambda e: (e.tca_tdb_s, e.object1, e.object2))
    n = len(targets)
    return replace(part, events=tuple(events), pairs_screened=n * (n - 1) // 2, objects=tuple(t.name for t in targets),
                   settings=previous.settings)
