"""While a maneuver plan is shown, say so everywhere (issue 12: a plan must be impossible to mistake for the
delivery): a persistent PLANNED banner over the 3D view (``plannedBanner``), a PLANNED stamp and the planned
orbit as a ghost in the 3D view (render.plan_ghost), before/after miss columns with NEW and REMOVED rows in the
close-approach table, the planned distance curve beside the delivered one, and ``window.planned_label`` /
``window.planned_result``, which the briefing overlay, screenshot captions and the report read.

``PlanIndicator(window, panel)`` follows the maneuver panel's ``outcomeShown``; opening another scenario clears
everything (and the plots).
"""

from __future__ import annotations

import weakref

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel

from marsview.core.time import format_epoch

CURVE_DELAY_MS = 400
_SCENE_GHOSTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # off-screen scenes' ghosts
BANNER_STYLE = ("background-color: #CC79A7; color: #000000; font-weight: bold; font-size: 15px; "
                "padding: 6px 12px; border-bottom: 3px solid #7a2a63")


def plan_label(outcome) -> str | None:
    """One line naming the plan an outcome shows (None without a burn)."""
    req = outcome.request
    if not req.burns:
        return None
    b = req.burns[0]
    dv = ", ".join(f"{x:.4f}" for x in b.dv_mps)
    more = f" (+{len(req.burns) - 1} more burn(s))" if len(req.burns) > 1 else ""
    return (f"PLANNED: {req.spacecraft} Δv {b.frame} ({dv}) m/s at "
            f"{format_epoch(b.epoch_tdb_s, 'UTC', digits=0).replace('T', ' ')} UTC{more}, "
            f"{req.force_model.name}, {'delivered + burn effect' if req.method == 'differential' else 'absolute'}"
            " — not the delivered ephemeris")


def short_plan_label(outcome) -> str | None:
    """The 3D view's overlay line: spacecraft, |dv|, frame and burn time."""
    req = outcome.request
    if not req.burns:
        return None
    b = req.burns[0]
    return (f"PLANNED: {req.spacecraft} Δv {sum(x.dv_magnitude_mps for x in req.burns):.4f} m/s {b.frame} at "
            f"{format_epoch(b.epoch_tdb_s, 'UTC', digits=0).replace('T', ' ')} UTC")


def table_marks(outcome):
    """(marks, removed) for ConjunctionTable.set_plan: every event of the maneuvered spacecraft with its miss
    before and after ("NEW" / "REMOVED" where it crosses the threshold)."""
    outside = {(status, other): miss for status, other, _tca, miss in getattr(outcome, "outside", ())}
    marks, removed = {}, []
    for c in outcome.changes:
        if c.status == "changed":
            marks[id(c.after)] = ("", c.before.miss_km, c.after.miss_km)
        elif c.status == "new":
            marks[id(c.after)] = ("NEW", outside.get(("new", c.other)), c.after.miss_km)
        else:
            marks[id(c.before)] = ("REMOVED", c.before.miss_km, outside.get(("gone", c.other)))
            removed.append(c.before)
    return marks, removed


