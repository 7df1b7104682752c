"""Screening against an independent reference: a 10-object Mars scenario with designed encounters.

The reference shares no code with the engine: the orbits are integrated here with scipy's DOP853 (two-body
+ J2 about a fixed Mars pole, rtol 1e-12), and the reference screening is brute force: every pair sampled
every 10 s on the integrator's dense output, every sign change of the range rate refined with brentq on
the dense output. The engine screens ephemerides *tabulated* from the same integrations (states every
45 s, cubic Hermite interpolation, as from an OEM file), so agreement also covers interpolation.

Designed events: MRO-like vs ENC-2KM at 2 km, ODY-like vs ENC-300M at 0.3 km, and TGO-like vs GRAZER at
49.9 km with its TCA half-way between two 60 s engine samples, where both samples are above the 50 km
threshold (a sampler that only compares sampled distances with the threshold misses it).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from marsview.core.ephemeris import Ephemeris
from marsview.core.screening import ScreeningSettings, ScreeningTarget, screen
from marsview.core.time import utc_to_tdb_s

GM = 42828.37362069909
R_REF = 3396.0
J2 = 1.956609e-3
RA, DEC = math.radians(317.269202), math.radians(54.432516)
POLE = np.array([math.cos(DEC) * math.cos(RA), math.cos(DEC) * math.sin(RA), math.sin(DEC)])
R_EQ = 3396.19
DAY = 86400.0
T0 = utc_to_tdb_s("2025-01-01T00:00:00")
T1 = T0 + 7 * DAY
THRESHOLD_KM = 50.0
TABLE_STEP_S = 45.0
ENGINE_STEP_S = 60.0


def _frame(inc_deg, raan_deg):
    """Unit vectors of an orbit plane in EME2000 (node line and in-plane normal), relative to the Mars pole."""
    x = np.cross([0.0, 0.0, 1.0], POLE)
    x /= np.linalg.norm(x)
    y = np.cross(POLE, x)
    raan, inc = math.radians(raan_deg), math.radians(inc_deg)
    node = math.cos(raan) * x + math.sin(raan) * y
    normal = math.cos(inc) * POLE + math.sin(inc) * (math.sin(raan) * x - math.cos(raan) * y)
    return node, np.cross(normal, node)


def _state(peri_alt_km, apo_alt_km, inc_deg, raan_deg, argp_deg, nu_deg):
    rp, ra = R_EQ + peri_alt_km, R_EQ + apo_alt_km
    a, e = 0.5 * (rp + ra), (ra - rp) / (ra + rp)
    p = a * (1 - e * e)
    node, q = _frame(inc_deg, raan_deg)
    u = math.radians(argp_deg + nu_deg)
    nu = math.radians(nu_deg)
    rhat = math.cos(u) * node + math.sin(u) * q
    that = -math.sin(u) * node + math.cos(u) * q
    r = p / (1 + e * math.cos(nu))
    vr = math.sqrt(GM / p) * e * math.sin(nu)
    vt = math.sqrt(GM / p) * (1 + e * math.cos(nu))
    return np.concatenate([r * rhat, vr * rhat + vt * that])


_J2_COEF = 1.5 * J2 * GM * R_REF**2


def _rhs_all(_t, y):
    """Two-body + J2 (fixed pole) for M stacked states; written for speed (called ~10^5 times)."""
    s = y.reshape(-1, 6)
    r = s[:, :3]
    rn2 = (r * r).sum(1)
    rn = np.sqrt(rn2)
    z = (r @ POLE) / rn
    k = _J2_COEF / (rn2 * rn2 * rn)
    out = np.empty_like(s)
    out[:, :3] = s[:, 3:]
    out[:, 3:] = r * (-GM / (rn2 * rn) + k * (5 * z * z - 1))[:, None] - np.outer(2 * k * z * rn, POLE)
    return out.ravel()


def _propagate(states, t_from, t_to, dense=False):
    """States (M,6) at t_from -> (M,6) at t_to (or the dense solution), DOP853 rtol 1e-12."""
    sol = solve_ivp(_rhs_all, (t_from, t_to), np.ravel(states), method="DOP853", rtol=1e-12, atol=1e-11,
                    dense_output=dense)
    return sol.sol if dense else sol.y[:, -1].reshape(-1, 6)


class JointOrbits:
    """All orbits integrated as one DOP853 system from T0 to T1, with dense output."""

    def __init__(self, states0: dict):
        self.names = list(states0)
        self.sol = _propagate(np.array([states0[n] for n in self.names]), T0, T1 + 1, dense=True)

    def func(self, name):
        k = 6 * self.names.index(name)
        return lambda t: np.atleast_2d(self.sol(np.atleast_1d(np.asarray(t, dtype=float))).T)[:, k:k + 6]


class HermiteTable(Ephemeris):
    """States tabulated every TABLE_STEP_S, interpolated with cubic Hermite (positions and velocities)."""

    def __init__(self, name, epochs, states):
        self.name, self.epochs, self.states = name, epochs, states
        self.source = f"{name}.table"

    @property
    def coverage(self):
        return float(self.epochs[0]), float(self.epochs[-1])

    def _state(self, t):
        k = np.clip(np.searchsorted(self.epochs, t, side="right") - 1, 0, self.epochs.size - 2)
        h = self.epochs[k + 1] - self.epochs[k]
        s = ((t - self.epochs[k]) / h)[:, None]
        p0, p1 = self.states[k, :3], self.states[k + 1, :3]
        m0, m1 = self.states[k, 3:] * h[:, None], self.states[k + 1, 3:] * h[:, None]
        h00, h10, h01, h11 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2
        d00, d10, d01, d11 = 6 * s**2 - 6 * s, 3 * s**2 - 4 * s + 1, -6 * s**2 + 6 * s, 3 * s**2 - 2 * s
        pos = h00 * p0 + h10 * m0 + h01 * p1 + h11 * m1
        vel = (d00 * p0 + d10 * m0 + d01 * p1 + d11 * m1) / h[:, None]
        return np.hstack([pos, vel])


def _designed(host_state, miss_km, turn_deg, speed_factor):
    """State of an object passing MISS_KM from a host at the host state's epoch: host velocity turned
    about the radial direction by TURN_DEG and scaled by SPEED_FACTOR, offset perpendicular to v_rel."""
    r, v = host_state[:3], host_state[3:]
    rhat = r / np.linalg.norm(r)
    a = math.radians(turn_deg)
    v2 = speed_factor * (v * math.cos(a) + np.cross(rhat, v) * math.sin(a) + rhat * (rhat @ v) * (1 - math.cos(a)))
    off = np.cross(v2 - v, rhat)
    off /= np.linalg.norm(off)
    return np.concatenate([r + miss_km * off, v2])


ENC_2KM_T = T0 + 2.3 * DAY + 7.77
ENC_300M_T = T0 + 4.1 * DAY + 12.345
GRAZE_T = T0 + 5.5 * DAY + 30.0  # half-way between engine samples (T0 + k * 60 s)


def build_scenario():
    """The ten reference orbits: name -> callable(t) -> (N,6) Mars-centred EME2000 states."""
    base = {
        "MRO-LIKE": _state(255, 320, 92.6, 10, 270, 0),
        "ODY-LIKE": _state(390, 450, 93.1, 130, 90, 40),
        "MAVEN-LIKE": _state(180, 6200, 75.0, 60, 200, 180),
        "TGO-LIKE": _state(370, 420, 74.0, 250, 0, 200),
        "MEX-LIKE": _state(300, 10100, 86.6, 300, 340, 90),
        "HOPE-LIKE": _state(20000, 43000, 25.0, 20, 180, 120),
        "PHOBOS-LIKE": _state(9376 - R_EQ, 9376 - R_EQ, 1.1, 80, 0, 10),
    }
    hosts = np.array([base["MRO-LIKE"], base["ODY-LIKE"], base["TGO-LIKE"]])
    sol = _propagate(hosts, T0, GRAZE_T + 1, dense=True)
    designed = [  # (name, host index, epoch, miss km, turn deg, speed factor), latest first
        ("GRAZER", 2, GRAZE_T, 49.9, 17.0, 1.03),
        ("ENC-300M", 1, ENC_300M_T, 0.3, 50.0, 0.985),
        ("ENC-2KM", 0, ENC_2KM_T, 2.0, 30.0, 1.02),
    ]
    # integrate the designed objects back to T0 together, adding each at its encounter epoch
    states, epoch = np.empty((0, 6)), GRAZE_T
    for name, host, t_enc, miss, turn, factor in designed:
        if states.size:
            states = _propagate(states, epoch, t_enc)
        states = np.vstack([states, _designed(sol(t_enc)[6 * host:6 * host + 6], miss, turn, factor)])
        epoch = t_enc
    states = _propagate(states, epoch, T0)
    for k, (name, *_rest) in enumerate(designed):
        base[name] = states[k]
    joint = JointOrbits(base)
    return {name: joint.func(name) for name in base}


def tabulate(orbits, step_s=TABLE_STEP_S):
    epochs = T0 + step_s * np.arange(int(round((T1 - T0) / step_s)) + 1)
    return {name: HermiteTable(name, epochs, f(epochs)) for name, f in orbits.items()}


def brute_force_screen(funcs, start, stop, threshold_km, step_s=10.0):
    """Reference: sample every pair every STEP_S, refine every range-rate sign change with brentq.

    FUNCS: name -> callable(t array) -> (N,6). Returns [(name1, name2, tca, miss_km)] sorted by TCA.
    """
    names = list(funcs)
    t = np.linspace(start, stop, int(round((stop - start) / step_s)) + 1)
    sampled = {n: funcs[n](t) for n in names}
    out = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            f1, f2 = funcs[names[a]], funcs[names[b]]
            rel = sampled[names[b]] - sampled[names[a]]
            dist = np.linalg.norm(rel[:, :3], axis=1)
            rr = np.einsum("ij,ij->i", rel[:, :3], rel[:, 3:])
            vrel = np.linalg.norm(rel[:, 3:], axis=1)
            ks = np.flatnonzero((rr[:-1] < 0) & (rr[1:] >= 0))
            bound = np.minimum(dist[ks], dist[ks + 1]) - np.maximum(vrel[ks], vrel[ks + 1]) * step_s
            for k in ks[bound < threshold_km]:
                def g(x):
                    d = f2(x)[0] - f1(x)[0]
                    return d[:3] @ d[3:]
                tca = brentq(g, t[k], t[k + 1], xtol=1e-7, rtol=4 * np.finfo(float).eps)
                miss = float(np.linalg.norm(f2(tca)[0, :3] - f1(tca)[0, :3]))
                if miss < threshold_km:
                    out.append((names[a], names[b], tca, miss))
    return sorted(out, key=lambda e: e[2])


@pytest.fixture(scope="module")
def scenario():
    orbits = build_scenario()
    return orbits, tabulate(orbits)


def _match(reference, events):
    """Pair each reference event with the engine event of the same pair nearest in TCA."""
    pairs = []
    for n1, n2, tca, miss in reference:
        same = [e for e in events if {e.object1, e.object2} == {n1, n2}]
        best = min(same, key=lambda e: abs(e.tca_tdb_s - tca), default=None)
        pairs.append(((n1, n2, tca, miss), best))
    return pairs


def test_engine_matches_independent_reference(scenario):
    orbits, tables = scenario
    reference = brute_force_screen(orbits, T0, T1, THRESHOLD_KM)
    targets = [ScreeningTarget(n, e, hbr_km=0.0) for n, e in tables.items()]
    for step_s in (ENGINE_STEP_S, None):  # the fixed 60 s grid of the grazing design, and the automatic step
        settings = ScreeningSettings(threshold_km=THRESHOLD_KM, step_s=step_s, add_hard_body_radii=False)
        t_start = time.perf_counter()
        result = screen(targets, T0, T1, settings)
        elapsed = time.perf_counter() - t_start
        _check_against_reference(reference, result)
        assert elapsed < 30.0  # sanity only; timings are in benchmarks/bench_screening.py


def _check_against_reference(reference, result):
    designed = {("MRO-LIKE", "ENC-2KM"): 2.0, ("ODY-LIKE", "ENC-300M"): 0.3, ("TGO-LIKE", "GRAZER"): 49.9}
    ref_pairs = {(a, b) for a, b, _, _ in reference}
    assert set(designed) <= ref_pairs, "the reference must see the designed encounters"
    matched = _match(reference, result.events)
    missing = [ref for ref, ev in matched if ev is None or abs(ev.tca_tdb_s - ref[2]) > 1e-3]
    assert not missing, f"engine missed {missing}"  # recall 100 %
    for (n1, n2, tca, miss), ev in matched:
        assert abs(ev.tca_tdb_s - tca) < 1e-3, (n1, n2)
        assert abs(ev.miss_km - miss) < 1e-3, (n1, n2)
    # no false events: every engine event is a reference event
    assert len(result.events) == len(reference)
    for (n1, n2), miss in designed.items():
        ev = [e for e in result.events if (e.object1, e.object2) == (n1, n2)]
        assert any(abs(e.miss_km - miss) < 2e-3 for e in ev), (n1, n2, [e.miss_km for e in ev])


def test_grazing_minimum_lies_between_samples_above_threshold(scenario):
    """The designed grazing event: both neighbouring engine samples are above the threshold."""
    orbits, tables = scenario
    tgo, grazer = tables["TGO-LIKE"], tables["GRAZER"]
    samples = np.array([GRAZE_T - 30.0, GRAZE_T + 30.0])
    d = np.linalg.norm(grazer.state(samples)[:, :3] - tgo.state(samples)[:, :3], axis=1)
    assert np.all(d > THRESHOLD_KM)
    settings = ScreeningSettings(threshold_km=THRESHOLD_KM, step_s=ENGINE_STEP_S, add_hard_body_radii=False)
    result = screen([ScreeningTarget("TGO-LIKE", tgo), ScreeningTarget("GRAZER", grazer)], T0, T1, settings,
                    only="GRAZER")
    near = [e for e in result.events if abs(e.tca_tdb_s - GRAZE_T) < 1.0]
    assert len(near) == 1 and abs(near[0].miss_km - 49.9) < 2e-3
    assert abs(near[0].tca_tdb_s - GRAZE_T) < 0.05
