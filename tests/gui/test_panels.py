"""The main window's panels come from one ordered list (``marsview.gui.panels.registry.PANELS``) and follow one
protocol (``marsview.gui.panels.base.Panel``): the right-hand tabs keep their order and objectNames, a panel
added with one registry line is docked and handed the scenario, every screening result and the close, and an
add-on panel that cannot be built is reported without taking the viewer down (pytest-qt, Xvfb)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QTabBar

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import fake_loader, make_scenario  # noqa: E402

import marsview.gui.main_window as main_window  # noqa: E402
from marsview.gui.panels.base import Panel, PanelEntry  # noqa: E402
from marsview.gui.panels.registry import PANELS  # noqa: E402

RIGHT_TABS = ["Objects", "Scenario", "Deliveries", "Maneuver planning", "Trade space", "Who moves", "Pc methods"]
RIGHT_DOCKS = ["objectsDock", "scenarioDock", "deliveriesDock", "maneuverPanel", "tradeSpacePanel", "whoMovesPanel",
               "pcMethodsPanel"]
WITHOUT_PLANNING = [0, 1, 2, 6]   # the right-hand docks that are not of the planning add-on


class CountingPanel(QDockWidget):
    """A panel as a new feature would write it: one class, registered by one PanelEntry line."""

    object_name = "countingPanel"
    dock_area = Qt.RightDockWidgetArea
    log: list = []

    @classmethod
    def for_window(cls, window):
        panel = cls("Counting", window)
        panel.setObjectName(cls.object_name)
        panel.label = QLabel("no scenario", panel)
        panel.setWidget(panel.label)
        return panel

    def set_scenario(self, scenario):
        self.log.append(("scenario", scenario.name))
        self.label.setText(f"{len(scenario.objects)} objects")

    def set_result(self, result):
        self.log.append(("result", len(result.events)))

    def shutdown(self):
        self.log.append(("shutdown",))


class BrokenPlanningPanel(CountingPanel):
    object_name = "brokenPlanningPanel"

    @classmethod
    def for_window(cls, window):
        raise RuntimeError("no planning child today")


def _right_tab_texts(window):
    bars = [b for b in window.findChildren(QTabBar) if b.count() and b.isVisible()]
    texts = [[b.tabText(i) for i in range(b.count())] for b in bars]
    return next(t for t in texts if "Objects" in t)


def test_the_registry_docks_every_panel_in_order_with_its_object_name(monkeypatch, fresh_window_factory):
    CountingPanel.log = []
    monkeypatch.setattr(main_window, "PANELS", PANELS + (PanelEntry(f"{__name__}:CountingPanel"),))
    window = fresh_window_factory(fake_loader, planning=True)
    names = list(window.panels)
    assert names[:2] == ["conjunctionDock", "plotsDock"] and names[2:] == RIGHT_DOCKS + ["countingPanel"]
    for name, panel in window.panels.items():
        assert isinstance(panel, Panel) and isinstance(panel, QDockWidget)
        assert panel.objectName() == name and window.findChild(QDockWidget, name) is panel
        assert window.dockWidgetArea(panel) == panel.dock_area
    # the visible order of the right-hand tab group (README "GUI automation" names, Objects in front)
    assert _right_tab_texts(window) == RIGHT_TABS + ["Counting"]
    assert not window.panel("objectsDock").visibleRegion().isEmpty()
    # the attributes the window has always had are lookups in the registry
    assert window.table is window.panel("conjunctionDock").table
    assert window.maneuver_panel is window.panel("maneuverPanel")
    assert window.deliveries is window.panel("deliveriesDock").watch
    # the new panel was handed the scenario and the first screening, like the built-in ones
    scenario, result = window.scenario, window.controller.result
    assert ("scenario", scenario.name) in CountingPanel.log and ("result", len(result.events)) in CountingPanel.log
    assert window.panel("countingPanel").label.text() == f"{len(scenario.objects)} objects"
    window.close()
    assert CountingPanel.log[-1] == ("shutdown",)


def test_without_planning_the_planning_panels_are_left_out(window_factory):
    window = window_factory(fake_loader)
    assert list(window.panels) == ["conjunctionDock", "plotsDock"] + [RIGHT_DOCKS[i] for i in WITHOUT_PLANNING]
    assert window.maneuver_panel is None and window.findChild(QDockWidget, "maneuverPanel") is None
    assert _right_tab_texts(window) == [RIGHT_TABS[i] for i in WITHOUT_PLANNING]


def test_a_failing_add_on_panel_is_reported_and_the_viewer_stays(monkeypatch, qtbot):
    from marsview.gui import shutdown_window

    planning = tuple(e for e in PANELS if e.addon == "planning")
    broken = (PanelEntry(f"{__name__}:BrokenPlanningPanel", addon="planning"),)
    monkeypatch.setattr(main_window, "PANELS", tuple(e for e in PANELS if e.addon is None) + broken + planning)
    window = main_window.MainWindow(scenario=make_scenario(), planning=True)
    try:
        with qtbot.waitSignal(window.screeningFinished, timeout=60000):
            window.show()
        # the rest of the add-on is left out; the viewer works (the screening reached the table)
        assert list(window.panels) == ["conjunctionDock", "plotsDock"] + [RIGHT_DOCKS[i] for i in WITHOUT_PLANNING]
        assert window.maneuver_panel is None and window.table.source_model.events
        message = window.findChild(QLabel, "statusError").text()
        assert message == "Maneuver planning unavailable: RuntimeError: no planning child today"
        assert "for_window" in window.last_error[1]  # the traceback is behind "Details…"
    finally:
        shutdown_window(window)


def test_every_registry_entry_names_a_panel_class():
    for entry in PANELS:
        cls = entry.load()
        assert issubclass(cls, QDockWidget), entry
        for member in ("object_name", "dock_area", "for_window", "set_scenario", "set_result", "shutdown"):
            assert hasattr(cls, member), (entry, member)
    with pytest.raises(ModuleNotFoundError):
        PanelEntry("marsview.gui.panels.no_such_module:Nothing").load()
