"""STK ephemeris files (.e) as a partner writes them: read into an OEM, then described, converted and screened
exactly like the same table delivered as an OEM; what marsview cannot use is refused at its file:line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from marsview.cli import main
from marsview.core.constants import GM_MARS_KM3S2
from marsview.core.time import format_epoch, tdb_s_to_tai_s, to_tdb_s, utc_to_tdb_s
from marsview.core.twobody import TwoBodyEphemeris
from marsview.io.errors import ParseError
from marsview.io.formats import detect_format, file_dialog_filter, file_extensions
from marsview.io.oem import write_oem
from marsview.io.oem_convert import ephemeris_to_oem
from marsview.io.stk_ephemeris import read_stk_ephemeris

T0 = utc_to_tdb_s("2025-03-01T00:00:00")
SPAN = (T0, T0 + 8 * 3600.0)   # the tables written
ORBIT_SPAN = (T0 - 3600.0, T0 + 9 * 3600.0)


def _circular(name, radius_km, inc_deg, node_epoch):
    v = math.sqrt(GM_MARS_KM3S2 / radius_km)
    i = math.radians(inc_deg)
    return TwoBodyEphemeris(name, np.array([radius_km, 0.0, 0.0, 0.0, v * math.cos(i), v * math.sin(i)]),
                            node_epoch, *ORBIT_SPAN)


def stk_epochs_tdb_s(offsets_s):
    """STK's times are elapsed SI (TAI) seconds from the scenario epoch (T0 here), not TDB seconds."""
    return to_tdb_s(tdb_s_to_tai_s(T0) + np.asarray(offsets_s), "TAI")


def write_stk(path, eph, t0_utc="1 Mar 2025 00:00:00.000", offsets_s=None, unit="Meters", frame="J2000",
              body="Mars", data="EphemerisTimePosVel", extra=(), points=None, end=True):
    """An STK v11 .e file of EPH sampled at OFFSETS_S after the scenario epoch (UTC), as STK writes it."""
    offsets_s = np.arange(0.0, 8 * 3600.0 + 1, 60.0) if offsets_s is None else np.asarray(offsets_s)
    states = eph.state(stk_epochs_tdb_s(offsets_s)) * (1000.0 if unit == "Meters" else 1.0)
    lines = ["stk.v.11.0", "", "# WrittenBy    a partner's STK", "BEGIN Ephemeris",
             f"    NumberOfEphemerisPoints {len(offsets_s) if points is None else points}",
             f"    ScenarioEpoch           {t0_utc}", "    InterpolationMethod     Lagrange",
             "    InterpolationSamplesM1  7", f"    CentralBody             {body}",
             f"    CoordinateSystem        {frame}", f"    DistanceUnit            {unit}", *extra, "",
             f"    {data}", ""]
    lines += [f"{t:.6f} " + " ".join(f"{v:.15e}" for v in s) for t, s in zip(offsets_s, states)]
    lines += ["", "END Ephemeris"] if end else []
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_stk_table_reads_as_the_states_and_epochs_written(tmp_path):
    eph = _circular("X", 3790.0, 30.0, T0)
    msg = read_stk_ephemeris(write_stk(tmp_path / "MRO.e", eph))
    (seg,) = msg.segments
    assert seg.object_name == "MRO" and seg.center_name == "MARS" and seg.ref_frame == "EME2000"
    assert seg.time_system == "TAI" and seg.interpolation == "LAGRANGE" and seg.interpolation_degree == 7
    t = stk_epochs_tdb_s(np.arange(0.0, 8 * 3600.0 + 1, 60.0))
    np.testing.assert_allclose(seg.epochs_tdb_s, t, rtol=0, atol=2e-7)
    assert np.ptp(seg.epochs_tdb_s - (T0 + np.arange(0.0, 8 * 3600.0 + 1, 60.0))) > 1e-6   # TDB != TAI rate
    np.testing.assert_allclose(seg.states, eph.state(t), rtol=1e-14, atol=1e-12)   # metres -> km
    assert detect_format(tmp_path / "MRO.e") == ("OEM", "STK")
    assert ".e" in file_extensions() and "*.e" in file_dialog_filter()


