"""Two-body propagation by universal variables: physics invariants, closed forms, an independent integrator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from marsview.core import orbits as O
from marsview.core.constants import GM_MARS_KM3S2 as MU
from marsview.core.ephemeris import CoverageError
from marsview.core.twobody import TwoBodyEphemeris, propagate_twobody, stumpff_c2_c3

MRO = O.state_from_peri_apo(255.0, 320.0, 92.6, 10.0, 270.0, 0.0)
MAVEN = O.state_from_peri_apo(150.0, 4500.0, 75.0, 40.0, 120.0, 30.0)
MOM = O.state_from_peri_apo(421.7, 76993.6, 150.0, 10.0, 200.0, 180.0)
HYPERBOLA = O.elements_to_cartesian(-4000.0, 1.8, 0.4, 1.0, 2.0, -1.0)  # an arrival at 2.6 km/s v-infinity
NEAR_PARABOLA = O.elements_to_cartesian(0, 1.0 - 1e-9, 0.3, 0.2, 0.1, -1.5, p_km=8000.0)
CASES = {"MRO": MRO, "MAVEN": MAVEN, "MOM": MOM, "hyperbola": HYPERBOLA, "near-parabola": NEAR_PARABOLA}


def _energy_h(states):
    r = np.linalg.norm(states[..., :3], axis=-1)
    energy = 0.5 * np.sum(states[..., 3:] ** 2, axis=-1) - MU / r
    return energy, np.cross(states[..., :3], states[..., 3:])


@pytest.mark.parametrize("name", list(CASES))
def test_energy_and_angular_momentum_conserved(name):
    s0 = CASES[name]
    t = np.linspace(-3 * 86400.0, 3 * 86400.0, 4001)
    states = propagate_twobody(s0, 0.0, t)
    e0, h0 = _energy_h(s0)
    e, h = _energy_h(states)
    assert np.all(np.abs(e - e0) <= 1e-11 * max(abs(e0), MU / np.linalg.norm(s0[:3])))
    assert np.all(np.linalg.norm(h - h0, axis=1) <= 1e-11 * np.linalg.norm(h0))
    # the eccentricity vector (Laplace-Runge-Lenz) is conserved too: the orbit does not rotate
    el0 = O.cartesian_to_elements(s0)
    el = O.cartesian_to_elements(states)
    assert np.allclose(el.e, el0.e, atol=1e-10) and np.allclose(el.p_km, el0.p_km, rtol=1e-11)


@pytest.mark.parametrize("name", ["MRO", "MAVEN", "MOM", "hyperbola"])
def test_mean_anomaly_advances_at_the_mean_motion(name):
    """Closed form: M(t) = M0 + n (t - t0), with n = sqrt(mu/|a|^3) (Kepler's equation)."""
    s0 = CASES[name]
    el0 = O.cartesian_to_elements(s0)
    t = np.linspace(0.0, 2 * 86400.0, 97)
    el = O.cartesian_to_elements(propagate_twobody(s0, 0.0, t))
    n = math.sqrt(MU / abs(el0.a_km) ** 3)
    m = O.true_to_mean(el.nu_rad, el.e) - O.true_to_mean(el0.nu_rad, el0.e)
    expected = n * t
    if el0.e < 1:
        diff = np.angle(np.exp(1j * (m - expected)))
    else:
        diff = m - expected
    assert np.max(np.abs(diff)) < 1e-9


def test_period_closure_after_one_and_ten_thousand_revolutions():
    period = O.period_s(O.cartesian_to_elements(MRO).a_km)
    back = propagate_twobody(MRO, 0.0, np.array([period, 10000 * period]))
    assert np.linalg.norm(back[0, :3] - MRO[:3]) < 1e-9  # km: sub-micrometre after one orbit
    assert np.linalg.norm(back[1, :3] - MRO[:3]) < 1e-6  # < 1 mm after 10 000 orbits (~2 years)
    assert np.linalg.norm(back[1, 3:] - MRO[3:]) < 1e-9


@pytest.mark.parametrize("name", ["MRO", "MOM", "hyperbola"])
def test_matches_an_independent_integrator(name):
    """scipy DOP853 on r'' = -mu r/|r|^3 at tight tolerances, one day, forward and back."""
    s0 = CASES[name]
    t = np.linspace(-43200.0, 43200.0, 25)

    def rhs(_, y):
        r = y[:3]
        return np.concatenate([y[3:], -MU * r / np.linalg.norm(r) ** 3])

    out = np.empty((t.size, 6))
    for sel in (t >= 0, t < 0):
        tt = t[sel]
        order = np.argsort(np.abs(tt))
        sol = solve_ivp(rhs, (0.0, tt[order][-1]), s0, method="DOP853", t_eval=tt[order], rtol=1e-13, atol=1e-12)
        out[np.flatnonzero(sel)[order]] = sol.y.T
    ours = propagate_twobody(s0, 0.0, t)
    assert np.max(np.linalg.norm(ours[:, :3] - out[:, :3], axis=1)) < 3e-7  # km (0.3 mm)
    assert np.max(np.linalg.norm(ours[:, 3:] - out[:, 3:], axis=1)) < 1e-11  # km/s


def test_many_objects_many_epochs_shapes_and_per_object_epochs():
    states = np.stack([MRO, MAVEN, MOM, HYPERBOLA])
    t0 = np.array([0.0, 100.0, -50.0, 10.0])
    t = np.linspace(0.0, 36000.0, 7)
    out = propagate_twobody(states, t0, t)
    assert out.shape == (4, 7, 6)
    for k in range(4):
        assert np.allclose(out[k], propagate_twobody(states[k], t0[k], t), rtol=0, atol=1e-12)
    assert propagate_twobody(MRO, 0.0, 5.0).shape == (1, 6)
    # at t = t0 the initial state comes back (to rounding: micrometres, nm/s)
    assert np.allclose(propagate_twobody(MAVEN, 100.0, np.array([100.0]))[0], MAVEN, rtol=0, atol=1e-9)


def test_backward_then_forward_returns_the_initial_state():
    mid = propagate_twobody(MAVEN, 0.0, np.array([-123456.7]))[0]
    again = propagate_twobody(mid, -123456.7, np.array([0.0]))[0]
    assert np.allclose(again, MAVEN, rtol=0, atol=1e-8)


def test_stumpff_functions_are_continuous_through_zero_and_match_closed_forms():
    psi = np.array([-4.0, -1.0 - 1e-12, -1.0 + 1e-12, -1e-8, 0.0, 1e-8, 1.0 - 1e-12, 1.0 + 1e-12, 4.0, 39.0])
    c2, c3 = stumpff_c2_c3(psi)
    assert np.allclose(c2[4:6], 0.5) and np.allclose(c3[4:6], 1.0 / 6.0)
    assert c2[1] == pytest.approx(c2[2], rel=1e-10) and c2[6] == pytest.approx(c2[7], rel=1e-10)
    assert c3[1] == pytest.approx(c3[2], rel=1e-10) and c3[6] == pytest.approx(c3[7], rel=1e-10)
    assert c2[8] == pytest.approx((1 - math.cos(2.0)) / 4.0, rel=1e-14)
    assert c3[8] == pytest.approx((2.0 - math.sin(2.0)) / 8.0, rel=1e-14)
    assert c2[0] == pytest.approx((math.cosh(2.0) - 1) / 4.0, rel=1e-14)


def test_bad_inputs():
    with pytest.raises(ValueError, match="rectilinear"):
        propagate_twobody([4000.0, 0, 0, 1.0, 0, 0], 0.0, [10.0])
    with pytest.raises(ValueError, match="states0"):
        propagate_twobody(np.zeros(5), 0.0, [1.0])
    with pytest.raises(ValueError, match="finite"):
        propagate_twobody(MRO, 0.0, [np.nan])


def test_twobody_ephemeris_coverage_and_states():
    eph = TwoBodyEphemeris("MRO", MRO, 1000.0, 0.0, 86400.0)
    assert eph.coverage == (0.0, 86400.0)
    assert np.allclose(eph.state([1000.0])[0], MRO)
    with pytest.raises(CoverageError, match="MRO"):
        eph.state([86400.1])
    with pytest.raises(ValueError):
        TwoBodyEphemeris("x", MRO, 0.0, 10.0, 0.0)


@pytest.mark.parametrize("e", [0.0, 1e-9, 0.0088, 0.3, 0.9, 0.95])
def test_fast_elliptic_path_agrees_with_universal_variables(e):
    """The tabulated-Kepler fast path (e <= 0.95) and the universal-variable solver are independent
    algorithms; they must agree to micrometres over two weeks, and for 3 years (long-span reduction)."""
    a = 9000.0
    s0 = O.elements_to_cartesian(a, e, 1.2, 0.4, 2.0, 0.3)
    t = np.concatenate([np.linspace(-7 * 86400.0, 7 * 86400.0, 3001), [1e8 + 0.5]])
    fast = propagate_twobody(s0, 0.0, t)
    universal = propagate_twobody(s0, 0.0, t, method="universal")
    dpos = np.linalg.norm(fast[:, :3] - universal[:, :3], axis=1)
    dvel = np.linalg.norm(fast[:, 3:] - universal[:, 3:], axis=1) / np.linalg.norm(universal[:, 3:], axis=1)
    assert dpos[:-1].max() < 1e-8 and dvel[:-1].max() < 5e-12  # two weeks: km; relative velocity
    assert dpos[-1] < 5e-8 and dvel[-1] < 2e-11  # 3 years: the phase keeps ~12 digits
    energy, _ = _energy_h(fast)
    assert np.allclose(energy, -MU / (2 * a), rtol=1e-12)
