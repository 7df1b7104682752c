"""A plan is impossible to mistake for the delivery (issue 12): banner, 3D stamp and ghost orbit, before/after
columns with NEW and REMOVED rows, the planned distance curve, captions, report and briefing say PLANNED; opening
another scenario resets every panel; the trade space has a colour bar and a threshold contour; VNB boxes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from marsview.gui.panels.conjunction_table import TABLE_COLUMNS

from test_maneuver_panel import BURN_AT, BURN_DV, TIMEOUT_MS, make_scenario  # noqa: E402


@pytest.fixture
def planned_window(qtbot, tmp_path, monkeypatch):
    from marsview.gui.main_window import MainWindow

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    window = MainWindow(scenario=make_scenario(tmp_path), planning=True)
    qtbot.addWidget(window)
    panel = window.maneuver_panel
    panel.force_model.setCurrentText("two-body")
    window.show()
    qtbot.waitUntil(lambda: panel.baseline is not None and panel.encounter.count() > 0, timeout=TIMEOUT_MS)
    yield window, panel
    window.close()


def _row(window, pair):
    model = window.table.proxy
    for row in range(model.rowCount()):
        e = window.table.event_at(row)
        if {e.object1, e.object2} == set(pair):
            return row, [model.index(row, c).data() for c in range(model.columnCount())]
    return None, None


def test_a_plan_is_shown_as_planned_everywhere(qtbot, planned_window):
    from marsview.gui.export.exports import default_caption
    from marsview.gui.export.report import build_report

    window, panel = planned_window
    banner = window.findChild(QLabel, "plannedBanner")
    assert banner is not None and not banner.isVisible()
    assert window.table.source_model.columnCount() == len(TABLE_COLUMNS)
    panel.set_burn(BURN_AT, (0.0, BURN_DV, 0.0))  # creates THIRD (NEW) and pushes OTHER out (REMOVED)
    qtbot.waitUntil(lambda: bool(window.planned_label) and panel.outcome.mode == "exact", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: _row(window, ("SC", "THIRD"))[0] is not None, timeout=TIMEOUT_MS)
    assert banner.isVisible() and banner.text().startswith("PLANNED: SC") and "1.0000" in banner.text()
    # the table: before/after miss columns, NEW and REMOVED rows
    model = window.table.source_model
    headers = [model.headerData(c, Qt.Horizontal) for c in range(model.columnCount())]
    assert [h.replace("\n", " ") for h in headers[-3:]] == ["Miss before (km)", "Miss after (km)", "Plan"]
    _, new = _row(window, ("SC", "THIRD"))
    assert new[0].startswith("NEW · ") and new[-1] == "NEW" and float(new[-2]) == pytest.approx(1.5, abs=0.05)
    assert float(new[-3]) > 10.0  # its miss without the plan (above the threshold), not "—"
    _, gone = _row(window, ("SC", "OTHER"))
    assert gone[0].startswith("REMOVED · ") and gone[-1] == "REMOVED"
    assert float(gone[-3]) == pytest.approx(2.0, abs=0.01) and float(gone[-2]) > 10.0  # after-miss shown
    # the planner's own comparison shows the after-miss of the REMOVED row too
    rows = [[panel.comparison.item(r, c).text() for c in range(6)] for r in range(panel.comparison.rowCount())]
    other = next(r for r in rows if r[0].startswith("OTHER"))
    assert "(REMOVED)" in other[0] and "above threshold" in other[3] and other[3] != "—"
    # 3D view: overlay line, PLANNED stamp and the ghost orbit beside the delivered one
    scene = window.globe.scene
    assert scene.overlay_lines["plan"].startswith("PLANNED: SC")
    ghost = panel.indicator.ghost
    assert ghost.stamp.visible and ghost.stamp.text == "PLANNED" and ghost.line.visible
    assert ghost.last_positions_f32.shape[0] > 100
    # every export says so
    assert default_caption(window).startswith("PLANNED: SC")
    report = build_report(window, pictures=False)
    assert report.title.startswith("PLANNED") and report.facts[0][0] == "PLANNED"
    assert any("THIRD" in (e.object1, e.object2) for e in report.events)
    # an off-screen picture (screenshots, report) shows the ghost orbit and the stamp too
    from marsview.gui.export.exports import OffscreenView

    view = OffscreenView(window, (640, 400))
    try:
        rgb = view.render().astype(int)
    finally:
        view.close()
    magenta = (np.abs(rgb[..., 0] - 255) < 40) & (np.abs(rgb[..., 1] - 102) < 40) & (np.abs(rgb[..., 2] - 204) < 40)
    assert magenta.sum() > 50, "no ghost/stamp pixels in the off-screen view"
    window.briefing.overlay.show_state(scene.tdb_s, [], "UTC", window.planned_label)
    assert window.briefing.overlay.planned.text().startswith("PLANNED")
    # the distance plot shows the planned curve beside the delivered one
    row, _ = _row(window, ("SC", "THIRD"))
    window.table.selectRow(row)
    curve = window.plots._plan_curve
    qtbot.waitUntil(lambda: set(window.plots.distance_pair or ()) == {"SC", "THIRD"} and curve.yData is not None
                    and len(curve.yData) > 10, timeout=TIMEOUT_MS)
    assert np.min(curve.yData) == pytest.approx(1.5, abs=0.01)  # the planned curve dips to the planned miss
    assert np.min(window.plots._dist_curve.yData) > 10.0  # the delivered one does not come close
    # no burn: everything goes back to the delivery
    panel.clear_burn()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=TIMEOUT_MS)
    assert window.planned_label is None and window.table.source_model.columnCount() == len(TABLE_COLUMNS)
    assert not ghost.line.visible and scene.overlay_lines["plan"] == ""


def test_opening_another_scenario_resets_every_panel(qtbot, planned_window, tmp_path):
    window, panel = planned_window
    trade = panel.trade
    trade.cells.setValue(6)
    with qtbot.waitSignal(trade.finished, timeout=TIMEOUT_MS):
        trade.start()
    panel.set_burn(BURN_AT, (0.0, BURN_DV, 0.0))
    qtbot.waitUntil(lambda: bool(window.planned_label), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.plots.distance_pair is not None, timeout=TIMEOUT_MS)
    assert trade.status.text() and trade.result is not None
    other = make_scenario(None)
    other.name = "another scenario"
    window.controller.set_scenario(other)
    assert trade.status.text() == "" and trade.result is None and trade.image.image is None
    assert window.plots.distance_pair is None and len(window.plots._dist_curve.getData()[0] or []) == 0
    assert window.planned_label is None and not window.findChild(QLabel, "plannedBanner").isVisible()
    assert panel.comparison.rowCount() == 0 and panel.before_after.text() == ""


def test_trade_space_colour_bar_threshold_contour_and_defaults(qtbot, planned_window):
    window, panel = planned_window
    trade = panel.trade
    assert trade.target_pc.value() == -4.0 and "10^-4" in trade.target_pc.text()  # Pc 1e-4, not 10^0
    trade.cells.setValue(12)
    trade.dv_max.setValue(2.0)
    with qtbot.waitSignal(trade.finished, timeout=TIMEOUT_MS) as done:
        trade.start()
    miss = done.args[0].miss_km
    lo, hi = trade.colorbar.levels()
    assert lo == pytest.approx(np.nanmin(miss)) and hi == pytest.approx(np.nanmax(miss))
    assert trade.colorbar.axis.labelText == "miss distance (km)"
    assert lo < 10.0 < hi and trade.contour.level == 10.0  # the screening threshold
    trade.contour.generatePath()  # (pyqtgraph builds it when painting)
    assert trade.contour.path is not None and trade.contour.path.elementCount() > 2
    # VNB: the boxes say Velocity / Normal / Binormal, top to bottom
    panel.frame.setCurrentText("VNB")
    grid = panel.dv_grid
    assert [grid.itemAtPosition(r, 0).widget().text() for r in range(3)] == [
        "Velocity (m/s)", "Normal (m/s)", "Binormal (m/s)"]
    assert grid.itemAtPosition(0, 1).widget() is panel.dv_in_track  # V is the in-track box (dv_local_mps)
    panel.frame.setCurrentText("RTN")
    assert grid.itemAtPosition(0, 0).widget().text() == "Radial (m/s)"


def test_a_planned_report_draws_and_plots_the_planned_trajectory(qtbot, planned_window, monkeypatch):
    """The report of a shown plan is consistent with its own table: the distance plot and the encounter picture
    of a planned close approach use the planned trajectory of the maneuvered spacecraft (the delivered one
    never comes within 10 km of THIRD), and the picture has the encounter's 1-/3-sigma ellipses."""
    from marsview.gui.export import exports, report

    window, panel = planned_window
    panel.set_burn(BURN_AT, (0.0, BURN_DV, 0.0))
    qtbot.waitUntil(lambda: bool(window.planned_label) and panel.outcome.mode == "exact", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: _row(window, ("SC", "THIRD"))[0] is not None, timeout=TIMEOUT_MS)
    row, _ = _row(window, ("SC", "THIRD"))
    window.table.selectRow(row)  # the window's encounter view of the planned event: planned pair, ellipses
    ev = window.globe.scene.encounter.event
    assert ev is not None and panel.outcome.planned in (ev["eph1"], ev["eph2"]) and ev["plane"] is not None
    plotted, drawn = {}, []
    real_plot, real_render = report.distance_plot_image, exports.OffscreenView.render

    def plot(eph1, eph2, *args, **kw):
        plotted[(eph1.name, eph2.name)] = (eph1, eph2)
        return real_plot(eph1, eph2, *args, **kw)

    def render(view, tdb_s=None):
        ev = view.scene.encounter.event
        now = np.linalg.norm(ev["eph2"].state(np.array([ev["tca"]]))[0, :3] - ev["eph1"].state(np.array([ev["tca"]]))[0, :3])
        drawn.append(({ev["eph1"].name, ev["eph2"].name}, ev["miss_km"], now, ev["plane"]))
        return real_render(view, tdb_s)

    monkeypatch.setattr(report, "distance_plot_image", plot)
    monkeypatch.setattr(exports.OffscreenView, "render", render)
    content = report.build_report(window, pictures=True)
    pair = next(k for k in plotted if set(k) == {"SC", "THIRD"})
    planned = panel.outcome.planned
    assert planned in plotted[pair] and window.scenario.object("SC").ephemeris not in plotted[pair]
    third = [d for d in drawn if d[0] == {"SC", "THIRD"}]
    assert third and content.pictures
    for _names, miss_km, now_km, plane in third:
        assert now_km == pytest.approx(miss_km, abs=0.01)  # the drawn pair is at the planned miss at TCA
        assert plane is not None  # the ellipses of the combined covariance