def test_elapsed_seconds_run_through_a_leap_second(tmp_path):
    """STK's times are SI seconds from the UTC scenario epoch: 120 s after 2016-12-31T23:59:00 UTC is
    2017-01-01T00:00:59 UTC (the leap second 23:59:60 lies between)."""
    path = tmp_path / "LEAP.e"
    lines = ["stk.v.10.0", "BEGIN Ephemeris", "ScenarioEpoch 31 Dec 2016 23:59:00.000", "CentralBody Mars",
             "CoordinateSystem ICRF", "DistanceUnit Kilometers", "EphemerisTimePosVel"]
    lines += [f"{t} 3790 {t} 0 0 3.36 0" for t in (0.0, 60.0, 120.0)] + ["END Ephemeris"]
    path.write_text("\n".join(lines) + "\n")
    (seg,) = read_stk_ephemeris(path).segments
    assert format_epoch(seg.epochs_tdb_s[-1], "UTC", 3) == "2017-01-01T00:00:59.000"
    assert seg.ref_frame == "ICRF"
    np.testing.assert_array_equal(seg.states[:, 0], 3790.0)   # kilometres kept


def test_a_repeated_time_splits_segments(tmp_path):
    eph = _circular("X", 3790.0, 30.0, T0)
    offsets = np.concatenate([np.arange(0.0, 3601, 60.0), np.arange(3600.0, 7201, 60.0)])
    path = write_stk(tmp_path / "TGO.e", eph, offsets_s=offsets,
                     extra=("    BEGIN SegmentBoundaryTimes", "        0.0", "        3600.0", "        7200.0",
                            "    END SegmentBoundaryTimes"))
    segs = read_stk_ephemeris(path).segments
    assert [len(s.epochs_tdb_s) for s in segs] == [61, 61]
    assert segs[0].epochs_tdb_s[-1] == segs[1].epochs_tdb_s[0]


def test_screening_an_stk_delivery_equals_screening_the_same_table_as_oem(tmp_path, capsys):
    """A folder where BRAVO is delivered as STK .e gives the events of the all-OEM folder (the same orbit
    sampled every 60 s of TAI instead of TDB: the misses agree to the interpolation error, < 1 mm)."""
    alpha, bravo = _circular("ALPHA", 3790.0, 0.0, T0 + 600.0), _circular("BRAVO", 3790.0, 60.0, T0 + 620.0)
    reports = []
    for kind in ("oem", "stk"):
        folder = tmp_path / kind
        folder.mkdir()
        write_oem(folder / "alpha.oem", ephemeris_to_oem([alpha], *SPAN, step_s=60.0))
        if kind == "oem":
            write_oem(folder / "BRAVO.oem", ephemeris_to_oem([bravo], *SPAN, step_s=60.0))
        else:
            write_stk(folder / "BRAVO.e", bravo, unit="Kilometers")
        assert main(["screen", "--threshold-km", "100", "--format", "json", str(folder)]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    oem, stk = reports
    assert sorted(stk["objects"]) == ["ALPHA", "BRAVO"] and len(stk["events"]) == len(oem["events"]) > 0
    for a, b in zip(oem["events"], stk["events"]):
        assert a["tca_utc"] == b["tca_utc"]
        assert b["miss_km"] == pytest.approx(a["miss_km"], abs=1e-6)


def test_info_and_convert_take_an_stk_file(tmp_path, capsys):
    path = write_stk(tmp_path / "EMM.e", _circular("X", 9000.0, 25.0, T0))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OEM (STK)" in out and "EMM (EMM): 1 segment(s), 481 states" in out and "time system TAI" in out
    assert main(["convert", str(path), str(tmp_path / "EMM.oem")]) == 0
    capsys.readouterr()
    assert detect_format(tmp_path / "EMM.oem") == ("OEM", "KVN")


@pytest.mark.parametrize("change, line, keyword", [
    (dict(body="Earth"), 9, "CentralBody"),
    (dict(frame="Fixed"), None, None),              # accepted: IAU_MARS, with a warning
    (dict(frame="TrueOfDate"), 10, "CoordinateSystem"),
    (dict(unit="Feet"), 11, "DistanceUnit"),
    (dict(data="EphemerisTimePos"), 13, "EphemerisTimePos"),
    (dict(points=999), 5, "NumberOfEphemerisPoints"),
    (dict(end=False), None, "END"),
    (dict(t0_utc="2025-03-01T00:00:00"), 6, "ScenarioEpoch"),
])
def test_what_marsview_cannot_use_is_refused_at_its_line(tmp_path, change, line, keyword):
    path = write_stk(tmp_path / "BAD.e", _circular("X", 3790.0, 30.0, T0), **change)
    if keyword is None:
        msg = read_stk_ephemeris(path)
        assert msg.segments[0].ref_frame == "IAU_MARS" and "IAU_MARS" in msg.warnings[0]
        return
    with pytest.raises(ParseError) as err:
        read_stk_ephemeris(path)
    assert err.value.keyword == keyword and str(path) in str(err.value)
    if line is not None:
        assert err.value.line == line
