"""The 3D view widget: a vispy SceneCanvas embedded in Qt (objectName ``globeView``) driving ``MarsScene``."""

from __future__ import annotations

import numpy as np
import vispy

vispy.use("pyside6")

from vispy import scene  # noqa: E402

from marsview.gui.qtkit.gl_window import ViewContainer, WindowSceneCanvas, native_window_wanted  # noqa: E402
from marsview.render.scene import MarsScene  # noqa: E402
from marsview.render.texture import prepare_surface_map  # noqa: E402
from marsview.render.themes import WORKSTATION  # noqa: E402


class GlobeView:
    """Owns the canvas and the scene; ``widget`` is what to put in a layout: a container of the native GL
    window the canvas draws into (qtkit.gl_window; Qt then does not compose the view into the main window
    every frame), or with MARSVIEW_GL_WIDGET=1 the canvas's QOpenGLWidget."""

    def __init__(self, parent=None, theme=WORKSTATION, texture_rgb=None, size=(1280, 720)):
        if native_window_wanted():
            self.canvas = WindowSceneCanvas(keys=None, size=size, show=False, bgcolor=theme.background)
            self.widget = ViewContainer(self.canvas.native, parent)
            self.widget.resize(*size)
        else:
            # autoswap off: Qt composes a QOpenGLWidget's framebuffer itself; a swap from inside paintGL is
            # at best redundant
            self.canvas = scene.SceneCanvas(keys=None, size=size, show=False, parent=parent,
                                            bgcolor=theme.background, autoswap=False)
            self.widget = self.canvas.native
        self.widget.setObjectName("globeView")
        self.widget.setMinimumSize(320, 240)
        self.scene = MarsScene(self.canvas, theme=theme, texture_rgb=texture_rgb)
        self.frames_drawn = 0
        self.canvas.events.draw.connect(self._count_frame)

    def _count_frame(self, _event=None):
        self.frames_drawn += 1

    def render(self, size=None) -> np.ndarray:
        """(H, W, 3) uint8 of the view with its overlays, at SIZE=(w, h) if given."""
        return self.scene.render_image(size=size)

    def show_event(self, event, scenario, names=None) -> None:
        """Encounter view of a screening event with the covariance the screening used for it (1/3-sigma
        ellipses and the hard-body circle in the encounter plane); without one, the geometry alone.
        NAMES are the drawn objects when they differ from the event's (a CDM row's "<name> [CDM]" arcs)."""
        show_event_in(self.scene, event, scenario, names)

    def keep_above(self, overlay) -> None:
        """Show OVERLAY (a widget laid over the view) above it: a native GL window covers sibling widgets."""
        if isinstance(self.widget, ViewContainer):
            self.widget.keep_above(overlay)

    def close(self) -> None:
        from shiboken6 import isValid

        if isValid(self.widget):  # the snapshot command may already have deleted the widget
            self.canvas.close()


def show_event_in(scene, event, scenario, names=None) -> None:
    """GlobeView.show_event for any MarsScene (the window's, or an off-screen copy for the report)."""
    name1, name2 = names or (event.object1, event.object2)
    scene.show_encounter(name1, name2, event.tca_tdb_s, event.miss_km, event.relative_speed_kms,
                         *event_uncertainty(event, scenario))


def event_uncertainty(event, scenario):
    """(combined (3,3) EME2000 covariance km^2 or None, hard-body radius km) that the encounter view draws as
    the 1-/3-sigma ellipses and the hard-body circle."""
    hbr_km = float(getattr(event, "hbr1_km", 0.0) + getattr(event, "hbr2_km", 0.0))
    try:
        return event_combined_covariance_km2(event, scenario), hbr_km
    except (ValueError, KeyError, AttributeError):
        return None, hbr_km  # e.g. an event from a CDM whose objects are not all in the scenario


def event_combined_covariance_km2(event, scenario) -> np.ndarray:
    """Combined (3,3) EME2000 position covariance [km^2] of EVENT's pair at TCA, chosen as the screening
    chose it (each object's OEM covariance near TCA, else its along-track timing model)."""
    from marsview.core.screening import event_covariances_km2
    from marsview.render.tracks import state_eme2000

    from .controller import screening_targets

    targets = {t.name: t for t in screening_targets(scenario)}
    t1, t2 = targets[event.object1], targets[event.object2]
    s1 = event.state1 if event.state1 is not None else state_eme2000(t1.ephemeris, event.tca_tdb_s)
    s2 = event.state2 if event.state2 is not None else state_eme2000(t2.ephemeris, event.tca_tdb_s)
    if s1 is None or s2 is None:
        raise ValueError("the pair is not covered at TCA")
    (c1, c2), _sources = event_covariances_km2(t1, t2, event.tca_tdb_s, s1, s2)
    return np.asarray(c1) + np.asarray(c2)


def qimage_to_rgb(image) -> np.ndarray:
    """QImage -> (H, W, 3) uint8 (the GUI decodes JPEG/PNG maps with Qt; no Pillow needed)."""
    from PySide6.QtGui import QImage

    img = image.convertToFormat(QImage.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def read_surface_map(path: str) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    if image.isNull():
        raise ValueError(f"{path}: not a readable image (JPEG, PNG, TIFF, BMP...)")
    return prepare_surface_map(qimage_to_rgb(image), str(path))


def rgb_to_qimage(rgb: np.ndarray):
    from PySide6.QtGui import QImage

    rgb = np.ascontiguousarray(rgb[..., :3])
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()
