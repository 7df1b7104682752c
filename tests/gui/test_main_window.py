"""The main window driven through its objectNames (pytest-qt under Xvfb)."""

from __future__ import annotations

import csv
import importlib.util
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QComboBox, QSlider, QTableView, QToolButton, QWidget

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import MISS_KM, T0_TDB_S, TCA_TDB_S, fake_loader  # noqa: E402

from marsview.gui.main_window import MainWindow  # noqa: E402

HAS_SCENARIO_IO = importlib.util.find_spec("marsview.io.scenario") is not None


@pytest.fixture(scope="module")
def window(window_factory):
    """One window for the module (building one costs seconds under llvmpipe); tests leave it usable."""
    return window_factory(fake_loader)


def mars_disc_fraction(rgb: np.ndarray) -> float:
    """Fraction of the central patch whose colour is Mars-like (red > green > blue, bright enough)."""
    h, w = rgb.shape[:2]
    patch = rgb[h // 2 - 10:h // 2 + 10, w // 2 - 10:w // 2 + 10, :3].astype(int)
    r, g, b = patch[..., 0], patch[..., 1], patch[..., 2]
    # hue test, not brightness: the disc may be on the night side, lit only by the ambient term
    return float(np.mean((r > 18) & (r > 1.3 * g) & (g >= b)))


def test_window_exposes_the_automation_names(window):
    for cls, name in ((QWidget, "globeView"), (QTableView, "conjunctionTable"), (QSlider, "timeSlider"),
                      (QToolButton, "playButton"), (QComboBox, "timeWarp")):
        assert window.findChild(cls, name) is not None, name


def test_globe_renders_a_mars_coloured_disc(window):
    window.globe.scene.reset_camera()
    window.globe.scene.set_time(window.clock.tdb_s)
    rgb = window.globe.render()
    assert rgb.shape[2] == 3
    assert mars_disc_fraction(rgb) > 0.75  # lit or ambient-lit, the middle of the view is Mars
    corner = rgb[-12:-2, 2:12].astype(int)
    assert corner.max() < 40  # space is dark in the bottom-left corner
    grab = window.findChild(QWidget, "globeView").grab().toImage()
    assert not grab.isNull() and grab.width() > 300


def test_play_advances_the_clock_and_warp_scales_it(window, qtbot):
    warp = window.findChild(QComboBox, "timeWarp")
    warp.setCurrentIndex(warp.findData(1000.0))
    t0 = window.clock.tdb_s
    qtbot.mouseClick(window.findChild(QToolButton, "playButton"), Qt.LeftButton)
    wall0 = time.perf_counter()
    qtbot.waitUntil(lambda: window.clock.tdb_s > t0 + 200.0, timeout=5000)
    qtbot.mouseClick(window.findChild(QToolButton, "playButton"), Qt.LeftButton)
    elapsed_wall = time.perf_counter() - wall0
    advanced = window.clock.tdb_s - t0
    assert not window.clock.playing
    assert advanced <= 1000.0 * elapsed_wall + 1.0  # never faster than the warp


def test_slider_scrubs_through_the_window(window):
    slider = window.findChild(QSlider, "timeSlider")
    slider.setValue(slider.maximum() // 2)
    start, stop = window.clock.start_tdb_s, window.clock.stop_tdb_s
    assert window.clock.tdb_s == pytest.approx(0.5 * (start + stop), abs=(stop - start) * 1e-4)


def test_selecting_a_row_jumps_to_tca_and_opens_the_encounter_view(window, qtbot):
    table = window.findChild(QTableView, "conjunctionTable")
    model = table.model()
    assert model.rowCount() == 3
    rows = {round(float(model.index(r, 2).data()), 3): r for r in range(model.rowCount())}
    assert MISS_KM in rows
    table.selectRow(rows[MISS_KM])
    assert window.clock.tdb_s == pytest.approx(TCA_TDB_S, abs=1e-3)
    assert window.globe.scene.encounter.event is not None
    # the encounter view is centred between the two objects: both within the camera's metre-scale range
    rgb = window.globe.render()
    assert rgb.shape[0] > 100
    qtbot.waitUntil(lambda: window.plots._dist_curve.xData is not None and len(window.plots._dist_curve.xData) > 100,
                    timeout=10000)
    d = window.plots._dist_curve.yData
    assert d.min() == pytest.approx(MISS_KM, rel=0.05)


def test_view_controls_frame_clock_follow_and_theme(window):
    from PySide6.QtWidgets import QCheckBox, QLabel

    scene = window.globe.scene
    window.findChild(type(window.actionFixed), "actionFrameFixed").trigger()
    assert scene.frame == "IAU_MARS"
    window.set_display_frame("MCI")
    assert scene.frame == "MCI"
    tdb = window.findChild(QCheckBox, "clockTdb")
    tdb.setChecked(True)
    assert window.findChild(QLabel, "clockLabel").text().endswith("TDB")
    tdb.setChecked(False)
    assert window.findChild(QLabel, "clockLabel").text().endswith("UTC")
    window.objects.select("CHARLIE")
    window.follow(window.objects.selected_name())
    assert scene.focus_name == "CHARLIE"
    names = list(scene.entries)
    assert np.all(scene.markers.last_positions_f32[names.index("CHARLIE")] == 0.0)  # centred on it
    window.follow(None)
    window.set_theme("projector")
    assert window.globe.render()[-3:, :, :3].max() == 0  # pure black sky
    window.set_theme("workstation")


def test_hiding_an_object_removes_its_marker(window, qtbot):
    from PySide6.QtCore import Qt as _Qt

    scene = window.globe.scene
    item = window.objects.table.item(2, 0)
    assert item.text() == "CHARLIE"
    item.setCheckState(_Qt.Unchecked)  # the user's tick box -> model -> queued notification -> view
    assert window.scenario.object("CHARLIE").visible is False
    qtbot.waitUntil(lambda: len(scene.markers.last_positions_f32) == 2, timeout=5000)
    item.setCheckState(_Qt.Checked)
    qtbot.waitUntil(lambda: len(scene.markers.last_positions_f32) == 3, timeout=5000)


def test_csv_export_has_every_row(window, tmp_path):
    out = tmp_path / "ca.csv"
    window.export_csv(out)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3
    assert min(float(r["miss_km"]) for r in rows) == pytest.approx(MISS_KM, abs=1e-6)


def _drop(widget, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    widget.dropEvent(event)


def test_bad_dropped_file_shows_an_error_and_keeps_the_scenario(window, qtbot, tmp_path):
    bad = tmp_path / "broken.oem"
    bad.write_text("CCSDS_OEM_VERS = 2.0\nMETA_START\nOBJECT_NAME = X\n")
    before = window.scenario
    names = before.names()
    with qtbot.waitSignal(window.controller.loadFailed, timeout=30000):
        _drop(window, bad)
    assert window.scenario is before and window.scenario.names() == names
    error = window.findChild(QWidget, "statusError")
    assert "broken.oem" in error.text() and ":2:" in error.toolTip()  # file and line of the problem
    assert window.findChild(QWidget, "errorDetailsButton").isVisible()


def test_surface_map_loader_reads_the_viking_mosaic(window, reference_dir):
    path = reference_dir / "data" / "mars_viking_mdim21_colormosaic_1024x512.jpg"
    assert window.load_surface_map(path)
    tex = window.globe.scene.texture_rgb
    assert tex.shape == (512, 1024, 3)
    assert window.settings.value("surfaceMap") == str(path)
    window.reset_surface_map()
    assert window.settings.value("surfaceMap", "") == ""


def test_surface_map_with_wrong_aspect_is_refused(window, tmp_path):
    from marsview.gui.globe_view import rgb_to_qimage

    path = tmp_path / "square.png"
    rgb_to_qimage(np.zeros((64, 64, 3), np.uint8)).save(str(path))
    before = window.globe.scene.texture_rgb
    assert not window.load_surface_map(path)
    assert window.globe.scene.texture_rgb is before
    assert "2:1" in window.findChild(QWidget, "statusError").text()


def test_closing_with_a_screening_running_exits_cleanly(qtbot):
    started, stopped = threading.Event(), threading.Event()

    def slow(cancel):
        started.set()
        while not cancel():
            time.sleep(0.01)
        stopped.set()

    w = MainWindow(loader=fake_loader)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.scenarioLoaded, timeout=30000):
        w.show()
    w.controller.screen_lane.submit(slow)
    assert started.wait(10)
    w.clock.play()
    w.close()
    assert stopped.is_set()  # the close cancelled and joined the worker
    assert not w.clock.playing
    assert not w.controller.screen_lane.busy


@pytest.mark.skipif(not HAS_SCENARIO_IO, reason="marsview.io.scenario (default scenario) not available yet")
def test_window_opens_on_the_default_scenario(qtbot):
    from marsview.gui import launch

    w = launch(show=True)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.scenario is not None or w.last_error is not None, timeout=60000)
    assert w.last_error is None, w.last_error
    assert len(w.scenario.objects) >= 2
    assert T0_TDB_S  # fake scenario constants stay importable


def test_next_close_approach_walks_through_the_table(window):
    window.leave_encounter()
    window.clock.set_time(window.clock.start_tdb_s)
    tcas = sorted(e.tca_tdb_s for e in window.controller.result.events)
    seen = []
    for _ in tcas:
        window.jump_next_close_approach()
        seen.append(window.clock.tdb_s)
    assert seen == pytest.approx(tcas, abs=1e-3)
    window.plots.eventClicked.emit(window.controller.result.events[0])  # a click on the timeline
    assert window.clock.tdb_s == pytest.approx(window.controller.result.events[0].tca_tdb_s, abs=1e-3)


# --- presentation: table, plots, clocks ----------------------------------------------------------------
def test_table_shows_crossing_dt_and_small_pc_and_fits_the_default_window(window, qtbot):
    import dataclasses

    from marsview.gui.panels.conjunction_table import TABLE_COLUMNS

    table = window.table
    assert window.size().width() == 1600  # the default window
    headers = [table.model().headerData(c, Qt.Horizontal) for c in range(table.model().columnCount())]
    dt_col = next(c for c, h in enumerate(headers) if "Δt (s)" in h)
    real = sorted(window.controller.result.events, key=lambda e: e.tca_tdb_s)
    for row, e in enumerate(real):  # sorted by TCA
        assert table.model().index(row, dt_col).data() == f"{e.crossing_dt_s:.1f}"
    # the widest values a Mars fleet gives, in every column
    base = real[0]
    wide = [dataclasses.replace(base, object1=a, object2=b, miss_km=49.999, relative_speed_kms=12.345,
                                radial_km=-49.999, in_track_km=-49.999, cross_track_km=-49.999,
                                crossing_dt_s=-12345.6, miss_sigma=123.45, pc=pc)
            for a, b, pc in (("MAVEN", "Deimos", 3.3e-300), ("TGO", "TW1", 1.23e-4), ("ODY", "Phobos", None))]
    try:
        table.set_events(wide)
        qtbot.wait(50)
        pc_col = next(c for c, col in enumerate(TABLE_COLUMNS) if col.header == "Pc")
        pcs = {table.model().index(r, pc_col).data() for r in range(3)}
        assert pcs == {"< 1e-10", "1.23e-04", "—"}
        hh = table.horizontalHeader()
        needed = [max(table.sizeHintForColumn(c), hh.sectionSizeHint(c)) for c in range(len(headers))]
        assert sum(needed) <= table.viewport().width(), (needed, table.viewport().width())
        assert table.horizontalScrollBar().maximum() == 0
    finally:
        table.set_events(window.controller.result.events)


def test_plots_name_the_month_span_the_window_and_state_the_altitude_reference(window, qtbot):
    from marsview.core.time import utc_to_tdb_s
    from marsview.gui.panels.plots import ALTITUDE_REFERENCE_RADIUS_KM, sample_altitude, tdb_to_posix_utc

    plots = window.plots
    start, stop = window.clock.start_tdb_s, window.clock.stop_tdb_s  # the screening window (1 day)
    x0, x1 = tdb_to_posix_utc([start, stop])
    lo, hi = plots.timelinePlot.viewRange()[0]
    assert lo == pytest.approx(x0, abs=60.0) and hi == pytest.approx(x1, abs=60.0)  # not just the 3 TCAs
    # the date ticks name the month, at a one-day span and at a two-week span
    axis = plots.timelinePlot.getAxis("bottom")
    plots.setCurrentWidget(plots.timelinePlot)
    assert not plots.timelinePlot.grab().isNull()  # painted once: the axis knows its font metrics
    for days in (1.0, 14.0):
        a, b = tdb_to_posix_utc([utc_to_tdb_s("2025-05-08T00:00:00"), utc_to_tdb_s("2025-05-08T00:00:00")
                                 + days * 86400.0])
        levels = axis.tickValues(a, b, 600)
        labels = [s for spacing, values in levels for s in axis.tickStrings(values, 1.0, spacing)]
        assert any("May" in s for s in labels), labels
    # altitude above the sphere scenario.toml's periapsis_alt_km refers to: ALPHA flies 400 km above it
    alpha = window.scenario.object("ALPHA").ephemeris
    _t, alt = sample_altitude(alpha, start, stop)
    assert ALTITUDE_REFERENCE_RADIUS_KM == pytest.approx(3396.19)
    assert np.allclose(alt, 400.0, atol=1e-6)
    assert "3396.19" in plots.altitudePlot.getAxis("left").labelText


def test_clocks_never_round_past_the_time_bar(window):
    from PySide6.QtWidgets import QLabel

    from marsview.core.time import utc_to_tdb_s

    bar = window.findChild(QLabel, "clockLabel")
    for utc in ("2025-05-08T20:00:59.96", "2025-05-08T20:00:59.5", "2025-05-08T23:59:59.97"):
        window.clock.set_time(utc_to_tdb_s(utc))
        shown_3d = window.globe.scene.clock_text  # '2025-05-08 20:00:59 UTC'
        assert bar.text().startswith(shown_3d.removesuffix(" UTC") + "."), (bar.text(), shown_3d)
        assert shown_3d.startswith(utc[:19].replace("T", " ")), shown_3d  # cut, not rounded up
