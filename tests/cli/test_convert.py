"""``marsview convert``: SPK -> OEM (segments split at gaps, spacecraft and moons only), OEM KVN <-> XML,
OEM -> SPK (read back through SPICE), OPM refused with a pointer to ``marsview propagate``.

The commands go through ``marsview.cli.main`` with an option right after the sub-command name (see the
dispatcher note in the test for ``info``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from marsview.cli import main
from marsview.core.orbits import state_from_peri_apo
from marsview.core.twobody import propagate_twobody
from marsview.io.oem import read_oem
from marsview.io.spk import spice_session

T0 = 7.66e8
HOUR = 3600.0
PEERS = Path(__file__).resolve().parents[2].parent / "shared" / "peers"


def _table(alt, inc, t0, t1, step=60.0):
    s0 = np.asarray(state_from_peri_apo(alt, alt + 50.0, inc, 20.0, 30.0, 40.0))
    epochs = np.arange(t0, t1 + 0.5 * step, step)
    return epochs, propagate_twobody(s0, T0, epochs)


@pytest.fixture
def spk(tmp_path):
    """MRO (-74) with a gap, Phobos-like (401), and the Mars barycentre (4) relative to Mars."""
    path = tmp_path / "fleet.bsp"
    with spice_session() as sp:
        h = sp.spkopn(str(path), "test", 0)
        for t0, t1 in ((T0, T0 + 2 * HOUR), (T0 + 3 * HOUR, T0 + 4 * HOUR)):
            e, s = _table(255.0, 92.6, t0, t1)
            sp.spkw13(h, -74, 499, "J2000", e[0], e[-1], "mro", 7, len(e), s, e)
        e, s = _table(5900.0, 1.1, T0, T0 + 4 * HOUR)
        sp.spkw13(h, 401, 499, "J2000", e[0], e[-1], "phobos", 7, len(e), s, e)
        sp.spkw13(h, 4, 499, "J2000", e[0], e[-1], "bary", 7, len(e), s * 1e-6, e)
        sp.spkcls(h)
    return path


def _spice(path, naif, epochs):
    with spice_session(path) as sp:
        return np.array([sp.spkezr(str(naif), float(t), "J2000", "NONE", "499")[0] for t in epochs])


def test_spk_to_oem_splits_at_gaps_and_skips_barycentres(spk, tmp_path, capsys):
    out = tmp_path / "fleet.oem"
    assert main(["convert", "--step", "5m", str(spk), str(out)]) == 0
    msg = read_oem(out)
    segs = [(s.object_name, s.object_id) for s in msg.segments]
    assert segs == [("MARS RECON ORBITER", "-74"), ("MARS RECON ORBITER", "-74"), ("PHOBOS", "401")]
    for s in msg.segments:
        assert (s.center_name, s.ref_frame, s.time_system) == ("MARS", "EME2000", "UTC")
        steps = np.diff(s.epochs_tdb_s)
        assert np.allclose(steps[:-1], 300.0, atol=1e-5) and 0 < steps[-1] <= 300.0 + 1e-5
        naif = int(s.object_id)
        want = _spice(spk, naif, s.epochs_tdb_s)
        assert np.max(np.linalg.norm(s.states[:, :3] - want[:, :3], axis=1)) < 1e-6
    first, second = msg.segments[0].epochs_tdb_s, msg.segments[1].epochs_tdb_s
    assert abs(first[0] - T0) < 1e-6 and abs(first[-1] - (T0 + 2 * HOUR)) < 1e-6
    assert abs(second[0] - (T0 + 3 * HOUR)) < 1e-6
    # a barycentre only when asked for by name
    out2 = tmp_path / "bary.oem"
    assert main(["convert", "--object", "MARS BARYCENTER", str(spk), str(out2)]) == 0
    assert [s.object_name for s in read_oem(out2).segments] == ["MARS BARYCENTER"]


def test_oem_is_accepted_by_an_independent_reader(spk, tmp_path):
    oem_pkg = pytest.importorskip("oem")
    out = tmp_path / "mro.oem"  # the `oem` package reads single-object messages only
    assert main(["convert", "--object", "-74", str(spk), str(out)]) == 0
    other = oem_pkg.OrbitEphemerisMessage.open(str(out))
    ours = read_oem(out)
    assert len(other.segments) == len(ours.segments)
    for theirs, mine in zip(other.segments, ours.segments):
        pos = np.array([s.position for s in theirs.states])
        np.testing.assert_allclose(pos, mine.states[:, :3], rtol=0, atol=1e-9)


def test_kvn_xml_round_trip_and_back_to_spk(spk, tmp_path):
    kvn, xml, kvn2, bsp = (tmp_path / n for n in ("a.oem", "a.xml", "b.txt", "b.bsp"))
    assert main(["convert", "--step", "2m", str(spk), str(kvn)]) == 0
    assert main(["convert", "--object", "PHOBOS", str(kvn), str(xml)]) == 0
    assert xml.read_text().lstrip().startswith("<")
    assert main(["convert", "--step", "2m", str(xml), str(kvn2)]) == 0
    a, b = read_oem(kvn), read_oem(kvn2)
    phobos = [s for s in a.segments if s.object_name == "PHOBOS"][0]
    assert [s.object_name for s in b.segments] == ["PHOBOS"]
    np.testing.assert_array_equal(b.segments[0].states, phobos.states)
    np.testing.assert_array_equal(b.segments[0].epochs_tdb_s, phobos.epochs_tdb_s)
    # OEM -> SPK: the OEM's own Lagrange table becomes type 9, so SPICE interpolates exactly as marsview
    assert main(["convert", "--step", "2m", str(kvn), str(bsp)]) == 0
    from marsview.io.spk import read_spk_summary

    assert {s.data_type for s in read_spk_summary(bsp).segments} == {9}
    for seg in a.segments:
        want = _spice(bsp, int(seg.object_id), seg.epochs_tdb_s[:-1])
        assert np.max(np.linalg.norm(seg.states[:-1, :3] - want[:, :3], axis=1)) < 1e-6


def test_opm_and_bad_extensions_are_refused_clearly(tmp_path, capsys, reference_dir):
    opm = reference_dir / "ccsds_samples" / "opm_kvn_v2_example_keplerian_covariance.opm"
    assert main(["convert", "--step", "60s", str(opm), str(tmp_path / "x.oem")]) == 2
    assert "marsview propagate" in capsys.readouterr().err
    assert main(["convert", "--step", "60s", str(opm), str(tmp_path / "x.csv")]) == 2
    assert "extension" in capsys.readouterr().err
    bad = tmp_path / "bad.oem"
    bad.write_text("CCSDS_OEM_VERS = 2.0\nCREATION_DATE = 2024-01-01T00:00:00\n")
    assert main(["convert", "--step", "60s", str(bad), str(tmp_path / "y.xml")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:" in err
    assert not (tmp_path / "y.xml").exists() and not (tmp_path / "x.oem").exists()


MGS_LIKE = """CCSDS_OEM_VERS = 2.0
CREATION_DATE = 1996-11-04T17:22:31
ORIGINATOR = TEST

