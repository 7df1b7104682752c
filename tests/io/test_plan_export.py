"""Exported plans re-import to the planned orbit: OEM (burn = segment boundary + COMMENT; also read by the
independent `oem` package), SPK type 13 through SPICE, and the OPM maneuver block."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core.dynamics import ForceModel
from marsview.core.orbits import state_from_peri_apo
from marsview.core.planning import planned_ephemeris
from marsview.core.twobody import TwoBodyEphemeris
from marsview.io.oem import read_oem
from marsview.io.oem_convert import oem_to_ephemerides
from marsview.io.opm import read_opm
from marsview.io.plan_export import write_maneuver_opm, write_planned_oem, write_planned_spk
from marsview.model.plan import PlannedBurn, propellant_kg

T0 = 8.0e8
SPAN = 0.25 * 86400.0
TB = T0 + 3600.0 + 0.25  # not on the 60 s sampling grid


@pytest.fixture(scope="module")
def planned():
    base = TwoBodyEphemeris("MAVEN", state_from_peri_apo(180.0, 6200.0, 75.0, 30.0, 120.0, 200.0), T0, T0,
                            T0 + SPAN)
    burn = PlannedBurn(TB, (0.05, 0.4, -0.1), "RTN")
    eph = planned_ephemeris(base, [burn.to_core()], ForceModel.two_body())
    return base, burn, eph


def test_oem_export_reimports_to_the_planned_orbit(tmp_path, planned):
    base, burn, eph = planned
    path = tmp_path / "maven_planned.oem"
    write_planned_oem(path, eph, T0, T0 + SPAN, burns=[burn], force_model="two-body")
    msg = read_oem(path)
    assert len(msg.segments) == 2
    first, second = msg.segments
    assert second.epochs_tdb_s[0] == pytest.approx(TB, abs=2e-6)
    assert TB - first.epochs_tdb_s[-1] == pytest.approx(1e-6, abs=2e-7)
    assert any("MANEUVER impulsive dv RTN" in c and "0.400000" in c for c in second.comments)
    (back,) = oem_to_ephemerides(msg)
    t = np.concatenate([np.linspace(T0 + 1.0, TB - 1.0, 300), [TB, TB + 0.5], np.linspace(TB + 1.0, T0 + SPAN - 1.0, 300)])
    err_km = np.linalg.norm(back.state(t)[:, :3] - eph.state(t)[:, :3], axis=1)
    assert err_km.max() < 1e-3  # 1 m, interpolating 60 s samples
    # the velocity jump is preserved (after the burn the planned orbit, not the original)
    jump = back.state([TB])[0, 3:] - base.state(TB)[0, 3:]
    assert np.linalg.norm(jump) * 1000.0 == pytest.approx(np.linalg.norm(burn.dv_mps), rel=1e-6)


def test_oem_export_is_read_by_an_independent_reader(tmp_path, planned):
    oem = pytest.importorskip("oem")
    _, burn, eph = planned
    path = tmp_path / "planned.oem"
    write_planned_oem(path, eph, T0, T0 + SPAN, burns=[burn])
    other = oem.OrbitEphemerisMessage.open(str(path))
    segments = list(other)
    assert len(segments) == 2
    states = [s for seg in segments for s in seg]
    assert len(states) == sum(len(s.epochs_tdb_s) for s in read_oem(path).segments)


def test_spk_export_matches_through_spice(tmp_path, planned):
    import spiceypy as sp

    _, burn, eph = planned
    path = tmp_path / "planned.bsp"
    errors = write_planned_spk(path, eph, T0, T0 + SPAN, -202, burns=[burn])
    assert errors[-202] < 1e-6
    from marsview.io.spk import spice_session

    with spice_session(str(path)):
        ids = sp.spkobj(str(path))
        assert list(ids) == [-202]
        t = np.linspace(T0 + 10, T0 + SPAN - 10, 50)
        got = np.array([sp.spkezr("-202", float(x), "J2000", "NONE", "499")[0] for x in t])
        cover = sp.spkcov(str(path), -202)
        intervals = [sp.wnfetd(cover, i) for i in range(sp.wncard(cover))]
    assert np.abs(got[:, :3] - eph.state(t)[:, :3]).max() < 1e-5
    assert intervals[0][0] == pytest.approx(T0) and intervals[-1][1] == pytest.approx(T0 + SPAN)


def test_opm_maneuver_block(tmp_path, planned):
    base, burn, eph = planned
    path = tmp_path / "maneuver.opm"
    write_maneuver_opm(path, "MAVEN", eph, [burn], mass_kg=2000.0, isp_s=220.0)
    msg = read_opm(path)
    assert msg.epoch_tdb_s == pytest.approx(TB, abs=1e-6)
    assert np.allclose(msg.state, base.state(TB)[0], rtol=0, atol=1e-9)  # pre-burn state
    (man,) = msg.maneuvers
    assert man.epoch_tdb_s == pytest.approx(TB, abs=1e-6)
    frame, dv = man.local_dv_mps()
    assert frame == "RTN" and np.allclose(dv, burn.dv_mps, atol=1e-9)
    assert man.delta_mass_kg == pytest.approx(-propellant_kg(np.linalg.norm(burn.dv_mps), 2000.0, 220.0),
                                              rel=1e-6)
    vnb = PlannedBurn(TB, (0.4, 0.1, -0.05), "VNB")
    write_maneuver_opm(path, "MAVEN", eph, [vnb], mass_kg=2000.0)
    frame, dv = read_opm(path).maneuvers[0].local_dv_mps()
    assert frame == "VNB" and np.allclose(dv, vnb.dv_mps, atol=1e-9)
