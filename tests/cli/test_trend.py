"""`marsview trend`: three deliveries in which BRAVO is nudged along-track each time; the trend follows every
encounter across them and shows the miss and TCA moving exactly as constructed."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from marsview.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from delivery_fixtures import (  # noqa: E402
    NODE_EPOCH, T0, circular, expected_miss_km, true_minimum, write_object)

LAGS_S = (1.0, 0.6, 0.3)  # BRAVO's delay at the nodes in deliveries 1, 2, 3


def write_deliveries(root, lags=LAGS_S, rename_third=True):
    """One folder per delivery; delivery k covers [T0 + k h, T0 + (8 + k) h] like a rolling prediction.
    The third renames BRAVO to BRAVO-SAT under the same OBJECT_ID (the trend must still follow it)."""
    folders = []
    for k, lag in enumerate(lags):
        folder = root / f"cycle{k + 1}"
        folder.mkdir(parents=True)
        start, stop = T0 + k * 3600.0, T0 + (8 + k) * 3600.0
        bravo = "BRAVO-SAT" if (rename_third and k == 2) else "BRAVO"
        write_object(folder, circular("ALPHA", 0.0, NODE_EPOCH, start, stop), start, stop, "-91")
        write_object(folder, circular(bravo, 60.0, NODE_EPOCH + lag, start, stop), start, stop, "-92")
        write_object(folder, circular("CHARLIE", 10.0, T0, start, stop, 9000.0), start, stop, "-93")
        folders.append(folder)
    return folders


def run_trend(capsys, *argv):
    rc = main(["trend", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_trend_shows_the_miss_moving_as_constructed(tmp_path, capsys):
    folders = write_deliveries(tmp_path)
    rc, out, err = run_trend(capsys, "--format", "json", *map(str, folders))
    assert rc == 0, err
    report = json.loads(out)
    assert [d["name"] for d in report["deliveries"]] == ["cycle1", "cycle2", "cycle3"]
    assert all(d["received_utc"].endswith("Z") for d in report["deliveries"])
    encounters = report["encounters"]
    assert {(e["object1"], e["object2"]) for e in encounters} == {("ALPHA", "BRAVO")}  # renamed BRAVO followed
    full = [e for e in encounters if len(e["history"]) == 3]
    assert len(full) >= 5  # the node crossings every half period inside all three windows
    for enc in encounters:
        names = [h["delivery"] for h in enc["history"]]
        assert names == sorted(set(names))  # one entry per delivery, in order: successive crossings kept apart
        assert set(enc["history"][0]) >= {"delivery", "tca_utc", "miss_km", "radial_km", "in_track_km",
                                          "cross_track_km", "pc"}
    for enc in full:
        for h, lag in zip(enc["history"], LAGS_S):
            assert h["miss_km"] == pytest.approx(expected_miss_km(lag), rel=2e-3)
            # the TCA sits half-way between the two node passages: it moves by half the change in lag
            assert h["tca_shift_s"] == pytest.approx((lag - LAGS_S[0]) / 2.0, abs=2e-3)
        assert math.hypot(enc["history"][2]["radial_km"], enc["history"][2]["in_track_km"],
                          enc["history"][2]["cross_track_km"]) == pytest.approx(enc["history"][2]["miss_km"],
                                                                                rel=1e-9)
        misses = [h["miss_km"] for h in enc["history"]]
        assert misses[0] > misses[1] > misses[2]
        pcs = [h["pc"] for h in enc["history"]]
        assert pcs[0] < pcs[1] < pcs[2]  # closer -> likelier


def test_trend_agrees_with_the_exact_orbits(tmp_path, capsys):
    folders = write_deliveries(tmp_path, rename_third=False)
    rc, out, err = run_trend(capsys, "--format", "json", *map(str, folders))
    assert rc == 0, err
    from marsview.core.time import utc_to_tdb_s

    enc = next(e for e in json.loads(out)["encounters"] if len(e["history"]) == 3)
    for h, lag in zip(enc["history"], LAGS_S):
        near = utc_to_tdb_s(h["tca_utc"])
        tca, miss = true_minimum(lag, near)
        assert h["miss_km"] == pytest.approx(miss, abs=1e-3)  # 1 m: OEM interpolation of the exact orbit
        assert near == pytest.approx(tca, abs=1e-3)


def test_trend_table_and_errors(tmp_path, capsys):
    folders = write_deliveries(tmp_path)
    rc, out, _ = run_trend(capsys, *map(str, folders))
    assert rc == 0
    assert "ALPHA / BRAVO" in out and "Miss [km]" in out and "cycle3" in out
    bad = folders[1] / "bravo.oem"
    text = bad.read_text().splitlines()
    bad.write_text("\n".join(line.replace("REF_FRAME", "REF_FRAMEX") for line in text) + "\n")
    rc, out, err = run_trend(capsys, *map(str, folders))
    assert rc == 2 and out == ""
    assert "bravo.oem:" in err and "Traceback" not in err
    rc, _, err = run_trend(capsys, str(folders[0]))
    assert rc == 2 and "two deliveries" in err
