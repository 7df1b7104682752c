"""A vispy canvas drawn into a native OpenGL window (``QOpenGLWindow``) instead of a ``QOpenGLWidget``.

Why: Qt composes a QOpenGLWidget into its top-level window on every frame (the widget's framebuffer and the
window's backing store drawn as textures, then the swap). On a software OpenGL (Mesa llvmpipe: virtual
machines, remote desktops, CI) that composition alone costs ~25 ms a frame at 1920x1080: a QOpenGLWidget
that only clears reaches 36 fps there, a QOpenGLWindow 102-106 fps. A native window is swapped by the window
system directly; ``ViewContainer`` puts it in a layout (``QWidget.createWindowContainer``).

What a native child window changes, and what handles it:
- widgets drawn over the 3D view (the briefing overlay) must be native windows above it, shaped to what they
  draw: ``ViewContainer.keep_above``;
- ``QWidget.grab()`` / ``render()`` of the main window do not see a native child: the container paints the
  view's current frame beneath it (``ViewContainer.paintEvent``; Qt repaints it on resize and exposure, not
  per frame);
- before the window is first shown it has no GL context: vispy then works in a second context on an
  off-screen surface that shares its resources (as vispy's own QOpenGLWidget backend does), so the scene can
  be built and rendered off screen at any time.

``MARSVIEW_GL_WIDGET=1`` keeps the QOpenGLWidget (``native_window_wanted``): for a platform where native child
windows misbehave.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt
from PySide6.QtGui import QOffscreenSurface, QOpenGLContext, QPainter, QRegion
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import QLabel, QWidget
import vispy

vispy.use("pyside6")  # vispy's Qt backend module refuses to load before its binding is chosen

from vispy import scene  # noqa: E402
from vispy.app.backends import _qt  # noqa: E402

GL_WIDGET_ENV = "MARSVIEW_GL_WIDGET"


def native_window_wanted() -> bool:
    """Whether the 3D view is a native GL window (the default) rather than a QOpenGLWidget."""
    return os.environ.get(GL_WIDGET_ENV, "").strip() in ("", "0")


class GlCanvasWindow(_qt.QtBaseCanvasBackend, QOpenGLWindow):
    """vispy CanvasBackend on a QOpenGLWindow (see the module docstring); vispy's Qt event translation
    (mouse, wheel, keys) comes with QtBaseCanvasBackend."""

    def _init_specific(self, p, kwargs):
        fmt = _qt._set_config(p.context.config)
        fmt.setSwapInterval(1 if p.vsync else 0)
        # the off-screen context vispy uses until the window has its own (sharing textures and buffers)
        self._offscreen_context = QOpenGLContext()
        self._offscreen_context.setFormat(fmt)
        self._offscreen_context.create()
        self._offscreen_surface = QOffscreenSurface()
        self._offscreen_surface.setFormat(fmt)
        self._offscreen_surface.create()
        QOpenGLWindow.__init__(self, self._offscreen_context, QOpenGLWindow.NoPartialUpdate)
        self.setFormat(fmt)
        p.context.shared.add_ref("qt", self)
        self._offscreen_context.makeCurrent(self._offscreen_surface)
        self._initialized = True

    # the QWidget calls of QtBaseCanvasBackend, in QWindow terms
    def setMouseTracking(self, _on):  # a QWindow gets every mouse move
        pass

    def setWindowTitle(self, title):
        self.setTitle(title)

    def devicePixelRatioF(self):
        return self.devicePixelRatio()

    def showNormal(self):
        QOpenGLWindow.show(self)

    def _vispy_set_current(self):
        if self._vispy_canvas is None:
            return
        if self.isValid():
            self.makeCurrent()
        else:
            self._offscreen_context.makeCurrent(self._offscreen_surface)

    def _vispy_swap_buffers(self):
        pass  # QOpenGLWindow swaps after paintGL

    def _vispy_get_fb_bind_location(self):
        return self.defaultFramebufferObject() if self.isValid() else 0

    def _vispy_close(self):
        self.close()

    def initializeGL(self):
        if self._vispy_canvas is not None:
            self._vispy_canvas.events.initialize()

    def resizeGL(self, w, h):
        if self._vispy_canvas is None:
            return
        ratio = self.devicePixelRatio()
        self._vispy_set_physical_size(int(w * ratio), int(h * ratio))
        self._vispy_canvas.events.resize(size=(self.width(), self.height()), physical_size=self._physical_size)

    def paintGL(self):
        if self._vispy_canvas is not None:
            # as vispy's own Qt backend: make this the canvas gloo draws for (Qt made the GL context current,
            # not vispy's notion of the current canvas, which may be another canvas, or one already closed)
            self._vispy_canvas.set_current()
            self._vispy_canvas.events.draw(region=None)


class WindowSceneCanvas(scene.SceneCanvas):
    """A SceneCanvas whose ``native`` is a GlCanvasWindow (put it in a layout through ViewContainer)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("autoswap", False)  # the window swaps
        super().__init__(**kwargs)

    def create_native(self):
        if self._backend is not None:
            return
        assert self._app.native
        GlCanvasWindow(self, **self._backend_kwargs)  # sets self._backend
        self._backend_kwargs = None
        self.events.draw.connect(self.context.flush_commands, position="last")


