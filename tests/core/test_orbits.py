"""Orbital elements, anomalies and Kepler's equation: round trips, edge cases, closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from marsview.core import orbits as O
from marsview.core.constants import GM_MARS_KM3S2 as MU
from marsview.core.constants import RADIUS_EQUATORIAL_KM

finite = dict(allow_nan=False, allow_infinity=False)


def _state_from(r_km, rhat, v_factor, vdir):
    """A state at |r| = r_km with speed v_factor * circular speed, in a random direction not along r."""
    rhat = np.asarray(rhat) / np.linalg.norm(rhat)
    vdir = np.asarray(vdir) / np.linalg.norm(vdir)
    v = v_factor * math.sqrt(MU / r_km) * vdir
    return np.concatenate([r_km * rhat, v])


unit = st.lists(st.floats(-1, 1, **finite), min_size=3, max_size=3).filter(lambda v: np.linalg.norm(v) > 0.1)


@settings(max_examples=300, deadline=None)
@given(r_km=st.floats(3400.0, 2.0e5, **finite), rhat=unit, v_factor=st.floats(0.05, 3.0, **finite), vdir=unit)
def test_cartesian_elements_round_trip_random_states(r_km, rhat, v_factor, vdir):
    s = _state_from(r_km, rhat, v_factor, vdir)
    h = np.cross(s[:3], s[3:])
    if np.linalg.norm(h) < 1e-3 * r_km * np.linalg.norm(s[3:]):
        return  # nearly rectilinear: elements are meaningless there
    el = O.cartesian_to_elements(s)
    for name in ("e", "inc_rad", "raan_rad", "argp_rad", "nu_rad", "p_km"):
        assert np.isfinite(getattr(el, name))
    if el.p_km < 1e-5 * r_km:
        return  # near-radial: r = p/(1 + e cos nu) loses digits as r/p (inherent to classical elements)
    back = O.elements_to_cartesian(el.a_km, el.e, el.inc_rad, el.raan_rad, el.argp_rad, el.nu_rad, p_km=el.p_km)
    assert np.allclose(back[:3], s[:3], rtol=0, atol=1e-9 * r_km)
    assert np.allclose(back[3:], s[3:], rtol=0, atol=1e-9 * np.linalg.norm(s[3:]))


@settings(max_examples=200, deadline=None)
@given(a_km=st.floats(3500.0, 60000.0), e=st.floats(1e-4, 0.95), inc=st.floats(1e-3, math.pi - 1e-3),
       raan=st.floats(0, 2 * math.pi - 1e-9), argp=st.floats(0, 2 * math.pi - 1e-9),
       nu=st.floats(0, 2 * math.pi - 1e-9))
def test_elements_cartesian_round_trip_generic_orbits(a_km, e, inc, raan, argp, nu):
    s = O.elements_to_cartesian(a_km, e, inc, raan, argp, nu)
    el = O.cartesian_to_elements(s)
    assert el.a_km == pytest.approx(a_km, rel=1e-10)
    assert el.e == pytest.approx(e, abs=1e-10)
    assert el.inc_rad == pytest.approx(inc, abs=1e-10)

    def ang(x, y):
        return abs((x - y + math.pi) % (2 * math.pi) - math.pi)

    assert ang(el.raan_rad, raan) < 1e-9
    assert ang(el.argp_rad, argp) < 1e-9 / e
    assert ang(el.nu_rad, nu) < 1e-9 / e


def test_circular_equatorial_and_retrograde_conventions_have_no_nan():
    r = 4000.0
    vc = math.sqrt(MU / r)
    # circular, equatorial, prograde: raan = argp = 0, nu = true longitude
    ang = math.radians(30.0)
    s = np.array([r * math.cos(ang), r * math.sin(ang), 0.0, -vc * math.sin(ang), vc * math.cos(ang), 0.0])
    el = O.cartesian_to_elements(s)
    assert el.e < 1e-12 and el.inc_rad == 0.0
    assert el.raan_rad == 0.0 and el.argp_rad == 0.0
    assert math.degrees(el.nu_rad) == pytest.approx(30.0, abs=1e-9)
    assert el.a_km == pytest.approx(r, rel=1e-12)
    # retrograde equatorial (i = 180 deg): nu measured in the direction of motion from +x
    s_retro = np.array([r * math.cos(ang), r * math.sin(ang), 0.0, vc * math.sin(ang), -vc * math.cos(ang), 0.0])
    el = O.cartesian_to_elements(s_retro)
    assert math.degrees(el.inc_rad) == pytest.approx(180.0, abs=1e-9)
    assert math.degrees(el.nu_rad) == pytest.approx(360.0 - 30.0, abs=1e-9)
    back = O.elements_to_cartesian(el.a_km, el.e, el.inc_rad, el.raan_rad, el.argp_rad, el.nu_rad)
    assert np.allclose(back, s_retro, atol=1e-9)
    # circular inclined: argp = 0, nu = argument of latitude (from the ascending node)
    s_inc = O.elements_to_cartesian(r, 0.0, math.radians(60), math.radians(40), 0.0, math.radians(75))
    el = O.cartesian_to_elements(s_inc)
    assert el.argp_rad == 0.0
    assert math.degrees(el.raan_rad) == pytest.approx(40.0, abs=1e-9)
    assert math.degrees(el.nu_rad) == pytest.approx(75.0, abs=1e-9)
    # eccentric equatorial: argp = longitude of periapsis
    s_ecc = O.elements_to_cartesian(8000.0, 0.3, 0.0, 0.0, math.radians(100.0), math.radians(20.0))
    el = O.cartesian_to_elements(s_ecc)
    assert math.degrees(el.argp_rad) == pytest.approx(100.0, abs=1e-9)
    assert math.degrees(el.nu_rad) == pytest.approx(20.0, abs=1e-9)


@pytest.mark.parametrize("e", [1.0 - 1e-8, 1.0 + 1e-8, 1.5, 12.0])
def test_open_and_near_parabolic_orbits_round_trip(e):
    p = 7000.0
    nu = math.radians(40.0)
    a = p / (1 - e * e)
    s = O.elements_to_cartesian(a, e, 0.7, 1.1, 2.3, nu, p_km=p)
    el = O.cartesian_to_elements(s)
    assert el.p_km == pytest.approx(p, rel=1e-12)
    assert el.e == pytest.approx(e, abs=1e-12)
    assert (el.a_km < 0) == (e > 1)
    back = O.elements_to_cartesian(el.a_km, el.e, el.inc_rad, el.raan_rad, el.argp_rad, el.nu_rad, p_km=el.p_km)
    assert np.allclose(back, s, atol=1e-9 * np.linalg.norm(s[:3]))
    # the specific energy matches the semi-major axis: v^2/2 - mu/r = -mu/(2a)
    energy = 0.5 * s[3:] @ s[3:] - MU / np.linalg.norm(s[:3])
    assert energy == pytest.approx(-MU / (2 * a), rel=1e-6, abs=1e-12)


def test_exact_parabola_needs_p_and_gives_escape_speed():
    with pytest.raises(ValueError, match="p_km"):
        O.elements_to_cartesian(np.inf, 1.0, 0.1, 0.2, 0.3, 0.4)
    s = O.elements_to_cartesian(np.inf, 1.0, 0.1, 0.2, 0.3, 0.4, p_km=5000.0)
    r, v = np.linalg.norm(s[:3]), np.linalg.norm(s[3:])
    assert v == pytest.approx(math.sqrt(2 * MU / r), rel=1e-14)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="rectilinear"):
        O.cartesian_to_elements([4000.0, 0, 0, 1.0, 0, 0])
    with pytest.raises(ValueError, match="6 columns"):
        O.cartesian_to_elements(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="asymptote"):
        O.elements_to_cartesian(-5000.0, 2.0, 0, 0, 0, math.radians(170))


@settings(max_examples=300, deadline=None)
@given(M=st.floats(-50.0, 50.0, **finite), e=st.floats(0.0, 0.999, **finite))
def test_kepler_elliptic_residual_and_independent_root(M, e):
    E = O.solve_kepler(M, e)
    assert abs(E - e * math.sin(E) - M) <= 4e-15 * max(1.0, abs(M))
    # E - M stays within one revolution's worth of e
    assert abs(E - M) <= e + 1e-12


@settings(max_examples=200, deadline=None)
@given(M=st.floats(-1e4, 1e4, **finite), e=st.floats(1.0001, 50.0, **finite))
def test_kepler_hyperbolic_residual(M, e):
    H = O.solve_kepler(M, e)
    assert abs(e * math.sinh(H) - H - M) <= 1e-14 * max(1.0, abs(M), e * math.sinh(abs(H)))


def test_kepler_matches_brentq_and_is_vectorized_near_parabolic():
    M = np.array([1e-9, 1e-4, 0.01, 0.5, 3.0, -2.0, 100.0])
    for e in (0.0, 0.3, 0.9, 0.999, 0.999999):
        E = O.solve_kepler(M, e)
        ref = [brentq(lambda x, m=m: x - e * math.sin(x) - m, m - 1.0 - 1e-9, m + 1.0 + 1e-9, xtol=1e-16, rtol=1e-15)
               for m in M]
        assert np.allclose(E, ref, rtol=1e-12, atol=1e-13)
    Mh = np.array([1e-6, 0.1, 10.0, -5.0, 1e5])
    for e in (1.0 + 1e-6, 1.1, 3.0):
        H = O.solve_kepler(Mh, e)
        ref = [brentq(lambda x, m=m: e * math.sinh(x) - x - m, -40, 40, xtol=1e-15, rtol=1e-15) for m in Mh]
        assert np.allclose(H, ref, rtol=1e-9, atol=1e-12)
    # parabolic: Barker's equation closed form
    D = O.solve_kepler(np.array([0.0, 0.5, -3.0]), 1.0)
    assert np.allclose(D + D ** 3 / 3, [0.0, 0.5, -3.0], atol=1e-14)


@pytest.mark.parametrize("e", [0.0, 0.2, 0.95, 1.0, 1.3, 4.0])
def test_true_mean_anomaly_conversions_invert(e):
    limit = math.pi - 1e-3 if e <= 1 else math.acos(-1 / e) - 1e-3
    nu = np.linspace(-limit, limit, 41)
    M = O.true_to_mean(nu, e)
    assert np.allclose(O.mean_to_true(M, e), nu, atol=1e-11)
    # mean anomaly increases with true anomaly (same direction of motion)
    assert np.all(np.diff(M) > 0)


def test_eccentric_anomaly_known_geometry():
    # at nu = 90 deg the radius is p: cos E = e  =>  E = arccos(e), M = E - e sin E
    e = 0.6
    E = O.true_to_anomaly(math.pi / 2, e)
    assert E == pytest.approx(math.acos(e), abs=1e-14)
    assert O.true_to_mean(math.pi / 2, e) == pytest.approx(math.acos(e) - e * math.sin(math.acos(e)), abs=1e-14)


def test_period_closed_form_mro_like():
    a = RADIUS_EQUATORIAL_KM + (255.0 + 320.0) / 2
    assert O.period_s(a) == pytest.approx(2 * math.pi * math.sqrt(a ** 3 / MU), rel=1e-15)
    # MRO's published period is 112 min (mars_facts.md); a two-body sphere-altitude orbit gives ~113 min
    assert 110 * 60 < O.period_s(a) < 115 * 60
    assert np.isinf(O.period_s(-1000.0))


def test_state_from_peri_apo_altitudes_and_inclination():
    s = O.state_from_peri_apo(255.0, 320.0, 92.6, 10.0, 270.0, 0.0)
    r = np.linalg.norm(s[:3])
    assert r == pytest.approx(RADIUS_EQUATORIAL_KM + 255.0, abs=1e-9)  # at periapsis
    el = O.cartesian_to_elements(s)
    assert el.apoapsis_radius_km - RADIUS_EQUATORIAL_KM == pytest.approx(320.0, abs=1e-8)
    assert el.periapsis_radius_km - RADIUS_EQUATORIAL_KM == pytest.approx(255.0, abs=1e-8)
    assert math.degrees(el.inc_rad) == pytest.approx(92.6, abs=1e-10)
    # periapsis over the south pole for argp = 270 deg at i ~ 90 deg
    assert s[2] / r < -0.99
    with pytest.raises(ValueError):
        O.state_from_peri_apo(400.0, 300.0, 0, 0, 0, 0)
