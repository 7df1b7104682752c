"""Briefing mode, its keys, its palette's contrast, saved views and persisted settings (pytest-qt, Xvfb)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import MISS_KM, TCA_TDB_S, fake_loader  # noqa: E402

from marsview.gui.briefing.briefing import (BRIEFING_PALETTE, contrast_ratio, countdown, install_briefing,  # noqa: E402
                                   last_scenario_paths, palette_contrasts, relative_luminance, restore_settings,
                                   save_layout)
from marsview.io.errors import ParseError  # noqa: E402


@pytest.fixture(scope="module")
def window(window_factory):
    w = window_factory(fake_loader, size=(1200, 800), activate=True)
    install_briefing(w)  # idempotent: the main window installed it already
    return w


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


def test_briefing_overlay_leaves_the_caption_scale_bar_and_labels_readable(window, qtbot):
    """In briefing mode the big clock, the callouts and the key hint are widgets over the 3D view: the view's
    caption starts below the clock, its scale bar sits above the callouts, no label goes under them, and
    the view's own small clock is not drawn under the big one."""
    from marsview.render.labels import boxes_overlap

    w = window
    w.briefing.enter()
    try:
        qtbot.keyClick(w, Qt.Key_N)
        qtbot.keyClick(w, Qt.Key_N)  # the designed encounter: the encounter view with its caption and bar
        w.select_event(next(e for e in w.controller.result.events if abs(e.tca_tdb_s - TCA_TDB_S) < 1.0))
        qtbot.wait(50)
        scene = w.globe.scene
        covered = w.briefing.overlay.covered_boxes()
        assert len(covered) >= 3 and [tuple(map(float, b)) for b in covered] == scene.reserved_boxes_px
        assert scene.encounter.event is not None and scene._scale_text
        scene.set_overlay_line("note", "a re-layout between frames")  # keeps the encounter caption
        assert any(x.startswith(f"miss {MISS_KM:.3f} km at TCA") for x in scene.text.texts("overlay"))
        scene.set_overlay_line("note", "")
        drawn = [b for b in scene._overlay_boxes if b not in scene.reserved_boxes_px]  # caption, scale bar
        drawn += [box for _text, box in scene.label_boxes()]
        assert drawn
        for box in drawn:
            for c in covered:
                assert not boxes_overlap(box, c), (box, c)
        assert not scene.clock_visible
    finally:
        w.briefing.leave()
    assert w.globe.scene.reserved_boxes_px == [] and w.globe.scene.clock_visible


# --- saved views -------------------------------------------------------------------------------------
def test_saved_views_recall_with_keys_and_sequence(window, qtbot, tmp_path):
    from marsview.gui.briefing.saved_views import read_views

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
    from marsview.gui.briefing.saved_views import read_views

    p = tmp_path / "views.toml"
    p.write_text('sequence = ["a"]\n\n[[views]]\nname = "a"\ntime_utc = "2025-05-08T00:00:00"\nkey = 12\n')
    with pytest.raises(ParseError) as info:
        read_views(p)
    assert info.value.line == 6 and info.value.keyword == "key" and str(p) in str(info.value)
    p.write_text('[[views]]\nname = "a"\ntime_utc = "not a time"\n')
    with pytest.raises(ParseError, match="time_utc") as info:
        read_views(p)
    assert info.value.line == 3


def test_briefing_indicator_shows_play_state_and_warp(window, qtbot):
    w = window
    w.clock.set_time(w.clock.start_tdb_s)
    w.briefing.enter()
    try:
        ind = w.briefing.overlay.indicator
        assert not ind.isVisible()
        qtbot.keyClick(w, Qt.Key_Space)
        assert ind.isVisible() and "PLAYING" in ind.text() and f"×{w.clock.warp:,.0f}" in ind.text()
        qtbot.keyClick(w, Qt.Key_Plus)
        assert f"×{w.clock.warp:,.0f}" in ind.text() and "PLAYING" in ind.text()
        qtbot.keyClick(w, Qt.Key_Space)
        assert "PAUSED" in ind.text()
        qtbot.keyClick(w, Qt.Key_Minus)
        assert f"×{w.clock.warp:,.0f}" in ind.text()
        # projector-legible: as large as the callouts at least, amber on black (checked >= 4.5:1 above)
        assert ind.fontMetrics().height() >= w.briefing.overlay.text_px
        assert ind.geometry().intersects(w.briefing.overlay.rect())
        qtbot.waitUntil(lambda: not ind.isVisible(), timeout=5000)  # transient
    finally:
        w.clock.pause()
        w.briefing.leave()


def test_briefing_type_scales_with_the_screen_height_and_dpi():
    from marsview.gui.briefing.briefing import BriefingOverlay

    overlay = BriefingOverlay(None)
    overlay.set_scale(1080, 96.0)
    hd = (overlay.clock_px, overlay.text_px)
    overlay.set_scale(2160, 96.0)  # 4K projector at 100 %: twice the pixels
    assert overlay.clock_px >= 2 * hd[0] - 1 and overlay.text_px >= 2 * hd[1] - 1 and overlay.text_px >= 56
    overlay.set_scale(768, 192.0)  # a small high-DPI screen: at least 16 pt of type
    assert overlay.text_px >= round(16 * 192 / 72) and overlay.clock_px >= round(36 * 192 / 72)
    overlay.flash("▶ PLAYING  ×100")
    assert overlay.indicator.fontMetrics().height() >= round(30 * 192 / 72)
    overlay.deleteLater()


