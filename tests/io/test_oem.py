"""OEM KVN: reading real samples, exact round trips, streaming across chunks, the independent reader check."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core import time as mtime
from marsview.io import kvn, oem
from marsview.io.errors import ParseError
from marsview.io.frames_io import barycentre_offset_bound_m
from marsview.io.oem import read_oem, write_oem

SAMPLES = "ccsds_samples"


def _mars_oem(path, *, time_system="UTC", doy=False, accel=False, n=30, segments=2, version="2.0"):
    """A small hand-written Mars OEM with comments in every legal place and odd spacing."""
    gm, a = 42828.37, 3800.0
    w = np.sqrt(gm / a**3)
    lines = [f"CCSDS_OEM_VERS = {version}", "COMMENT header comment, lower case kept", "CREATION_DATE = 2024-04-01T00:00:00",
             "ORIGINATOR = TEST  "]
    t0 = mtime.epoch_to_tdb_s("2024-04-01T00:00:00", time_system)
    for k in range(segments):
        ts = t0 + k * n * 60.0 + np.arange(n) * 60.0
        texts = [mtime.format_epoch(t, time_system, 3, doy) for t in ts]
        lines += ["", "META_START", "COMMENT arc %d" % k, "OBJECT_NAME = TESTSAT", "OBJECT_ID = 2024-001A",
                  "CENTER_NAME = MARS BARYCENTER", "REF_FRAME = EME2000", f"TIME_SYSTEM = {time_system}",
                  f"START_TIME = {texts[0]}", f"USEABLE_START_TIME = {texts[1]}", f"USEABLE_STOP_TIME = {texts[-2]}",
                  f"STOP_TIME = {texts[-1]}", "INTERPOLATION = LAGRANGE", "INTERPOLATION_DEGREE = 5", "META_STOP",
                  "COMMENT data comment"]
        for t, e in zip(ts, texts):
            th = w * (t - t0)
            row = [a * np.cos(th), a * np.sin(th), 0.1 * k, -a * w * np.sin(th), a * w * np.cos(th), 0.0]
            if accel:
                row += [-w * w * row[0], -w * w * row[1], 0.0]
            lines.append(e + "   " + "  ".join(f"{x:.9f}" for x in row) + "  ")
        if k == 0:
            lines += ["COVARIANCE_START", "COMMENT cov comment", f"EPOCH = {texts[0]}", "COV_REF_FRAME = EME2000",
                      "1.0e-2", "1.0e-4 2.0e-2", "0 0 3.0e-2", "1e-6 0 0 1e-8", "0 1e-6 0 0 1e-8",
                      "0 0 1e-6 0 0 1e-8", "COVARIANCE_STOP"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _assert_same(m1, m2):
    assert m1.header == m2.header and m1.comments == m2.comments
    assert len(m1.segments) == len(m2.segments)
    for a, b in zip(m1.segments, m2.segments):
        assert a.metadata == b.metadata
        assert a.comments == b.comments and a.data_comments == b.data_comments
        assert a.epochs.format() == b.epochs.format()
        np.testing.assert_array_equal(a.epochs_tdb_s, b.epochs_tdb_s)
        np.testing.assert_array_equal(a.states, b.states)
        if a.accelerations is None:
            assert b.accelerations is None
        else:
            np.testing.assert_array_equal(a.accelerations, b.accelerations)
        assert len(a.covariances) == len(b.covariances)
        for c, d in zip(a.covariances, b.covariances):
            assert c.epoch_text == d.epoch_text and c.frame == d.frame
            np.testing.assert_array_equal(c.matrix, d.matrix)


def test_mgs_sample_values(reference_dir):
    msg = read_oem(reference_dir / SAMPLES / "oem_kvn_v3_example_with_covariance.oem")
    assert msg.version == "3.0" and msg.header["MESSAGE_ID"] == "OEM 201113719185"
    (seg,) = msg.segments
    assert seg.object_name == "MARS GLOBAL SURVEYOR" and seg.center_name == "MARS BARYCENTER"
    assert seg.states.shape == (4, 6)
    np.testing.assert_array_equal(seg.states[0], [-2432.166, -63.042, 1742.754, 7.33702, -3.495867, -1.041945])
    assert seg.epochs_tdb_s[0] == mtime.epoch_to_tdb_s("2019-12-28T21:29:07.267", "UTC")
    assert seg.interpolation == "HERMITE" and seg.interpolation_degree == 7
    assert seg.useable_start_tdb_s == mtime.epoch_to_tdb_s("2019-12-28T22:08:02.5", "UTC")
    assert seg.data_comments == ["This block begins after trajectory correction maneuver TCM-3."]
    assert len(seg.covariances) == 2
    cov = seg.covariances[1].matrix
    assert cov[5, 1] == cov[1, 5] == -4.8783858e-07 and cov[0, 0] == 3.4424505e-04
    assert seg.covariances[0].frame == "EME2000"


def test_iss_sample_reads_and_round_trips(reference_dir, tmp_path):
    src = reference_dir / SAMPLES / "oem_kvn_v2_ISS_earth_GCRF_24h.oem"
    msg = read_oem(src)
    seg = msg.segments[0]
    assert seg.states.shape == (49, 6) and seg.center_name == "EARTH"
    assert seg.epochs.format()[0] == "2017-04-11T22:31:43.121856000000"
    out = tmp_path / "iss.oem"
    write_oem(out, msg)
    _assert_same(msg, read_oem(out))


@pytest.mark.parametrize("time_system, doy, accel", [("UTC", False, False), ("TDB", True, True), ("TAI", False, True),
                                                     ("TT", True, False)])
def test_round_trip_is_exact(tmp_path, time_system, doy, accel):
    src = _mars_oem(tmp_path / "in.oem", time_system=time_system, doy=doy, accel=accel)
    m1 = read_oem(src)
    assert len(m1.segments) == 2 and m1.segments[0].time_system == time_system
    assert m1.segments[0].epochs.day_of_year == doy
    write_oem(tmp_path / "out.oem", m1)
    m2 = read_oem(tmp_path / "out.oem")
    _assert_same(m1, m2)
    write_oem(tmp_path / "out2.oem", m2)
    assert (tmp_path / "out.oem").read_text() == (tmp_path / "out2.oem").read_text()
    # epochs agree with the core's scalar conversion of the same text
    for text, tdb in zip(m1.segments[1].epochs.format()[:5], m1.segments[1].epochs_tdb_s[:5]):
        assert tdb == pytest.approx(mtime.epoch_to_tdb_s(text, time_system), abs=1e-9)


def test_streaming_chunks_give_the_same_result(tmp_path, monkeypatch):
    src = _mars_oem(tmp_path / "in.oem", n=40)
    whole = read_oem(src)
    monkeypatch.setattr(oem, "CHUNK_LINES", 7)
    chunked = read_oem(src)
    _assert_same(whole, chunked)
    np.testing.assert_array_equal(whole.segments[0].data_lines, chunked.segments[0].data_lines)


def test_non_increasing_epoch_across_a_chunk_boundary_names_its_line(tmp_path, monkeypatch):
    src = _mars_oem(tmp_path / "in.oem", n=20, segments=1)
    lines = src.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("2024-04-01T00:00"))
    # line first+7 is the first of the second chunk: give it the epoch of the line before
    lines[first + 7] = lines[first + 6].split()[0] + " " + " ".join(lines[first + 7].split()[1:])
    src.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(oem, "CHUNK_LINES", 7)
    with pytest.raises(ParseError) as err:
        read_oem(src)
    assert err.value.line == first + 8 and err.value.keyword == "epoch"


def test_independent_reader_accepts_what_marsview_writes(tmp_path):
    """The PyPI `oem` package (an independent CCSDS OEM implementation) reads marsview's file to the same
    states and epochs; astropy (which it uses) gives the same TDB epochs."""
    from oem import OrbitEphemerisMessage

    src = _mars_oem(tmp_path / "in.oem", segments=2)
    msg = read_oem(src)
    for seg in msg.segments:  # that reader refuses COV_REF_FRAME in 2.0 covariance blocks only when absent
        seg.covariances = []
        seg.covariance_comments = []
    out = tmp_path / "marsview.oem"
    write_oem(out, msg)
    other = OrbitEphemerisMessage.open(str(out))
    theirs = [seg for seg in other.segments]
    assert len(theirs) == 2
    for ours, seg in zip(msg.segments, theirs):
        states = list(seg.states)
        assert len(states) == len(ours.states)
        pos = np.array([s.position for s in states])
        vel = np.array([s.velocity for s in states])
        np.testing.assert_array_equal(np.hstack([pos, vel]), ours.states)
        tdb = np.array([(s.epoch.tdb - mtime_j2000()).sec for s in states])
        np.testing.assert_allclose(tdb, ours.epochs_tdb_s, rtol=0, atol=5e-7)  # float64 seconds resolution


def mtime_j2000():
    from astropy.time import Time

    return Time("2000-01-01T12:00:00", scale="tdb")


def test_barycentre_offset_is_documented_bound():
    # Phobos 0.155 m + Deimos 0.053 m when aligned
    assert barycentre_offset_bound_m() == pytest.approx(0.208, abs=0.005)


# --- Mars-centred ephemerides ------------------------------------------------------------------------

def _twobody(name="ORBITER", days=0.5):
    from marsview.core.twobody import TwoBodyEphemeris

    t0 = mtime.epoch_to_tdb_s("2024-04-01T00:00:00", "UTC")
    state0 = np.array([3700.0, 0.0, 500.0, 0.0, 3.3, 0.6])
    return TwoBodyEphemeris(name, state0, t0, t0, t0 + days * 86400.0)


def test_ephemeris_to_oem_and_back_reproduces_the_orbit(tmp_path):
    from marsview.io.oem_convert import ephemeris_to_oem, oem_to_ephemerides

    eph = _twobody()
    t0, t1 = eph.coverage
    burn = t0 + 3 * 3600.0 + 7.25
    msg = ephemeris_to_oem([eph], None, None, 60.0, boundaries=[burn], comments=["made by a test"],
                           object_ids={"ORBITER": "2024-999Z"})
    assert len(msg.segments) == 2 and msg.segments[0].object_id == "2024-999Z"
    # the first piece stops a microsecond or two (the last digit written) before the boundary, the next
    # starts on or just after it: neither side samples the other side of a discontinuity
    assert burn - 2.2e-6 <= msg.segments[0].epochs_tdb_s[-1] <= burn - 0.8e-6
    assert burn - 1e-7 <= msg.segments[1].epochs_tdb_s[0] <= burn + 1.2e-6
    out = tmp_path / "orbiter.oem"
    write_oem(out, msg)
    back = read_oem(out)
    (tab,) = oem_to_ephemerides(back)
    assert tab.name == "ORBITER" and tab.coverage[0] == pytest.approx(t0, abs=1e-6)
    # written epochs are exact, so the written states are the orbit's states at the written epochs
    seg = back.segments[1]
    np.testing.assert_allclose(seg.states, eph.state(seg.epochs_tdb_s), rtol=0, atol=1e-9)
    # between samples, degree-7 Lagrange on a 60 s grid reproduces a ~2 h orbit to well below a metre
    mid = np.linspace(t0 + 100.0, t1 - 100.0, 500)
    err_km = np.linalg.norm(tab.state(mid)[:, :3] - eph.state(mid)[:, :3], axis=1)
    assert err_km.max() < 1e-5


def test_mci_frame_is_converted_to_eme2000(tmp_path):
    from marsview.core.frames import transform_states
    from marsview.io.oem_convert import oem_to_ephemerides

    src = _mars_oem(tmp_path / "mci.oem", segments=1)
    src.write_text(src.read_text().replace("REF_FRAME = EME2000", "REF_FRAME = MCI"))
    msg = read_oem(src)
    (tab,) = oem_to_ephemerides(msg)
    seg = msg.segments[0]
    expected = transform_states(seg.states, seg.epochs_tdb_s, "MCI", "EME2000")
    t = seg.epochs_tdb_s[1:-1]
    np.testing.assert_allclose(tab.state(t), expected[1:-1], rtol=0, atol=1e-9)
    cov = tab.segments[0].covariances
    assert cov is not None and cov[1].shape == (1, 6, 6)
    # a rotation keeps the trace
    assert np.trace(cov[1][0]) == pytest.approx(np.trace(seg.covariances[0].matrix), rel=1e-12)


def test_earth_centred_oem_parses_but_is_refused_as_mars_ephemeris(reference_dir):
    from marsview.io.oem_convert import oem_to_ephemerides

    path = reference_dir / SAMPLES / "oem_kvn_v2_ISS_earth_GCRF_24h.oem"
    msg = read_oem(path)
    with pytest.raises(ParseError) as err:
        oem_to_ephemerides(msg)
    assert err.value.line == 10 and err.value.keyword == "CENTER_NAME" and "EARTH" in err.value.message
    assert str(path) in str(err.value)


def test_mars_barycenter_sample_gives_an_ephemeris(reference_dir):
    from marsview.io.oem_convert import oem_to_ephemerides

    msg = read_oem(reference_dir / SAMPLES / "oem_kvn_v3_example_with_covariance.oem")
    (tab,) = oem_to_ephemerides(msg)
    # USEABLE_START/STOP honoured: coverage is the useable span, not START/STOP
    assert tab.coverage == (msg.segments[0].useable_start_tdb_s, msg.segments[0].useable_stop_tdb_s)
    assert tab.segments[0].interpolation == "HERMITE" and tab.segments[0].degree == 7


@pytest.mark.parametrize("text, expected", [
    ("2019-12-28T21:29:07.267", "2019-12-28T21:29:07.267"),
    ("2019-362T21:29:07.267Z", "2019-362T21:29:07.267"),
    ("2016-12-31T23:59:60.5", "2016-12-31T23:59:60.5"),  # a UTC leap second keeps its 60th second
    ("2020-02-29T00:00:00", "2020-02-29T00:00:00"),
])
def test_epoch_text_survives(text, expected):
    e = kvn.EpochArray.parse([text], "UTC")
    assert e.format() == [expected]
    assert e.to_tdb_s("UTC")[0] == pytest.approx(mtime.epoch_to_tdb_s(text.rstrip("Z"), "UTC"), abs=1e-9)


@pytest.mark.parametrize("text", ["2019-02-29T00:00:00", "2019-12-28T24:00:00", "2019-12-28T21:29:07.2Z7",
                                  "2019-366T00:00:00", "2019-12-28T21:29:07..2", "19-12-28T21:29:07"])
def test_bad_epoch_text_is_located(text):
    with pytest.raises(kvn.EpochError) as err:
        kvn.EpochArray.parse(["2019-12-28T21:29:07.267", text], "UTC").to_tdb_s("UTC")
    assert err.value.index == 1


@pytest.mark.parametrize("frame", ["RTN", "TNW"])
def test_local_frame_covariance_is_rotated_with_the_state(tmp_path, frame):
    from marsview.core.frames import rtn_matrix, vnb_matrix
    from marsview.io.oem_convert import oem_to_ephemerides

    src = _mars_oem(tmp_path / "cov.oem", segments=1)
    src.write_text(src.read_text().replace("COV_REF_FRAME = EME2000", f"COV_REF_FRAME = {frame}"))
    msg = read_oem(src)
    (tab,) = oem_to_ephemerides(msg)
    epochs, mats = tab.segments[0].covariances
    local = msg.segments[0].covariances[0].matrix
    state = msg.segments[0].states[:1]  # the covariance epoch is the first data epoch (EME2000 file)
    if frame == "RTN":
        rows = rtn_matrix(state)[0]
    else:
        v, n, b = vnb_matrix(state)[0]
        rows = np.array([v, -b, n])
    r = np.zeros((6, 6))
    r[:3, :3] = r[3:, 3:] = rows
    np.testing.assert_allclose(r @ mats[0] @ r.T, local, rtol=0, atol=1e-15)
    # the radial variance lands along the position vector
    rhat = state[0, :3] / np.linalg.norm(state[0, :3])
    if frame == "RTN":
        assert rhat @ mats[0][:3, :3] @ rhat == pytest.approx(local[0, 0], rel=1e-12)


def test_unknown_covariance_frame_is_refused(tmp_path):
    from marsview.io.oem_convert import oem_to_ephemerides

    src = _mars_oem(tmp_path / "cov.oem", segments=1)
    src.write_text(src.read_text().replace("COV_REF_FRAME = EME2000", "COV_REF_FRAME = ITRF"))
    msg = read_oem(src)
    with pytest.raises(ParseError) as err:
        oem_to_ephemerides(msg)
    assert err.value.keyword == "COV_REF_FRAME"
    assert err.value.line == msg.segments[0].covariances[0].line


def test_ephemeris_with_a_gap_is_written_as_two_segments(tmp_path):
    from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment
    from marsview.io.oem_convert import ephemeris_to_oem, oem_to_ephemerides

    orbit = _twobody(days=0.25)
    t0, t1 = orbit.coverage
    first = np.arange(t0, t0 + 7200.0 + 1, 60.0)
    second = np.arange(t0 + 3 * 3600.0, t1 + 1e-6, 60.0)
    tab = TabulatedEphemeris("GAPPY", [TabulatedSegment(first, orbit.state(first)),
                                       TabulatedSegment(second, orbit.state(second))])
    msg = ephemeris_to_oem(tab, None, None, 120.0)
    assert len(msg.segments) == 2
    assert msg.segments[0].epochs_tdb_s[-1] <= first[-1] and msg.segments[1].epochs_tdb_s[0] >= second[0]
    write_oem(tmp_path / "gap.oem", msg)
    (back,) = oem_to_ephemerides(read_oem(tmp_path / "gap.oem"))
    mid = np.array([t0 + 3600.0, t0 + 4 * 3600.0])
    np.testing.assert_allclose(back.state(mid), orbit.state(mid), rtol=0, atol=1e-6)


@pytest.mark.parametrize("frame", ["IAU_MARS", "ICRF", "MCI"])
def test_body_fixed_and_alias_frames_come_back_to_eme2000(tmp_path, frame):
    """An orbit written in another frame (as a partner might) reads back to the same EME2000 states."""
    from marsview.core.frames import transform_states
    from marsview.io.oem_convert import ephemeris_to_oem, oem_to_ephemerides

    orbit = _twobody(days=0.1)
    msg = ephemeris_to_oem(orbit, None, None, 60.0)
    seg = msg.segments[0]
    truth = seg.states.copy()
    seg.states = transform_states(truth, seg.epochs_tdb_s, "EME2000", "MCI" if frame == "MCI" else
                                  ("EME2000" if frame == "ICRF" else "IAU_MARS"))
    seg.metadata["REF_FRAME"] = frame
    write_oem(tmp_path / "f.oem", msg)
    (tab,) = oem_to_ephemerides(read_oem(tmp_path / "f.oem"))
    t = seg.epochs_tdb_s[1:-1]
    np.testing.assert_allclose(tab.state(t), truth[1:-1], rtol=0, atol=1e-8)
    if frame == "IAU_MARS":  # the body-fixed velocity differs from the inertial one by omega x r (~0.26 km/s here)
        assert np.abs(seg.states[:, 3:] - truth[:, 3:]).max() > 0.1


@pytest.mark.parametrize("time_system", ["UTC", "TDB"])
def test_written_epochs_stay_on_the_files_round_grid(time_system):
    """A week sampled every 60 s from a burn at 16:48:00 UTC: the epochs a partner reads are 16:49:00,
    16:50:00, ... in the file's own time system (a TDB-uniform grid drifted to …00.000045 in UTC), and the
    coverage end closes the grid without a second node microseconds before it."""
    from marsview.core.orbits import state_from_peri_apo
    from marsview.core.twobody import TwoBodyEphemeris
    from marsview.io.oem_convert import ephemeris_to_oem

    start = mtime.epoch_to_tdb_s("2024-04-15T16:48:00", time_system)
    stop = mtime.epoch_to_tdb_s("2024-04-22T16:48:00.000048", time_system)  # just off the grid (a TDB window in UTC)
    eph = TwoBodyEphemeris("MRO", state_from_peri_apo(250.0, 320.0, 93.0, 0.0, 0.0, 0.0), start, start, stop)
    seg = ephemeris_to_oem([eph], step_s=60.0, time_system=time_system).segments[0]
    texts = seg.epochs.format()
    assert texts[0] == "2024-04-15T16:48:00.000000" and texts[1] == "2024-04-15T16:49:00.000000"
    assert all(x.endswith(":00.000000") for x in texts[:-1]), [x for x in texts[:-1] if not x.endswith(":00.000000")]
    assert texts[-2] == "2024-04-22T16:47:00.000000" and texts[-1] == "2024-04-22T16:48:00.000048"
    assert np.min(np.diff(seg.epochs_tdb_s)) > 59.0