META_START
OBJECT_NAME = MARS GLOBAL SURVEYOR
OBJECT_ID = 1996-062A
CENTER_NAME = MARS BARYCENTER
REF_FRAME = EME2000
TIME_SYSTEM = UTC
START_TIME = 1996-12-28T21:29:07.267
STOP_TIME = 1996-12-30T01:28:02.267
INTERPOLATION = HERMITE
INTERPOLATION_DEGREE = 7
META_STOP
1996-12-28T21:29:07.267 -2432.166 -063.042 1742.754 7.33702 -3.495867 -1.041945
1996-12-28T21:59:02.267 -2445.234 -878.141 1873.073 1.86043 -3.421256 -0.996366
1996-12-28T22:00:02.267 -2458.079 -683.858 2007.684 6.36786 -3.339563 -0.946654
1996-12-30T01:28:02.267 2164.375 1115.811 -688.131 -3.53328 -2.88452 0.88535
"""


def test_oem_whose_states_disagree_is_refused_for_spk_quickly(tmp_path, capsys):
    """Orekit's MGS example: four states 800 km apart in a minute, whose interpolation swings out to 1e21 km.
    The writer used to halve its step for many minutes (100+ MB temporary files): now a one-line refusal
    naming the object and where it leaves Mars, and no file left behind."""
    import time

    src = tmp_path / "mgs.oem"
    src.write_text(MGS_LIKE)
    t0 = time.perf_counter()
    assert main(["convert", str(src), str(tmp_path / "mgs.bsp")]) != 0
    assert time.perf_counter() - t0 < 60.0
    err = capsys.readouterr().err
    assert "MARS GLOBAL SURVEYOR: cannot be written to an SPK" in err and "km from Mars at 1996-12-" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mgs.oem"]


def test_a_trajectory_that_jumps_is_refused_for_spk_quickly(tmp_path):
    """A 1 km jump inside an arc (no segment boundary there): no step reaches 0.5 mm, in Hermite or Lagrange;
    the writer stops once halving the step stops helping, with the reason."""
    import time

    from marsview.core.ephemeris import Ephemeris
    from marsview.core.twobody import TwoBodyEphemeris
    from marsview.io.spk import write_spk

    smooth = TwoBodyEphemeris("JUMPY", state_from_peri_apo(300.0, 400.0, 93.0, 0.0, 0.0, 0.0), T0, T0, T0 + 6 * HOUR)

    class Jumpy(Ephemeris):
        name = "JUMPY"

        @property
        def coverage(self):
            return smooth.coverage

        def _state(self, t):
            s = smooth.state(t).copy()
            s[:, 0] += np.where(t >= T0 + 3.1 * HOUR, 1.0, 0.0)
            return s

    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="JUMPY: cannot be written to an SPK within 0.50 mm: its trajectory is not smooth"):
        write_spk(tmp_path / "jumpy.bsp", [(Jumpy(), -999)])
    assert time.perf_counter() - t0 < 60.0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not (PEERS / "oem/tests/samples/v1_0/valid/sample02.oem").is_file(), reason="no peer corpus")
def test_the_ccsds_mgs_sample_is_refused_for_spk_quickly(tmp_path, capsys):
    """The CCSDS OEM 1.0 sample (4 MGS states over 10 days): refused in seconds, not after minutes."""
    import time

    t0 = time.perf_counter()
    assert main(["convert", str(PEERS / "oem/tests/samples/v1_0/valid/sample02.oem"), str(tmp_path / "x.bsp")]) == 2
    assert time.perf_counter() - t0 < 60.0
    assert "cannot be written to an SPK" in capsys.readouterr().err


def test_sigterm_during_a_command_removes_its_temporary_file(tmp_path):
    """`timeout` or a batch system stops a command with SIGTERM: the atomic writer's temporary file goes too."""
    import os
    import signal
    import subprocess
    import sys

    script = f"""
import os, signal, sys, tempfile
import marsview.cli.info as info
def run(args):
    fd, tmp = tempfile.mkstemp(prefix=".mv-test.", dir={str(tmp_path)!r})
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()
    finally:
        os.close(fd)
        os.unlink(tmp)
info.run = run
sys.argv = ["marsview", "info", "anything"]
from marsview.cli import main
sys.exit(main())
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    assert os.listdir(tmp_path) == []


def test_converting_a_file_onto_itself_is_refused(tmp_path, capsys):
    src = tmp_path / "mgs.oem"
    src.write_text(MGS_LIKE)
    assert main(["convert", str(src), str(tmp_path / "." / "mgs.oem")]) != 0
    assert "OUT is the input file" in capsys.readouterr().err
    assert src.read_text() == MGS_LIKE