def test_view_shortcuts_work_in_briefing_mode(window, qtbot, tmp_path, monkeypatch):
    import marsview.gui.briefing.saved_views as sv

    w, views = window, window.saved_views
    views.path = tmp_path / "views.toml"
    views.views, views.sequence = [], []
    monkeypatch.setattr(sv.QInputDialog, "getText", staticmethod(lambda *a, **k: ("from the projector", True)))
    w.briefing.enter()
    try:
        assert not w.menuBar().isVisible()
        qtbot.keyClick(w, Qt.Key_V, Qt.ControlModifier | Qt.ShiftModifier)
        assert [v.name for v in views.views] == ["from the projector"]
        assert "from the projector" in w.briefing.overlay.indicator.text()  # said where the presenter looks
        w.globe.scene.camera.distance = 12345.0
        qtbot.keyClick(w, Qt.Key_R)  # View -> Reset view
        assert w.globe.scene.camera.distance != pytest.approx(12345.0)
    finally:
        w.briefing.leave()


def test_saved_encounter_view_reopens_the_encounter(window, qtbot, tmp_path):
    from marsview.gui.briefing.saved_views import read_views

    w, views = window, window.saved_views
    views.path = tmp_path / "views.toml"
    views.views, views.sequence = [], []
    scene = w.globe.scene
    event = next(e for e in w.controller.result.events if abs(e.tca_tdb_s - TCA_TDB_S) < 1.0)
    w.select_event(event)
    w.clock.set_time(TCA_TDB_S - 20.0)
    scene.camera.distance, scene.camera.azimuth, scene.camera.elevation = 15.0, 33.0, 12.0
    focus_before = scene.focus_km().copy()
    views.save_current("the 2 km pass", key=3)
    saved = read_views(views.path)[0][0]
    assert saved.encounter == ("ALPHA", "BRAVO")
    assert saved.encounter_tca_tdb_s == pytest.approx(event.tca_tdb_s, abs=1e-5)
    assert 'encounter_tca_utc = "2025-05-08T' in views.path.read_text()
    w.leave_encounter()
    w.clock.set_time(w.clock.start_tdb_s)
    assert scene.encounter.event is None
    background = np.array(w.globe.render()[5, w.globe.widget.width() // 2, :3], dtype=int)
    qtbot.keyClick(w, Qt.Key_3)
    assert scene.encounter.event is not None and scene.encounter.event["tca"] == pytest.approx(event.tca_tdb_s)
    assert w.selected_event is event  # the table's event: plots and exports follow it
    assert w.clock.tdb_s == pytest.approx(TCA_TDB_S - 20.0, abs=1e-5)
    assert scene.camera.distance == pytest.approx(15.0) and scene.camera.azimuth == pytest.approx(33.0)
    # the focus is the pair's midpoint (400 km up), not Mars' centre: the camera is 15 km from it
    assert np.linalg.norm(scene.focus_km()) > 3000.0
    assert np.allclose(scene.focus_km(), focus_before, atol=1e-6)
    rgb = w.globe.render()[..., :3].astype(int)
    h, wd = rgb.shape[:2]
    centre = rgb[h // 4: 3 * h // 4, wd // 4: 3 * wd // 4]  # the relative path and miss line cross the centre
    drawn = np.abs(centre - background).sum(axis=2) > 60
    assert drawn.mean() > 0.002, "the recalled encounter view shows empty space"
    # the view still recalls when the screening has no such event (geometry from the ephemerides)
    views.views[0].encounter_tca_tdb_s = event.tca_tdb_s + 3600.0 * 5
    w.leave_encounter()
    views.recall("the 2 km pass")
    assert scene.encounter.event is not None and w.selected_event is None
    assert scene.encounter.event["tca"] == pytest.approx(event.tca_tdb_s + 18000.0)
    w.leave_encounter()


def test_bad_encounter_in_views_file_names_line_and_key(tmp_path):
    from marsview.gui.briefing.saved_views import read_views

    p = tmp_path / "views.toml"
    p.write_text('[[views]]\nname = "a"\ntime_utc = "2025-05-08T00:00:00"\nencounter = ["ALPHA"]\n'
                 'encounter_tca_utc = "2025-05-08T00:00:00"\n')
    with pytest.raises(ParseError, match="two object names") as info:
        read_views(p)
    assert info.value.line == 4 and info.value.keyword == "encounter"
    p.write_text('[[views]]\nname = "a"\ntime_utc = "2025-05-08T00:00:00"\nencounter = ["ALPHA", "BRAVO"]\n'
                 'encounter_tca_utc = "soon"\n')
    with pytest.raises(ParseError, match="encounter_tca_utc") as info:
        read_views(p)
    assert info.value.line == 5


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
