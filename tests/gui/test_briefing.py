"""Briefing mode, its keys, its palette's contrast, saved views and persisted settings (pytest-qt, Xvfb)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import MISS_KM, TCA_TDB_S, fake_loader  # noqa: E402

from marsview.gui.briefing import (BRIEFING_PALETTE, contrast_ratio, countdown, install_briefing,  # noqa: E402
                                   last_scenario_paths, palette_contrasts, relative_luminance, restore_settings,
                                   save_layout)
from marsview.io.errors import ParseError  # noqa: E402


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    settings_dir = tmp_path_factory.mktemp("settings")
    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(settings_dir))
    from marsview.gui import launch, shutdown_window

    w = launch(show=True, planning=False, loader=fake_loader)
    install_briefing(w)
    w.resize(1200, 800)
    done = []
    w.screeningFinished.connect(lambda: done.append(True))
    deadline = time.time() + 60
    while not done and time.time() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    assert done, "the first screening never finished"
    w.activateWindow()  # shortcuts need the active window (there is no window manager under Xvfb)
    deadline = time.time() + 5
    while not w.isActiveWindow() and time.time() < deadline:
        qapp.processEvents()
    yield w
    if w.briefing.active:
        w.briefing.leave()
    shutdown_window(w)


# --- WCAG contrast ---------------------------------------------------------------------------------------
def test_contrast_ratio_matches_published_wcag_values():
    assert relative_luminance("#000000") == 0.0 and relative_luminance("#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    # WebAIM's reference pairs: #767676 on white is the darkest grey that passes AA (4.54), #777777 fails (4.48)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#ffffff", "#767676") == contrast_ratio("#767676", "#ffffff")


def test_projector_palette_meets_wcag_aa():
    from marsview.render.themes import OKABE_ITO, PROJECTOR

    for key, ratio in palette_contrasts().items():
        assert ratio >= 4.5, f"briefing text colour {key} {BRIEFING_PALETTE[key]}: {ratio:.2f}:1 < 4.5:1"
    # the 3D view's projector theme: text and feature labels on its sky
    for fg in (PROJECTOR.text, PROJECTOR.text_dim, PROJECTOR.feature_label_color):
        assert contrast_ratio(fg, PROJECTOR.background) >= 4.5
    # default object colours are graphics (orbits, markers): WCAG 1.4.11 asks 3:1 against the sky
    for c in OKABE_ITO:
        assert contrast_ratio(c, PROJECTOR.background) >= 3.0, c


def test_countdown_format():
    assert countdown(3 * 3600 + 62) == "T−03:01:02"
    assert countdown(-65) == "T+00:01:05"
    assert countdown(86400 * 2 + 5) == "T−2 d 00:00:05"


# --- the mode ------------------------------------------------------------------------------------------
def _docks(w):
    return {d.objectName(): (d.isVisible(), d.geometry().getRect()) for d in w.findChildren(QDockWidget)}


def test_briefing_mode_toggles_and_restores_the_layout(window, qtbot):
    w = window
    qtbot.wait(50)
    before = dict(geometry=w.geometry().getRect(), docks=_docks(w), state=bytes(w.saveState().data()),
                  menubar=w.menuBar().isVisible(), timebar=w.timebar.isVisible(), theme=w.theme.name)
    assert any(v for v, _ in before["docks"].values())
    qtbot.keyClick(w, Qt.Key_F11)
    assert w.briefing.active and w.briefing.action.isChecked()
    qtbot.waitUntil(lambda: w.isFullScreen(), timeout=3000)
    assert not any(d.isVisible() for d in w.findChildren(QDockWidget))
    assert not w.menuBar().isVisible() and not w.statusBar().isVisible() and not w.timebar.isVisible()
    assert w.theme.name == "projector"
    overlay = w.findChild(type(w.briefing.overlay), "briefingOverlay")
    assert overlay.isVisible()
    clock = w.briefing.overlay.clock
    assert clock.text().endswith("UTC") and clock.isVisible()
    # type scales with the screen: a 1080-px screen gives a clock >= 60 px high
    assert w.briefing.overlay.clock_px >= 0.06 * w.screen().geometry().height()
    # the 3D view fills the screen and its sky is pure black
    qtbot.waitUntil(lambda: w.globe.widget.height() >= 0.9 * w.screen().geometry().height(), timeout=3000)
    rgb = w.globe.render()
    assert rgb[-3:, :, :3].max() == 0
    grab = w.grab().toImage()
    assert grab.pixelColor(2, grab.height() - 2).name() == "#000000"
    qtbot.keyClick(w, Qt.Key_Escape)
    assert not w.briefing.active and not w.briefing.action.isChecked()
    qtbot.waitUntil(lambda: not w.isFullScreen() and w.geometry().getRect() == before["geometry"], timeout=3000)
    qtbot.waitUntil(lambda: _docks(w) == before["docks"], timeout=3000)
    assert bytes(w.saveState().data()) == before["state"]
    assert w.menuBar().isVisible() == before["menubar"] and w.timebar.isVisible() == before["timebar"]
    assert w.theme.name == before["theme"] and not overlay.isVisible()


def test_briefing_keys_act(window, qtbot):
    w = window
    w.clock.set_time(w.clock.start_tdb_s)
    w.briefing.enter()
    try:
        assert not w.clock.playing
        qtbot.keyClick(w, Qt.Key_Space)
        assert w.clock.playing
        qtbot.keyClick(w, Qt.Key_Space)
        assert not w.clock.playing
        t0 = w.clock.tdb_s
        qtbot.keyClick(w, Qt.Key_Right)
        step = w.clock.tdb_s - t0
        assert step > 0
        qtbot.keyClick(w, Qt.Key_Left)
        assert w.clock.tdb_s == pytest.approx(t0)
        warp0 = w.clock.warp
        qtbot.keyClick(w, Qt.Key_Plus)
        assert w.clock.warp > warp0
        qtbot.keyClick(w, Qt.Key_Minus)
        qtbot.keyClick(w, Qt.Key_Minus)
        assert w.clock.warp < warp0
        # N: the next close approach; the designed 2 km one is the second of the three
        events = sorted(w.controller.result.events, key=lambda e: e.tca_tdb_s)
        qtbot.keyClick(w, Qt.Key_N)
        assert w.clock.tdb_s == pytest.approx(events[0].tca_tdb_s, abs=1e-3)
        qtbot.keyClick(w, Qt.Key_N)
        assert w.clock.tdb_s == pytest.approx(TCA_TDB_S, abs=1e-3)
        texts = w.briefing.overlay.callout_texts()
        assert texts and "ALPHA – BRAVO" in texts[0]
        assert any(f"miss {MISS_KM:.3f} km" in t and "T+00:00:00" in t for t in texts)
        assert any("T−00:59:1" in t for t in texts)  # the third approach, ~59 min later
        assert all("Pc" in t for t in texts)
        # the window's own Esc action (leave encounter view) does not steal Esc while briefing
        qtbot.keyClick(w, Qt.Key_Escape)
        assert not w.briefing.active
    finally:
        if w.briefing.active:
            w.briefing.leave()


# --- saved views -------------------------------------------------------------------------------------
def test_saved_views_recall_with_keys_and_sequence(window, qtbot, tmp_path):
    from marsview.gui.saved_views import read_views

    w, views = window, window.saved_views
    views.path = tmp_path / "views.toml"
    views.views, views.sequence = [], []
    scene = w.globe.scene
    w.clock.set_time(w.clock.start_tdb_s + 600.0)
    w.follow(None)
    scene.camera.distance, scene.camera.azimuth = 30000.0, 10.0
    views.save_current("overview", key=1)
    w.scenario.object("CHARLIE").visible = False
    w.follow("ALPHA")
    w.set_display_frame("IAU_MARS")
    w.clock.set_time(TCA_TDB_S)
    scene.camera.distance = 123.0
    views.save_current("alpha", key=2)
    saved, sequence = read_views(views.path)
    assert [v.name for v in saved] == ["overview", "alpha"] and sequence == ["overview", "alpha"]
    assert saved[1].tdb_s == pytest.approx(TCA_TDB_S, abs=1e-5) and saved[1].focus == "ALPHA"
    assert saved[1].visible == ["ALPHA", "BRAVO"]
    qtbot.keyClick(w, Qt.Key_1)  # the window's shortcut (not briefing)
    assert w.clock.tdb_s == pytest.approx(w.clock.start_tdb_s + 600.0, abs=1e-5)
    assert scene.frame == "MCI" and scene.focus_name is None
    assert scene.camera.distance == pytest.approx(30000.0) and scene.camera.azimuth == pytest.approx(10.0)
    assert w.scenario.object("CHARLIE").visible
    w.briefing.enter()
    try:
        qtbot.keyClick(w, Qt.Key_PageDown)
        assert scene.focus_name == "ALPHA" and scene.frame == "IAU_MARS"
        assert scene.camera.distance == pytest.approx(123.0)
        assert not w.scenario.object("CHARLIE").visible
        qtbot.keyClick(w, Qt.Key_PageUp)
        assert scene.focus_name is None and w.scenario.object("CHARLIE").visible
    finally:
        w.briefing.leave()
        w.set_display_frame("MCI")


def test_bad_views_file_names_line_and_key(tmp_path):
    from marsview.gui.saved_views import read_views

    p = tmp_path / "views.toml"
    p.write_text('sequence = ["a"]\n\n[[views]]\nname = "a"\ntime_utc = "2025-05-08T00:00:00"\nkey = 12\n')
    with pytest.raises(ParseError) as info:
        read_views(p)
    assert info.value.line == 6 and info.value.keyword == "key" and str(p) in str(info.value)
    p.write_text('[[views]]\nname = "a"\ntime_utc = "not a time"\n')
    with pytest.raises(ParseError, match="time_utc") as info:
        read_views(p)
    assert info.value.line == 3


# --- settings ----------------------------------------------------------------------------------------
def test_settings_remember_theme_layout_and_last_scenario(window, tmp_path):
    w = window
    w.actionProjector.trigger()  # the user toggles the theme
    assert w.settings.value("theme") == "projector"
    w.actionProjector.trigger()
    assert w.settings.value("theme") == "workstation"
    w.resize(1111, 777)
    save_layout(w)
    w.resize(900, 600)
    w.settings.setValue("theme", "projector")
    restore_settings(w)
    assert (w.width(), w.height()) == (1111, 777) and w.theme.name == "projector"
    w.set_theme("workstation")
    w.actionProjector.setChecked(False)
    assert last_scenario_paths(w.settings) is None  # the test scenario has no files
    folder = tmp_path / "sc"
    folder.mkdir()
    w.settings.setValue("lastScenario", f'["{folder}"]')
    assert last_scenario_paths(w.settings) == [str(folder)]
    folder.rmdir()
    assert last_scenario_paths(w.settings) is None  # gone: the default scenario opens instead
    assert np.isfinite(w.clock.tdb_s)
