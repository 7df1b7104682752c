"""The planned orbit as a ghost beside the delivered one, and a PLANNED stamp on the view, while a maneuver plan
is shown (issue 12: a plan must be impossible to mistake for the delivery).

``PlanGhost(scene)`` attaches to a ``MarsScene`` through its per-frame hook list (``scene.frame_hooks``), so the
scene itself knows nothing about plans. ``set_plan(name, planned, label)`` shows the planned trajectory
``planned`` (an Ephemeris in EME2000, e.g. core.planning.PlannedEphemeris) of object NAME; ``set_plan(None)``
removes it. Each frame the ghost draws the planned orbit over the current revolution (after the burn only:
before it the plan is the delivery), from the burn on a hollow marker at the planned position labelled
"NAME (planned)" (hidden with the object's own when Mars is in the way), and a PLANNED stamp at the top of the
view. Positions are relative to the scene's focus in float64 before the
float32 cast, like every other visual.
"""

from __future__ import annotations

import numpy as np
from vispy import scene

from .blending import keep_destination_alpha
from .tracks import osculating_period_s

GHOST_RGBA = (1.0, 0.40, 0.80, 0.95)  # bright magenta: no Okabe-Ito object colour, readable on both themes
STAMP_RGBA = (1.0, 0.40, 0.80, 1.0)
SAMPLES = 361
MAX_SPAN_S = 6 * 3600.0


class PlanGhost:
    def __init__(self, mars_scene):
        self.scene = mars_scene
        parent = mars_scene.view.scene
        self.line = scene.visuals.Line(parent=parent, width=2.5, method="gl", antialias=False)
        self.line.set_gl_state("translucent", depth_test=True)
        self.marker = scene.visuals.Markers(parent=parent)
        self.marker.set_gl_state("translucent", depth_test=False)
        self.label = scene.visuals.Text("", parent=parent, color=GHOST_RGBA, anchor_x="left", anchor_y="top",
                                        font_size=mars_scene.theme.label_font_pt)
        self.label.set_gl_state("translucent", depth_test=False)
        self.stamp = scene.visuals.Text("", parent=mars_scene.canvas.scene, color=STAMP_RGBA, anchor_x="center",
                                        anchor_y="center", bold=True, font_size=mars_scene.theme.clock_font_pt)
        keep_destination_alpha(self.stamp)
        self.name = None
        self.planned = None
        self.stamp_text = ""
        self.last_positions_f32 = np.empty((0, 3), np.float32)
        self._set_visible(False)
        mars_scene.frame_hooks.append(self.update)

    def _set_visible(self, on: bool) -> None:
        for v in (self.line, self.marker, self.label, self.stamp):
            v.visible = bool(on)

    def set_plan(self, name: str | None, planned=None, stamp: str = "PLANNED") -> None:
        """Show PLANNED (the planned ephemeris of object NAME) from the next frame; NAME None hides the ghost."""
        self.name, self.planned = (name, planned) if name is not None and planned is not None else (None, None)
        self.stamp_text = stamp if self.name is not None else ""
        self.scene.set_time(self.scene.tdb_s)

    def _span(self, t: float):
        """[a, b] of the drawn planned orbit: the revolution around t, after the burn and within coverage."""
        eph = self.planned
        burn = float(getattr(eph, "burn_epoch_tdb_s", eph.coverage[0]))
        lo, hi = max(eph.coverage[0], burn), eph.coverage[1]
        here = min(max(t, lo), hi)
        period = osculating_period_s(eph.state(here)[0])
        half = 0.5 * min(period if np.isfinite(period) else MAX_SPAN_S, MAX_SPAN_S)
        a, b = max(here - half, lo), min(here + half, hi)
        if b - a < 2.0 * half and a == lo:
            b = min(lo + 2.0 * half, hi)
        return a, b

    def update(self, t: float, eme_to_display, focus_km) -> None:
        """The scene's per-frame hook (after every other visual is placed)."""
        if self.planned is None or self.name not in self.scene.entries:
            self._set_visible(False)
            return
        from .scene import eme_to_display_matrices

        a, b = self._span(t)
        if not b > a:
            self._set_visible(False)
            return
        epochs = np.linspace(a, b, SAMPLES)
        states = self.planned.state(epochs)
        m = eme_to_display_matrices(self.scene.frame, epochs)
        pos = np.einsum("nij,nj->ni", m, states[:, :3]) - focus_km
        self.line.set_data(pos=pos.astype(np.float32), color=np.tile(GHOST_RGBA, (SAMPLES, 1)).astype(np.float32))
        self.last_positions_f32 = pos.astype(np.float32)
        self.line.visible = self.stamp.visible = True
        burn = float(getattr(self.planned, "burn_epoch_tdb_s", a))
        # before the burn the planned object is where the delivered one is, and its marker says so; one hidden
        # by Mars loses its ghost marker with its own
        now = np.asarray(eme_to_display) @ self.planned.state(t)[0, :3] - focus_km if t >= burn else None
        marked = now is not None and not self.scene.behind_mars(now[None])[0]
        self.marker.visible = self.label.visible = marked
        if marked:
            now32 = now.astype(np.float32)[None]
            self.marker.set_data(now32, face_color=(0, 0, 0, 0), edge_color=GHOST_RGBA, edge_width=2.0,
                                 size=self.scene.theme.marker_px * 1.6, symbol="disc")
            self.label.text = f"  {self.name} (planned)"
            self.label.pos = now32
            self.label.font_size = self.scene.theme.label_font_pt
        w, _h = self.scene.canvas.size
        self.stamp.text = self.stamp_text
        self.stamp.font_size = self.scene.theme.clock_font_pt
        self.stamp.pos = (w / 2.0, 1.6 * self.scene.theme.clock_font_pt)  # the clock's row (scene._update_overlay)
