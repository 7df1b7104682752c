"""Screenshots at any resolution, with a caption (scenario, time, who/what), as PNG.

The 3D view is rendered by ``OffscreenView``: a hidden canvas of exactly the requested size with its own
``MarsScene`` that mirrors the window's (objects, theme, surface map, frame, focus, encounter, camera,
overlay lines). So a 3840x2160 image comes from a 1280x720 window without stretching, and the shown view is
untouched. Type, markers and lines are scaled by output height / reference height so the picture looks like
the window, only sharper. Movie export and the report use the same class.
"""

from __future__ import annotations

import dataclasses
import getpass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QPoint, QRect, Qt
from PySide6.QtGui import QAction, QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog

from marsview.core.time import format_clock

from ..globe_view import rgb_to_qimage


def scaled_theme(theme, factor: float):
    """THEME with type, markers and lines scaled by FACTOR (clamped to 0.5..8)."""
    f = float(np.clip(factor, 0.5, 8.0))
    return dataclasses.replace(theme, label_font_pt=theme.label_font_pt * f, overlay_font_pt=theme.overlay_font_pt * f,
                               clock_font_pt=theme.clock_font_pt * f, marker_px=theme.marker_px * f,
                               line_width_px=theme.line_width_px * f)


class OffscreenView:
    """A hidden WxH canvas mirroring WINDOW's 3D view; ``render(tdb_s)`` -> (H, W, 3) uint8."""

    def __init__(self, window, size, theme=None, reference_height_px: float | None = None):
        from vispy import scene as vscene

        from marsview.render.scene import MarsScene

        self.window = window
        self.size = (int(size[0]), int(size[1]))
        src = window.globe.scene
        base = theme if theme is not None else src.theme
        ref = reference_height_px or max(window.globe.widget.height(), 1)
        self.theme = scaled_theme(base, self.size[1] / ref)
        self.canvas = vscene.SceneCanvas(keys=None, size=self.size, show=False, bgcolor=self.theme.background)
        w = self.canvas.native
        # shown but never on screen, so Qt gives the GL widget a context and its real size (a hidden widget
        # gets neither); any size works, also larger than the screen
        w.setAttribute(Qt.WA_DontShowOnScreen, True)
        w.setMinimumSize(1, 1)
        w.resize(*self.size)
        w.show()
        QApplication.processEvents(QEventLoop.AllEvents, 20)
        self.scene = MarsScene(self.canvas, theme=self.theme, texture_rgb=src.texture_rgb, auto_scale=False)  # theme pre-scaled
        self.sync()

    def sync(self) -> None:
        """Copy what the window's view shows: objects, frame, focus, encounter, camera, overlay lines."""
        win, src, dst = self.window, self.window.globe.scene, self.scene
        if win.scenario is not None:
            dst.set_objects(win.scenario.objects)
        dst.set_frame(src.frame)
        dst.clock_scale = src.clock_scale
        dst.set_feature_labels_visible(src.feature_labels_visible)
        dst.set_flat_lighting(src.flat_lighting)
        dst.focus_name = src.focus_name if src.focus_name in dst.entries else None
        ev, sel = src.encounter.event, win.selected_event
        if ev is not None and sel is not None and sel.object1 in dst.entries and sel.object2 in dst.entries:
            dst.show_encounter(sel.object1, sel.object2, ev["tca"], ev["miss_km"], sel.relative_speed_kms,
                               ev.get("combined_cov_km2"), ev.get("hbr_km", 0.0))
        else:
            dst.clear_encounter()
        for key in ("center", "distance", "elevation", "azimuth", "fov"):
            setattr(dst.camera, key, getattr(src.camera, key))
        dst.overlay_lines = dict(src.overlay_lines)
        indicator = getattr(win, "plan_indicator", None)
        if indicator is not None:  # a shown maneuver plan: ghost orbit, PLANNED stamp, planned encounter
            indicator.apply_to_scene(dst, sel)
        dst.set_time(src.tdb_s)

    def render(self, tdb_s: float | None = None) -> np.ndarray:
        if tdb_s is not None:
            self.scene.set_time(tdb_s)
        rgb = self.scene.render_image(size=self.size)
        return np.ascontiguousarray(rgb[..., :3])

    def close(self) -> None:
        from shiboken6 import isValid

        if isValid(self.canvas.native):
            self.canvas.close()
            self.canvas.native.deleteLater()


# --- captions ----------------------------------------------------------------------------------------
def default_caption(window, tdb_s: float | None = None, who: str | None = None) -> str:
    """'scenario · time UTC · what is shown · who' for a picture of WINDOW's view."""
    sc = window.scenario
    scene = window.globe.scene
    t = scene.tdb_s if tdb_s is None else tdb_s
    ev = scene.encounter.event
    what = (f"encounter {ev['eph1'].name} – {ev['eph2'].name}" if ev is not None
            else f"focus {scene.focus_name or 'Mars'}") + f", {scene.frame} view"
    who = who if who is not None else login_name()
    parts = [sc.name if sc is not None else "no scenario", format_clock(t, "UTC", digits=0) + " UTC",
             what, f"{who} · marsview"]
    planned = getattr(window, "planned_short_label", None) or getattr(window, "planned_label", None)
    if planned:  # a maneuver plan is shown, not the delivered ephemerides
        parts.insert(0, planned)
    return "  ·  ".join(parts)


