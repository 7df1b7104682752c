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
    """Samples (EME2000 states and display-frame positions, float64) of one trajectory around the epoch.

    The samples cover the drawn span [t - behind, t + ahead] plus half of it again on each side, so
    animation resamples only every half revolution or so. Between samples the current state is a cubic
    Hermite interpolation of positions and velocities (360 samples per revolution: the error is ~1 mm at
    the periapsis of a MAVEN-like 150 x 4500 km orbit, far below a pixel even in the encounter view); intervals that end on a segment boundary or maneuver, and the
    object the camera is centred on, are evaluated exactly.
    """

    def __init__(self, ephemeris, to_display):
        self.ephemeris = ephemeris
        self.to_display = to_display  # callable(states_eme2000 (N,6), tdb_s (N,)) -> positions (N,3)
        self.span_behind_s: float | None = None  # None = half a revolution
        self.span_ahead_s: float | None = None
        self.epochs = np.empty(0)
        self.states_eme = np.empty((0, 6))
        self.positions_km = np.empty((0, 3))
        self.period_s = float("inf")
        self.resamples = 0
        self._span = (0.0, 0.0)
        self._exact_interval = np.empty(0, bool)
        self._valid = False

    def invalidate(self) -> None:
        self._valid = False

    def _spans(self, period):
        span = period if np.isfinite(period) else DEFAULT_SPAN_S
        behind = self.span_behind_s if self.span_behind_s is not None else span / 2
        ahead = self.span_ahead_s if self.span_ahead_s is not None else span / 2
        return behind, ahead

    def state_at(self, tdb_s: float, exact: bool = False):
        """(6,) EME2000 state at TDB_S (None outside coverage), resampling the cache when needed."""
        if not bool(self.ephemeris.covers(tdb_s)):
            return None
        t = float(tdb_s)
        behind, ahead = self._spans(self.period_s)
        lo, hi = self.ephemeris.coverage
        need = (max(lo, t - behind), min(hi, t + ahead))
        if not self._valid or need[0] < self._span[0] or need[1] > self._span[1]:
            state = _states_eme2000(self.ephemeris, np.array([t]))[0]
            self._resample(t, state)
            return state
        k = int(np.searchsorted(self.epochs, t, side="right")) - 1
        if exact or k < 0 or k >= self.epochs.size - 1 or self._exact_interval[k]:
            return _states_eme2000(self.ephemeris, np.array([t]))[0]
        return _hermite(self.epochs[k], self.epochs[k + 1], self.states_eme[k], self.states_eme[k + 1], t)

    def _resample(self, tdb_s: float, state_eme) -> None:
        self.period_s = osculating_period_s(state_eme)
        behind, ahead = self._spans(self.period_s)
        margin = 0.5 * (behind + ahead)
        start, stop = self.ephemeris.coverage
        t0, t1 = max(start, tdb_s - behind - margin), min(stop, tdb_s + ahead + margin)
        n = int(ORBIT_SAMPLES * (t1 - t0) / max(behind + ahead, 1e-9)) + 2
        epochs = np.linspace(t0, t1, max(n, 2)) if t1 > t0 else np.array([tdb_s])
        boundaries = np.asarray(self.ephemeris.segment_boundaries(), dtype=float).reshape(-1)
        inside = boundaries[(boundaries > t0) & (boundaries < t1)]
        if inside.size:  # keep maneuver/segment corners sharp
            epochs = np.unique(np.concatenate([epochs, inside]))
        try:
            states = _states_eme2000(self.ephemeris, epochs)
        except CoverageError:
            states = np.full((epochs.size, 6), np.nan)
        self.epochs, self.states_eme = epochs, states
        self.positions_km = self.to_display(states, epochs)
        self._exact_interval = np.isin(epochs[1:], inside) if epochs.size > 1 else np.empty(0, bool)
        self._span = (t0, t1)
        self._valid = True
        self.resamples += 1

    def drawn_slice(self, tdb_s: float) -> slice:
        """Indices of the samples inside [t - behind, t + ahead]."""
        behind, ahead = self._spans(self.period_s)
        i0 = int(np.searchsorted(self.epochs, tdb_s - behind, side="left"))
        i1 = int(np.searchsorted(self.epochs, tdb_s + ahead, side="right"))
        return slice(i0, i1)


