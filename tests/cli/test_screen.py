"""`marsview screen` end to end: OEM files in, table / CSV / JSON / CDMs out, errors that name the file."""

from __future__ import annotations

import csv
import io
import json
import math
import re

import numpy as np
import pytest

from marsview.cli import main
from marsview.core.constants import GM_MARS_KM3S2
from marsview.core.screening import ScreeningSettings, ScreeningTarget, screen
from marsview.core.time import tdb_s_to_utc, utc_to_tdb_s
from marsview.core.twobody import TwoBodyEphemeris
from marsview.io.oem import write_oem
from marsview.io.oem_convert import ephemeris_to_oem

T0 = utc_to_tdb_s("2025-03-01T00:00:00")
SPAN = (T0, T0 + 8 * 3600.0)
EVENT_KEYS = {"object1", "object2", "tca_utc", "miss_km", "relative_speed_kms", "radial_km", "in_track_km",
              "cross_track_km", "crossing_dt_s", "miss_sigma", "hbr_m", "sources", "pc", "pc_method"}


def _circular(name, radius_km, inc_deg, node_epoch):
    v = math.sqrt(GM_MARS_KM3S2 / radius_km)
    i = math.radians(inc_deg)
    state = np.array([radius_km, 0.0, 0.0, 0.0, v * math.cos(i), v * math.sin(i)])
    return TwoBodyEphemeris(name, state, node_epoch, *SPAN)


@pytest.fixture(scope="module")
def ephemerides():
    # two orbits of one radius crossing at the nodes, passing them 20 s apart; a third one far away
    return [_circular("ALPHA", 3790.0, 0.0, T0 + 600.0), _circular("BRAVO", 3790.0, 60.0, T0 + 620.0),
            _circular("CHARLIE", 9000.0, 10.0, T0)]


@pytest.fixture(scope="module")
def oem_paths(tmp_path_factory, ephemerides):
    folder = tmp_path_factory.mktemp("oem")
    paths = []
    for eph in ephemerides:
        path = folder / f"{eph.name.lower()}.oem"
        write_oem(path, ephemeris_to_oem([eph], *SPAN, step_s=60.0))
        paths.append(str(path))
    return paths


def _run(capsys, *argv):
    """Options first, then the paths: the top-level parser's own optional PATHs (for the GUI) would
    otherwise swallow leading positionals (reported to the lead; cli/__init__.py is not this file's)."""
    paths = [a for a in argv if a.endswith(".oem")]
    opts = [a for a in argv if not a.endswith(".oem")]
    rc = main(["screen", *opts, *paths])
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_report_has_the_contract_keys_and_matches_the_engine(capsys, oem_paths, ephemerides):
    rc, out, _ = _run(capsys, *oem_paths, "--duration", "6h", "--threshold-km", "100", "--format", "json")
    assert rc == 0
    report = json.loads(out)
    assert {"start_utc", "stop_utc", "threshold_km", "objects", "events"} <= set(report)
    assert report["threshold_km"] == 100.0 and sorted(report["objects"]) == ["ALPHA", "BRAVO", "CHARLIE"]
    # the duration is 6 h of TDB; TDB - UTC drifts by microseconds over it
    assert utc_to_tdb_s(report["start_utc"]) == pytest.approx(T0, abs=1e-5)
    assert utc_to_tdb_s(report["stop_utc"]) == pytest.approx(T0 + 6 * 3600.0, abs=1e-5)
    events = report["events"]
    assert events and all(EVENT_KEYS <= set(e) for e in events)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", e["tca_utc"]) for e in events)
    assert [e["tca_utc"] for e in events] == sorted(e["tca_utc"] for e in events)
    # the OEM round trip (60 s tables, Lagrange 7) agrees with screening the analytic orbits directly
    direct = screen([ScreeningTarget(e.name, e) for e in ephemerides], T0, T0 + 6 * 3600.0,
                    ScreeningSettings(threshold_km=100.0)).events
    assert len(direct) == len(events)
    for d, e in zip(direct, events):
        assert (e["object1"], e["object2"]) == (d.object1, d.object2) == ("ALPHA", "BRAVO")
        assert utc_to_tdb_s(e["tca_utc"]) == pytest.approx(d.tca_tdb_s, abs=1e-3)
        assert e["miss_km"] == pytest.approx(d.miss_km, abs=1e-3)
        assert abs(e["crossing_dt_s"]) == pytest.approx(20.0, abs=0.05)
        assert math.hypot(e["radial_km"], e["in_track_km"], e["cross_track_km"]) == pytest.approx(e["miss_km"])
        assert "alpha.oem" in e["sources"][0] and "bravo.oem" in e["sources"][1]  # file (and segment)


