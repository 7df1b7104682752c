"""Spacecraft and moon tracks: orbit for the current revolution, a fading trail, markers and labels.

Positions are float64 in the display frame on the CPU (``TrackCache``); each frame the focus position is
subtracted in float64 and only then cast to float32 for the GPU (DESIGN.md rendering-precision rule).
"""

from __future__ import annotations

import numpy as np
from vispy import scene

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
        self.step_s: float | None = None  # sample spacing when uniform (no segment boundary inserted)
        self.all_finite = True
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
            state = states_eme2000(self.ephemeris, np.array([t]))[0]
            self._resample(t, state)
            return state
        k = int(np.searchsorted(self.epochs, t, side="right")) - 1
        if exact or k < 0 or k >= self.epochs.size - 1 or self._exact_interval[k]:
            return states_eme2000(self.ephemeris, np.array([t]))[0]
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
        self.step_s = float(epochs[1] - epochs[0]) if epochs.size > 1 and not inside.size else None
        if inside.size:  # keep maneuver/segment corners sharp
            epochs = np.unique(np.concatenate([epochs, inside]))
        try:
            states = states_eme2000(self.ephemeris, epochs)
        except CoverageError:
            states = np.full((epochs.size, 6), np.nan)
        self.epochs, self.states_eme = epochs, states
        self.positions_km = self.to_display(states, epochs)
        self.all_finite = bool(np.isfinite(self.positions_km).all())  # track_pieces then needs no masks
        self._exact_interval = np.isin(epochs[1:], inside) if epochs.size > 1 else np.empty(0, bool)
        self._span = (t0, t1)
        self._valid = True
        self.resamples += 1

    def drawn_slice(self, tdb_s: float) -> slice:
        """Indices of the samples inside [t - behind, t + ahead]. On a uniform grid, as many every frame (the
        fewest such a window holds): the line batch then re-sends positions only, not colours and strip
        breaks (the orbit's open end is at most one sample, a degree, shorter)."""
        behind, ahead = self._spans(self.period_s)
        i0 = int(np.searchsorted(self.epochs, tdb_s - behind, side="left"))
        i1 = int(np.searchsorted(self.epochs, tdb_s + ahead, side="right"))
        if self.step_s is not None:
            i1 = min(i1, i0 + max(_fewest_samples(behind + ahead, self.step_s), 2))
        return slice(i0, i1)


def _fewest_samples(window_s: float, step_s: float) -> int:
    """The fewest points of a grid of spacing STEP_S in any closed window of length WINDOW_S (a hair fewer
    when the ratio is within rounding of an integer: never more than the window holds)."""
    return int(np.floor(window_s / step_s - 1e-6))


def _hermite(t0, t1, s0, s1, t):
    """Cubic Hermite interpolation of a state (position from positions + velocities; velocity its derivative).
    One (2,4) x (4,3) product: this runs for every object every frame."""
    h = float(t1) - float(t0)
    x = (float(t) - float(t0)) / h
    x2, x3 = x * x, x * x * x
    weights = np.array([[2 * x3 - 3 * x2 + 1, (x3 - 2 * x2 + x) * h, -2 * x3 + 3 * x2, (x3 - x2) * h],
                        [(6 * x2 - 6 * x) / h, 3 * x2 - 4 * x + 1, (-6 * x2 + 6 * x) / h, 3 * x2 - 2 * x]])
    return (weights @ np.concatenate([s0, s1]).reshape(4, 3)).reshape(6)


def states_eme2000(ephemeris, tdb_s) -> np.ndarray:
    """(N, 6) states of EPHEMERIS at TDB_S in EME2000 axes (km, km/s), whatever frame it is tabulated in."""
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
    return states_eme2000(ephemeris, np.array([tdb_s]))[0]