def _hermite(t0, t1, s0, s1, t):
    """Cubic Hermite interpolation of a state (position from positions + velocities; velocity its derivative)."""
    h = t1 - t0
    x = (t - t0) / h
    h00, h10, h01, h11 = 2 * x**3 - 3 * x**2 + 1, x**3 - 2 * x**2 + x, -2 * x**3 + 3 * x**2, x**3 - x**2
    d00, d10, d01, d11 = (6 * x**2 - 6 * x) / h, 3 * x**2 - 4 * x + 1, (-6 * x**2 + 6 * x) / h, 3 * x**2 - 2 * x
    r = h00 * s0[:3] + h10 * h * s0[3:] + h01 * s1[:3] + h11 * h * s1[3:]
    v = d00 * s0[:3] + d10 * s0[3:] + d01 * s1[:3] + d11 * s1[3:]
    return np.concatenate([r, v])


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


def track_pieces(cache: TrackCache, tdb_s: float, current_km, focus_km, trail_fraction: float = 0.2):
    """(orbit positions, trail positions) of one object about the focus (float64; None when not drawn).

    The orbit is the drawn span of the cached samples; the trail is its last TRAIL_FRACTION up to the
    current position (so the bright end of the trail sits exactly on the marker)."""
    sl = cache.drawn_slice(tdb_s)
    pos = cache.positions_km[sl]
    good = np.isfinite(pos[:, 0])
    if current_km is None or good.sum() < 2:
        return None, None
    orbit = pos[good] - focus_km
    epochs = cache.epochs[sl][good]
    span = (epochs[-1] - epochs[0]) * trail_fraction
    past = (epochs <= tdb_s) & (epochs >= tdb_s - span)
    trail = np.vstack([pos[good][past], current_km[None, :]]) - focus_km
    return orbit, (trail if trail.shape[0] >= 2 else None)


class TrackBatch:
    """Every object's orbit (dim) in one Line visual and every fading trail in another.

    Two visuals for the whole fleet instead of two per object: vispy's per-visual draw overhead (Python,
    uniform uploads) is what bounds the frame rate on a real GPU, not the line vertices."""

    def __init__(self, parent, width: float = 1.5, orbit_alpha: float = 0.45):
        self.orbit_alpha = orbit_alpha
        self.orbits = scene.visuals.Line(parent=parent, width=width, method="gl", antialias=False)
        self.trails = scene.visuals.Line(parent=parent, width=width * 2, method="gl", antialias=False)
        for line in (self.orbits, self.trails):
            line.set_gl_state("translucent", depth_test=True)
        self._orbit_key = None
        self.orbit_vertex_count = 0

    def set_width(self, width: float) -> None:
        self.orbits.set_data(width=width)
        self.trails.set_data(width=width * 2)
        self._orbit_key = None

    def update(self, pieces, keys) -> None:
        """PIECES: list of (orbit (N,3), trail (M,3) or None, rgba) about the focus; KEYS: orbit cache keys."""
        self._upload(self.orbits, [(o, rgba, False) for o, _t, rgba in pieces if o is not None],
                     key=tuple(keys), alpha=self.orbit_alpha)
        self._upload(self.trails, [(t, rgba, True) for _o, t, rgba in pieces if t is not None], key=None)

    def _upload(self, line, strips, key, alpha=1.0) -> None:
        if not strips:
            line.visible = False
            if line is self.orbits:
                self._orbit_key = None
            return
        line.visible = True
        if key is not None and key == self._orbit_key:
            return  # orbit samples unchanged: nothing to upload
        pos = np.concatenate([p for p, _c, _f in strips]).astype(np.float32)
        colors = np.empty((pos.shape[0], 4), np.float32)
        connect = np.ones(pos.shape[0], bool)
        k = 0
        for p, rgba, fade in strips:
            n = p.shape[0]
            colors[k:k + n] = rgba
            colors[k:k + n, 3] = np.linspace(0.0, 1.0, n) ** 1.5 if fade else alpha
            connect[k + n - 1] = False  # no segment from this object's last vertex to the next object
            k += n
        line.set_data(pos=pos, color=colors, connect=connect)
        if line is self.orbits:
            self._orbit_key = key
            self.orbit_vertex_count = pos.shape[0]

    def remove(self) -> None:
        self.orbits.parent = None
        self.trails.parent = None


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
