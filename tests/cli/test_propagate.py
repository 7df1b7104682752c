"""``marsview propagate OPM ... -o OEM``: the contract, checked on the written file."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from marsview.core import constants as C
from marsview.core.dynamics import ForceModel, propagate
from marsview.core.frames import transform_states
from marsview.core.maneuvers import ImpulsiveBurn
from marsview.io.oem import read_oem
from marsview.io.opm import OpmManeuver, build_opm, write_opm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from test_dynamics import kepler_closed_form, orbit_state  # noqa: E402

MRO = orbit_state(255.0, 320.0, 92.6, 40.0)


def run_cli(*argv) -> int:
    """Parse exactly the documented command line with the module's own parser and run it."""
    from marsview.cli import propagate as cli

    parser = argparse.ArgumentParser(prog="marsview")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["propagate", *map(str, argv)])
    return args.func(args)


def write_mro_opm(path, state=MRO, **kw):
    kw.setdefault("spacecraft", {"MASS": 1500.0, "DRAG_AREA": 20.0, "DRAG_COEFF": 2.2})
    write_opm(path, build_opm("MRO", "2005-029A", kw.pop("epoch", "2024-03-01T00:00:00.000"), state, **kw))
    return path


def states_of(oem_path):
    msg = read_oem(oem_path)
    t = np.concatenate([s.epochs_tdb_s for s in msg.segments])
    s = np.vstack([s.states for s in msg.segments])
    return msg, t, s


def test_defaults_one_day_at_sixty_seconds_j2(tmp_path):
    opm = write_mro_opm(tmp_path / "mro.opm", time_system="TDB")
    out = tmp_path / "mro.oem"
    assert run_cli(opm, "-o", out) == 0
    msg, t, s = states_of(out)
    seg = msg.segments[0]
    assert len(msg.segments) == 1 and seg.ref_frame == "EME2000" and seg.time_system == "TDB"
    texts = seg.epochs.format()
    assert texts[0] == "2024-03-01T00:00:00.000000" and texts[1] == "2024-03-01T00:01:00.000000"
    assert texts[-1] == "2024-03-02T00:00:00.000000" and len(texts) == 1441
    assert np.allclose(np.diff(t), 60.0, rtol=0, atol=1e-6)
    assert np.array_equal(s[0], MRO)
    expected = propagate(MRO, t[0], t, ForceModel.j2())
    assert np.abs(s[:, :3] - expected[:, :3]).max() < 1e-6
    # J2 really is on: two-body is kilometres away after a day
    assert np.linalg.norm(s[-1, :3] - kepler_closed_form(MRO, t[-1:] - t[0])[0, :3]) > 1.0


def test_two_body_in_mci_and_utc_matches_kepler_in_the_same_frame(tmp_path):
    from marsview.core.time import utc_to_tdb_s

    t0 = utc_to_tdb_s("2024-03-01T00:00:00")
    mci = transform_states(MRO, t0, "EME2000", "MCI")[0]
    opm = write_mro_opm(tmp_path / "mci.opm", state=mci, ref_frame="MCI")
    out = tmp_path / "mci.oem"
    assert run_cli(opm, "--duration", "6h", "--step", "600s", "--force-model", "two-body", "-o", out) == 0
    msg, t, s = states_of(out)
    seg = msg.segments[0]
    assert seg.ref_frame == "MCI" and seg.time_system == "UTC" and len(t) == 37
    assert seg.epochs.format()[-1] == "2024-03-01T06:00:00.000000"
    # propagated in EME2000, written in MCI of each epoch (the pole of date drifts ~3 arcsec/yr, which is
    # 0.04 m over these 6 h: so compare with the Kepler orbit sent through the same per-epoch rotation)
    ref = transform_states(kepler_closed_form(MRO, t - t0), t, "EME2000", "MCI")
    assert np.linalg.norm(s[:, :3] - ref[:, :3], axis=1).max() < 1e-6
    assert np.linalg.norm(s[:, :3] - kepler_closed_form(mci, t - t0)[:, :3], axis=1).max() < 2e-4


def test_opm_maneuver_is_applied_as_a_segment_boundary(tmp_path):
    man = OpmManeuver("2024-03-01T01:00:30.000", 0.0, 0.0, -0.3, "RTN", (0.0, 0.0004, 0.0))
    opm = write_mro_opm(tmp_path / "burn.opm", time_system="TDB", maneuvers=[man])
    out = tmp_path / "burn.oem"
    assert run_cli(opm, "--duration", "3h", "--force-model", "two-body", "-o", out) == 0
    msg, _, _ = states_of(out)
    first, second = msg.segments
    burn_t = second.epochs_tdb_s[0]
    assert second.epochs.format()[0] == "2024-03-01T01:00:30.000000"
    assert first.epochs.format()[-1] == "2024-03-01T01:00:29.999999"
    assert "after the maneuver" in second.comments[0]
    dv = second.states[0, 3:] - first.states[-1, 3:]
    assert np.linalg.norm(dv) == pytest.approx(4e-4, rel=1e-3)
    t0 = first.epochs_tdb_s[0]
    expected = propagate(MRO, t0, second.epochs_tdb_s, ForceModel.two_body(),
                         (ImpulsiveBurn(burn_t, (0.0, 0.4, 0.0), "RTN"),))
    assert np.abs(second.states[:, :3] - expected[:, :3]).max() < 1e-6


