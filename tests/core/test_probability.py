"""Collision probability from states and covariances: CARA's reference cases, invariances, repair, flags."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from marsview.core.probability import (
    cdm_covariance_to_inertial_km2,
    collision_probability,
    encounter_plane,
    repair_covariance,
    rtn_to_inertial,
    screening_pc,
    usage_violation,
)
from marsview.core.probability_2d import pc_circle
from marsview.core.uncertainty import AlongTrackModel

GM_EARTH = 398600.4418

# NASA CARA Pc2D_Foster_UnitTest.m, "Omitron Test Case 01" (D. Plakalovic): km, km/s, km^2, HBR 20 m;
# expected Pc2D = 2.70601573490125e-05 (CARA's tolerance 1e-3 relative).
OMITRON_R1 = [378.39559, 4305.721887, 5752.767554]
OMITRON_V1 = [2.360800244, 5.580331936, -4.322349039]
OMITRON_C1 = [[44.5757544811362, 81.6751751052616, -67.8687662707124],
              [81.6751751052616, 158.453402956163, -128.616921644857],
              [-67.8687662707124, -128.616921644858, 105.490542562701]]
OMITRON_R2 = [374.5180598, 4307.560983, 5751.130418]
OMITRON_V2 = [-5.388125081, -3.946827739, 3.322820358]
OMITRON_C2 = [[2.31067077720423, 1.69905293875632, -1.4170164577661],
              [1.69905293875632, 1.24957388457206, -1.04174164279599],
              [-1.4170164577661, -1.04174164279599, 0.869260558223714]]

# Alfano (2009) test case 1 at TCA as NASA CARA distributes it (DataFiles/AlfanoInputData), in the CDM form
# Orekit ships (src/test/resources/ccsds/cdm/AlfanoTestCase01.cdm): EME2000 km, km/s; 6x6 RTN m^2 lower
# triangle (CR_R, CT_R, CT_T, CN_R, ... CNDOT_NDOT). HBR 15 m; CARA Pc2D = 1.46749549e-01 (Orekit 1e-6 abs).
ALFANO1_STATE1 = [153.446765, 41874.155870, 0.0, 3.066874761, -0.011373615, 0.0]
ALFANO1_COV1 = [1.988970273925819e+01, -3.524140813027809e+02, 6.496749385722737e+03, 0.0, 0.0,
                1.205039522307600e+00, 2.675448519614438e-02, -4.943011253984911e-01, 0.0,
                3.761358714147070e-05, -1.027762112958557e-03, 1.780445954821163e-02, 0.0,
                -1.349905611451490e-06, 5.376164545080801e-08, 0.0, 0.0, -6.070876344492500e-05, 0.0, 0.0,
                3.390390010767800e-09]
ALFANO1_STATE2 = [153.447264, 41874.156370, 0.005, 3.066864761, -0.011363615, -0.000000001]
ALFANO1_COV2 = [1.989074842319444e+01, -3.524310089952797e+02, 6.496894829253188e+03, -9.767348673026151e-21,
                6.463165376425425e-19, 1.204674647143796e+00, 2.675573872452930e-02, -4.943115446971844e-01,
                -1.054655281005110e-22, 3.761433292802947e-05, -1.027907518900499e-03, 1.780719276302711e-02,
                2.016252743098005e-24, -1.350111723313400e-06, 5.377343757879955e-08, -6.046657966019955e-23,
                6.318580118652501e-22, -6.071534561359923e-05, -8.386681333817634e-27, 2.258381275085438e-27,
                3.392080345234430e-09]


# Alfano (2009) cases 3, 5 and 9, same source and layout (Orekit AlfanoTestCase03/05/09.cdm), with CARA's
# Pc2D_Foster_UnitTest.m expectations and HBRs; tolerances are Orekit's (Patera2005Test, absolute).
ALFANO_MORE = {
    3: dict(hbr_km=0.015, pc=1.00351176e-01, tol=1e-6,
            s1=[153.951475, 41874.153995, 0.0, 3.066874624, -0.011411025, 0.0],
            c1=[1.988980036134080e+01, -3.524149328959712e+02, 6.496747606851101e+03, 0.0, 0.0,
                1.205040573210700e+00, 2.675455037347578e-02, -4.943009968102196e-01, 0.0, 3.761357786922621e-05,
                -1.027764375735160e-03, 1.780445321052222e-02, 0.0, -1.349905148486826e-06, 5.376162542216066e-08,
                0.0, 0.0, -6.070877212019800e-05, 0.0, 0.0, 3.390387928148000e-09],
            s2=[153.951973, 41874.156745, 0.002752, 3.066864623, -0.000044999, -0.011356027],
            c2=[1.746930568576392e+01, -3.305057350225742e+02, 6.542324010830698e+03, -1.279563505801461e-15,
                -4.449721840993348e-13, 1.177810899317289e+00, 2.507881924330615e-02, -4.976038196420700e-01,
                9.974659986866641e-18, 3.785240614668036e-05, -9.695136529139636e-04, 1.796957889915140e-02,
                -1.355252715606881e-18, -1.361997661124683e-06, 5.428809449629660e-08, 3.581547214968056e-20,
                -1.281190272281333e-18, -6.048651973745132e-05, 1.707409651969699e-23, 7.678669499503650e-25,
                3.445900417716840e-09]),
    5: dict(hbr_km=0.010, pc=4.44873860e-02, tol=1e-5,
            s1=[6878.090162, -17.948679, -17.948679, 0.028093777, 5.382890206, 5.382890206],
            c1=[4.777224467280041e-01, -8.519384381202406e+01, 1.580759742365653e+04, 0.0, 0.0,
                7.845896810140191e-02, 9.432813222757308e-02, -1.750870120555864e+01, 0.0, 1.939297091583019e-02,
                -3.643433824239872e-04, 6.375298931230095e-02, 0.0, -7.057578861504486e-05, 2.803017596929461e-07,
                0.0, 0.0, 3.152453852699136e-05, 1.383715925041853e-27, 0.0, 2.413741315968997e-08],
            s2=[6878.089162, -17.946679, -17.947678, 0.028393781, 5.383190216, 5.382590208],
            c2=[4.710007645702890e-01, -8.457040115987763e+01, 1.580846029392646e+04, -1.748541090564049e-13,
                -2.121117864684052e-11, 7.846753355604119e-02, 9.363759033821992e-02, -1.750965541585499e+01,
                2.788880237858393e-13, 1.939402614347738e-02, -3.618274346145564e-04, 6.375675376160730e-02,
                1.047772979489992e-15, -7.057995554665321e-05, 2.803131451042497e-07, 4.902481114920081e-18,
                -1.758213393670063e-15, 3.152186688277810e-05, 3.213768533409728e-18, -6.137680145143465e-21,
                2.413263174924726e-08]),
    9: dict(hbr_km=0.006, pc=2.90146291e-01, tol=2e-5,
            s1=[-5532.700658, 20132.673958, 40010.548546, -1.450945128, -0.311608572, -0.671301913],
            c1=[1.020887925177703e+01, -2.755254218552751e+01, 7.470382860526989e+01, 2.171526847227767e-14,
                1.976582959806184e-13, 4.300813243978246e-02, 3.454585351565422e-03, -9.341358849954538e-03,
                -8.890457814381136e-18, 1.178974057426668e-06, 2.929099136146801e-04, -8.006822730819601e-04,
                7.860465750519907e-19, 1.030375778861824e-07, 9.987298771713475e-09, -7.595767954502938e-18,
                1.188073822807299e-16, 5.433597591857386e-06, -7.756126936953013e-21, -5.078888961075590e-22,
                9.987041018149781e-09],
            s2=[-5532.694017, 20132.676507, 40010.553862, -1.450946508, -0.311607857, -0.671300532],
            c2=[1.020890130430932e+01, -2.755270298941628e+01, 7.470453231276690e+01, -1.325051179890124e-13,
                3.318135696761537e-13, 4.300744509946160e-02, 3.454597538726734e-03, -9.341427262782219e-03,
                -1.019150042136374e-17, 1.178980077586857e-06, 2.929096032877081e-04, -8.006847276800143e-04,
                -2.547875105340935e-18, 1.030377178208945e-07, 9.987301667985959e-09, -5.098545419407810e-17,
                5.894549925545959e-17, 5.432977582940272e-06, -9.165500316333998e-21, 3.106735284384318e-21,
                9.987043973973625e-09]),
}

def lower_to_full(values):
    c = np.zeros((6, 6))
    c[np.tril_indices(6)] = values
    return c + np.tril(c, -1).T


def omitron():
    return (np.r_[OMITRON_R1, OMITRON_V1], np.array(OMITRON_C1), np.r_[OMITRON_R2, OMITRON_V2], np.array(OMITRON_C2))


def test_cara_omitron_case():
    s1, c1, s2, c2 = omitron()
    res = collision_probability(s1, c1, s2, c2, 0.020, gm_km3s2=GM_EARTH)
    assert res.pc == pytest.approx(2.70601573490125e-05, rel=1e-4)
    assert res.method == "FOSTER-2D" and res.pc_method == "FOSTER-2D/USER"
    assert res.assumptions_ok


def test_cara_operational_cdm(reference_dir):
    from marsview.io.cdm import read_cdm

    msg = read_cdm(reference_dir / "ccsds_samples" /
                   "cdm_kvn_v1_operational_TERRA_vs_IRIDIUM33DEB_HBR15m_Pc2.117e-2.cdm")
    o1, o2 = msg.objects
    c1 = cdm_covariance_to_inertial_km2(o1.state, o1.covariance)
    c2 = cdm_covariance_to_inertial_km2(o2.state, o2.covariance)
    res = collision_probability(o1.state, c1, o2.state, c2, 0.015, covariance_source="CDM", gm_km3s2=GM_EARTH)
    assert res.pc == pytest.approx(2.1173811560368256e-02, rel=1e-6)   # CARA Pc2D
    assert res.miss_km == pytest.approx(0.108, abs=0.001)               # CDM MISS_DISTANCE 108 m
    assert res.relative_speed_kms == pytest.approx(11.073, abs=0.001)    # CDM RELATIVE_SPEED 11073 m/s
    assert res.usage.extended < 1e-3 and res.flags == ()


def test_alfano_case_1_value_and_slow_encounter_flag():
    s1, s2 = np.array(ALFANO1_STATE1), np.array(ALFANO1_STATE2)
    c1 = cdm_covariance_to_inertial_km2(s1, lower_to_full(ALFANO1_COV1))
    c2 = cdm_covariance_to_inertial_km2(s2, lower_to_full(ALFANO1_COV2))
    res = collision_probability(s1, c1, s2, c2, 0.015, covariance_source="CDM", gm_km3s2=GM_EARTH)
    assert res.pc == pytest.approx(0.146749549, abs=1e-6)
    # 1.4 cm/s relative speed in GEO: the density crosses the disk over hours, not seconds
    assert res.relative_speed_kms == pytest.approx(1.4142e-5, rel=1e-3)
    assert "EXTENDED-ENCOUNTER" in res.flags and not res.assumptions_ok
    assert "EXTENDED-ENCOUNTER" in res.pc_method


@pytest.mark.parametrize("case", sorted(ALFANO_MORE))
def test_alfano_cases_3_5_9_against_cara(case):
    d = ALFANO_MORE[case]
    s1, s2 = np.array(d["s1"]), np.array(d["s2"])
    c1 = cdm_covariance_to_inertial_km2(s1, lower_to_full(d["c1"]))
    c2 = cdm_covariance_to_inertial_km2(s2, lower_to_full(d["c2"]))
    res = collision_probability(s1, c1, s2, c2, d["hbr_km"], covariance_source="CDM", gm_km3s2=GM_EARTH)
    assert res.pc == pytest.approx(d["pc"], abs=d["tol"])


def test_rtn_covariance_input_equals_rotated_inertial():
    s1, c1, s2, c2 = omitron()
    m1 = rtn_to_inertial(s1, np.diag([0.04, 1.0, 0.01]))
    m2 = rtn_to_inertial(s2, np.diag([0.09, 4.0, 0.02]))
    a = collision_probability(s1, m1, s2, m2, 0.02, gm_km3s2=GM_EARTH)
    b = collision_probability(s1, np.diag([0.04, 1.0, 0.01]), s2, np.diag([0.09, 4.0, 0.02]), 0.02,
                              cov_frame="RTN", gm_km3s2=GM_EARTH)
    assert a.pc == pytest.approx(b.pc, rel=1e-12)
    # rotation check: the radial variance is along r
    rhat = s1[:3] / np.linalg.norm(s1[:3])
    assert rhat @ m1 @ rhat == pytest.approx(0.04)


def random_rotation(seed):
    return Rotation.random(random_state=seed).as_matrix()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.005, 0.05))
def test_invariant_to_swapping_and_rotating(seed, hbr_km):
    s1, c1, s2, c2 = omitron()
    base = collision_probability(s1, c1, s2, c2, hbr_km, gm_km3s2=GM_EARTH).pc
    swapped = collision_probability(s2, c2, s1, c1, hbr_km, gm_km3s2=GM_EARTH).pc
    assert swapped == pytest.approx(base, rel=1e-9)
    q = random_rotation(seed)
    rot = lambda s: np.r_[q @ s[:3], q @ s[3:]]  # noqa: E731
    turned = collision_probability(rot(s1), q @ c1 @ q.T, rot(s2), q @ c2 @ q.T, hbr_km, gm_km3s2=GM_EARTH).pc
    assert turned == pytest.approx(base, rel=1e-9)


def test_true_tca_shift_recovers_the_perpendicular_geometry():
    s1, c1, s2, c2 = omitron()
    # move both objects 0.2 s along their velocities: the relative state is no longer at TCA
    s1b, s2b = s1.copy(), s2.copy()
    s1b[:3] += 0.2 * s1[3:]
    s2b[:3] += 0.2 * s2[3:]
    e0 = encounter_plane(s1, s2, c1, c2, 0.02)
    e1 = encounter_plane(s1b, s2b, c1, c2, 0.02)
    assert e1.tca_shift_s == pytest.approx(e0.tca_shift_s - 0.2, abs=1e-9)
    assert e1.miss_km == pytest.approx(e0.miss_km, rel=1e-12)


def test_non_positive_definite_covariance_is_clipped_and_flagged():
    w = np.array([-1e-6, 0.5, 2.0])
    q = random_rotation(5)
    bad = q @ np.diag(w) @ q.T
    fixed, clipped, before = repair_covariance(bad, 1e-8)
    assert clipped and before[0] == pytest.approx(-1e-6)
    np.testing.assert_allclose(np.linalg.eigvalsh(fixed), [1e-8, 0.5, 2.0], rtol=1e-9, atol=1e-15)
    # a combined covariance that is singular in the encounter plane still gives a number, flagged
    s1 = np.array([3796.0, 0.0, 0.0, 0.0, 3.36, 0.0])
    s2 = np.array([3796.0, 0.05, 0.0, 0.0, 0.0, 3.36])
    cov = np.diag([0.0, 0.0, 0.0])     # no uncertainty at all except the clip floor
    res = collision_probability(s1, cov, s2, cov, 0.01)
    assert "NPD-REPAIRED" in res.flags and "NPD-COVARIANCE" in res.flags
    assert res.pc == 0.0              # 50 m miss, 10 m radius, sigma ~ 1 mm: no chance


def test_timing_model_covariance_and_screening_hook():
    # object 1 flies +y, object 2 flies +z, 100 m above it: RTN axes are known by hand
    s1 = np.array([3800.0, 0.0, 0.0, 0.0, 3.36, 0.0])
    s2 = np.array([3800.1, 0.0, 0.0, 0.0, 0.0, 3.36])
    m1 = AlongTrackModel(sigma0_km=0.5, growth_km_per_day=1.0, radial_sigma_km=0.05, cross_track_sigma_km=0.1)
    m2 = AlongTrackModel(sigma0_km=0.2, growth_km_per_day=0.5, radial_sigma_km=0.03, cross_track_sigma_km=0.2)
    t = 2 * 86400.0
    c1 = m1.inertial_covariance_km2(s1[None], t)[0]
    c2 = m2.inertial_covariance_km2(s2[None], t)[0]
    pc, method = screening_pc(s1, s2, c1, c2, 0.01)
    assert method == "FOSTER-2D/TIMING-MODEL"
    # by hand: plane spanned by x (radial for both, the miss) and (0,1,1)/sqrt2 (mixes T1, N1, T2, N2)
    st1, st2 = 0.5 + 2 * 1.0, 0.2 + 2 * 0.5
    var_diag = (st1**2 + 0.1**2 + 0.2**2 + st2**2) / 2
    var_radial = 0.05**2 + 0.03**2
    expected = float(pc_circle(0.1, 0.0, np.sqrt(var_radial), np.sqrt(var_diag), 0.01))
    assert pc == pytest.approx(expected, rel=1e-9)
    assert 1e-9 < pc < 1e-2


def test_usage_violation_indicators():
    s1, c1, s2, c2 = omitron()
    uv = usage_violation(s1, s2, c1, c2, 0.02, GM_EARTH)
    assert uv.flags == () and 0 < uv.extended < 0.02
    # same geometry at 1 m/s relative speed: the encounter lasts long -> flagged
    slow = s2.copy()
    slow[3:] = s1[3:] + (s2[3:] - s1[3:]) / np.linalg.norm(s2[3:] - s1[3:]) * 1e-3
    uv = usage_violation(s1, slow, c1, c2, 0.02, GM_EARTH)
    assert "EXTENDED-ENCOUNTER" in uv.flags


def test_methods_and_errors():
    s1, c1, s2, c2 = omitron()
    chan = collision_probability(s1, c1, s2, c2, 0.02, method="CHAN", gm_km3s2=GM_EARTH)
    exact = collision_probability(s1, c1, s2, c2, 0.02, gm_km3s2=GM_EARTH)
    assert chan.method == "CHAN" and chan.pc == pytest.approx(exact.pc, rel=0.05)
    mx = collision_probability(s1, c1, s2, c2, 0.02, method="MAX-PC", gm_km3s2=GM_EARTH)
    assert mx.pc >= exact.pc and mx.method == "MAX-PC"
    with pytest.raises(ValueError, match="unknown method"):
        collision_probability(s1, c1, s2, c2, 0.02, method="PATERA")
    with pytest.raises(ValueError, match="hard-body radius"):
        collision_probability(s1, c1, s2, c2, 0.0)
    with pytest.raises(ValueError, match="relative velocity is zero"):
        encounter_plane(s1, s1, c1, c2, 0.02)


def test_oem_covariance_at_an_epoch_and_between_epochs():
    from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment
    from marsview.core.twobody import propagate_twobody
    from marsview.core.uncertainty import ephemeris_covariance_km2 as covariance_at

    def ephemeris_covariance_km2(eph, state, tdb_s):  # the merged core.uncertainty function, matrix only
        given = covariance_at(eph, tdb_s, state)
        return None if given is None else given[0]

    s0 = np.array([3796.19, 0.0, 0.0, 0.0, 3.3588, 0.0])
    t = np.arange(0.0, 1201.0, 60.0)
    states = propagate_twobody(s0, 0.0, t)
    rtn = np.diag([0.01, 0.25, 0.04, 1e-8, 1e-8, 1e-8])       # km^2, km^2/s^2: 0.5 km along-track
    cov_epochs = np.array([0.0, 1200.0])
    mats = np.stack([rtn_to_inertial(states[0], rtn), rtn_to_inertial(states[-1], 4 * rtn)])
    eph = TabulatedEphemeris("orbiter", [TabulatedSegment(t, states, covariances=(cov_epochs, mats))])
    np.testing.assert_allclose(ephemeris_covariance_km2(eph, states[0], 0.0), mats[0])
    mid = ephemeris_covariance_km2(eph, states[10], 600.0)
    # halfway in time: RTN variances halfway between 1x and 4x, expressed along the orbit's axes at 600 s
    np.testing.assert_allclose(mid, rtn_to_inertial(states[10], 2.5 * rtn), atol=1e-12)
    assert ephemeris_covariance_km2(eph, states[-1], 1300.0) is None
    assert ephemeris_covariance_km2(TabulatedEphemeris("x", [TabulatedSegment(t, states)]), states[0], 0.0) is None
