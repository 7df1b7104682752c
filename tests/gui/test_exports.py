"""Screenshots at any resolution with a caption, and the GUI's background movie export (pytest-qt, Xvfb)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import fake_loader  # noqa: E402

from marsview.gui.export.exports import default_caption, screenshot_view, screenshot_window  # noqa: E402
from marsview.gui.globe_view import qimage_to_rgb  # noqa: E402
from marsview.render.movie_frames import png_frame_name  # noqa: E402


@pytest.fixture(scope="module")
def window(window_factory):
    return window_factory(fake_loader, size=(1100, 700))


def mars_fraction(rgb, half=12):
    h, w = rgb.shape[:2]
    c = rgb[h // 2 - half:h // 2 + half, w // 2 - half:w // 2 + half].astype(int)
    return float(np.mean((c[..., 0] > 18) & (c[..., 0] > 1.3 * c[..., 1]) & (c[..., 1] >= c[..., 2])))


def test_4k_screenshot_of_the_view_from_a_smaller_window(window, tmp_path):
    assert window.globe.widget.height() < 2160
    window.reset_view()
    out = tmp_path / "view.png"
    screenshot_view(window, out, (3840, 2160))
    img = QImage(str(out))
    assert (img.width(), img.height()) == (3840, 2160)
    rgb = qimage_to_rgb(img)
    assert mars_fraction(rgb, 40) > 0.75  # the globe in the middle
    band = rgb[-40:]  # the caption: white text on a black band along the bottom
    assert band.min() == 0 and (band.min(axis=2) > 200).mean() > 0.01
    caption = default_caption(window)
    assert window.scenario.name in caption and "UTC" in caption and "focus Mars" in caption
    # the shown view is untouched by the off-screen render
    assert window.globe.canvas.size[1] < 2160


def test_projector_screenshot_without_caption_has_a_black_sky(window, tmp_path):
    from marsview.render.themes import PROJECTOR

    img = screenshot_view(window, tmp_path / "p.png", (800, 450), caption=None, theme=PROJECTOR)
    rgb = qimage_to_rgb(img)
    assert rgb.shape == (450, 800, 3) and rgb[-3:].max() == 0
    assert mars_fraction(rgb, 40) > 0.6  # the globe (an orbit line crosses the middle)


def test_whole_window_screenshot_at_twice_the_size(window, tmp_path):
    w, h = window.width(), window.height()
    img = screenshot_window(window, tmp_path / "win.png", (2 * w, 2 * h), caption="FDS briefing, test")
    assert (img.width(), img.height()) == (2 * w, 2 * h)
    rgb = qimage_to_rgb(img)
    gv = window.globe.widget
    tl = gv.mapTo(window, gv.rect().topLeft())
    cx, cy = 2 * (tl.x() + gv.width() // 2), 2 * (tl.y() + gv.height() // 2)
    c = rgb[cy - 20:cy + 20, cx - 20:cx + 20].astype(int)
    assert np.mean((c[..., 0] > 18) & (c[..., 0] > 1.3 * c[..., 1])) > 0.75  # the re-rendered view's globe
    assert QImage(str(tmp_path / "win.png")).size() == img.size()


def test_background_movie_export_writes_20_frames_and_keeps_the_gui_usable(window, qtbot, tmp_path):
    from marsview.gui.export.movie import start_movie_export

    before = window.globe.scene.tdb_s
    out = tmp_path / "frames"
    export = start_movie_export(window, out, window.clock.start_tdb_s, 2000.0, 10.0, 1000.0, (320, 180))
    assert export.dialog.objectName() == "movieProgress" and not export.dialog.isModal()
    result = []
    export.on_finished = lambda path, n: result.append(n)
    window.clock.set_time(window.clock.start_tdb_s + 5000.0)  # the user keeps working meanwhile
    qtbot.waitUntil(lambda: bool(result), timeout=60000)
    assert result == [20]
    assert sorted(p.name for p in out.iterdir()) == [png_frame_name(i) for i in range(20)]
    assert window.globe.scene.tdb_s == pytest.approx(window.clock.start_tdb_s + 5000.0)
    assert export.dialog.value() == 20
    del before


def test_cancelled_movie_leaves_no_partial_file(window, qtbot, tmp_path):
    from marsview.gui.export.movie import start_movie_export

    out = tmp_path / "long.mp4"
    export = start_movie_export(window, out, window.clock.start_tdb_s, 3600.0 * 20, 30.0, 100.0, (320, 180))
    canceled = []
    export.on_canceled = lambda: canceled.append(True)
    qtbot.waitUntil(lambda: export.sink.count >= 3, timeout=60000)
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    qtbot.mouseClick(export.dialog.findChild(QPushButton), Qt.LeftButton)  # the user's Cancel button
    qtbot.waitUntil(lambda: bool(canceled), timeout=30000)
    assert not out.exists() and not list(tmp_path.iterdir())