def track_pieces(cache: TrackCache, tdb_s: float, current_km, focus_km, trail_fraction: float = 0.2,
                 drawn: slice | None = None):
    """(orbit positions, trail positions) of one object about the focus (float64; None when not drawn).

    The orbit is the drawn span of the cached samples (DRAWN: ``cache.drawn_slice(tdb_s)`` if already known);
    the trail is its last TRAIL_FRACTION up to the current position (so the bright end of the trail sits exactly
    on the marker)."""
    sl = cache.drawn_slice(tdb_s) if drawn is None else drawn
    if cache.all_finite:  # the usual case, without masks (the same pieces)
        if current_km is None or sl.stop - sl.start < 2:
            return None, None
        pos, epochs = cache.positions_km[sl], cache.epochs[sl]
        span = (epochs[-1] - epochs[0]) * trail_fraction
        a = int(np.searchsorted(epochs, tdb_s - span, side="left"))
        b = int(np.searchsorted(epochs, tdb_s, side="right"))
        if cache.step_s is not None:  # as many samples every frame (see drawn_slice)
            a = max(a, b - max(_fewest_samples(span, cache.step_s), 1))  # a short span keeps its sample
        trail = np.empty((b - a + 1, 3))
        trail[:-1] = pos[a:b]
        trail[-1] = current_km
        trail -= focus_km
        return pos - focus_km, (trail if trail.shape[0] >= 2 else None)
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


class LineBatch:
    """Every polyline of the 3D view -- orbits, trails, encounter geometry, and any group another module adds
    (``set_group``) -- drawn by ONE Line visual with per-vertex colour and a connect mask.

    vispy's per-visual cost (Python, uniform uploads, a draw call) is what bounds the frame rate, on a real GPU
    and under llvmpipe alike, so the fleet costs one draw whatever its size. A group is a list of strips
    (N,3 positions about the focus, float64) with an (N,4) colour each; only groups whose content changed are
    re-packed, into staging buffers that grow but are not reallocated frame to frame.
    """

    def __init__(self, parent, width: float = 1.5):
        self.line = scene.visuals.Line(parent=parent, width=width, method="gl", antialias=False)
        self.line.set_gl_state("translucent", depth_test=True)
        self.line.visible = False
        self._groups: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._pos = np.empty((0, 3), np.float32)
        self._color = np.empty((0, 4), np.float32)
        self._connect = np.empty(0, bool)
        self._sent_color = np.empty((0, 4), np.float32)  # what the GPU holds: unchanged arrays are not re-sent
        self._sent_connect = np.empty(0, bool)
        self._dirty = False
        self.vertex_count = 0

    def set_width(self, width: float) -> None:
        self.line.set_data(width=width)

    def set_group(self, name: str, strips) -> None:
        """Replace group NAME by STRIPS: iterable of (positions (N,3) about the focus, colours (N,4) or (4,))."""
        strips = [(np.asarray(p, dtype=np.float64), c) for p, c in strips if p is not None and len(p) >= 2]
        if not strips:
            self.remove_group(name)
            return
        n = sum(p.shape[0] for p, _c in strips)
        pos = np.empty((n, 3), np.float32)
        col = np.empty((n, 4), np.float32)
        con = np.ones(n, bool)
        k = 0
        for p, c in strips:
            m = p.shape[0]
            pos[k:k + m] = p
            col[k:k + m] = c
            con[k + m - 1] = False  # no segment from this strip's last vertex to the next strip
            k += m
        self._groups[name] = (pos, col, con)
        self._dirty = True

    def remove_group(self, name: str) -> None:
        if self._groups.pop(name, None) is not None:
            self._dirty = True

    def group_names(self) -> list[str]:
        return list(self._groups)

    def flush(self) -> None:
        """Upload the packed groups if any changed (once per frame, after every set_group)."""
        if not self._dirty:
            return
        self._dirty = False
        n = sum(g[0].shape[0] for g in self._groups.values())
        self.vertex_count = n
        if n < 2:
            self.line.visible = False
            return
        if self._pos.shape[0] < n:  # grow with headroom: steady animation reuses the same buffers
            cap = int(n * 1.5) + 64
            self._pos = np.empty((cap, 3), np.float32)
            self._color = np.empty((cap, 4), np.float32)
            self._connect = np.empty(cap, bool)
        k = 0
        for pos, col, con in self._groups.values():
            m = pos.shape[0]
            self._pos[k:k + m], self._color[k:k + m], self._connect[k:k + m] = pos, col, con
            k += m
        # trails move every frame but keep their colours and strip breaks: re-send only what changed (the
        # connect array costs most: vispy turns it into an index buffer)
        color, connect = self._color[:n], self._connect[:n]
        new_color = not np.array_equal(color, self._sent_color)
        new_connect = not np.array_equal(connect, self._sent_connect)
        if new_color:
            self._sent_color = color.copy()
        if new_connect:
            self._sent_connect = connect.copy()
        self.line.set_data(pos=self._pos[:n], color=color if new_color else None,
                           connect=connect if new_connect else None)
        self.line.visible = True

    def remove(self) -> None:
        self.line.parent = None


