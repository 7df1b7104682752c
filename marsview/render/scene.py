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
from vispy.visuals.transforms import ChainTransform

from marsview.core import constants as C
from marsview.core.frames import (eme2000_to_iau_mars_matrix, eme2000_to_mci_and_iau_mars_matrices,
                                  eme2000_to_mci_matrix)
from marsview.core.sun import SunTable
from marsview.core.time import format_clock

from . import fonts, program_speedup
from .blending import keep_destination_alpha
from .encounter import EncounterAdapter, format_distance, nice_length_km
from .globe import MARS_RADII_KM, GlobeAdapter, moon_texture
from .labels import (PRIORITY_FEATURE, PRIORITY_MOON, PRIORITY_SPACECRAFT, LabelRequest, layout_labels,
                     text_width_em)
from .text_batch import OFF_CANVAS_PX, TextBatch
from .texture import FEATURES, cached_mars_texture
from .themes import WORKSTATION, RenderTheme, default_color
from .tracks import LineBatch, MarkerBatch, TrackBatch, TrackCache, track_pieces

fonts.install()  # vectorized glyph loading: the labels' first frame comes ~1 s sooner under llvmpipe
program_speedup.install()  # vispy's per-draw shader-variable pass without the re-sort and logging

DISPLAY_FRAMES = ("MCI", "IAU_MARS")
MOON_RADII_KM = {"PHOBOS": C.PHOBOS_RADII_KM, "DEIMOS": C.DEIMOS_RADII_KM}
RESET_DISTANCE_KM = 34000.0  # Mars' disc fills ~6 % of a 16:9 frame: the planet reads from the back of a room
# default view: 35 deg east of the sub-solar direction, 20 deg above the equator -- the day side faces the
# viewer and the terminator still shows at the limb (true lighting, read as a globe rather than a disc)
SUN_VIEW_AZIMUTH_OFFSET_DEG = 35.0
SUN_VIEW_ELEVATION_DEG = 20.0
ENCOUNTER_VIEW_TILT_DEG = 25.0
REFERENCE_HEIGHT_PX = 1080.0  # type and lines are designed at 1080 lines; taller outputs scale up


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
    def __init__(self, canvas, theme: RenderTheme = WORKSTATION, texture_rgb=None, tdb_s: float = 0.0,
                 auto_scale: bool = True):
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
        self._feature_body_km = _feature_positions_km(lift=1.0).astype(np.float64)
        self.feature_labels_visible = True
        self.flat_lighting = False
        self.auto_scale = auto_scale
        self._globe_pose = (np.eye(3), np.zeros(3))
        self.lines = LineBatch(self.view.scene, width=theme.line_width_px)
        self.tracks = TrackBatch(self.lines)
        self.markers = MarkerBatch(self.view.scene, theme.marker_px)
        self.encounter = EncounterAdapter(self.lines)
        # every string of the view (object, feature and encounter labels, the caption, the clock) in ONE Text
        # draw (render.text_batch): labels are laid out each frame by render.labels -- no overlap, nothing cut by
        # the edge, hidden with their object; the clock's glyphs are rewritten in place
        self.text = TextBatch(parent=canvas.scene)
        self._text_styles: dict = {}
        self._label_pt = self._overlay_pt = self._clock_pt = 0.0
        self.label_layout = []  # PlacedLabel list of the last layout (tests and exports read it)
        self._object_requests: list[LabelRequest] = []
        self._object_shown = np.zeros(0, bool)
        self.overlay_lines: dict[str, str] = {}
        self.frame_hooks: list = []  # f(tdb_s, eme_to_display (3,3), focus_km) after each frame's update (plan_ghost)
        self._scale_bar = scene.visuals.Line(parent=canvas.scene, width=2.0, method="gl", color=theme.text)
        self._scale_bar.visible = False
        keep_destination_alpha(self.text, self._scale_bar)
        self._scale_text = ""
        self._overlay_boxes: list = []
        self.reserved_boxes_px: list = []  # canvas pixels (y down) under widgets laid over the view (briefing)
        self.clock_visible = True
        self._encounter_caption = ""
        self.clock_scale = "UTC"
        self._sun_view_angles = None  # (elevation, azimuth) last set by the Sun-facing default view
        self._azimuth_rule = None
        self._scene_to_canvas = (None, None)  # (ids of the path's transforms, their chain)
        self._geometry_key, self._geometry = None, None
        self._sun_table = None
        self._extra_polylines: dict[str, list] = {}
        self._extra_focus = None
        self._in_layout = False
        self.view.scene.transform.changed.connect(lambda _e: self._layout_labels())
        canvas.events.resize.connect(lambda _e: self._on_resize())
        self.apply_theme(theme)
        self.reset_camera()

    # --- configuration -------------------------------------------------------------------------------
    def ui_scale(self) -> float:
        """Factor on type, markers and lines: 1 up to 1920x1080, then with the output (2 on a 4K projector).
        Screen DPI is applied by vispy itself (text points -> pixels use the screen's DPI)."""
        if not self.auto_scale:
            return 1.0
        w, h = self.canvas.size
        return float(max(1.0, min(w / 1920.0, h / REFERENCE_HEIGHT_PX)))

    def label_em_px(self) -> float:
        return self._label_pt / 72.0 * float(self.canvas.dpi or 96.0)

    @property
    def clock_text(self) -> str:
        """The clock as drawn in the view's top-right corner, e.g. '2025-05-08 20:00:59 UTC'."""
        return self.text.texts("clock")[0] if "clock" in self._text_styles else ""

    def _text_slot(self, name: str, texts: list, font_pt: float, anchor_x: str, colors, pos) -> None:
        """Strings of one slot of the view's text batch; restyled only when size, anchor, colours or count
        change (else the glyphs are rewritten in place and only moved anchors are re-sent)."""
        style = (font_pt, anchor_x, colors if isinstance(colors, str) else tuple(colors), len(texts))
        if self._text_styles.get(name) != style:
            self.text.set_slot(name, texts, font_pt, anchor_x, "center", colors, pos)
            self._text_styles[name] = style
        else:
            self.text.set_texts(name, texts)
            self.text.set_positions(name, pos)

    def apply_theme(self, theme: RenderTheme) -> None:
        self.theme = theme
        self.canvas.bgcolor = Color(theme.background)
        k = self.ui_scale()
        self.markers.set_style(theme.marker_px * k)
        self._label_pt = theme.label_font_pt * k
        self._overlay_pt, self._clock_pt = theme.overlay_font_pt * k, theme.clock_font_pt * k
        self._scale_bar.set_data(width=max(2.0, theme.line_width_px * k), color=theme.text)
        for g in [self.globe] + [e.globe for e in self.entries.values() if e.globe is not None]:
            g.ambient = theme.ambient
        self.lines.set_width(theme.line_width_px * k)
        self.set_time(self.tdb_s)

    def _on_resize(self) -> None:
        self.apply_theme(self.theme)

    def set_polyline_group(self, name: str, strips_display_km) -> None:
        """Add or replace a named set of polylines drawn in the view's single line batch (e.g. a planned
        "ghost" orbit). STRIPS_DISPLAY_KM: iterable of (positions (N,3) float64 km in the display frame,
        rgba (4,) or (N,4)); the scene subtracts the focus in float64 every frame, as for the fleet's orbits.
        An empty iterable removes the group. Names "orbits", "trails" and "encounter" are the scene's own."""
        if name in ("orbits", "trails", "encounter"):
            raise ValueError(f"polyline group name {name!r} is reserved")
        strips = [(np.asarray(p, dtype=np.float64), c) for p, c in strips_display_km]
        if strips:
            self._extra_polylines[name] = strips
        else:
            self._extra_polylines.pop(name, None)
            self.lines.remove_group(name)
        self._extra_focus = None  # re-pack at the next frame
        self.set_time(self.tdb_s)

    def _update_extra_polylines(self, focus) -> None:
        key = tuple(np.round(focus, 12))
        if key == self._extra_focus:
            return
        self._extra_focus = key
        for name, strips in self._extra_polylines.items():
            self.lines.set_group(name, [(p - focus, c) for p, c in strips])

    def set_texture(self, texture_rgb) -> None:
        self.texture_rgb = texture_rgb
        self.globe.set_texture(texture_rgb)

    def set_feature_labels_visible(self, visible: bool) -> None:
        self.feature_labels_visible = bool(visible)
        self._layout_labels()

    def set_flat_lighting(self, flat: bool) -> None:
        """Briefing lighting: every body evenly lit (no night side); off = the true Sun direction."""
        self.flat_lighting = bool(flat)
        for g in [self.globe] + [e.globe for e in self.entries.values() if e.globe is not None]:
            g.set_lit(not self.flat_lighting)
        self.apply_theme(self.theme)

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
                if self.flat_lighting:
                    entry.globe.set_lit(False)
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
        """Default view: the day side toward the viewer (see SUN_VIEW_*); it follows the Sun as time runs
        (so in IAU_MARS the lit face stays in view) until the user turns the camera."""
        self.camera.center = (0.0, 0.0, 0.0)
        self.camera.distance = RESET_DISTANCE_KM if self.focus_name is None else 400.0
        self._sun_view_angles = None
        self._face_the_sun(force=True)

    def _face_the_sun(self, force: bool = False) -> None:
        if not force:
            if self._sun_view_angles is None:
                return
            el, az = self._sun_view_angles
            if abs(self.camera.elevation - el) > 1e-6 or abs(self.camera.azimuth - az) > 1e-6:
                self._sun_view_angles = None  # the user turned the camera: leave it where they put it
                return
        sun = self.sun_direction_display()
        lon = np.arctan2(sun[1], sun[0]) + np.radians(SUN_VIEW_AZIMUTH_OFFSET_DEG)
        el = np.radians(SUN_VIEW_ELEVATION_DEG)
        d = np.array([np.cos(el) * np.cos(lon), np.cos(el) * np.sin(lon), np.sin(el)])
        new = self._view_angles(d)
        if force or self._sun_view_angles is None or max(abs(new[0] - self.camera.elevation),
                                                         abs(_wrap180(new[1] - self.camera.azimuth))) > 0.05:
            self.camera.elevation, self.camera.azimuth = new
        self._sun_view_angles = (self.camera.elevation, self.camera.azimuth)

    def _view_angles(self, direction_display) -> tuple[float, float]:
        """(elevation, azimuth) of the turntable camera that looks at the focus from DIRECTION."""
        d = np.asarray(direction_display, dtype=float)
        d = d / np.linalg.norm(d)
        el = float(np.degrees(np.arcsin(np.clip(d[2], -1.0, 1.0))))
        rules = (lambda v: np.arctan2(v[0], -v[1]), lambda v: np.arctan2(-v[0], v[1]),
                 lambda v: np.arctan2(v[1], v[0]), lambda v: np.arctan2(-v[1], -v[0]))
        if self._azimuth_rule is None:  # vispy's turntable azimuth convention, found once from its transform
            probe = np.array([0.6, 0.3, 0.2]) / np.linalg.norm([0.6, 0.3, 0.2])
            saved = self.camera.elevation, self.camera.azimuth
            errors = []
            for rule in rules:
                self.camera.elevation = float(np.degrees(np.arcsin(probe[2])))
                self.camera.azimuth = float(np.degrees(rule(probe)))
                pos = self.camera_position()
                errors.append(np.linalg.norm(pos / np.linalg.norm(pos) - probe))
            self.camera.elevation, self.camera.azimuth = saved
            self._azimuth_rule = int(np.argmin(errors))
        return el, float(np.degrees(rules[self._azimuth_rule](d)))

    def show_encounter(self, name1: str, name2: str, tca_tdb_s: float, miss_km: float,
                       relative_speed_kms: float, combined_cov_km2=None, hbr_km: float = 0.0) -> None:
        """Open the encounter view: camera on the pair's midpoint, looking along the relative velocity so the
        encounter plane (miss vector, uncertainty ellipses, hard-body circle) faces the viewer."""
        e1, e2 = self.entries[name1], self.entries[name2]
        self.encounter.set_event(e1.obj.ephemeris, e2.obj.ephemeris, tca_tdb_s, miss_km, relative_speed_kms,
                                 combined_cov_km2, hbr_km)
        self.camera.center = (0.0, 0.0, 0.0)
        body_km = max([max(e.globe.radii_km) for e in (e1, e2) if e.globe is not None], default=0.0)
        extent_km = miss_km
        plane = self.encounter.event["plane"]
        if plane is not None:  # the 3-sigma ellipse in view too, unless it would shrink the miss to a dot
            extent_km = max(miss_km, min(3.0 * float(np.max(plane.sigma_xy_km)), 5.0 * miss_km))
        self.camera.distance = max(6.0 * extent_km, 0.05, 4.0 * body_km)  # a moon fits in the view too
        self._sun_view_angles = None
        direction = self.encounter.view_direction_eme()
        if direction is not None:
            # 25 deg off the relative velocity, toward the display's up: the ellipses are foreshortened by only
            # cos 25 = 0.91, and the relative path reads as a line through the miss point rather than a
            # streak radiating from it (seen exactly end-on, its near half passes through the camera)
            m = eme_to_display_matrices(self.frame, np.array([tca_tdb_s]))[0]
            v = m @ direction
            up = np.array([0.0, 0.0, 1.0]) - v[2] * v
            up = up / np.linalg.norm(up) if np.linalg.norm(up) > 1e-6 else np.array([1.0, 0.0, 0.0])
            tilt = np.radians(ENCOUNTER_VIEW_TILT_DEG)
            self.camera.elevation, self.camera.azimuth = self._view_angles(np.cos(tilt) * v + np.sin(tilt) * up)
        self.set_time(tca_tdb_s)

    def clear_encounter(self) -> None:
        self.encounter.clear()
        self.set_time(self.tdb_s)

    # --- per frame -----------------------------------------------------------------------------------
    def _to_display(self, states_eme, tdb_s) -> np.ndarray:
        m = eme_to_display_matrices(self.frame, tdb_s)
        return np.einsum("nij,nj->ni", m, states_eme[:, :3])

    def _epoch_geometry(self, tdb_s: float):
        """(EME2000 -> display matrix, unit Sun direction in the display frame, body-fixed -> display matrix)
        at TDB_S; memoized, since a frame asks for them several times (Sun-facing camera, focus, globe)."""
        key = (self.frame, float(tdb_s))
        if self._geometry_key != key:
            t = np.array([float(tdb_s)])
            to_mci, to_iau = (x[0] for x in eme2000_to_mci_and_iau_mars_matrices(t))
            m = to_mci if self.frame == "MCI" else to_iau
            sun = np.array(self._sun_table_for(float(tdb_s)).position_km(float(tdb_s)))
            self._geometry = (m, m @ (sun / np.linalg.norm(sun)), m @ to_iau.T)
            self._geometry_key = key
        return self._geometry

    def _sun_table_for(self, tdb_s: float) -> SunTable:
        """The analytic Sun, tabulated over +-30 days around the epoch (Hermite on a 6-h grid, ~1e-12
        relative: core.sun.SunTable): one Kepler solve per frame was a tenth of the frame's update."""
        table = self._sun_table
        if table is None or not (table.start + table.step <= tdb_s <= table.start + (table.count - 2) * table.step):
            table = self._sun_table = SunTable(tdb_s - 30 * 86400.0, tdb_s + 30 * 86400.0)
        return table

    def focus_km(self) -> np.ndarray:
        """Current focus in the display frame (float64 km)."""
        m = self._epoch_geometry(self.tdb_s)[0]
        enc = self.encounter.focus_eme(self.tdb_s)
        if enc is not None:
            return m @ enc
        e = self.entries.get(self.focus_name) if self.focus_name else None
        if e is not None and e.state_eme is not None:
            return m @ e.state_eme[:3]
        return np.zeros(3)

    def set_time(self, tdb_s: float) -> None:
        self.tdb_s = t = float(tdb_s)
        self._face_the_sun()
        m, sun_display, body_to_display = self._epoch_geometry(t)
        exact = {self.focus_name}
        if self.encounter.event is not None:
            exact |= {n for n, e in self.entries.items()
                      if e.obj.ephemeris in (self.encounter.event["eph1"], self.encounter.event["eph2"])}
        for name, e in self.entries.items():
            e.state_eme = e.cache.state_at(t, exact=name in exact)
            e.position_km = None if e.state_eme is None else m @ e.state_eme[:3]
        focus = self.focus_km()
        self.globe.update(body_to_display, -focus, sun_display)
        self._globe_pose = (body_to_display, -focus)
        self.globe.set_detail(2.0 * self._apparent_radius_px(focus))
        names, positions, colors, pieces, keys, kinds = [], [], [], [], [], []
        for name, e in self.entries.items():
            visible = bool(getattr(e.obj, "visible", True)) and e.position_km is not None
            if not visible:
                if e.globe is not None:
                    e.globe.visible = False
                continue
            if e.extra.get("color") != e.color:  # parse the colour once, not every frame
                e.extra["color"], e.extra["rgba"] = e.color, tuple(Color(e.color).rgba)
            rgba = e.extra["rgba"]
            sl = e.cache.drawn_slice(t)
            orbit, trail = track_pieces(e.cache, t, e.position_km, focus, drawn=sl)
            pieces.append((orbit, trail, rgba))
            keys.append((name, id(e.cache.positions_km), sl.start, sl.stop, tuple(rgba)))
            if e.globe is not None:  # a moon smaller than ~1.5 px is its marker alone: no mesh to draw
                e.globe.visible = self._apparent_size_px(max(e.globe.radii_km), e.position_km - focus) >= 1.5
                e.globe.set_overlays_in_front(self.encounter.event is not None)
                if e.globe.visible:
                    e.globe.update(m @ _tidally_locked_body_to_eme(e.state_eme), e.position_km - focus,
                                   sun_display)
            names.append(name)
            positions.append(e.position_km)
            colors.append(rgba)
            kinds.append(getattr(e.obj, "kind", "spacecraft"))
        self.tracks.update(pieces, keys + [tuple(focus)])
        rel = (np.asarray(positions, dtype=np.float64).reshape(-1, 3) - focus)
        shown = ~self.behind_mars(rel)
        self.markers.update(positions, colors, focus, shown)
        self._object_requests = [
            LabelRequest(n, p, PRIORITY_MOON if k == "moon" else PRIORITY_SPACECRAFT, 0.0)
            for n, p, k, ok in zip(names, rel, kinds, shown) if ok]
        caption = self.encounter.update(t, m, focus)
        self._update_extra_polylines(focus)
        self.lines.flush()
        self._encounter_caption = caption
        self._update_overlay()
        for hook in self.frame_hooks:
            hook(t, m, focus)
        self._layout_labels()
        self.canvas.update()

    def _apparent_size_px(self, radius_km: float, centre_scene_km) -> float:
        """Radius on screen (pixels) of a sphere of RADIUS_KM at CENTRE (scene coordinates)."""
        dist = float(np.linalg.norm(self.camera_position() - np.asarray(centre_scene_km, dtype=float)))
        if dist <= radius_km:
            return float("inf")
        half_h = 0.5 * self.canvas.size[1]
        return half_h * np.tan(np.arcsin(radius_km / dist)) / np.tan(np.radians(self.camera.fov) / 2.0)

    def _apparent_radius_px(self, focus_km) -> float:
        """Radius of Mars' disc on screen (pixels) seen from the camera at the current focus."""
        dist = float(np.linalg.norm(self.camera_position() + np.asarray(focus_km, dtype=float)))
        r = MARS_RADII_KM[0]
        if dist <= r:
            return float("inf")
        half_h = 0.5 * self.canvas.size[1]
        return half_h * np.tan(np.arcsin(r / dist)) / np.tan(np.radians(self.camera.fov) / 2.0)

    def behind_mars(self, points_scene) -> np.ndarray:
        """(N,) True where the line of sight from the camera to a point (scene coordinates) passes through
        Mars' ellipsoid first: that object's marker and label are hidden together."""
        pts = np.asarray(points_scene, dtype=np.float64).reshape(-1, 3)
        if pts.shape[0] == 0:
            return np.zeros(0, bool)
        rot, centre = self._globe_pose
        a, _, c = MARS_RADII_KM
        to_body = rot.T  # display -> body-fixed: the ellipsoid becomes x^2 + y^2 + (a/c)^2 z^2 = a^2
        cam = to_body @ (self.camera_position() - centre)
        d = (pts - centre) @ to_body.T - cam
        scale = np.array([1.0, 1.0, a / c])
        o, dd = cam * scale, d * scale
        qa = np.einsum("ij,ij->i", dd, dd)
        qb = 2.0 * dd @ o
        qc = float(o @ o) - a * a
        disc = qb * qb - 4.0 * qa * qc
        with np.errstate(invalid="ignore", divide="ignore"):
            t_hit = (-qb - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * qa)
        return (disc > 0) & (t_hit > 0.0) & (t_hit < 0.999) & (qc > 0)

    def _update_overlay(self) -> None:
        encounter_caption = self._encounter_caption  # this frame's, kept for a re-layout between frames
        w, h = self.canvas.size
        dpi = float(self.canvas.dpi or 96.0)
        clock_em = self._clock_pt / 72.0 * dpi
        overlay_em = self._overlay_pt / 72.0 * dpi
        margin = 0.8 * overlay_em + 4.0
        stamp = format_clock(self.tdb_s, self.clock_scale, digits=0)  # cut like the time bar's, never rounded up
        clock = f"{stamp} {self.clock_scale}"
        pad = 0.75 * clock_em + 6.0
        self._text_slot("clock", [clock], self._clock_pt, "right", self.theme.text, [(w - margin, pad)])
        self.text.set_visible("clock", self.clock_visible)
        ev = self.encounter.event
        focus = (f"encounter {ev['eph1'].name} – {ev['eph2'].name}" if ev is not None
                 else self.focus_name or "Mars")
        lines = [self.overlay_lines.get("title", ""), f"view {self.frame} · focus {focus}"]
        lines += [v for k, v in self.overlay_lines.items() if k != "title" and v]
        if encounter_caption:
            lines.append(encounter_caption)
        lines = [x for x in lines if x]
        step = 1.45 * overlay_em
        widest = max((text_width_em(x) for x in lines), default=0.0) * overlay_em
        top = pad
        for x0, y0, _x1, y1 in self.reserved_boxes_px:  # a widget over the view's top (the briefing clock)
            if x0 < margin + widest and y0 < top + len(lines) * step:
                top = max(top, y1 + 0.75 * overlay_em + 4.0)  # the text block starts below it
        self._text_slot("overlay", lines or [""], self._overlay_pt, "left", self.theme.text,
                        [(margin, top + i * step) for i in range(max(len(lines), 1))])
        # the overlay, the clock and the widgets over the view are obstacles for the labels (pixels, y down)
        boxes = list(self.reserved_boxes_px)
        if self.clock_visible:
            boxes.append((w - margin - text_width_em(clock) * clock_em, pad - 0.75 * clock_em, w, pad + 0.75 * clock_em))
        if lines:
            boxes.append((0.0, 0.0 if top == pad else top - 0.75 * overlay_em, margin + widest,
                          top + (len(lines) - 1) * step + 0.75 * overlay_em))
        self._overlay_boxes = boxes
        self._update_scale_bar(w, h, margin)

    def _update_scale_bar(self, w, h, margin) -> None:
        """Encounter view: a bar of a round length (1, 2 or 5 x 10^k) at the focus distance, bottom left."""
        if self.encounter.event is None or "encounter" not in self.lines.group_names():
            self._scale_bar.visible = False
            self._scale_text = ""
            return
        px_per_km = (h / 2.0) / (self.camera.distance * np.tan(np.radians(self.camera.fov) / 2.0))
        length_km = nice_length_km(0.22 * w / px_per_km)
        length_px = length_km * px_per_km
        em = self.label_em_px()
        y = h - margin - 4.0
        right = margin + max(length_px, text_width_em(format_distance(length_km)) * em) + 4
        for x0, y0, _x1, y1 in sorted(self.reserved_boxes_px, key=lambda b: -b[1]):  # bottom-most first
            if x0 < right and y1 > y - 1.8 * em and y0 < y + 4.0:  # above the briefing callouts and key hint
                y = y0 - 8.0
        self._scale_bar.set_data(pos=np.array([[margin, y - 0.4 * em], [margin, y], [margin + length_px, y],
                                               [margin + length_px, y - 0.4 * em]], np.float32))
        self._scale_bar.visible = True
        self._scale_text = format_distance(length_km)
        self._scale_anchor = (margin, y - 1.0 * em)
        self._overlay_boxes.append((margin - 4, y - 1.8 * em, margin + max(length_px, text_width_em(
            self._scale_text) * em) + 4, y + 4))

    def _layout_labels(self) -> None:
        """Screen-space labels for this frame and camera: encounter > spacecraft > moons > surface features,
        never overlapping, inside the frame, hidden with their object (marsview.render.labels)."""
        if self._in_layout or not hasattr(self, "_object_requests"):
            return
        self._in_layout = True
        try:
            self._do_layout()
        finally:
            self._in_layout = False

    def _do_layout(self) -> None:
        w, h = self.canvas.size
        theme = self.theme
        fixed = list(self.encounter.label_requests) + list(self._object_requests)  # 3D anchors (scene km)
        marker_r = 0.5 * self.markers.marker_size + 2.0
        requests = [LabelRequest(r.text, r.anchor_px, r.priority, marker_r if r in self._object_requests else r.marker_radius_px)
                    for r in fixed]  # anchors stay 3D in the stored requests: this frame's copies get pixels
        if self.feature_labels_visible and self.encounter.event is None:
            rot, centre = self._globe_pose
            pts = self._feature_body_km @ rot.T + centre
            normals = pts - centre
            normals /= np.linalg.norm(normals, axis=1, keepdims=True)
            to_cam = self.camera_position() - pts
            to_cam /= np.maximum(np.linalg.norm(to_cam, axis=1, keepdims=True), 1e-12)
            facing = np.einsum("ij,ij->i", normals, to_cam) > 0.35  # near side, away from the limb
            requests += [LabelRequest(f.name, p, PRIORITY_FEATURE) for f, p, ok in zip(FEATURES, pts, facing) if ok]
        anchors = np.array([r.anchor_px for r in requests], dtype=np.float64).reshape(-1, 3)
        xy = self._project_px(anchors)
        for r, p in zip(requests, xy):
            r.anchor_px = (float(p[0]), float(p[1]))
        placed = layout_labels(requests, w, h, self.label_em_px(), obstacles_px=self._overlay_boxes,
                               previous=self.label_layout)
        # one slot for every label: a fixed list of strings (every object's name, hidden or not, so an object
        # passing behind Mars does not remake glyphs); a label not placed this frame is parked outside the canvas
        fixed_texts = [r.text for r in self.encounter.label_requests] + list(self.entries)
        universe = [self._scale_text] + fixed_texts + [f.name for f in FEATURES]
        pos = np.full((len(universe), 2), OFF_CANVAS_PX, np.float32)
        index = {text: i for i, text in enumerate(universe)}
        for p in placed:
            k = index[p.text]
            pos[k, 0], pos[k, 1] = p.x_px, p.y_px
        if self._scale_text:
            pos[0, 0], pos[0, 1] = self._scale_anchor[0], self._scale_anchor[1]
        colors = [theme.text] * (1 + len(fixed_texts)) + [theme.feature_label_color] * len(FEATURES)
        self._text_slot("labels", universe, self._label_pt, "left", colors, pos)
        self.label_layout = placed

    def _project_px(self, points_scene) -> np.ndarray:
        """(N,2) canvas pixels (y down) of scene points; NaN for points behind the camera."""
        pts = np.asarray(points_scene, dtype=np.float64).reshape(-1, 3)
        if pts.shape[0] == 0:
            return np.zeros((0, 2))
        p = np.asarray(self._scene_to_canvas_transform().map(pts), dtype=np.float64)
        out = p[:, :2] / p[:, 3:4]
        cam = self.camera_position()
        forward = -cam / max(np.linalg.norm(cam), 1e-12)
        out[(pts - cam) @ forward <= 0] = np.nan
        return out

    def _scene_to_canvas_transform(self):
        """The chain from scene to canvas pixels, rebuilt only when a transform on the path is replaced (the
        camera edits its transforms in place; building a ChainTransform was a tenth of the label layout)."""
        parts = self.view.scene.node_path_transforms(self.canvas.scene)
        key = tuple(id(t) for t in parts)
        if self._scene_to_canvas[0] != key:  # the chain holds the old parts: their ids cannot be reused
            self._scene_to_canvas = (key, ChainTransform(parts))
        return self._scene_to_canvas[1]

    def label_boxes(self):
        """[(text, (x0, y0, x1, y1))] of the labels drawn in the last frame, in canvas pixels (y down)."""
        return [(p.text, p.box) for p in self.label_layout]

    def look_from(self, direction_display) -> None:
        """Turn the camera so it looks at the focus from DIRECTION (display frame), e.g. the Sun's."""
        self._sun_view_angles = None
        self.camera.elevation, self.camera.azimuth = self._view_angles(direction_display)
        self.set_time(self.tdb_s)

    def sun_direction_display(self) -> np.ndarray:
        return self._epoch_geometry(self.tdb_s)[1].copy()

    def camera_position(self) -> np.ndarray:
        """Camera position in scene coordinates (display frame, relative to the focus, km)."""
        return np.asarray(self.camera.transform.map([0.0, 0.0, 0.0, 1.0]), dtype=float)[:3]

    def set_reserved_boxes(self, boxes_px, clock_visible: bool = True) -> None:
        """Widgets laid over the view (the briefing clock, callouts and key hint): BOXES_PX (x0, y0, x1, y1),
        canvas pixels, y down. The caption, the scale bar and the labels keep out of them; CLOCK_VISIBLE
        False hides the view's own clock (the briefing shows a bigger one)."""
        self.reserved_boxes_px = [tuple(float(v) for v in b) for b in boxes_px]
        self.clock_visible = bool(clock_visible)
        self._update_overlay()
        self._layout_labels()
        self.canvas.update()

    def set_overlay_line(self, key: str, text: str) -> None:
        self.overlay_lines[key] = text
        self._update_overlay()
        self._layout_labels()  # the caption's box is an obstacle: a longer caption pushes labels aside now

    def render_image(self, size=None) -> np.ndarray:
        """(H, W, 4) uint8 of the view with its overlays."""
        return self.canvas.render(size=size, alpha=False)


def _wrap180(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


def _feature_positions_km(lift: float = 1.02) -> np.ndarray:
    a, _, c = MARS_RADII_KM
    lat = np.radians([f.lat_deg for f in FEATURES])
    lon = np.radians([f.lon_e_deg for f in FEATURES])
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