def login_name() -> str:
    """Who is exporting, for the "Prepared by" line (the OS login name)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown user"


def add_caption(image: QImage, text: str) -> QImage:
    """Paint TEXT on a black band across the bottom of IMAGE (same size; white on black, 21:1 contrast)."""
    if not text:
        return image
    out = image.convertToFormat(QImage.Format_RGB888)
    h = out.height()
    px = max(11, int(round(h * 0.022)))
    band = int(round(px * 1.9))
    p = QPainter(out)
    p.fillRect(QRect(0, h - band, out.width(), band), QColor("#000000"))
    font = QFont()
    font.setPixelSize(px)
    p.setFont(font)
    p.setPen(QColor("#ffffff"))
    p.drawText(QRect(px, h - band, out.width() - 2 * px, band), int(Qt.AlignVCenter | Qt.AlignLeft), text)
    p.end()
    return out


# --- screenshots -------------------------------------------------------------------------------------
def screenshot_view(window, path, size=(3840, 2160), caption: str | None = "", theme=None) -> QImage:
    """PNG of the 3D view at SIZE. CAPTION None = no caption, "" = ``default_caption``."""
    view = OffscreenView(window, size, theme=theme)
    try:
        image = rgb_to_qimage(view.render())
    finally:
        view.close()
    return _finish(window, image, path, caption)


def screenshot_window(window, path, size=None, caption: str | None = "") -> QImage:
    """PNG of the whole window scaled to SIZE (default: its own size); the 3D view is re-rendered at the
    output resolution so it stays sharp. The window keeps its aspect (centred on black when SIZE differs)."""
    ww, wh = window.width(), window.height()
    size = size or (ww, wh)
    out = QImage(int(size[0]), int(size[1]), QImage.Format_RGB888)
    out.fill(QColor("#000000"))
    f = min(size[0] / ww, size[1] / wh)
    ox, oy = (size[0] - ww * f) / 2.0, (size[1] - wh * f) / 2.0
    p = QPainter(out)
    p.setRenderHint(QPainter.SmoothPixmapTransform, True)
    p.translate(ox, oy)
    p.scale(f, f)
    window.render(p, QPoint(0, 0))  # widgets drawn as vectors at the output scale
    gv = window.globe.widget
    if gv.isVisible():
        top_left = gv.mapTo(window, gv.rect().topLeft())
        target = QRect(int(round(ox + top_left.x() * f)), int(round(oy + top_left.y() * f)),
                       int(round(gv.width() * f)), int(round(gv.height() * f)))
        view = OffscreenView(window, (target.width(), target.height()), reference_height_px=gv.height())
        try:
            sharp = rgb_to_qimage(view.render())
        finally:
            view.close()
        p.resetTransform()
        p.drawImage(target, sharp)
    p.end()
    return _finish(window, out, path, caption)


def _finish(window, image, path, caption):
    if caption is not None:
        image = add_caption(image, caption or default_caption(window))
    if path is not None:
        _save_png_atomic(image, path)
    return image


def _save_png_atomic(image: QImage, path) -> None:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    from marsview.io.atomic import atomic_write_bytes

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    if not image.save(buf, "PNG"):
        raise OSError(f"{path}: could not encode the PNG")
    buf.close()
    atomic_write_bytes(Path(path), bytes(data.data()))


# --- menu --------------------------------------------------------------------------------------------
def install_exports(window):
    """File -> Export: screenshot of the view / window, movie, close-approach report."""
    menu = window.menuFile
    export = menu.addMenu("E&xport")
    export.setObjectName("menuExport")

    def add(text, slot, name, shortcut=None):
        act = QAction(text, window)
        act.setObjectName(name)
        if shortcut:
            act.setShortcut(shortcut)
        act.triggered.connect(slot)
        export.addAction(act)
        return act

    add("&Screenshot of the 3D view…", lambda: _screenshot_dialog(window, whole=False), "actionScreenshotView",
        "Ctrl+Shift+P")
    add("Screenshot of the &window…", lambda: _screenshot_dialog(window, whole=True), "actionScreenshotWindow")
    add("&Movie…", lambda: _lazy("marsview.gui.export.movie", "open_movie_dialog")(window), "actionExportMovie")
    add("Close-approach &report (HTML, PDF, CSV)…",
        lambda: _lazy("marsview.gui.export.report", "open_report_dialog")(window), "actionExportReport")
    return export


def _lazy(module, name):
    """MODULE's NAME, imported on first use (movie and report import this module: a top-level import would be a
    cycle)."""
    import importlib

    return getattr(importlib.import_module(module), name)


def _screenshot_dialog(window, whole: bool):
    from marsview.render.movie_frames import parse_size

    default = f"{window.width()}x{window.height()}" if whole else "3840x2160"
    text, ok = QInputDialog.getText(window, "Screenshot size", "Width x height in pixels:", text=default)
    if not ok:
        return
    try:
        size = parse_size(text)
    except ValueError as exc:
        window.report_error(str(exc))
        return
    path, _ = QFileDialog.getSaveFileName(window, "Save screenshot", "marsview.png", "PNG (*.png)")
    if not path:
        return
    try:
        (screenshot_window if whole else screenshot_view)(window, path, size)
    except OSError as exc:
        window.report_error(str(exc))
        return
    window.statusBar().showMessage(f"Wrote {path} ({size[0]}×{size[1]})", 8000)
