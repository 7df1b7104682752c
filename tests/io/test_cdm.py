"""CDM 1.0 KVN: the real operational CDM and the all-sections example, HBR comments, round trip, builder."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core import time as mtime
from marsview.io.cdm import build_cdm, hbr_m_from_comment, read_cdm, write_cdm

CARA = "cdm_kvn_v1_operational_TERRA_vs_IRIDIUM33DEB_HBR15m_Pc2.117e-2.cdm"
ALL = "cdm_kvn_v1_example_all_sections.cdm"


def test_operational_cara_cdm(reference_dir):
    msg = read_cdm(reference_dir / "ccsds_samples" / CARA)
    assert msg.message_id.startswith("000025994_conj_")  # lower case kept as written
    assert msg.tca_tdb_s == mtime.epoch_to_tdb_s("2021-03-24T15:10:47.417", "UTC")
    assert msg.miss_distance_m == 108.0 and msg.relative_speed_mps == 11073.0
    np.testing.assert_array_equal(msg.relative_position_rtn_m, [-5.5, 73.7, -78.2])
    assert msg.collision_probability == 2.117e-02 and msg.collision_probability_method == "FOSTER-1992"
    assert hbr_m_from_comment(msg) == 15.0
    terra, deb = msg.objects
    assert terra.name == "TERRA" and deb.name == "IRIDIUM 33 DEB" and terra.ref_frame == "EME2000"
    assert terra.state[0] == 3.146975532131119380e+01 and deb.state[5] == 1.090956829923579896e+00
    cov = deb.covariance_rtn
    assert cov.shape == (6, 6) and cov[1, 0] == cov[0, 1] == 1.106746194512232933e+03
    assert cov[5, 4] == 6.462195067915000018e-04 * 0 + 1.580010547686999992e-04  # CNDOT_TDOT
    assert any("DCP Density" in c for c in terra.comments)
    # the relative position in the CDM matches the states: |r2 - r1| = miss distance (to the 0.5 m rounding)
    miss_m = np.linalg.norm(deb.state[:3] - terra.state[:3]) * 1000.0
    assert miss_m == pytest.approx(108.0, abs=0.5)


def test_all_sections_example_with_drag_and_srp_rows(reference_dir):
    msg = read_cdm(reference_dir / "ccsds_samples" / ALL)
    a, b = msg.objects
    assert a.covariance.shape == (8, 8)
    assert a.covariance[6, 6] == 3.483e-06 and a.covariance[7, 6] == a.covariance[6, 7] == 2.210e-04
    assert a.covariance[7, 0] == -1.492e+02 and a.number("MASS") == 251.6 and b.number("MASS") is None
    assert msg.relative["SCREEN_VOLUME_SHAPE"] == "ELLIPSOID" and hbr_m_from_comment(msg) is None
    assert a.values["OPERATOR_EMAIL"] == "JOHN.DOE@SOMEWHERE.NET"


@pytest.mark.parametrize("name", [CARA, ALL])
def test_round_trip_is_exact(reference_dir, tmp_path, name):
    m1 = read_cdm(reference_dir / "ccsds_samples" / name)
    write_cdm(tmp_path / "out.cdm", m1)
    m2 = read_cdm(tmp_path / "out.cdm")
    assert [(i.keyword, i.value, i.unit) for i in m1.items] == [(i.keyword, i.value, i.unit) for i in m2.items]
    for a, b in zip(m1.objects, m2.objects):
        np.testing.assert_array_equal(a.covariance, b.covariance)
        np.testing.assert_array_equal(a.state, b.state)


@pytest.mark.parametrize("text, expected", [("HBR = 15 [m]", 15.0), ("hbr=0.02 [km]", 20.0), ("HBR: 7.5 m", 7.5),
                                            ("Apogee Altitude = 714 [km]", None), ("COMBINED HBR = 3e1", 30.0)])
def test_hbr_from_comment(text, expected):
    assert hbr_m_from_comment([text]) == expected


def test_builder_for_a_mars_close_approach(tmp_path):
    def obj(name, state):
        return {"OBJECT_DESIGNATOR": name[:3], "CATALOG_NAME": "MARSVIEW", "OBJECT_NAME": name,
                "INTERNATIONAL_DESIGNATOR": "UNKNOWN", "EPHEMERIS_NAME": f"{name}.oem", "COVARIANCE_METHOD": "DEFAULT",
                "MANEUVERABLE": "YES", "ORBIT_CENTER": "MARS", "REF_FRAME": "EME2000", "state": state,
                "covariance_rtn": np.diag([1e4, 2.5e5, 4e4, 1e-2, 1e-2, 1e-2]), "MASS": 1000.0}

    msg = build_cdm(tca_text="2024-04-03T05:06:07.125", miss_distance_m=812.5, message_id="MV-1",
                    objects=[obj("MRO", [3700, 0, 0, 0, 3.4, 0]), obj("ODY", [3700.5, 0.6, 0.1, 0, -3.4, 0.1])],
                    relative={"RELATIVE_SPEED": 6800.0, "COLLISION_PROBABILITY": 1.5e-6,
                              "COLLISION_PROBABILITY_METHOD": "FOSTER-1992"},
                    comments=["HBR = 9.5 [m]"])
    write_cdm(tmp_path / "mv.cdm", msg)
    text = (tmp_path / "mv.cdm").read_text()
    assert "MISS_DISTANCE" in text and "[m**2]" in text and "ORBIT_CENTER" in text
    back = read_cdm(tmp_path / "mv.cdm")
    assert back.miss_distance_m == 812.5 and hbr_m_from_comment(back) == 9.5
    assert back.objects[1].state[0] == 3700.5 and back.objects[0].covariance_rtn[1, 1] == 2.5e5
    assert back.collision_probability == 1.5e-6
