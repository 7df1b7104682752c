"""`marsview options` end to end on the built-in default scenario: for a close approach of two spacecraft each
gets an option whose exact re-screen miss is within 1 % of the target; for MEX-Phobos only MEX does (a moon
cannot manoeuvre). Each option is checked independently through `marsview plan` (the same burn re-screened by
another command): it reaches the target, and 90 % of it does not (the dv is the smallest, not merely enough)."""

from __future__ import annotations

import json

import pytest

from marsview.cli import main

KEYS = {"object", "burn_utc", "dv_mps", "total_dv_mps", "propellant_kg", "miss_after_km", "pc_after", "new"}


def _json(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def _plan_miss_km(capsys, option, other, scale=1.0):
    """The pair's miss after the option's burn (times SCALE) according to `marsview plan --threshold-km 100`."""
    dv = ",".join(repr(scale * x) for x in option["dv_mps"])
    plan = _json(capsys, "plan", "--object", option["object"], "--burn-utc", option["burn_utc"], f"--dv={dv}",
                 "--threshold-km", "100", "--format", "json")
    misses = [c["miss_after_km"] for c in plan["changes"] if c["other"] == other and c["miss_after_km"] is not None]
    assert misses, plan["changes"]
    return min(misses)


def test_two_spacecraft_each_get_an_option_within_one_percent(capsys):
    target_km = 6.0
    report = _json(capsys, "options", "--encounter", "TGO/TW1", "--target-miss-km", str(target_km),
                   "--format", "json")
    enc = report["encounter"]
    assert {enc["object1"], enc["object2"]} == {"TGO", "TW1"} and enc["miss_km"] < target_km
    assert set(enc) >= {"tca_utc", "tca_tdb_s", "miss_km", "pc", "radial_km"}  # the screen event, key for key
    opts = report["options"]
    assert [o["object"] for o in opts] == [enc["object1"], enc["object2"]]
    for o in opts:
        assert set(o) >= KEYS
        assert abs(o["miss_after_km"] / target_km - 1.0) < 0.01, o
        assert len(o["dv_mps"]) == 3 and o["total_dv_mps"] == pytest.approx(sum(x * x for x in o["dv_mps"]) ** 0.5)
        assert 0 < o["total_dv_mps"] < 1.0 and o["propellant_kg"] > 0
        assert o["pc_after"] < enc["pc"]
        assert o["new"] == []
    tgo = next(o for o in opts if o["object"] == "TGO")
    assert _plan_miss_km(capsys, tgo, "TW1") == pytest.approx(tgo["miss_after_km"], rel=1e-3)
    assert _plan_miss_km(capsys, tgo, "TW1", scale=0.9) < 0.99 * target_km


def test_moon_cannot_move_and_default_target_is_the_threshold(capsys):
    report = _json(capsys, "options", "--encounter", "MEX/Phobos", "--format", "json")
    enc = report["encounter"]
    target_km = enc["threshold_km"]
    assert report["target_miss_km"] == target_km > enc["miss_km"]
    mex, phobos = report["options"]
    assert phobos == {"object": "Phobos", "reason": "cannot maneuver"}
    assert mex["object"] == "MEX" and set(mex) >= KEYS
    assert abs(mex["miss_after_km"] / target_km - 1.0) < 0.01, mex
    assert _plan_miss_km(capsys, mex, "Phobos") == pytest.approx(mex["miss_after_km"], rel=1e-3)


def _plan_pc(capsys, option, other, scale=1.0):
    """The pair's Pc after the option's burn (times SCALE) according to `marsview plan --threshold-km 100`."""
    dv = ",".join(repr(scale * x) for x in option["dv_mps"])
    plan = _json(capsys, "plan", "--object", option["object"], "--burn-utc", option["burn_utc"], f"--dv={dv}",
                 "--threshold-km", "100", "--format", "json")
    return min(c["pc_after"] for c in plan["changes"] if c["other"] == other and c["pc_after"] is not None)


def test_a_pc_target_is_met_on_the_exact_rescreen(capsys):
    """--target-pc: each option's exact re-screen Pc is at or below the target (the linear solver alone
    promised 1e-7 and delivered 1.04e-7 for TGO) and not far below it (the dv is the smallest that does it);
    `marsview plan` confirms the burn independently, and 90 % of it leaves the Pc above the target."""
    target = 1e-7
    report = _json(capsys, "options", "--encounter", "TGO/TW1", "--target-pc", str(target), "--format", "json")
    assert report["target_pc"] == target and report["encounter"]["pc"] > 100 * target
    for o in report["options"]:
        assert 0.9 * target < o["pc_after"] <= target, o
    tw1 = next(o for o in report["options"] if o["object"] == "TW1")
    assert _plan_pc(capsys, tw1, "TGO") == pytest.approx(tw1["pc_after"], rel=0.02)
    assert _plan_pc(capsys, tw1, "TGO", scale=0.9) > target


def test_bad_encounter_is_one_line(capsys):
    assert main(["options", "--encounter", "MRO/Nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("marsview options: --encounter: no object 'Nope'") and "\n" not in err
    assert main(["options", "--encounter", "MRO/ODY"]) == 2
    assert "no close approach of this pair" in capsys.readouterr().err
