"""Spacecraft and moon tracks: orbit for the current revolution, a fading trail, markers and labels.

Positions are float64 in the display frame on the CPU (``TrackCache``); each frame the focus position is
subtracted in float64 and only then cast to float32 for the GPU (DESIGN.md rendering-precision rule).
"""

from __future__ import annotations

import numpy as np
from vispy import scene
from vispy.color import Color

from marsview.core import constants as C
from marsview.core.ephemeris import CoverageError

ORBIT_SAMPLES = 361
DEFAULT_SPAN_S = 86400.0  # unbound or undefined orbits: one day around the current epoch


def osculating_period_s(state, gm_km3s2: float = C.GM_MARS_KM3S2) -> float:
    """Two-body period from vis-viva (inf when the orbit is not bound)."""
    r = float(np.linalg.norm(state[:3]))
    v2 = float(np.dot(state[3:6], state[3:6]))
    energy = 0.5 * v2 - gm_km3s2 / r
    if energy >= 0.0:
        return float("inf")
    a_km = -gm_km3s2 / (2.0 * energy)
    return 2.0 * np.pi * np.sqrt(a_km**3 / gm_km3s2)


class TrackCache:
    """Samples of one object's trajectory around the current epoch, in the display frame (float64 km).

    ``refresh`` resamples when the epoch has moved more than 1/32 of the span or the frame changed, so
    animating costs a handful of ephemeris calls per second, not one polyline per frame.
    """

    def __init__(self, ephemeris, to_display):
        self.ephemeris = ephemeris
        self.to_display = to_display  # callable(states_eme2000 (N,6), tdb_s (N,)) -> positions (N,3)
        self.span_behind_s: float | None = None  # None = half a revolution
        self.span_ahead_s: float | None = None
        self.epochs = np.empty(0)
        self.positions_km = np.empty((0, 3))
        self.period_s = float("inf")
        self._key = None

    def invalidate(self) -> None:
        self._key = None

    def refresh(self, tdb_s: float, state_eme) -> None:
        period = osculating_period_s(state_eme)
        span = period if np.isfinite(period) else DEFAULT_SPAN_S
        behind = self.span_behind_s if self.span_behind_s is not None else span / 2
        ahead = self.span_ahead_s if self.span_ahead_s is not None else span / 2
        if self._key is not None:
            t_prev, behind_prev, ahead_prev = self._key
            if abs(tdb_s - t_prev) < (behind + ahead) / 32 and (behind, ahead) == (behind_prev, ahead_prev):
                return
        start, stop = self.ephemeris.coverage
        t0, t1 = max(start, tdb_s - behind), min(stop, tdb_s + ahead)
        epochs = np.linspace(t0, t1, ORBIT_SAMPLES) if t1 > t0 else np.array([tdb_s])
        boundaries = np.asarray(self.ephemeris.segment_boundaries(), dtype=float)
        inside = boundaries[(boundaries > t0) & (boundaries < t1)]
        if inside.size:  # keep maneuver/segment corners sharp
            epochs = np.unique(np.concatenate([epochs, inside]))
        try:
            states = _states_eme2000(self.ephemeris, epochs)
        except CoverageError:
            states = np.full((epochs.size, 6), np.nan)
        self.epochs = epochs
        self.positions_km = self.to_display(states, epochs)
        self.period_s = period
        self._key = (tdb_s, behind, ahead)


def _states_eme2000(ephemeris, tdb_s) -> np.ndarray:
    states = ephemeris.state(tdb_s)
    frame = getattr(ephemeris, "frame", "EME2000") or "EME2000"
    if frame.upper() not in ("EME2000", "ICRF", "J2000"):
        from marsview.core.frames import transform_states

        states = transform_states(states, tdb_s, frame, "EME2000")
    return states


def state_eme2000(ephemeris, tdb_s: float):
    """(6,) EME2000 state at one epoch, or None outside coverage."""
    if not bool(ephemeris.covers(tdb_s)):
        return None
    return _states_eme2000(ephemeris, np.array([tdb_s]))[0]


