"""The 3D view as a native GL window (gui.qtkit.gl_window): what the screen shows (the X server's own pixels,
not Qt's rendering of the widgets), the briefing overlay above it, the camera under the mouse, and grabs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import fake_loader  # noqa: E402

from marsview.gui.globe_view import qimage_to_rgb  # noqa: E402
from marsview.gui.qtkit.gl_window import GlCanvasWindow, ViewContainer, native_window_wanted  # noqa: E402

pytestmark = pytest.mark.skipif(not native_window_wanted(), reason="MARSVIEW_GL_WIDGET=1: the QOpenGLWidget view")


@pytest.fixture(scope="module")
def window(window_factory):
    w = window_factory(fake_loader, size=(1280, 800), activate=True)
    w.globe.scene.reset_camera()
    return w


def _pump(qapp, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        qapp.processEvents()
        time.sleep(0.01)


def _screen_rgb(widget, rect=None):
    """What the X server shows of WIDGET (or of RECT in its coordinates): a grab of the root window."""
    rect = rect or widget.rect()
    top_left = widget.mapToGlobal(rect.topLeft())
    image = QGuiApplication.primaryScreen().grabWindow(0, top_left.x(), top_left.y(), rect.width(), rect.height())
    return qimage_to_rgb(image.toImage())


def _mars_like(rgb):
    r, g, b = (rgb[..., k].astype(int) for k in range(3))
    return (r > 18) & (r > 1.3 * g) & (g >= b)


def test_the_view_is_a_native_window_and_the_screen_shows_mars(window, qapp):
    assert isinstance(window.globe.widget, ViewContainer)
    assert isinstance(window.globe.canvas.native, GlCanvasWindow)
    assert window.globe.widget.objectName() == "globeView"
    _pump(qapp, 0.5)
    rgb = _screen_rgb(window.globe.widget)
    h, w = rgb.shape[:2]
    assert _mars_like(rgb[h // 2 - 10:h // 2 + 10, w // 2 - 10:w // 2 + 10]).mean() > 0.75
    # QWidget.grab of the main window (what exports and screenshots use) sees the view too
    grab = qimage_to_rgb(window.grab().toImage())
    centre = window.globe.widget.mapTo(window, window.globe.widget.rect().center())
    assert _mars_like(grab[centre.y() - 10:centre.y() + 10, centre.x() - 10:centre.x() + 10]).mean() > 0.75


def test_briefing_overlay_shows_above_the_view_and_only_where_it_draws(window, qapp):
    b = window.briefing
    b.enter()
    try:
        _pump(qapp, 1.0)
        overlay = b.overlay
        view = window.globe.widget
        # the clock's box: on screen, the overlay's black background and white digits
        clock = overlay.clock
        rect = clock.geometry().translated(overlay.mapTo(view, QPoint(0, 0)))
        rgb = _screen_rgb(view, rect).astype(int)
        assert (rgb.max(axis=2) < 8).mean() > 0.5 and (rgb.min(axis=2) > 200).mean() > 0.02
        # the middle of the view, which the overlay does not draw on: Mars, not the overlay's background
        rgb = _screen_rgb(view)
        h, w = rgb.shape[:2]
        assert _mars_like(rgb[h // 2 - 10:h // 2 + 10, w // 2 - 10:w // 2 + 10]).mean() > 0.75
        # a label that appears later is shown too: the mask follows the overlay's labels
        overlay.flash("TEST INDICATOR")
        _pump(qapp, 0.5)
        ind = overlay.indicator.geometry().translated(overlay.mapTo(view, QPoint(0, 0)))
        assert overlay.mask().contains(overlay.indicator.geometry())
        amber = _screen_rgb(view, ind).astype(int)
        assert ((amber[..., 0] > 180) & (amber[..., 2] < 80)).mean() > 0.01  # its amber text and border
    finally:
        b.leave()
        _pump(qapp, 0.5)


def test_dragging_the_mouse_turns_the_camera(window, qapp):
    gl = window.globe.canvas.native
    camera = window.globe.scene.camera
    azimuth = camera.azimuth
    centre = QPoint(gl.width() // 2, gl.height() // 2)
    QTest.mousePress(gl, Qt.LeftButton, Qt.NoModifier, centre)
    for dx in range(10, 110, 10):
        QTest.mouseMove(gl, centre + QPoint(dx, 0))
        qapp.processEvents()
    QTest.mouseRelease(gl, Qt.LeftButton, Qt.NoModifier, centre + QPoint(100, 0))
    qapp.processEvents()
    assert abs(camera.azimuth - azimuth) > 1.0  # 5 degrees for this drag
    window.globe.scene.reset_camera()


def test_the_view_renders_before_it_is_ever_shown(qapp):
    """Built and rendered off screen (the window has no GL context until it is shown): the second context."""
    from marsview.gui.globe_view import GlobeView

    view = GlobeView(size=(320, 240))
    try:
        rgb = view.render(size=(320, 240))
        assert rgb.shape == (240, 320, 3)
        assert _mars_like(rgb[110:130, 150:170]).mean() > 0.75
        assert np.asarray(rgb[5, 5]).max() < 40
    finally:
        view.close()