class TrackBatch:
    """Orbits (dim) and fading trails of the whole fleet as two groups of the shared ``LineBatch``."""

    def __init__(self, lines: LineBatch, orbit_alpha: float = 0.55):
        self.lines = lines
        self.orbit_alpha = orbit_alpha
        self._orbit_key = None
        self.orbit_vertex_count = 0
        self._fades: dict[int, np.ndarray] = {}

    def update(self, pieces, keys) -> None:
        """PIECES: list of (orbit (N,3), trail (M,3) or None, rgba) about the focus; KEYS: orbit cache keys."""
        key = tuple(keys)
        if key != self._orbit_key:  # orbit samples unchanged: nothing to re-pack
            strips = [(o, _alpha(rgba, self.orbit_alpha)) for o, _t, rgba in pieces if o is not None]
            self.lines.set_group("orbits", strips)
            self._orbit_key = key
            self.orbit_vertex_count = sum(o.shape[0] for o, _c in strips)
        trails = []
        for _o, t, rgba in pieces:
            if t is None:
                continue
            n = t.shape[0]
            ramp = self._fades.get(n)
            if ramp is None:  # alpha along the trail: fades into the dim orbit (one ramp per length, kept)
                ramp = self._fades[n] = (0.25 + 0.75 * np.linspace(0.0, 1.0, n) ** 1.5).astype(np.float32)
            c = np.empty((n, 4), np.float32)
            c[:, :3] = rgba[:3]
            c[:, 3] = ramp
            trails.append((t, c))
        self.lines.set_group("trails", trails)


def _alpha(rgba, a):
    c = np.array(rgba, dtype=np.float32)
    c[3] = a
    return c


class MarkerBatch:
    """Every object's current position as one Markers visual (labels are laid out in screen space by the
    scene: ``marsview.render.labels``). Objects hidden behind Mars are left out, marker and label together."""

    def __init__(self, parent, marker_size: float = 9.0):
        self.markers = scene.visuals.Markers(parent=parent)
        self.markers.set_gl_state("translucent", depth_test=True)  # keeps the frame's alpha (render.blending)
        self.marker_size = marker_size
        self.last_positions_f32 = np.empty((0, 3), np.float32)
        self._shown_key = None

    def set_style(self, marker_size: float) -> None:
        self.marker_size = marker_size
        self._shown_key = None

    def update(self, positions_km, colors, focus_km, shown=None) -> None:
        """POSITIONS_KM (N,3) display frame; SHOWN (N,) bool mask of the markers to draw (default all)."""
        if len(positions_km) == 0:
            self.markers.visible = False
            return
        rel = (np.asarray(positions_km, dtype=np.float64) - focus_km).astype(np.float32)
        self.last_positions_f32 = rel  # what the GPU gets (tests check the precision rule on it)
        shown = np.ones(rel.shape[0], bool) if shown is None else np.asarray(shown, bool)
        if not shown.any():
            self.markers.visible = False
            return
        face = np.asarray(colors, dtype=np.float32)[shown]
        key = (shown.tobytes(), face.tobytes(), self.marker_size)
        data = getattr(self.markers, "_data", None)
        if key == self._shown_key and data is not None and len(data) == int(shown.sum()) \
                and getattr(self.markers, "_vbo", None) is not None:
            # the same markers moved: rewrite the positions of vispy's interleaved buffer in place (set_data
            # rebuilds every attribute and re-binds them: a third of the frame's marker cost)
            data["a_position"] = rel[shown]
            self.markers._vbo.set_data(data)
            self.markers.update()
        else:
            self.markers.set_data(rel[shown], face_color=face, edge_color="white", edge_width=1.0,
                                  size=self.marker_size, symbol="disc")
            self._shown_key = key
        self.markers.visible = True