class TrackAdapter:
    """Orbit line (dim, whole revolution) + fading trail (bright, recent past) for one object."""

    def __init__(self, parent, color: str, trail_fraction: float = 0.2, width: float = 1.5):
        self.color = Color(color)
        self.trail_fraction = trail_fraction
        self.orbit = scene.visuals.Line(parent=parent, width=width, method="gl", antialias=False)
        self.trail = scene.visuals.Line(parent=parent, width=width * 2, method="gl", antialias=False)
        for line in (self.orbit, self.trail):
            line.set_gl_state("translucent", depth_test=True)

    def set_color(self, color: str) -> None:
        self.color = Color(color)

    def set_width(self, width: float) -> None:
        self.orbit.set_data(width=width)
        self.trail.set_data(width=width * 2)

    def update(self, cache: TrackCache, tdb_s: float, current_km, focus_km) -> None:
        pos = cache.positions_km
        good = np.isfinite(pos[:, 0])
        if current_km is None or good.sum() < 2:
            self.orbit.visible = self.trail.visible = False
            return
        rgba = np.array(self.color.rgba, dtype=np.float32)
        rel = (pos[good] - focus_km).astype(np.float32)
        self.orbit.set_data(pos=rel, color=(rgba[0], rgba[1], rgba[2], 0.45))
        self.orbit.visible = True
        epochs = cache.epochs[good]
        span = (epochs[-1] - epochs[0]) * self.trail_fraction
        past = (epochs <= tdb_s) & (epochs >= tdb_s - span)
        trail = np.vstack([pos[good][past], current_km[None, :]]) - focus_km
        if trail.shape[0] < 2:
            self.trail.visible = False
            return
        alpha = np.linspace(0.0, 1.0, trail.shape[0]) ** 1.5
        colors = np.tile(rgba, (trail.shape[0], 1))
        colors[:, 3] = alpha
        self.trail.set_data(pos=trail.astype(np.float32), color=colors)
        self.trail.visible = True

    def set_visible(self, visible: bool) -> None:
        self.orbit.visible = self.trail.visible = bool(visible)

    def remove(self) -> None:
        self.orbit.parent = None
        self.trail.parent = None


class MarkerLabelAdapter:
    """All current positions as one Markers visual and one Text visual (cheap per frame)."""

    def __init__(self, parent, font_size: float = 9.0, marker_size: float = 9.0, label_color="white"):
        self.markers = scene.visuals.Markers(parent=parent)
        self.markers.set_gl_state("translucent", depth_test=True)
        self.labels = scene.visuals.Text(parent=parent, color=label_color, font_size=font_size,
                                         anchor_x="left", anchor_y="bottom")
        self.labels.set_gl_state("translucent", depth_test=True)
        self.marker_size = marker_size
        self._texts: list[str] = []
        self.last_positions_f32 = np.empty((0, 3), np.float32)

    def set_style(self, font_size: float, marker_size: float, label_color) -> None:
        self.labels.font_size = font_size
        self.labels.color = label_color
        self.marker_size = marker_size

    def update(self, names, positions_km, colors, focus_km, symbols=None) -> None:
        if len(names) == 0:
            self.markers.visible = self.labels.visible = False
            return
        rel = (np.asarray(positions_km, dtype=np.float64) - focus_km).astype(np.float32)
        self.last_positions_f32 = rel  # what the GPU gets (tests check the precision rule on it)
        self.markers.set_data(rel, face_color=np.asarray(colors, dtype=np.float32), edge_color="white",
                              edge_width=1.0, size=self.marker_size, symbol=symbols or "disc")
        texts = ["  " + n for n in names]
        if texts != self._texts:
            self.labels.text = texts
            self._texts = texts
        self.labels.pos = rel
        self.markers.visible = self.labels.visible = True
