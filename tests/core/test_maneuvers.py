"""Maneuvers: impulsive burns in RTN/VNB against vis-viva, finite burns against the rocket equation,
and the impulsive-vs-finite error figures quoted in core/maneuvers.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from marsview.core import constants as C
from marsview.core.dynamics import ForceModel, PropagatedEphemeris, propagate
from marsview.core.maneuvers import G0_MPS2, FiniteBurn, ImpulsiveBurn, apply_impulse, propellant_kg

MU = C.GM_MARS_KM3S2
R_EQ = C.RADIUS_EQUATORIAL_KM
TWO_BODY = ForceModel.two_body()


def orbit_state(peri_alt_km, apo_alt_km, inc_deg, true_anomaly_deg=0.0):
    """Mars-centred state on an orbit with its line of apsides along x, node on x."""
    rp, ra = R_EQ + peri_alt_km, R_EQ + apo_alt_km
    a, e = 0.5 * (rp + ra), (ra - rp) / (ra + rp)
    p = a * (1 - e * e)
    nu, i = math.radians(true_anomaly_deg), math.radians(inc_deg)
    r = p / (1 + e * math.cos(nu))
    r_pf = np.array([r * math.cos(nu), r * math.sin(nu), 0.0])
    v_pf = math.sqrt(MU / p) * np.array([-math.sin(nu), e + math.cos(nu), 0.0])
    rot = np.array([[1, 0, 0], [0, math.cos(i), -math.sin(i)], [0, math.sin(i), math.cos(i)]])
    return np.hstack([rot @ r_pf, rot @ v_pf])


def sma_km(state):
    s = np.atleast_2d(state)
    return 1.0 / (2.0 / np.linalg.norm(s[:, :3], axis=1) - np.sum(s[:, 3:] ** 2, axis=1) / MU)


MRO = orbit_state(255.0, 320.0, 92.6, 30.0)
MAVEN = orbit_state(150.0, 4500.0, 75.0, 60.0)


def test_rtn_and_vnb_impulses_move_the_velocity_along_their_axes():
    s = MAVEN  # eccentric, off-apsis: T and V differ by the flight-path angle
    r, v = s[:3], s[3:]
    rhat, hhat = r / np.linalg.norm(r), np.cross(r, v) / np.linalg.norm(np.cross(r, v))
    that, vhat = np.cross(hhat, rhat), v / np.linalg.norm(v)
    cases = [
        (ImpulsiveBurn(0.0, (2.0, 0.0, 0.0), "RTN"), rhat),
        (ImpulsiveBurn(0.0, (0.0, 2.0, 0.0), "RTN"), that),
        (ImpulsiveBurn(0.0, (0.0, 0.0, 2.0), "RTN"), hhat),
        (ImpulsiveBurn(0.0, (2.0, 0.0, 0.0), "VNB"), vhat),
        (ImpulsiveBurn(0.0, (0.0, 2.0, 0.0), "VNB"), hhat),
        (ImpulsiveBurn(0.0, (0.0, 0.0, 2.0), "VNB"), np.cross(vhat, hhat)),
    ]
    for burn, axis in cases:
        after = apply_impulse(s, burn)
        assert np.array_equal(after[:3], s[:3])
        assert np.allclose(after[3:] - v, 2e-3 * axis, rtol=0, atol=1e-15)
    assert np.degrees(np.arccos(that @ vhat)) > 5.0  # the two frames really differ here


def test_along_track_burn_changes_the_period_as_vis_viva_predicts():
    dv_mps = 0.4  # MAVEN's 2017 Phobos avoidance size
    burn = ImpulsiveBurn(600.0, (dv_mps, 0.0, 0.0), "VNB")
    before = propagate(MRO, 0.0, np.array([600.0]), TWO_BODY, rtol=1e-13, atol=1e-11)[0]
    r, v = np.linalg.norm(before[:3]), np.linalg.norm(before[3:])
    v_new = v + dv_mps / 1000.0
    a_new = 1.0 / (2.0 / r - v_new**2 / MU)  # vis-viva
    period_new = 2 * math.pi * math.sqrt(a_new**3 / MU)
    old_period = 2 * math.pi * math.sqrt(sma_km(MRO)[0] ** 3 / MU)
    assert period_new - old_period > 1.0  # ~1.4 s longer: a measurable change
    t = np.array([600.0, 600.0 + period_new, 600.0 + old_period])
    s = propagate(MRO, 0.0, t, TWO_BODY, (burn,), rtol=1e-13, atol=1e-11)
    assert np.linalg.norm(s[1, :3] - s[0, :3]) < 1e-5  # back at the burn point after the new period
    assert np.linalg.norm(s[2, :3] - s[0, :3]) > 1.0  # the old period no longer closes the orbit
    assert sma_km(s[0])[0] == pytest.approx(a_new, rel=1e-12)


def test_radial_burn_changes_semi_major_axis_only_to_second_order():
    circular = orbit_state(400.0, 400.0, 74.0)
    a0 = sma_km(circular)[0]
    radial = apply_impulse(circular, ImpulsiveBurn(0.0, (1.0, 0.0, 0.0), "RTN"))
    along = apply_impulse(circular, ImpulsiveBurn(0.0, (0.0, 1.0, 0.0), "RTN"))
    da_radial, da_along = sma_km(radial)[0] - a0, sma_km(along)[0] - a0
    # vis-viva: da = 2 a^2 v dv / mu along track; a^2 dv^2 / mu for a radial dv on a circle
    v = np.linalg.norm(circular[3:])
    assert da_along == pytest.approx(2 * a0**2 * v * 1e-3 / MU, rel=1e-3)
    assert da_radial == pytest.approx(a0**2 * 1e-6 / MU, rel=1e-3)
    assert abs(da_radial) < 1e-3 * abs(da_along)


def test_zero_burn_changes_nothing_bit_for_bit():
    t = np.linspace(0.0, 20000.0, 300)
    fm = ForceModel.zonal()
    plain = propagate(MRO, 0.0, t, fm)
    zero = (ImpulsiveBurn(5000.0, (0.0, 0.0, 0.0), "RTN"), ImpulsiveBurn(7000.0, (-0.0, 0.0, 0.0), "VNB"))
    assert np.array_equal(propagate(MRO, 0.0, t, fm, zero), plain)
    assert np.array_equal(apply_impulse(MRO, zero[0]), MRO)
    eph = PropagatedEphemeris("MRO", MRO, 0.0, 20000.0, fm, zero)
    assert np.array_equal(eph.state(t), plain) and eph.segment_boundaries().size == 0


def test_mid_propagation_burn_is_a_segment_boundary_and_leaves_the_past_alone():
    fm = ForceModel.j2()
    burn = ImpulsiveBurn(3000.0, (0.0, 0.1, 0.0), "RTN")
    eph = PropagatedEphemeris("MRO", MRO, 0.0, 20000.0, fm, (burn,))
    assert list(eph.segment_boundaries()) == [3000.0]
    t_before = np.linspace(0.0, 2999.0, 30)
    plain = propagate(MRO, 0.0, t_before, fm)
    assert np.abs(eph.state(t_before)[:, :3] - plain[:, :3]).max() < 1e-5  # same up to the frozen pole epoch
    # on the boundary the post-burn state is returned; just before it the pre-burn one
    at = eph.state(np.array([3000.0 - 1e-6, 3000.0]))
    assert np.linalg.norm(at[1, 3:] - at[0, 3:]) == pytest.approx(1e-4, rel=1e-3)
    # an impulse at the start epoch is applied to the initial state
    first = propagate(MRO, 0.0, np.array([0.0]), fm, (ImpulsiveBurn(0.0, (0.0, 0.1, 0.0)),))[0]
    assert np.allclose(first, apply_impulse(MRO, ImpulsiveBurn(0.0, (0.0, 0.1, 0.0))), rtol=0, atol=0)


def test_finite_burn_follows_the_rocket_equation():
    # nearly free space (GM tiny) so only thrust changes the speed; steering along V keeps it straight
    free = ForceModel.two_body(gm_km3s2=1e-12)
    s0 = np.array([1.0e5, 0.0, 0.0, 0.0, 1.0, 0.0])
    burn = FiniteBurn(100.0, 600.0, (1.0, 0.0, 0.0), "VNB", thrust_n=400.0, isp_s=320.0, mass_kg=1000.0)
    expected_dv_mps = 320.0 * G0_MPS2 * math.log(1000.0 / (1000.0 - 400.0 / (320.0 * G0_MPS2) * 600.0))
    assert burn.total_dv_mps == pytest.approx(expected_dv_mps, rel=1e-14)
    end = propagate(s0, 0.0, np.array([1000.0]), free, (burn,))[0]
    assert (np.linalg.norm(end[3:]) - 1.0) * 1000.0 == pytest.approx(expected_dv_mps, rel=1e-9)
    assert burn.final_mass_kg == pytest.approx(1000.0 - 600.0 * 400.0 / (320.0 * G0_MPS2))
    assert propellant_kg(expected_dv_mps, 1000.0, 320.0) == pytest.approx(1000.0 - burn.final_mass_kg, rel=1e-12)
    eph = PropagatedEphemeris("x", s0, 0.0, 1000.0, free, (burn,))
    assert list(eph.segment_boundaries()) == [100.0, 700.0]


@pytest.mark.parametrize("duration_s, one_orbit_m, week_m", [(60.0, (0.1, 1.0), (0.5, 4.0)),
                                                             (1200.0, (80.0, 250.0), (250.0, 700.0))])
def test_impulsive_versus_finite_burn_error_as_documented(duration_s, one_orbit_m, week_m):
    """core/maneuvers.py quotes these: 1 m/s along-track on MRO, impulse at the finite burn's midpoint."""
    mro = orbit_state(255.0, 320.0, 92.6)  # starting at periapsis, as in the docstring's figures
    a0 = sma_km(mro)[0]
    period = 2 * math.pi * math.sqrt(a0**3 / MU)
    mid = 1000.0
    finite = FiniteBurn(mid - duration_s / 2, duration_s, (0.0, 1.0, 0.0), "RTN", accel_mps2=1.0 / duration_s)
    impulse = ImpulsiveBurn(mid, (0.0, 1.0, 0.0), "RTN")
    t = np.array([mid + duration_s / 2 + period, mid + duration_s / 2 + 7 * 86400.0])
    # rtol 1e-10: integration error (centimetres over the week) is far below the gaps measured
    s_fin = propagate(mro, 0.0, t, TWO_BODY, (finite,), rtol=1e-10)
    s_imp = propagate(mro, 0.0, t, TWO_BODY, (impulse,), rtol=1e-10)
    gap_m = np.linalg.norm(s_fin[:, :3] - s_imp[:, :3], axis=1) * 1000.0
    assert one_orbit_m[0] < gap_m[0] < one_orbit_m[1]
    assert week_m[0] < gap_m[1] < week_m[1]
    assert finite.total_dv_mps == pytest.approx(1.0)


