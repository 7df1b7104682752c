"""Encounter geometry: the relative path of one object about another near a close approach, the miss
vector at TCA and the current separation, drawn about the focus at metre scale without jitter.

All differences are taken in float64 between Mars-centred states (|r| ~ 1e4 km, so ~1e-9 km resolution)
and cast to float32 only after the focus is subtracted.
"""

from __future__ import annotations

import numpy as np
from vispy import scene

from .tracks import _states_eme2000


def format_distance(km: float) -> str:
    """Human scale: metres below 1 km, else km with 3 decimals."""
    if not np.isfinite(km):
        return "--"
    return f"{km * 1000.0:.1f} m" if abs(km) < 1.0 else f"{km:.3f} km"


class EncounterAdapter:
    def __init__(self, parent, color="#ffffff"):
        self.path = scene.visuals.Line(parent=parent, width=2.0, method="gl", color=(1, 1, 1, 0.8))
        self.miss = scene.visuals.Line(parent=parent, width=2.0, method="gl", color=(1.0, 0.3, 0.3, 1.0))
        self.now = scene.visuals.Line(parent=parent, width=1.0, method="gl", color=(0.9, 0.9, 0.3, 0.9))
        self.label = scene.visuals.Text(parent=parent, color=color, font_size=10, anchor_x="left")
        for v in (self.path, self.miss, self.now, self.label):
            v.set_gl_state("translucent", depth_test=False)  # on top: the point of this view
        self.event = None
        self.set_visible(False)

    def set_event(self, eph1, eph2, tca_tdb_s: float, miss_km: float, relative_speed_kms: float) -> None:
        """Sample the relative path over a window that spans ~40 miss distances of relative motion."""
        half_s = float(np.clip(20.0 * max(miss_km, 0.01) / max(relative_speed_kms, 1e-6), 30.0, 3600.0))
        start = max(eph1.coverage[0], eph2.coverage[0], tca_tdb_s - half_s)
        stop = min(eph1.coverage[1], eph2.coverage[1], tca_tdb_s + half_s)
        epochs = np.linspace(start, stop, 401)
        rel_eme = _states_eme2000(eph2, epochs)[:, :3] - _states_eme2000(eph1, epochs)[:, :3]
        at_tca = (_states_eme2000(eph2, np.array([tca_tdb_s])) - _states_eme2000(eph1, np.array([tca_tdb_s])))[0]
        self.event = dict(eph1=eph1, eph2=eph2, tca=tca_tdb_s, miss_km=miss_km, rel_path_eme=rel_eme,
                          rel_tca_eme=at_tca[:3], epochs=epochs)
        self.set_visible(True)

    def clear(self) -> None:
        self.event = None
        self.set_visible(False)

    def set_visible(self, visible: bool) -> None:
        for v in (self.path, self.miss, self.now, self.label):
            v.visible = bool(visible)

    def focus_eme(self, tdb_s: float):
        """Midpoint of the two objects now (EME2000 km), the encounter view's focus; None if uncovered."""
        if self.event is None:
            return None
        e1, e2 = self.event["eph1"], self.event["eph2"]
        if not (e1.covers(tdb_s) and e2.covers(tdb_s)):
            return None
        t = np.array([tdb_s])
        return 0.5 * (_states_eme2000(e1, t)[0, :3] + _states_eme2000(e2, t)[0, :3])

    def update(self, tdb_s: float, eme_to_display: np.ndarray, focus_display_km) -> str:
        """Redraw about the focus; returns the caption (miss at TCA and the current separation)."""
        if self.event is None:
            return ""
        ev = self.event
        t = np.array([tdb_s])
        if not (ev["eph1"].covers(tdb_s) and ev["eph2"].covers(tdb_s)):
            self.set_visible(False)
            return ""
        p1 = _states_eme2000(ev["eph1"], t)[0, :3]
        p2 = _states_eme2000(ev["eph2"], t)[0, :3]
        m = eme_to_display
        anchor = m @ p1 - focus_display_km  # object 1, display frame, relative to the focus (float64)
        path = anchor + ev["rel_path_eme"] @ m.T
        miss_vec = anchor + np.vstack([np.zeros(3), m @ ev["rel_tca_eme"]])
        now = np.vstack([anchor, m @ p2 - focus_display_km])
        self.path.set_data(pos=path.astype(np.float32))
        self.miss.set_data(pos=miss_vec.astype(np.float32))
        self.now.set_data(pos=now.astype(np.float32))
        separation_km = float(np.linalg.norm(p2 - p1))
        caption = f"miss {format_distance(ev['miss_km'])} at TCA · now {format_distance(separation_km)}"
        self.label.text = "  miss " + format_distance(ev["miss_km"])
        self.label.pos = (miss_vec[1]).astype(np.float32)[None, :]
        self.set_visible(True)
        return caption
