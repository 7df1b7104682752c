"""The 3D scene: Mars, the moons, every spacecraft, named features, overlays and the encounter view.

``MarsScene`` takes a vispy SceneCanvas (Qt-embedded in the GUI, EGL or hidden in tests/benchmarks) and
duck-typed scenario objects (``name``, ``kind``, ``ephemeris``, ``color``, ``visible``). Display frames:
``MCI`` (inertial, Mars pole up; Mars turns at its true rate) or ``IAU_MARS`` (body-fixed; the fleet moves
over a still surface). The camera always looks at the scene origin; the *focus* (Mars, an object, or an
encounter midpoint) is subtracted from every position in float64 before the float32 cast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from vispy import scene
from vispy.color import Color

from marsview.core import constants as C
from marsview.core.frames import eme2000_to_iau_mars_matrix, eme2000_to_mci_matrix
from marsview.core.sun import sun_position_mars_centred_km
from marsview.core.time import format_epoch

from . import fonts
from .encounter import EncounterAdapter
from .globe import MARS_RADII_KM, GlobeAdapter, moon_texture
from .texture import FEATURES, cached_mars_texture
from .themes import WORKSTATION, RenderTheme, default_color
from .tracks import MarkerLabelAdapter, TrackBatch, TrackCache, track_pieces

fonts.install()  # vectorized glyph loading: the labels' first frame comes ~1 s sooner under llvmpipe

DISPLAY_FRAMES = ("MCI", "IAU_MARS")
MOON_RADII_KM = {"PHOBOS": C.PHOBOS_RADII_KM, "DEIMOS": C.DEIMOS_RADII_KM}
RESET_DISTANCE_KM = 42000.0


def eme_to_display_matrices(frame: str, tdb_s) -> np.ndarray:
    if frame == "MCI":
        return eme2000_to_mci_matrix(tdb_s)
    if frame == "IAU_MARS":
        return eme2000_to_iau_mars_matrix(tdb_s)
    raise ValueError(f"unknown display frame {frame!r} (MCI or IAU_MARS)")


@dataclass
class _Entry:
    obj: object
    color: str
    cache: TrackCache
    globe: GlobeAdapter | None = None
    position_km: np.ndarray | None = None  # display frame, float64, at the current epoch
    state_eme: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


class MarsScene:
    def __init__(self, canvas, theme: RenderTheme = WORKSTATION, texture_rgb=None, tdb_s: float = 0.0):
        self.canvas = canvas
        self.theme = theme
        self.view = canvas.central_widget.add_view()
        self.camera = scene.cameras.TurntableCamera(fov=30.0, up="+z", elevation=20.0, azimuth=-60.0,
                                                    distance=RESET_DISTANCE_KM)
        self.camera.depth_value = 1e5  # near = d/1000, far = d*1000: globe-wide and metre-scale views
        self.view.camera = self.camera
        self.frame = "MCI"
        self.tdb_s = float(tdb_s)
        self.focus_name: str | None = None
        self.entries: dict[str, _Entry] = {}
        self.texture_rgb = texture_rgb if texture_rgb is not None else cached_mars_texture()
        self.globe = GlobeAdapter(self.view.scene, MARS_RADII_KM, self.texture_rgb, ambient=theme.ambient)
        self._feature_text = scene.visuals.Text(
            [f.name for f in FEATURES], parent=self.globe.mesh, color=theme.feature_label_color,
            font_size=theme.label_font_pt * 0.85, pos=_feature_positions_km(), anchor_x="center")
        self._feature_text.set_gl_state("translucent", depth_test=False)  # far side culled in _update_feature_labels
        self._feature_body_km = _feature_positions_km().astype(np.float64)
        self._feature_shown: list[str] | None = None
        self._globe_pose = (np.eye(3), np.zeros(3))
        self.view.scene.transform.changed.connect(lambda _e: self._update_feature_labels())
        self.tracks = TrackBatch(self.view.scene, width=theme.line_width_px)
        self.markers = MarkerLabelAdapter(self.view.scene, theme.label_font_pt, theme.marker_px, theme.text)
        self.encounter = EncounterAdapter(self.view.scene)
        self.overlay_lines: dict[str, str] = {}
        self.frame_hooks: list = []  # f(tdb_s, eme_to_display (3,3), focus_km) after each frame's update (plan_ghost)
        self._overlay = scene.visuals.Text("", parent=canvas.scene, color=theme.text, anchor_x="left",
                                           anchor_y="center", font_size=theme.overlay_font_pt, pos=(14, 20))
        self._clock = scene.visuals.Text("", parent=canvas.scene, color=theme.text, anchor_x="right",
                                         anchor_y="center", font_size=theme.clock_font_pt)  # regular face: a bold one
        # would be a second glyph atlas to build at start-up
        self.clock_scale = "UTC"
        self.apply_theme(theme)

    # --- configuration -------------------------------------------------------------------------------
    def apply_theme(self, theme: RenderTheme) -> None:
        self.theme = theme
        self.canvas.bgcolor = Color(theme.background)
        self.markers.set_style(theme.label_font_pt, theme.marker_px, theme.text)
        self._feature_text.font_size = theme.label_font_pt * 0.85
        self._feature_text.color = theme.feature_label_color
        self._overlay.font_size, self._overlay.color = theme.overlay_font_pt, theme.text
        self._clock.font_size, self._clock.color = theme.clock_font_pt, theme.text
        self.globe.shading.ambient_light = (1, 1, 1, theme.ambient)
        self.tracks.set_width(theme.line_width_px)
        self.set_time(self.tdb_s)

    def set_texture(self, texture_rgb) -> None:
        self.texture_rgb = texture_rgb
        self.globe.set_texture(texture_rgb)

    def set_feature_labels_visible(self, visible: bool) -> None:
        self._feature_text.visible = bool(visible)

    def set_objects(self, objects) -> None:
        """Replace the rendered objects (a new scenario); colours default to Okabe-Ito."""
        for e in self.entries.values():
            if e.globe is not None:
                e.globe.mesh.parent = None
        self.entries = {}
        for i, obj in enumerate(objects):
            color = getattr(obj, "color", None) or default_color(i)
            cache = TrackCache(obj.ephemeris, self._to_display)
            entry = _Entry(obj=obj, color=color, cache=cache)
            if getattr(obj, "kind", "spacecraft") == "moon":
                radii = MOON_RADII_KM.get(obj.name.upper(), (5.0, 5.0, 5.0))
                entry.globe = GlobeAdapter(self.view.scene, radii, moon_texture(), name=obj.name,
                                           n_lat=24, n_lon=48, ambient=self.theme.ambient)
            self.entries[obj.name] = entry
        if self.focus_name not in self.entries:
            self.focus_name = None
        self.set_time(self.tdb_s)

    def refresh_object(self, name: str) -> None:
        """An object's ephemeris, colour or visibility changed."""
        e = self.entries.get(name)
        if e is None:
            return
        e.cache.ephemeris = e.obj.ephemeris
        e.cache.invalidate()
        e.color = getattr(e.obj, "color", None) or e.color
        self.set_time(self.tdb_s)

    def set_frame(self, frame: str) -> None:
        frame = frame.upper()
        if frame not in DISPLAY_FRAMES:
            raise ValueError(f"unknown display frame {frame!r} (MCI or IAU_MARS)")
        self.frame = frame
        for e in self.entries.values():
            e.cache.invalidate()
        self.set_time(self.tdb_s)

    def set_focus(self, name: str | None) -> None:
        if name is not None and name not in self.entries:
            raise KeyError(f"no object named {name!r} in the scene")
        self.focus_name = name
        self.set_time(self.tdb_s)

    def set_orbit_span(self, behind_s: float | None, ahead_s: float | None) -> None:
        """Orbit drawn over [t - behind, t + ahead]; None = the current revolution."""
        for e in self.entries.values():
            e.cache.span_behind_s, e.cache.span_ahead_s = behind_s, ahead_s
            e.cache.invalidate()
        self.set_time(self.tdb_s)

    def reset_camera(self) -> None:
        self.camera.center = (0.0, 0.0, 0.0)
        self.camera.distance = RESET_DISTANCE_KM if self.focus_name is None else 400.0
        self.camera.elevation, self.camera.azimuth = 20.0, -60.0

    def show_encounter(self, name1: str, name2: str, tca_tdb_s: float, miss_km: float,
                       relative_speed_kms: float) -> None:
        e1, e2 = self.entries[name1], self.entries[name2]
        self.encounter.set_event(e1.obj.ephemeris, e2.obj.ephemeris, tca_tdb_s, miss_km, relative_speed_kms)
        self.camera.center = (0.0, 0.0, 0.0)
        body_km = max([max(e.globe.radii_km) for e in (e1, e2) if e.globe is not None], default=0.0)
        self.camera.distance = max(6.0 * miss_km, 0.05, 4.0 * body_km)  # a moon fits in the view too
        self.set_time(tca_tdb_s)

    def clear_encounter(self) -> None:
        self.encounter.clear()
        self.set_time(self.tdb_s)

    # --- per frame -----------------------------------------------------------------------------------
    def _to_display(self, states_eme, tdb_s) -> np.ndarray:
        m = eme_to_display_matrices(self.frame, tdb_s)
        return np.einsum("nij,nj->ni", m, states_eme[:, :3])

    def focus_km(self) -> np.ndarray:
        """Current focus in the display frame (float64 km)."""
        m = eme_to_display_matrices(self.frame, np.array([self.tdb_s]))[0]
        enc = self.encounter.focus_eme(self.tdb_s)
        if enc is not None:
            return m @ enc
        e = self.entries.get(self.focus_name) if self.focus_name else None
        if e is not None and e.state_eme is not None:
            return m @ e.state_eme[:3]
        return np.zeros(3)

    def set_time(self, tdb_s: float) -> None:
        self.tdb_s = t = float(tdb_s)
        m = eme_to_display_matrices(self.frame, np.array([t]))[0]
        exact = {self.focus_name}
        if self.encounter.event is not None:
            exact |= {n for n, e in self.entries.items()
                      if e.obj.ephemeris in (self.encounter.event["eph1"], self.encounter.event["eph2"])}
        for name, e in self.entries.items():
            e.state_eme = e.cache.state_at(t, exact=name in exact)
            e.position_km = None if e.state_eme is None else m @ e.state_eme[:3]
        focus = self.focus_km()
        sun = sun_position_mars_centred_km(np.array([t])).reshape(-1, 3)[0]
        sun_display = m @ (sun / np.linalg.norm(sun))
        body_to_display = m @ eme2000_to_iau_mars_matrix(np.array([t]))[0].T
        self.globe.update(body_to_display, -focus, sun_display)
        self._globe_pose = (body_to_display, -focus)
        self._update_feature_labels()
        names, positions, colors, pieces, keys = [], [], [], [], []
        for name, e in self.entries.items():
            visible = bool(getattr(e.obj, "visible", True)) and e.position_km is not None
            if not visible:
                if e.globe is not None:
                    e.globe.visible = False
                continue
            rgba = Color(e.color).rgba
            orbit, trail = track_pieces(e.cache, t, e.position_km, focus)
            sl = e.cache.drawn_slice(t)
            pieces.append((orbit, trail, rgba))
            keys.append((name, id(e.cache.positions_km), sl.start, sl.stop, tuple(rgba)))
            if e.globe is not None:
                e.globe.visible = True
                e.globe.update(m @ _tidally_locked_body_to_eme(e.state_eme), e.position_km - focus, sun_display)
            names.append(name)
            positions.append(e.position_km)
            colors.append(rgba)
        self.tracks.update(pieces, keys + [tuple(focus)])
        self.markers.update(names, positions, colors, focus)
        caption = self.encounter.update(t, m, focus)
        self._update_overlay(caption)
        for hook in self.frame_hooks:
            hook(t, m, focus)
        self.canvas.update()

    def _update_overlay(self, encounter_caption: str = "") -> None:
        w, _ = self.canvas.size
        stamp = format_epoch(self.tdb_s, self.clock_scale, digits=0).replace("T", " ")
        pad = 1.6 * self.theme.clock_font_pt  # vispy text points -> pixels, with margin
        self._clock.text = f"{stamp} {self.clock_scale}"
        self._clock.pos = (w - 14, pad)
        ev = self.encounter.event
        focus = (f"encounter {ev['eph1'].name} – {ev['eph2'].name}" if ev is not None
                 else self.focus_name or "Mars")
        lines = [self.overlay_lines.get("title", ""), f"view {self.frame} · focus {focus}"]
        lines += [v for k, v in self.overlay_lines.items() if k != "title" and v]
        if encounter_caption:
            lines.append(encounter_caption)
        lines = [x for x in lines if x]
        step = 1.9 * self.theme.overlay_font_pt
        self._overlay.text = lines or [""]
        self._overlay.pos = [(14, pad + i * step) for i in range(max(len(lines), 1))]

    def look_from(self, direction_display) -> None:
        """Turn the camera so it looks at the focus from DIRECTION (display frame), e.g. the Sun's."""
        d = np.asarray(direction_display, dtype=float)
        d = d / np.linalg.norm(d)
        self.camera.elevation = float(np.degrees(np.arcsin(np.clip(d[2], -1.0, 1.0))))
        # vispy's turntable azimuth convention, found from the camera's own transform (robust to versions)
        best = None
        for az in (np.degrees(np.arctan2(d[0], -d[1])), np.degrees(np.arctan2(-d[0], d[1])),
                   np.degrees(np.arctan2(d[1], d[0])), np.degrees(np.arctan2(-d[1], -d[0]))):
            self.camera.azimuth = float(az)
            pos = self.camera_position()
            err = np.linalg.norm(pos / np.linalg.norm(pos) - d)
            if best is None or err < best[0]:
                best = (err, az)
        self.camera.azimuth = float(best[1])
        self.set_time(self.tdb_s)

    def sun_direction_display(self) -> np.ndarray:
        t = np.array([self.tdb_s])
        sun = sun_position_mars_centred_km(t).reshape(-1, 3)[0]
        return eme_to_display_matrices(self.frame, t)[0] @ (sun / np.linalg.norm(sun))

    def camera_position(self) -> np.ndarray:
        """Camera position in scene coordinates (display frame, relative to the focus, km)."""
        return np.asarray(self.camera.transform.map([0.0, 0.0, 0.0, 1.0]), dtype=float)[:3]

    def _update_feature_labels(self) -> None:
        """Name only the features on the hemisphere facing the camera, away from the limb (no clutter)."""
        rot, centre = self._globe_pose
        pts = self._feature_body_km @ rot.T + centre
        normals = self._feature_body_km @ rot.T
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        to_cam = self.camera_position() - pts
        to_cam /= np.maximum(np.linalg.norm(to_cam, axis=1, keepdims=True), 1e-12)
        facing = np.einsum("ij,ij->i", normals, to_cam) > 0.35
        shown = [f.name if ok else "" for f, ok in zip(FEATURES, facing)]
        if shown != self._feature_shown:
            self._feature_shown = shown
            self._feature_text.text = shown

    def set_overlay_line(self, key: str, text: str) -> None:
        self.overlay_lines[key] = text
        self._update_overlay()

    def render_image(self, size=None) -> np.ndarray:
        """(H, W, 4) uint8 of the view with its overlays."""
        return self.canvas.render(size=size, alpha=False)


def _feature_positions_km() -> np.ndarray:
    a, _, c = MARS_RADII_KM
    lat = np.radians([f.lat_deg for f in FEATURES])
    lon = np.radians([f.lon_e_deg for f in FEATURES])
    lift = 1.02  # just above the surface so the depth test keeps near-side labels
    return (lift * np.stack([a * np.cos(lat) * np.cos(lon), a * np.cos(lat) * np.sin(lon),
                             c * np.sin(lat)], axis=-1)).astype(np.float32)


def _tidally_locked_body_to_eme(state_eme) -> np.ndarray:
    """Synchronous moon: long (x) axis toward Mars, z along the orbit normal (columns = body axes)."""
    r, v = state_eme[:3], state_eme[3:6]
    x = -r / np.linalg.norm(r)
    z = np.cross(r, v)
    z /= np.linalg.norm(z)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1)
