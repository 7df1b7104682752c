"""Screening engine behaviour: closed-form geometries, hidden minima, keep-out rules, cancel/progress,
re-screening one object, the spatial hash against all pairs, and the along-track uncertainty model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from marsview.core.constants import GM_MARS_KM3S2
from marsview.core.ephemeris import Ephemeris
from marsview.core.screening import (
    ScreeningCancelled,
    ScreeningSettings,
    ScreeningTarget,
    rescreen,
    screen,
)
from marsview.core.twobody import TwoBodyEphemeris
from marsview.core.uncertainty import AlongTrackModel, miss_in_sigmas, rtn_to_inertial_covariance

T0 = 8.0e8  # TDB s past J2000 (2025)


class Polynomial(Ephemeris):
    """x(t) = p0 + v t + rel(t) with rel a cubic along x: an analytic path whose derivatives are exact."""

    def __init__(self, name, p0, v, cubic=(0.0, 0.0, 0.0, 0.0), tc=T0, scale_s=30.0, span=(T0 - 90, T0 + 90)):
        self.name, self.p0, self.v = name, np.asarray(p0, float), np.asarray(v, float)
        self.c, self.tc, self.scale, self.span = np.asarray(cubic, float), tc, scale_s, span

    @property
    def coverage(self):
        return self.span

    def _state(self, t):
        tau = (t - self.tc) / self.scale
        f = self.c[0] + self.c[1] * tau + self.c[2] * tau**2 + self.c[3] * tau**3
        df = (self.c[1] + 2 * self.c[2] * tau + 3 * self.c[3] * tau**2) / self.scale
        pos = self.p0 + np.outer(t - self.tc, self.v)
        vel = np.broadcast_to(self.v, pos.shape).copy()
        pos[:, 0] += f
        vel[:, 0] += df
        return np.hstack([pos, vel])


def circular(radius_km, inc_deg, node_epoch, phase_deg=0.0):
    """Circular orbit with its ascending node on +x, passing the node at NODE_EPOCH (+phase)."""
    v = math.sqrt(GM_MARS_KM3S2 / radius_km)
    i = math.radians(inc_deg)
    u = math.radians(phase_deg)
    r = radius_km * np.array([math.cos(u), math.sin(u) * math.cos(i), math.sin(u) * math.sin(i)])
    vel = v * np.array([-math.sin(u), math.cos(u) * math.cos(i), math.cos(u) * math.sin(i)])
    return np.concatenate([r, vel]), node_epoch


def test_minimum_maximum_pair_inside_one_interval_is_found():
    """Range rate is negative at both grid samples, yet a minimum (and a maximum) lies between them."""
    base = Polynomial("A", [3800.0, 0.0, 0.0], [0.0, 3.0, 0.0])
    # relative x = 10 + 0.5 tau - 0.5 tau^3 km (tau = (t - tc)/30 s), relative y = 5 km
    other = Polynomial("B", [3800.0, 5.0, 0.0], [0.0, 3.0, 0.0], cubic=(10.0, 0.5, 0.0, -0.5))
    grid = np.array([T0 - 30.0, T0 + 30.0])
    rel = other.state(grid) - base.state(grid)
    assert np.all(np.einsum("ij,ij->i", rel[:, :3], rel[:, 3:]) < 0)  # no sign change at the samples
    settings = ScreeningSettings(threshold_km=20.0, step_s=60.0, add_hard_body_radii=False)
    # (stop at tau = 2: later, relative x passes zero and gives a second, genuine minimum)
    result = screen([ScreeningTarget("A", base), ScreeningTarget("B", other)], T0 - 90, T0 + 60, settings)
    tau = -1 / math.sqrt(3)
    f = 10 + 0.5 * tau - 0.5 * tau**3
    assert len(result.events) == 1
    ev = result.events[0]
    assert ev.tca_tdb_s == pytest.approx(T0 + 30 * tau, abs=1e-6)
    assert ev.miss_km == pytest.approx(math.hypot(f, 5.0), abs=1e-9)


def test_crossing_orbits_tca_miss_rtn_and_crossing_time_difference():
    """Two circular orbits of one radius cross at the node: object 2 reaches it 20 s after object 1."""
    r = 3790.0
    s1, _ = circular(r, 0.0, T0)
    s2, _ = circular(r, 60.0, T0)
    e1 = TwoBodyEphemeris("EQ", s1, T0, T0 - 3600, T0 + 3600)
    e2 = TwoBodyEphemeris("POLAR", s2, T0 + 20.0, T0 - 3600, T0 + 3600)  # at the node 20 s later
    settings = ScreeningSettings(threshold_km=100.0, add_hard_body_radii=False)
    res = screen([ScreeningTarget("EQ", e1), ScreeningTarget("POLAR", e2)], T0 - 1800, T0 + 1800, settings)
    near = [e for e in res.events if abs(e.tca_tdb_s - T0) < 60]
    assert len(near) == 1
    ev = near[0]
    v = math.sqrt(GM_MARS_KM3S2 / r)
    # symmetric geometry: TCA half-way, miss from the two positions 10 s either side of the node
    assert ev.tca_tdb_s == pytest.approx(T0 + 10.0, abs=1e-4)
    p1, p2 = e1.state(ev.tca_tdb_s)[0], e2.state(ev.tca_tdb_s)[0]
    assert ev.miss_km == pytest.approx(np.linalg.norm(p2[:3] - p1[:3]), abs=1e-9)
    assert ev.relative_speed_kms == pytest.approx(2 * v * math.sin(math.radians(30)), rel=1e-3)
    assert ev.crossing_dt_s == pytest.approx(20.0, abs=1e-3)
    # RTN of object 1: behind it in-track (object 2 lags), out of plane positive-free; components add up
    assert math.hypot(ev.radial_km, ev.in_track_km, ev.cross_track_km) == pytest.approx(ev.miss_km, rel=1e-12)
    assert ev.in_track_km < 0
    assert ev.source1 == e1.source and ev.source2 == e2.source


def _fleet(n, seed, span):
    rng = np.random.default_rng(seed)
    targets = []
    for k in range(n):
        rp = 3396.19 + rng.uniform(250, 450)
        ra = rp + rng.uniform(0, 300)
        a, e = (rp + ra) / 2, (ra - rp) / (ra + rp)
        inc, raan, argp, nu = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)
        p = a * (1 - e * e)
        rr = p / (1 + e * np.cos(nu))
        pos_pf = rr * np.array([np.cos(nu), np.sin(nu), 0])
        vel_pf = np.sqrt(GM_MARS_KM3S2 / p) * np.array([-np.sin(nu), e + np.cos(nu), 0])
        cO, sO, ci, si, cw, sw = np.cos(raan), np.sin(raan), np.cos(inc), np.sin(inc), np.cos(argp), np.sin(argp)
        rot = np.array([[cO * cw - sO * sw * ci, -cO * sw - sO * cw * ci, sO * si],
                        [sO * cw + cO * sw * ci, -sO * sw + cO * cw * ci, -cO * si],
                        [sw * si, cw * si, ci]])
        state = np.concatenate([rot @ pos_pf, rot @ vel_pf])
        targets.append(ScreeningTarget(f"SAT{k:03d}", TwoBodyEphemeris(f"SAT{k:03d}", state, T0, *span)))
    return targets


def _keys(events):
    return [(e.object1, e.object2, round(e.tca_tdb_s, 4), round(e.miss_km, 7)) for e in events]


def test_spatial_hash_finds_exactly_the_all_pairs_events():
    span = (T0, T0 + 6 * 3600.0)
    targets = _fleet(48, 7, span)
    base = ScreeningSettings(threshold_km=150.0, add_hard_body_radii=False, compute_pc=False)
    hashed = screen(targets, *span, ScreeningSettings(**{**base.__dict__, "hash_min_objects": 2}))
    allpairs = screen(targets, *span, ScreeningSettings(**{**base.__dict__, "hash_min_objects": 10_000}))
    assert len(allpairs.events) > 5
    assert _keys(hashed.events) == _keys(allpairs.events)
    assert hashed.candidate_intervals < allpairs.candidate_intervals * 1.5


def test_rescreen_one_changed_object_equals_a_full_screen():
    span = (T0, T0 + 12 * 3600.0)
    targets = _fleet(12, 3, span)
    settings = ScreeningSettings(threshold_km=300.0, add_hard_body_radii=False, compute_pc=False)
    first = screen(targets, *span, settings)
    # "maneuver" SAT004: a new orbit from a nudged state
    old = targets[4].ephemeris
    moved = TwoBodyEphemeris("SAT004", old.state0 + np.array([0, 0, 0, 0.002, 0.0, 0.0]), T0, *span)
    changed = list(targets)
    changed[4] = ScreeningTarget("SAT004", moved)
    again = rescreen(first, changed, "SAT004")
    fresh = screen(changed, *span, replace_step(settings, first.step_s))
    assert _keys(again.events) == _keys(fresh.events)
    assert _keys(again.events) != _keys(first.events)
    assert again.pairs_screened == 66


def replace_step(settings, step_s):
    from dataclasses import replace

    return replace(settings, step_s=step_s)


def test_progress_reaches_one_and_cancel_stops_between_chunks():
    span = (T0, T0 + 86400.0)
    targets = _fleet(6, 1, span)
    seen = []
    settings = ScreeningSettings(threshold_km=50.0, chunk_values=2000)
    screen(targets, *span, settings, progress=seen.append)
    assert len(seen) > 3 and seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:]))
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(ScreeningCancelled):
        screen(targets, *span, settings, cancel=cancel)
    assert len(calls) == 3


def test_keep_out_thresholds_and_hard_body_radii_widen_the_screen():
    # straight relative motion: miss 12 km at T0
    a = Polynomial("A", [3800.0, 0.0, 0.0], [0.0, 3.0, 0.0], span=(T0 - 600, T0 + 600))
    b = Polynomial("B", [3800.0, 0.0, 12.0], [0.0, 3.0, 0.0], cubic=(0.0, 0.03, 0.0, 0.0), span=(T0 - 600, T0 + 600))

    def run(**kw):
        ta = ScreeningTarget("A", a, hbr_km=kw.get("hbr_a", 0.0), threshold_km=kw.get("thr_a"))
        tb = ScreeningTarget("B", b, hbr_km=kw.get("hbr_b", 0.0))
        return screen([ta, tb], T0 - 600, T0 + 600, ScreeningSettings(threshold_km=10.0)).events

    assert run() == ()
    ev = run(thr_a=15.0)
    assert len(ev) == 1 and ev[0].miss_km == pytest.approx(12.0, abs=1e-9) and ev[0].threshold_km == 15.0
    ev = run(hbr_a=1.5, hbr_b=0.6)  # 10 + 2.1 km keep-out
    assert len(ev) == 1 and ev[0].threshold_km == pytest.approx(12.1)
    assert ev[0].tca_tdb_s == pytest.approx(T0, abs=1e-6)


def test_window_edge_minimum_is_not_an_event_and_window_must_be_valid():
    a = Polynomial("A", [3800.0, 0.0, 0.0], [0.0, 3.0, 0.0], span=(T0 - 600, T0 + 600))
    b = Polynomial("B", [3800.0, 0.0, 5.0], [0.0, 3.0, 0.0], cubic=(0.0, 0.03, 0.0, 0.0), span=(T0 - 600, T0 + 600))
    targets = [ScreeningTarget("A", a), ScreeningTarget("B", b)]
    assert screen(targets, T0 - 600, T0 - 1, ScreeningSettings()).events == ()  # still closing at the end
    assert len(screen(targets, T0 - 600, T0 + 1, ScreeningSettings()).events) == 1
    with pytest.raises(ValueError, match="empty screening window"):
        screen(targets, T0, T0)
    with pytest.raises(ValueError, match="not one of"):
        screen(targets, T0 - 600, T0 + 600, only="C")


def test_along_track_model_grows_linearly_and_rotates_with_the_orbit():
    m = AlongTrackModel(0.5, 0.7, 0.1, 0.2, epoch0_tdb_s=T0)
    assert m.along_track_sigma_km(T0 + 3 * 86400.0) == pytest.approx(2.6)
    assert m.along_track_sigma_km(T0 - 86400.0) == pytest.approx(0.5)  # no growth before epoch0
    s, _ = circular(3800.0, 45.0, T0, phase_deg=30.0)
    cov = m.inertial_covariance_km2(s[None], T0 + 86400.0)[0]
    that = s[3:] / np.linalg.norm(s[3:])  # circular: T is along the velocity
    rhat = s[:3] / np.linalg.norm(s[:3])
    assert that @ cov @ that == pytest.approx(1.2**2)
    assert rhat @ cov @ rhat == pytest.approx(0.1**2)
    # a miss purely along T of two such objects, each sigma_T = 1.2 km: 3 km is 3/sqrt(2*1.44) sigma
    both = cov + rtn_to_inertial_covariance(s[None], m.rtn_covariance_km2(T0 + 86400.0))[0]
    assert miss_in_sigmas((3.0 * that)[None], both[None])[0] == pytest.approx(3.0 / math.sqrt(2 * 1.44))
    with pytest.raises(ValueError, match="sigma0_km"):
        AlongTrackModel(sigma0_km=-1.0)


def test_event_reports_miss_in_sigmas_from_both_models():
    a = Polynomial("A", [3800.0, 0.0, 0.0], [0.0, 3.0, 0.0], span=(T0 - 600, T0 + 600))
    b = Polynomial("B", [3800.0, 0.0, 2.0], [0.0, 3.0, 0.0], cubic=(0.0, 0.03, 0.0, 0.0), span=(T0 - 600, T0 + 600))
    ta = ScreeningTarget("A", a, sigma0_km=1.0, sigma_growth_km_per_day=0.0, cross_track_sigma_km=0.3)
    tb = ScreeningTarget("B", b, sigma0_km=1.0, sigma_growth_km_per_day=0.0, cross_track_sigma_km=0.4)
    ev = screen([ta, tb], T0 - 600, T0 + 600).events[0]
    # miss along z = orbit normal of A (and of B): cross-track sigmas 0.3 and 0.4 combine to 0.5 km
    assert ev.sigma_km == pytest.approx(0.5, rel=1e-6)
    assert ev.miss_sigma == pytest.approx(4.0, rel=1e-6)


class Piecewise(Ephemeris):
    """Two two-body arcs joined at TB (an impulsive burn): the later arc holds the boundary epoch."""

    def __init__(self, name, before, after, tb, span):
        self.name, self.before, self.after, self.tb, self.span = name, before, after, tb, span
        self.source = name

    @property
    def coverage(self):
        return self.span

    def _state(self, t):
        out = np.empty((t.size, 6))
        late = t >= self.tb
        if np.any(late):
            out[late] = self.after.state(t[late])
        if np.any(~late):
            out[~late] = self.before.state(t[~late])
        return out

    def segment_boundaries(self):
        return np.array([self.tb])

    def source_at(self, tdb_s):
        return f"{self.name} arc {'2' if tdb_s >= self.tb else '1'}"


def test_trajectory_discontinuity_is_respected():
    """A burn splits one object's path: the screen equals the screens of the two arcs, never mixing them."""
    span = (T0, T0 + 8 * 3600.0)
    fleet = _fleet(5, 14, span)
    tb = T0 + 3 * 3600.0 + 17.0
    first = fleet[0].ephemeris
    kicked = first.state(tb)[0] + np.array([0, 0, 0, 0.02, -0.01, 0.02])  # 30 m/s: a visibly new orbit
    after = TwoBodyEphemeris("SAT000", kicked, tb, *span)
    joined = [ScreeningTarget("SAT000", Piecewise("SAT000", first, after, tb, span))] + fleet[1:]
    settings = ScreeningSettings(threshold_km=1500.0, add_hard_body_radii=False, compute_pc=False)
    full = screen(joined, *span, settings).events
    arc1 = screen(fleet, span[0], tb, settings).events
    arc2 = screen([ScreeningTarget("SAT000", after)] + fleet[1:], tb, span[1], settings).events
    expect = sorted(arc1 + arc2, key=lambda e: e.tca_tdb_s)
    assert sum(e.object1 == "SAT000" for e in arc1) >= 1 and sum(e.object1 == "SAT000" for e in arc2) >= 1
    assert len(full) == len(expect)
    for got, want in zip(full, expect):
        assert (got.object1, got.object2) == (want.object1, want.object2)
        assert got.tca_tdb_s == pytest.approx(want.tca_tdb_s, abs=1e-5)
        assert got.miss_km == pytest.approx(want.miss_km, abs=1e-7)
        if got.object1 == "SAT000":
            assert got.source1 == f"SAT000 arc {'2' if got.tca_tdb_s >= tb else '1'}"


