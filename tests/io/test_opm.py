"""OPM KVN: the CCSDS samples, maneuvers as plain data, exact round trips, the builder."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core import time as mtime
from marsview.io.errors import ParseError
from marsview.io.opm import OpmKeplerian, OpmManeuver, build_opm, read_opm, write_opm

MARS_OPM = """CCSDS_OPM_VERS = 2.0
COMMENT Mars orbiter after TCM, two maneuvers planned
CREATION_DATE = 2024-04-01T00:00:00
ORIGINATOR = TEST
OBJECT_NAME = MRO
OBJECT_ID = 2005-029A
CENTER_NAME = MARS
REF_FRAME = EME2000
TIME_SYSTEM = UTC
EPOCH = 2024-04-01T12:00:00.000
X = 3700.0 [km]
Y = 0.0 [km]
Z = 100.0 [km]
X_DOT = 0.0 [km/s]
Y_DOT = 3.3 [km/s]
Z_DOT = 0.5 [km/s]
MASS = 1031.0 [kg]
DRAG_AREA = 37.5 [m**2]
DRAG_COEFF = 2.2
COMMENT first burn: along-track, impulsive
MAN_EPOCH_IGNITION = 2024-04-01T13:00:00.000
MAN_DURATION = 0.0 [s]
MAN_DELTA_MASS = -0.25 [kg]
MAN_REF_FRAME = RSW
MAN_DV_1 = 0.0 [km/s]
MAN_DV_2 = 0.0012 [km/s]
MAN_DV_3 = 0.0 [km/s]
MAN_EPOCH_IGNITION = 2024-04-01T14:00:00.000
MAN_DURATION = 30.0 [s]
MAN_DELTA_MASS = -0.5 [kg]
MAN_REF_FRAME = TNW
MAN_DV_1 = 0.001 [km/s]
MAN_DV_2 = 0.0002 [km/s]
MAN_DV_3 = -0.0003 [km/s]
"""


def test_keplerian_covariance_sample(reference_dir):
    msg = read_opm(reference_dir / "ccsds_samples" / "opm_kvn_v2_example_keplerian_covariance.opm")
    assert msg.object_name == "EUTELSAT W4" and msg.ref_frame == "TOD" and msg.version == "2.0"
    np.testing.assert_array_equal(msg.state, [6655.9942, -40218.5751, -82.9177, 3.11548208, 0.47042605, -0.00101495])
    assert msg.epoch_tdb_s == mtime.epoch_to_tdb_s("2006-06-03T00:00:00.000", "UTC")
    k = msg.keplerian
    assert (k.a_km, k.e, k.true_anomaly_deg, k.mean_anomaly_deg, k.gm_km3s2) == (41399.5123, 0.020842611, 41.922339, None,
                                                                                 398600.4415)
    assert msg.mass_kg == 1913.0 and msg.drag_area_m2 == 10.0 and msg.drag_coeff == 2.3
    assert msg.covariance_frame == "RTN"
    assert msg.covariance[5, 3] == msg.covariance[3, 5] == 1.869263192954590e-10  # CZ_DOT_X_DOT
    assert msg.covariance[1, 0] == 4.618927349220216e-04
    assert msg.user_defined == {"EARTH_MODEL": "WGS-84"}


def test_minimal_v3_sample(reference_dir):
    msg = read_opm(reference_dir / "ccsds_samples" / "opm_kvn_v3_example_minimal_ITRF.opm")
    assert msg.version == "3.0" and msg.keplerian is None and msg.covariance is None and msg.maneuvers == []
    assert msg.state[4] == 8.740420 and msg.spacecraft["SOLAR_RAD_AREA"] == 18.77


def test_maneuvers_become_plain_burn_data(tmp_path):
    path = tmp_path / "mro.opm"
    path.write_text(MARS_OPM)
    msg = read_opm(path)
    m1, m2 = msg.maneuvers
    assert m1.epoch_tdb_s == mtime.epoch_to_tdb_s("2024-04-01T13:00:00", "UTC") and m1.duration_s == 0.0
    np.testing.assert_allclose(m1.dv_mps, [0.0, 1.2, 0.0])
    frame, dv = m1.local_dv_mps()
    assert frame == "RTN" and dv[1] == pytest.approx(1.2)
    # TNW (T, N, W) = (1, 0.2, -0.3) m/s -> VNB (V, N=W, B=-N_tnw) = (1, -0.3, -0.2)
    frame, dv = m2.local_dv_mps()
    assert frame == "VNB"
    np.testing.assert_allclose(dv, [1.0, -0.3, -0.2])
    assert m2.delta_mass_kg == -0.5 and m2.duration_s == 30.0
    # the consumer's conversion works with core.maneuvers
    from marsview.core.maneuvers import ImpulsiveBurn, apply_impulse

    burn = ImpulsiveBurn(m1.epoch_tdb_s, m1.local_dv_mps()[1], m1.local_dv_mps()[0])
    dv_kms = apply_impulse(msg.state, burn)[3:] - msg.state[3:]
    assert np.linalg.norm(dv_kms) * 1000.0 == pytest.approx(1.2)
    assert np.dot(dv_kms, msg.state[3:]) > 0  # transverse: along the motion for this near-circular orbit


def test_round_trip_is_exact(reference_dir, tmp_path):
    for src in [reference_dir / "ccsds_samples" / "opm_kvn_v2_example_keplerian_covariance.opm", tmp_path / "mro.opm"]:
        if src.name == "mro.opm":
            src.write_text(MARS_OPM)
        m1 = read_opm(src)
        write_opm(tmp_path / "out.opm", m1)
        m2 = read_opm(tmp_path / "out.opm")
        assert [(i.keyword, i.value, i.unit) for i in m1.items] == [(i.keyword, i.value, i.unit) for i in m2.items]
        np.testing.assert_array_equal(m1.state, m2.state)
        assert m1.maneuvers == [type(m)(**{**m.__dict__, "line": n.line}) for m, n in zip(m2.maneuvers, m1.maneuvers)]


def test_builder_writes_what_it_was_given(tmp_path):
    man = OpmManeuver("2024-04-01T13:00:00.000", 0.0, 0.0, -0.1, "RTN", (0.0, 0.0015, 0.0))
    cov = np.diag([1e-2, 2e-2, 3e-2, 1e-8, 2e-8, 3e-8])
    msg = build_opm("MAVEN", "2013-063A", "2024-04-01T12:00:00.000", [4000.0, 1.0, 2.0, 0.1, 3.0, 0.2],
                    keplerian=OpmKeplerian(4500.0, 0.3, 75.0, 10.0, 20.0, 30.0, None, 42828.37),
                    spacecraft={"MASS": 2454.0}, covariance=cov, covariance_frame="EME2000", maneuvers=[man],
                    comments=["built by a test"])
    write_opm(tmp_path / "b.opm", msg)
    back = read_opm(tmp_path / "b.opm")
    np.testing.assert_array_equal(back.covariance, cov)
    assert back.keplerian.true_anomaly_deg == 30.0 and back.maneuvers[0].dv_kms == (0.0, 0.0015, 0.0)
    assert back.comments() == ["built by a test"] and back.center_name == "MARS"


def test_maneuver_needs_mass(tmp_path):
    path = tmp_path / "nomass.opm"
    path.write_text(MARS_OPM.replace("MASS = 1031.0 [kg]\n", ""))
    with pytest.raises(ParseError) as err:
        read_opm(path)
    assert err.value.keyword == "MASS" and err.value.line == 20  # the first MAN_EPOCH_IGNITION