def test_table_is_aligned_with_units_and_csv_has_one_row_per_event(capsys, oem_paths, tmp_path):
    rc, out, _ = _run(capsys, *oem_paths, "--duration", "3h", "--threshold-km", "100")
    assert rc == 0
    lines = out.splitlines()
    header = lines[1]
    for unit in ("TCA (UTC)", "Miss [km]", "Speed [km/s]", "R [km]", "T [km]", "N [km]", "Cross dt [s]"):
        assert unit in header
    rows = [ln for ln in lines[3:] if ln.startswith("2025-")]
    assert rows and len({len(r) for r in rows}) == 1  # aligned: every row has the same width
    target = tmp_path / "events.csv"
    rc, out, _ = _run(capsys, *oem_paths, "--duration", "3h", "--threshold-km", "100", "--format", "csv",
                      "-o", str(target))
    assert rc == 0 and out == ""
    table = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(table) == len(rows)
    assert float(table[0]["miss_km"]) == pytest.approx(float(rows[0].split()[3]), abs=1e-3)


def test_start_option_moves_the_window(capsys, oem_paths):
    rc, out, _ = _run(capsys, *oem_paths, "--start", tdb_s_to_utc(T0 + 3 * 3600.0), "--duration", "7d",
                      "--threshold-km", "100", "--format", "json")
    report = json.loads(out)
    assert rc == 0
    assert utc_to_tdb_s(report["start_utc"]) == pytest.approx(T0 + 3 * 3600.0, abs=1e-3)
    assert utc_to_tdb_s(report["stop_utc"]) == pytest.approx(SPAN[1], abs=1e-3)  # clipped to the files' coverage
    assert all(e["tca_utc"] >= "2025-03-01T03:00:00" for e in report["events"])


def test_cdm_dir_writes_one_readable_cdm_per_event(capsys, oem_paths, tmp_path):
    from marsview.io.cdm import read_cdm

    rc, out, _ = _run(capsys, *oem_paths, "--duration", "3h", "--threshold-km", "100", "--format", "json",
                      "--cdm-dir", str(tmp_path / "cdms"))
    assert rc == 0
    events = json.loads(out)["events"]
    files = sorted((tmp_path / "cdms").glob("*.cdm"))
    assert len(files) == len(events) > 0
    for path, ev in zip(files, events):
        cdm = read_cdm(path)
        assert float(cdm.relative["MISS_DISTANCE"]) == pytest.approx(ev["miss_km"] * 1e3, rel=1e-6)
        assert [o.values["OBJECT_NAME"] for o in cdm.objects] == [ev["object1"], ev["object2"]]
        assert cdm.tca_tdb_s == pytest.approx(utc_to_tdb_s(ev["tca_utc"]), abs=1e-5)
        assert "HBR =" in path.read_text()


def test_bad_inputs_give_a_clear_error(capsys, oem_paths, tmp_path):
    broken = tmp_path / "broken.oem"
    lines = open(oem_paths[0]).read().splitlines()
    k = next(n for n, ln in enumerate(lines) if ln.startswith("2025-"))
    lines[k] = lines[k].split()[0] + " 1.0 2.0 nonsense 4 5 6"
    broken.write_text("\n".join(lines) + "\n")
    rc, _, err = _run(capsys, "--duration", "1h", str(broken), oem_paths[1])
    assert rc == 2 and "broken.oem" in err and str(k + 1) in err
    rc, _, err = _run(capsys, *oem_paths, "--start", "2030-01-01T00:00:00")
    assert rc == 2 and "coverage" in err
    rc, _, err = _run(capsys, *oem_paths, "--duration", "soon")
    assert rc == 2 and "duration" in err


def test_progress_bar_appears_only_for_runs_longer_than_a_second():
    from marsview.cli.screen import Progress

    quick = io.StringIO()
    bar = Progress(quick, delay_s=1.0)
    bar(0.5)
    bar.close()
    assert quick.getvalue() == ""
    slow = io.StringIO()
    bar = Progress(slow, delay_s=0.0)
    bar(0.25)
    bar(1.0)
    bar.close()
    text = slow.getvalue()
    assert " 25.0%" in text and "100.0%" in text and text.endswith("\n") and "\r" in text