def test_invalid_keep_out_values_are_refused():
    eph = Polynomial("A", [3800.0, 0.0, 0.0], [0.0, 3.0, 0.0])
    with pytest.raises(ValueError, match="hbr_km"):
        ScreeningTarget("A", eph, hbr_km=-1.0)
    with pytest.raises(ValueError, match="threshold_km"):
        ScreeningTarget("A", eph, threshold_km=0.0)
    with pytest.raises(ValueError, match="threshold must be positive"):
        screen([ScreeningTarget("A", eph)], T0 - 60, T0 + 60, ScreeningSettings(threshold_km=-5.0))


def test_partner_covariances_replace_the_timing_model_for_sigma_and_pc():
    """Tabulated ephemerides carrying covariances (as from OEM covariance blocks) drive miss_sigma and Pc."""
    from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment

    span = (T0 - 1800.0, T0 + 1800.0)
    s1, _ = circular(3790.0, 0.0, T0)
    s2, _ = circular(3790.0, 60.0, T0)
    epochs = np.arange(span[0], span[1] + 1, 60.0)
    tables = []
    for name, state, t_node, sigma_km in (("EQ", s1, T0, 0.3), ("POLAR", s2, T0 + 2.0, 0.4)):
        states = TwoBodyEphemeris(name, state, t_node, *span).state(epochs)
        cov = np.diag([sigma_km**2] * 3 + [1e-8] * 3)
        seg = TabulatedSegment(epochs, states, covariances=(np.array([T0]), cov[None]), source=f"{name}.oem")
        tables.append(ScreeningTarget(name, TabulatedEphemeris(name, [seg]), hbr_km=0.01))
    ev = [e for e in screen(tables, *span, ScreeningSettings(threshold_km=10.0)).events if abs(e.tca_tdb_s - T0) < 60]
    assert len(ev) == 1
    assert ev[0].sigma_km == pytest.approx(0.5, rel=1e-9)  # isotropic 0.3 and 0.4 km combine to 0.5 km
    assert ev[0].miss_sigma == pytest.approx(ev[0].miss_km / 0.5, rel=1e-9)
    assert ev[0].pc_method is not None and "OEM" in ev[0].pc_method and "TIMING" not in ev[0].pc_method
    # circular combined covariance: Pc ~ (HBR^2 / 2 sigma^2) exp(-miss^2 / 2 sigma^2) for HBR << sigma
    closed = 0.01**2 / (2 * 0.25) * math.exp(-ev[0].miss_km**2 / (2 * 0.25))
    assert ev[0].pc == pytest.approx(closed, rel=1e-3)