class PlanIndicator(QObject):
    def __init__(self, window, panel):
        super().__init__(window)
        self.window, self.panel = window, panel
        self.outcome = None
        self.banner = QLabel(objectName="plannedBanner")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.setAlignment(Qt.AlignCenter)
        self.banner.hide()
        central = window.centralWidget()
        if central is not None and central.layout() is not None:
            central.layout().insertWidget(0, self.banner)
        self.ghost = None
        scene = getattr(getattr(window, "globe", None), "scene", None)
        if scene is not None and hasattr(scene, "frame_hooks"):
            from marsview.render.plan_ghost import PlanGhost

            self.ghost = PlanGhost(scene)
        from ..workers import JobBridge

        self.curve_worker = JobBridge("plan-curve", self)  # the planned distance curve is sampled off the GUI thread
        self.curve_worker.finished.connect(self._on_curve)
        # ... once the plan has settled: sampling a week of distance on every drag would compete with the
        # GUI thread (and the table) for the interpreter
        self.curve_timer = QTimer(self)
        self.curve_timer.setSingleShot(True)
        self.curve_timer.setInterval(CURVE_DELAY_MS)
        self.curve_timer.timeout.connect(self._request_curve)
        window.planned_label = window.planned_short_label = None
        window.planned_result = None
        window.plan_indicator = self  # exports.OffscreenView copies the plan into its own scene
        panel.outcomeShown.connect(self.show_outcome)
        if hasattr(window, "table"):
            window.table.eventSelected.connect(self._on_event_selected)  # after the window's own handler
        if hasattr(window, "plots") and hasattr(window.plots, "distanceShown"):
            window.plots.distanceShown.connect(lambda _a, _b: self._request_curve())

    def show_outcome(self, outcome) -> None:
        label = plan_label(outcome)
        self.outcome = outcome if label else None
        w = self.window
        w.planned_label = label
        w.planned_short_label = short_plan_label(outcome)
        w.planned_result = outcome.result if label else None
        self.banner.setText(label or "")
        self.banner.setVisible(bool(label))
        if hasattr(w, "table"):
            if label:
                w.table.set_plan(*table_marks(outcome))
            else:
                w.table.set_plan(None)
        scene = getattr(getattr(w, "globe", None), "scene", None)
        if scene is not None:
            scene.set_overlay_line("plan", short_plan_label(outcome) or "")
        if self.ghost is not None:
            self.ghost.set_plan(outcome.request.spacecraft if label else None, outcome.planned if label else None)
        if label:
            self.curve_timer.start()
        else:
            self.curve_timer.stop()
            self._request_curve()  # clears the planned curve

    def apply_to_scene(self, scene, selected_event=None) -> None:
        """Show the current plan in another MarsScene (an off-screen copy for screenshots and reports): its own
        ghost orbit and stamp, and the planned encounter geometry for SELECTED_EVENT."""
        o = self.outcome
        if o is None or o.planned is None:
            return
        from marsview.render.plan_ghost import PlanGhost

        ghost = _SCENE_GHOSTS.get(scene)
        if ghost is None:
            ghost = _SCENE_GHOSTS[scene] = PlanGhost(scene)
        ghost.set_plan(o.request.spacecraft, o.planned)
        self._planned_encounter(scene, selected_event)

    def _on_event_selected(self, event) -> None:
        """A planned close approach of the maneuvered spacecraft: draw the planned encounter geometry (the
        window's encounter view would pair the delivered trajectory with the planned miss)."""
        self._planned_encounter(getattr(getattr(self.window, "globe", None), "scene", None), event)

    def _planned_encounter(self, scene, event) -> None:
        o = self.outcome
        if o is None or o.planned is None or scene is None or event is None:
            return
        name = o.request.spacecraft
        if name not in (event.object1, event.object2) or not any(event is e for e in o.result.events):
            return  # not a planned event (e.g. a REMOVED row: the delivered encounter is the right picture)
        if event.object1 not in scene.entries or event.object2 not in scene.entries:
            return
        eph = [self.ephemeris_of(n, scene.entries[n].obj.ephemeris) for n in (event.object1, event.object2)]
        from ..globe_view import event_uncertainty

        scene.encounter.set_event(eph[0], eph[1], event.tca_tdb_s, event.miss_km, event.relative_speed_kms,
                                  *event_uncertainty(event, self.window.scenario))  # ellipses, hard-body circle
        scene.set_time(scene.tdb_s)

    def ephemeris_of(self, name: str, delivered):
        """The trajectory of object NAME that the shown plan stands for: the planned one for the maneuvered
        spacecraft while a plan is shown, else DELIVERED."""
        o = self.outcome
        return o.planned if o is not None and o.planned is not None and o.request.spacecraft == name else delivered

    def clear(self) -> None:
        """Another scenario was opened: no plan, no old curves."""
        self.curve_timer.stop()
        self.curve_worker.cancel()
        self.outcome = None
        w = self.window
        w.planned_label = w.planned_short_label = w.planned_result = None
        self.banner.hide()
        if hasattr(w, "table"):
            w.table.set_plan(None)
        if self.ghost is not None:
            self.ghost.set_plan(None)
        scene = getattr(getattr(w, "globe", None), "scene", None)
        if scene is not None:
            scene.set_overlay_line("plan", "")
        if hasattr(w, "plots") and hasattr(w.plots, "clear"):
            w.plots.clear()

    def _request_curve(self) -> None:
        plots = getattr(self.window, "plots", None)
        if plots is None or not hasattr(plots, "show_planned_distance"):
            return
        o = self.outcome
        pair = plots.distance_pair
        if o is None or o.planned is None or pair is None or o.request.spacecraft not in pair:
            self.curve_worker.cancel()
            plots.show_planned_distance([], [])
            return
        from ..controller import screening_span
        from ..panels.plots import sample_pair_distance

        sc = self.window.scenario
        other = pair[1] if pair[0] == o.request.spacecraft else pair[0]
        if sc is None or other not in sc.names():
            return
        planned, other_eph = o.planned, sc.object(other).ephemeris
        start, stop = screening_span(sc)
        stop = min(stop, planned.coverage[1])
        tcas = [e.tca_tdb_s for e in o.result.events if {e.object1, e.object2} == set(pair)]
        self.curve_worker.submit(lambda _cancel: (pair, *sample_pair_distance(planned, other_eph, start, stop,
                                                                                   tcas)))

    def _on_curve(self, _rid, data, _ms) -> None:
        pair, t, d = data
        plots = self.window.plots
        if self.outcome is not None and plots.distance_pair == pair:
            plots.show_planned_distance(t, d, "planned")

    def shutdown(self) -> None:
        self.curve_timer.stop()
        self.curve_worker.shutdown()