class ViewContainer(QWidget):
    """The widget that holds a GlCanvasWindow in a layout."""

    def __init__(self, window: GlCanvasWindow, parent=None):
        super().__init__(parent)
        self.gl_window = window
        self._inner = QWidget.createWindowContainer(window, self)
        # a native container: the GL window then becomes a child of the container's own X window, stacked
        # with the container among its siblings (an alien container hands it to the top-level window, above
        # every widget, overlays included)
        self._inner.setAttribute(Qt.WA_NativeWindow, True)
        self._inner.setFocusPolicy(Qt.WheelFocus)
        self._overlays: list[QWidget] = []

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._inner.setGeometry(self.rect())

    def paintEvent(self, event):
        # covered on screen by the GL window; what QWidget.grab/render of the main window see: the current
        # frame, drawn now into the back buffer and read back (after a swap its content is undefined)
        window = self.gl_window
        painter = QPainter(self)
        if window.isExposed() and window.isValid():
            window.makeCurrent()
            window.paintGL()
            painter.drawImage(self.rect(), window.grabFramebuffer())
        painter.end()

    def keep_above(self, overlay: QWidget) -> None:
        """Show OVERLAY (a widget laid over this view, a sibling in the same parent) above the GL window: a
        native window masked to its labels, re-shaped whenever one of them shows, hides, moves or resizes."""
        overlay.setAttribute(Qt.WA_NativeWindow, True)
        self._overlays.append(overlay)
        overlay.installEventFilter(self)
        for child in overlay.findChildren(QWidget):
            child.installEventFilter(self)
        shape_overlay(overlay)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Show, QEvent.Hide, QEvent.Move, QEvent.Resize, QEvent.ChildAdded):
            for overlay in self._overlays:
                if obj is overlay or overlay.isAncestorOf(obj):
                    if event.type() == QEvent.ChildAdded and isinstance(event.child(), QWidget):
                        event.child().installEventFilter(self)
                    shape_overlay(overlay)
        return False


def shape_overlay(overlay: QWidget) -> None:
    """Mask OVERLAY to its visible labels (what it draws; elsewhere the 3D view shows through)."""
    region = QRegion()
    for label in overlay.findChildren(QLabel):
        if label.isVisibleTo(overlay):
            region += QRegion(QRect(label.mapTo(overlay, QPoint(0, 0)), label.size()))
    overlay.setMask(region if not region.isEmpty() else QRegion(QRect(0, 0, 1, 1)))