def test_invalid_maneuvers_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="RTN or VNB"):
        ImpulsiveBurn(0.0, (0, 0, 1), "XYZ")
    with pytest.raises(ValueError, match="3 finite"):
        ImpulsiveBurn(0.0, (0, float("nan"), 1))
    with pytest.raises(ValueError, match="duration"):
        FiniteBurn(0.0, 0.0, accel_mps2=0.01)
    with pytest.raises(ValueError, match="thrust_n"):
        FiniteBurn(0.0, 10.0)
    with pytest.raises(ValueError, match="more than the spacecraft mass"):
        FiniteBurn(0.0, 1e6, thrust_n=400.0, isp_s=300.0, mass_kg=10.0)
    with pytest.raises(ValueError, match="overlap"):
        propagate(MRO, 0.0, np.array([5000.0]), TWO_BODY,
                  (FiniteBurn(10.0, 100.0, accel_mps2=0.01), FiniteBurn(50.0, 100.0, accel_mps2=0.01)))
    with pytest.raises(ValueError, match="before the initial epoch"):
        propagate(MRO, 0.0, np.array([5000.0]), TWO_BODY, (ImpulsiveBurn(-10.0, (0, 1, 0)),))
    assert ImpulsiveBurn(0.0, (3.0, 4.0, 0.0), "ric").frame == "RTN"
