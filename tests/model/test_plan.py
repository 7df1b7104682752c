"""The maneuver plan model: change callbacks, bit-exact TOML round trip, atomic save, autosave location,
rocket-equation numbers and clear errors."""

from __future__ import annotations

import math

import pytest

from marsview.core.maneuvers import FiniteBurn, ImpulsiveBurn
from marsview.model.plan import (
    ManeuverPlan,
    PlannedBurn,
    autosave_path,
    load_plan,
    plan_from_toml_table,
    propellant_kg,
    save_plan,
)

EPOCH = 7.8e8 + 0.123456789  # a TDB epoch that is not a round number of microseconds


def test_callbacks_and_dirty_flag():
    plan = ManeuverPlan()
    seen = []
    unsubscribe = plan.subscribe(lambda p, name: seen.append((name, len(p.burns_for(name)))))
    plan.add_burn("MAVEN", PlannedBurn(EPOCH, (0.0, 0.4, 0.0)))
    assert seen == [("MAVEN", 1)] and plan.dirty
    plan.set_burns("MAVEN", plan.burns_for("MAVEN"))  # no change -> no callback
    assert len(seen) == 1
    plan.mark_saved()
    plan.replace_burn("MAVEN", 0, PlannedBurn(EPOCH, (0.1, 0.4, 0.0)))
    assert plan.dirty and len(seen) == 2
    unsubscribe()
    plan.clear()
    assert len(seen) == 2 and plan.burns == {}


def test_toml_round_trip_is_bit_exact(tmp_path):
    plan = ManeuverPlan(isp_s=230.0)
    plan.add_burn("MAVEN", PlannedBurn(EPOCH, (0.1 / 3.0, 0.4, -1e-7), "VNB", label="Phobos avoidance"))
    plan.add_burn("MRO", PlannedBurn(EPOCH + 10.0, (0.0, 1.0, 0.0), duration_s=120.0, thrust_n=22.0,
                                     isp_s=215.0, mass_kg=1030.0))
    path = save_plan(plan, tmp_path)
    assert path == tmp_path / "plan.toml" and not plan.dirty
    text = path.read_text()
    assert "epoch_utc" in text and "Phobos avoidance" in text
    again = load_plan(tmp_path)
    assert again.burns == plan.burns  # floats written with repr: exact
    assert again.isp_s == 230.0
    assert not list(tmp_path.glob(".*tmp"))  # atomic write leaves no temporary file


def test_load_missing_and_bad_plans(tmp_path):
    assert load_plan(tmp_path).burns == {}
    bad = tmp_path / "plan.toml"
    bad.write_text('[maneuvers]\nMAVEN = [{epoch_tdb_s = 1.0, dv_mps = [0.0, 1.0], frame = "RTN"}]\n')
    with pytest.raises(ValueError, match=r"plan.toml: maneuvers.MAVEN\[0\]"):
        load_plan(bad)
    with pytest.raises(ValueError, match="frame"):
        plan_from_toml_table({"X": [{"epoch_tdb_s": 1.0, "dv_mps": [0, 1, 0], "frame": "XYZ"}]})


def test_burn_conversion_and_rocket_equation():
    imp = PlannedBurn(EPOCH, (0.3, 0.4, 0.0), "RTN").to_core()
    assert isinstance(imp, ImpulsiveBurn) and imp.total_dv_mps == pytest.approx(0.5)
    fin = PlannedBurn(EPOCH, (0.0, 2.0, 0.0), duration_s=100.0, thrust_n=20.0, isp_s=200.0, mass_kg=1000.0)
    core = fin.to_core()
    assert isinstance(core, FiniteBurn) and core.direction == (0.0, 1.0, 0.0)
    # Tsiolkovsky: dv = Isp g0 ln(m0 / m1), m1 = m0 - F/(Isp g0) t
    m1 = 1000.0 - 20.0 / (200.0 * 9.80665) * 100.0
    assert fin.dv_magnitude_mps == pytest.approx(200.0 * 9.80665 * math.log(1000.0 / m1), rel=1e-12)
    assert propellant_kg(fin.dv_magnitude_mps, 1000.0, 200.0) == pytest.approx(1000.0 - m1, rel=1e-12)
    # MAVEN-sized: 0.4 m/s with Isp 220 s from 2,000 kg is ~0.37 kg of hydrazine
    assert propellant_kg(0.4, 2000.0, 220.0) == pytest.approx(0.3708, abs=1e-3)
    with pytest.raises(ValueError):
        PlannedBurn(EPOCH, (0.0, 1.0, 0.0), duration_s=10.0)  # neither thrust nor acceleration


def test_autosave_path_prefers_scenario_folder(tmp_path, monkeypatch):
    assert autosave_path(tmp_path) == tmp_path / ".plan.autosave.toml"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert autosave_path(None) == tmp_path / "state" / "marsview" / "plan.autosave.toml"


def test_plan_goes_into_and_comes_back_from_the_scenario():
    from marsview.core.twobody import TwoBodyEphemeris
    from marsview.model.plan import apply_to_scenario, plan_from_scenario
    from marsview.model.scenario import Scenario, ScenarioObject

    eph = TwoBodyEphemeris("SC", [3700.0, 0, 0, 0, 3.4, 0], EPOCH, EPOCH, EPOCH + 86400.0)
    scenario = Scenario("s", [ScenarioObject("SC", "spacecraft", eph, 5.0)])
    changes = []
    scenario.subscribe(changes.append)
    plan = ManeuverPlan()
    plan.add_burn("SC", PlannedBurn(EPOCH + 10.0, (0.0, 0.4, 0.0), "VNB", label="avoid"))
    plan.add_burn("SC", PlannedBurn(EPOCH + 20.0, (1.0, 0.0, 0.0), duration_s=2.0, accel_mps2=0.5))  # delivers 1 m/s
    plan.add_burn("GONE", PlannedBurn(EPOCH, (0.0, 1.0, 0.0)))  # not in the scenario: skipped
    apply_to_scenario(plan, scenario)
    assert [type(b).__name__ for b in scenario.maneuvers["SC"]] == ["ImpulsiveBurn", "FiniteBurn"]
    assert scenario.maneuvers["SC"][0].name == "avoid" and "GONE" not in scenario.maneuvers
    assert len(changes) == 1
    apply_to_scenario(plan, scenario)  # unchanged: no notification
    assert len(changes) == 1
    assert plan_from_scenario(scenario).burns["SC"] == plan.burns["SC"]