def test_finite_opm_maneuver_delivers_its_dv(tmp_path):
    # 0.4 m/s along-track over 120 s with 0.2 kg of propellant, from a 1500 kg spacecraft
    man = OpmManeuver("2024-03-01T01:00:00.000", 0.0, 120.0, -0.2, "RTN", (0.0, 0.0004, 0.0))  # epoch from text
    opm = write_mro_opm(tmp_path / "fin.opm", time_system="TDB", maneuvers=[man])
    out = tmp_path / "fin.oem"
    assert run_cli(opm, "--duration", "2h", "--force-model", "two-body", "-o", out) == 0
    msg, _, _ = states_of(out)
    assert len(msg.segments) == 3  # before, during, after the burn
    before, after = msg.segments[0].states[-1], msg.segments[2].states[0]
    mu = C.GM_MARS_KM3S2

    def sma(s):
        return 1.0 / (2.0 / np.linalg.norm(s[:3]) - s[3:] @ s[3:] / mu)

    # vis-viva: da = 2 a^2 v dv / mu for a tangential dv (the 120 s arc changes it by < 0.1 %)
    v = np.linalg.norm(before[3:])
    assert sma(after) - sma(before) == pytest.approx(2 * sma(before) ** 2 * v * 4e-4 / mu, rel=2e-3)


def test_gravity_overrides_are_used(tmp_path):
    opm = write_mro_opm(tmp_path / "mro.opm", time_system="TT")
    out = tmp_path / "o.oem"
    gm, j2, radius = 42828.0, 2.5e-3, 3390.0
    assert run_cli(opm, "--duration", "2h", "--step", "30m", "--gm", gm, "--j2", j2, "--ref-radius-km", radius,
                   "-o", out) == 0
    msg, t, s = states_of(out)
    assert msg.segments[0].time_system == "TT" and msg.segments[0].epochs.format()[1].endswith("00:30:00.000000")
    fm = ForceModel.j2(gm_km3s2=gm, j2=j2, ref_radius_km=radius)
    assert np.abs(s[:, :3] - propagate(MRO, t[0], t, fm)[:, :3]).max() < 1e-6
    assert np.abs(s[-1, :3] - propagate(MRO, t[0], t[-1:], ForceModel.j2())[0, :3]).max() > 1.0
    assert "GM 42828.0" in "".join(msg.comments)


def test_full_model_uses_the_opm_spacecraft_and_an_independent_reader_agrees(tmp_path):
    oem_lib = pytest.importorskip("oem")
    low = orbit_state(140.0, 4500.0, 75.0)
    opm = write_mro_opm(tmp_path / "maven.opm", state=low)
    out = tmp_path / "maven.oem"
    assert run_cli(opm, "--duration", "2h", "--step", "10m", "--force-model", "full", "-o", out) == 0
    _, t, s = states_of(out)
    fm = ForceModel.full(area_m2=20.0, mass_kg=1500.0, cd=2.2)
    assert np.abs(s[:, :3] - propagate(low, t[0], t, fm)[:, :3]).max() < 1e-6
    other = oem_lib.OrbitEphemerisMessage.open(str(out))
    rows = [st for seg in other.segments for st in seg.states]
    assert len(rows) == len(t)
    assert np.allclose([r.position for r in rows], s[:, :3], rtol=1e-15, atol=0)
    assert np.allclose([r.velocity for r in rows], s[:, 3:], rtol=1e-15, atol=0)


def test_bad_inputs_fail_with_file_line_and_keyword(tmp_path, capsys):
    opm = write_mro_opm(tmp_path / "earth.opm", center_name="EARTH")
    assert run_cli(opm, "-o", tmp_path / "x.oem") == 2
    err = capsys.readouterr().err
    assert "earth.opm:6: CENTER_NAME" in err
    assert not (tmp_path / "x.oem").exists()
    assert run_cli(tmp_path / "missing.opm", "-o", tmp_path / "x.oem") == 2
    assert "missing.opm" in capsys.readouterr().err
    assert run_cli(write_mro_opm(tmp_path / "ok.opm"), "--step", "0s", "-o", tmp_path / "x.oem") == 2
    assert "--step" in capsys.readouterr().err
    assert run_cli(tmp_path / "ok.opm", "--gm", "-1", "-o", tmp_path / "x.oem") == 2
    assert "--gm: must be a finite positive number" in capsys.readouterr().err


def test_registered_in_the_marsview_command(tmp_path):
    from marsview.cli import main

    opm = write_mro_opm(tmp_path / "mro.opm")
    out = tmp_path / "via_main.oem"
    assert main(["propagate", "--duration", "10m", "-o", str(out), str(opm)]) == 0
    _, t, _ = states_of(out)
    assert len(t) == 11 and math.isclose(t[-1] - t[0], 600.0, abs_tol=1e-6)
