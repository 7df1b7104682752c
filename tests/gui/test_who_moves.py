"""The Who-moves dock through its real widgets on the maneuver panel's small two-body scenario (SC and OTHER pass
2 km apart): both spacecraft get an option whose exact re-screen miss is within 1 % of the target (the
screening threshold), an inactive object gets none, and "Apply" makes the option the maneuver panel's plan,
whose own exact check then shows the same miss."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from marsview.gui.planning.who_moves import WhoMovesPanel
from tests.gui.test_maneuver_panel import TIMEOUT_MS, setup  # noqa: F401 (fixture)


def _event(panel, a, b):
    return next(e for e in panel.baseline.events if {e.object1, e.object2} == {a, b})


def _options(qtbot, who, event):
    who.set_event(event)
    qtbot.waitUntil(lambda: who.options is not None or who.last_error is not None, timeout=TIMEOUT_MS)
    assert who.last_error is None, who.last_error
    return who.options


def test_both_options_side_by_side_and_apply(qtbot, setup):  # noqa: F811
    window, panel, scenario = setup
    who = WhoMovesPanel(panel, window)
    try:
        event = _event(panel, "SC", "OTHER")
        target_km = event.threshold_km
        opts = _options(qtbot, who, event)
        assert [o.object for o in opts] == [event.object1, event.object2]
        for o in opts:
            assert o.reason is None and 0 < o.total_dv_mps < 5.0
            assert abs(o.miss_after_km / target_km - 1.0) < 0.01, (o.object, o.miss_after_km, target_km)
        for i, o in enumerate(opts, 1):
            assert f"{o.miss_after_km:.3f} km" in who.texts[i - 1].text()
            assert window.findChild(QPushButton, f"whoMovesApply{i}").isEnabled()
        k = [o.object for o in opts].index("OTHER")
        window.findChild(QPushButton, f"whoMovesApply{k + 1}").click()
        assert panel.target.currentText() == "OTHER"
        assert panel.current_burn().dv_mps == pytest.approx(opts[k].dv_mps, abs=1e-4)
        qtbot.waitUntil(lambda: panel.outcome is not None and panel.outcome.mode == "exact"
                        and panel.outcome.request.spacecraft == "OTHER" and bool(panel.outcome.request.burns)
                        and not panel.worker.busy, timeout=TIMEOUT_MS)
        assert panel.outcome.targeted_after[1] == pytest.approx(opts[k].miss_after_km, rel=2e-3)
    finally:
        who.shutdown()


def test_an_inactive_object_cannot_move(qtbot, setup):  # noqa: F811
    window, panel, scenario = setup
    scenario.object("OTHER").kind = "inactive"
    who = WhoMovesPanel(panel, window)
    try:
        opts = _options(qtbot, who, _event(panel, "SC", "OTHER"))
        other = next(o for o in opts if o.object == "OTHER")
        assert other.reason == "cannot maneuver" and other.dv_mps is None
        assert not who.buttons[opts.index(other)].isEnabled()
        assert next(o for o in opts if o.object == "SC").reason is None
    finally:
        who.shutdown()
