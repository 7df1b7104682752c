"""The live scenario (Qt-free): objects, their ephemerides, maneuvers and screening settings."""

from marsview.model.scenario import Change, Scenario, ScenarioObject, palette_color

__all__ = ["Change", "Scenario", "ScenarioObject", "palette_color"]
