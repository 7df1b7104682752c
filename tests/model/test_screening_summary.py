"""The one-line count of a screening (3D overlay, status bar) names the thresholds that decided its rows."""

from __future__ import annotations

from types import SimpleNamespace

from marsview.model.events import screening_summary


def _obj(name, threshold_km=None):
    return SimpleNamespace(name=name, threshold_km=threshold_km)


def test_an_object_with_its_own_wider_threshold_is_named():
    result = SimpleNamespace(objects=("MEX", "Phobos", "MRO"), threshold_km=10.0, events=[object()] * 3)
    objects = [_obj("MEX"), _obj("Phobos", 45.0), _obj("MRO", 5.0), _obj("Deimos", 60.0)]  # Deimos not screened
    assert screening_summary(result, objects) == "3 close approaches < 10 km (Phobos 45 km)"


def test_without_own_thresholds_the_line_is_the_global_one():
    result = SimpleNamespace(objects=("A", "B"), threshold_km=2.5, events=[])
    assert screening_summary(result, [_obj("A"), _obj("B")]) == "0 close approaches < 2.5 km"
    assert screening_summary(result) == "0 close approaches < 2.5 km"


def test_one_close_approach_is_singular():
    result = SimpleNamespace(objects=("A", "B"), threshold_km=10.0, events=[object()])
    assert screening_summary(result) == "1 close approach < 10 km"
