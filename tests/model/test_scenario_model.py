"""The live model: validation, lookups, coverage and change notification (Qt-free)."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core.ephemeris import Ephemeris
from marsview.model import Change, Scenario, ScenarioObject, palette_color


class Line(Ephemeris):
    """A straight-line test ephemeris over [start, stop]."""

    def __init__(self, name, start, stop):
        self.name, self._cov = name, (start, stop)

    @property
    def coverage(self):
        return self._cov

    def _state(self, t):
        return np.column_stack([t, 0 * t + 4000.0, 0 * t, 1 + 0 * t, 0 * t, 0 * t])


def make(name="A", start=0.0, stop=100.0, **kw):
    return ScenarioObject(name, "spacecraft", Line(name, start, stop), hbr_m=5.0, **kw)


def test_changes_reach_subscribers_until_unsubscribed():
    sc = Scenario("s", [make("A"), make("B", 10.0, 50.0)])
    seen: list[Change] = []
    unsubscribe = sc.subscribe(seen.append)
    sc.object("A").hbr_m = 7.5
    sc.object("B").color = "#0072b2"
    sc.set_window(duration_s=3600.0, threshold_km=2.0)
    sc.add_object(make("C"))
    sc.remove_object("C")
    sc.object("A").name = "Alpha"
    assert seen == [
        Change("object_changed", "A", "hbr_m"), Change("object_changed", "B", "color"),
        Change("scenario_changed", None, "window"), Change("object_added", "C"),
        Change("object_removed", "C"), Change("object_changed", "Alpha", "name"),
    ]
    assert sc.object("B").color == "#0072B2" and sc.object("Alpha").hbr_km == pytest.approx(0.0075)
    assert sc.window_duration_s == 3600.0 and sc.threshold_km == 2.0
    unsubscribe()
    sc.object("Alpha").visible = False
    assert len(seen) == 6


def test_validation_rejects_bad_values_with_the_field_name():
    with pytest.raises(ValueError, match="color"):
        make(color="red")
    with pytest.raises(ValueError, match="hbr_m"):
        ScenarioObject("X", "spacecraft", Line("X", 0, 1), hbr_m=-1.0)
    with pytest.raises(ValueError, match="kind"):
        ScenarioObject("X", "rock", Line("X", 0, 1), hbr_m=1.0)
    sc = Scenario("s", [make("A"), make("B")])
    with pytest.raises(ValueError, match="already"):
        sc.add_object(make("A"))
    with pytest.raises(ValueError, match="already"):
        sc.object("B").name = "A"
    with pytest.raises(KeyError, match="no object named 'Z'"):
        sc.object("Z")
    with pytest.raises(ValueError, match="threshold_km"):
        sc.object("A").threshold_km = 0.0


def test_coverage_is_the_common_span_and_maneuvers_follow_renames():
    sc = Scenario("s", [make("A", 0.0, 100.0), make("B", 10.0, 50.0)])
    assert sc.coverage() == (10.0, 50.0)
    assert sc.full_coverage() == (0.0, 100.0)
    sc.set_maneuvers("A", ["burn"])
    sc.object("A").name = "A2"
    assert sc.maneuvers == {"A2": ["burn"]}
    sc.remove_object("A2")
    assert sc.maneuvers == {}
    with pytest.raises(ValueError, match="no common coverage"):
        Scenario("t", [make("A", 0.0, 1.0), make("B", 2.0, 3.0)]).coverage()


def test_palette_is_okabe_ito_first():
    assert palette_color(0) == "#E69F00" and palette_color(4) == "#0072B2"
    assert len({palette_color(i) for i in range(17)}) == 17
