"""The maneuver panel (dock ``maneuverPanel``): pick a spacecraft, a burn time and a dv, watch every close
approach of that spacecraft update, compare before/after, catch new close approaches, export the plan.

Recomputation follows DESIGN.md's loop (``workers``): a dv change is throttled (40 ms, leading and
trailing edge), frozen into a ``PlanRequest`` and run by one worker (a child process in the app, so Python
numerics never hold the GUI thread's GIL; a thread in bare tests); a newer request cancels the older. Only
the maneuvered spacecraft's pairs are re-screened (core.screening.rescreen). With the compiled dynamics
(core.kernels) every result is the exact planned trajectory; without them, dv drags show the second-order
preview of ``core.planning.BurnArc`` (integrated once per burn time) and the exact trajectory replaces it
400 ms after the last change. The status line says which ("preview" / "exact").

In marsview's main window the panel is built by ``ManeuverPanel.for_window`` (the "planning" add-on of
``gui.panels.registry``; the trade-space and who-moves docks follow it there): each planned screening result goes into the window's close-approach table, then the window emits
``screeningFinished``; once the plan settles the window's full refresh runs (controller.screeningResult).
The plan is autosaved when the window closes.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QDateTime, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDateTimeEdit, QDockWidget, QDoubleSpinBox, QFormLayout,
                               QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from marsview.core.time import format_epoch
from marsview.model.plan import ManeuverPlan, PlannedBurn, propellant_kg
from marsview.model.events import screening_summary
from marsview.model.planning_jobs import ChildPlan, PlanOutcome, PlanRequest, WarmPlan, compute_plan

from .maneuver_files import PlanFilesMixin
from ..panels.conjunction_table import format_pc
from ..qtkit.qt_time import qdatetime_from_tdb_s, tdb_s_from_qdatetime
from ..workers import JobBridge, Throttler

SLIDER_RANGE_MPS = 2.0  # sliders span +-2 m/s in 1 mm/s steps (fine dragging); spin boxes go to +-100
EXACT_DELAY_MS = 400
DV_AXES = (("dvRadial", "Radial (m/s)"), ("dvInTrack", "In-track (m/s)"), ("dvCrossTrack", "Cross-track (m/s)"))
VNB_LABELS = ("Velocity (m/s)", "Normal (m/s)", "Binormal (m/s)")
FORCE_MODELS = ("zonal", "j2", "two-body", "full")
PLAN_METHOD_LABELS = (("delivered + Δ (the burn's effect)", "differential"),
                      ("absolute propagation (legacy)", "absolute"))


class ManeuverPanel(PlanFilesMixin, QDockWidget):
    """planChanged: the plan edited; outcomeShown(outcome): a new result is displayed; plannedResult(result):
    the merged screening result to show in the main table; screeningFinished: after each update is shown."""

    planChanged = Signal()
    outcomeShown = Signal(object)
    plannedResult = Signal(object, str)  # merged ScreeningResult, mode ("none", "preview", "exact")
    screeningFinished = Signal()
    errorOccurred = Signal(str, str)

    def __init__(self, parent=None, use_process: bool = False):
        """USE_PROCESS: compute in a child process (the app does; see core.jobs_process) instead of a thread."""
        super().__init__("Maneuver planning", parent)
        self.setObjectName("maneuverPanel")
        self._context_key = 0
        self._sent_context = None
        self.preview = None  # True/False forces the second-order preview while dragging (None: automatic)
        self.scenario = None
        self.baseline = None
        self.plan = ManeuverPlan()
        self.outcome = None
        self.last_error = None
        self._arc_cache: dict = {}
        self._updating = False
        self.worker = JobBridge("planning", self, process=use_process)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.throttle = Throttler(parent=self)
        self.throttle.fired.connect(lambda: self._submit(exact=False))
        self.exact_timer = QTimer(self)
        self.exact_timer.setSingleShot(True)
        self.exact_timer.setInterval(EXACT_DELAY_MS)
        self.exact_timer.timeout.connect(lambda: self._submit(exact=True))
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(2000)
        self.autosave_timer.timeout.connect(self.autosave)
        self._build()

    # --- widgets -------------------------------------------------------------------------------------------
    def _build(self):
        body = QWidget(self)
        lay = QVBoxLayout(body)
        form = QFormLayout()
        self.target = QComboBox(objectName="maneuverTarget")
        self.target.currentTextChanged.connect(self._on_target_changed)
        form.addRow("Spacecraft", self.target)
        self.encounter = QComboBox(objectName="targetEncounter")
        self.encounter.currentIndexChanged.connect(lambda _i: self._schedule())
        form.addRow("Targeted encounter", self.encounter)
        self.burn_time = QDateTimeEdit(objectName="burnTime")
        self.burn_time.setTimeZone(QDateTime.currentDateTimeUtc().timeZone())
        self.burn_time.setDisplayFormat("yyyy-MM-dd HH:mm:ss 'UTC'")
        self.burn_time.dateTimeChanged.connect(lambda _d: self._on_dv_edited())
        form.addRow("Burn time", self.burn_time)
        self.frame = QComboBox(objectName="maneuverFrame")
        self.frame.addItems(["RTN", "VNB"])
        self.frame.currentTextChanged.connect(lambda _t: self._on_dv_edited())
        self.frame.currentTextChanged.connect(lambda _t: self._label_dv_axes())
        form.addRow("Δv frame", self.frame)
        self.force_model = QComboBox(objectName="maneuverForceModel")
        self.force_model.addItems(FORCE_MODELS)
        self.force_model.currentTextChanged.connect(lambda _t: self._on_dv_edited())
        form.addRow("Force model", self.force_model)
        self.method = QComboBox(objectName="maneuverPlanMethod")
        for label, key in PLAN_METHOD_LABELS:
            self.method.addItem(label, key)
        self.method.setToolTip("delivered + Δ: the delivered ephemeris plus the burn's effect (our propagation "
                               "with the burn minus without it, both from the delivered state at the burn). "
                               "absolute: our propagation alone after the burn (carries the force-model "
                               "mismatch with the delivery).")
        self.method.currentIndexChanged.connect(lambda _i: self._on_dv_edited())
        form.addRow("Trajectory", self.method)
        self.model_info = QLabel(objectName="planModelInfo")
        self.model_info.setWordWrap(True)
        form.addRow("", self.model_info)
        lay.addLayout(form)
        grid = QGridLayout()
        self.dv_grid, self.dv_labels = grid, []
        self.spins, self.sliders = [], []
        for row, (name, label) in enumerate(DV_AXES):
            spin = QDoubleSpinBox(objectName=name)
            spin.setRange(-100.0, 100.0)
            spin.setDecimals(4)
            spin.setSingleStep(0.01)
            spin.setSuffix(" m/s")
            slider = QSlider(Qt.Horizontal, objectName=name + "Slider")
            slider.setRange(-int(SLIDER_RANGE_MPS * 1000), int(SLIDER_RANGE_MPS * 1000))
            spin.valueChanged.connect(lambda v, s=slider: self._spin_changed(v, s))
            slider.valueChanged.connect(lambda i, s=spin: s.setValue(i / 1000.0))
            text = QLabel(label, objectName=name + "Label")
            self.dv_labels.append(text)
            grid.addWidget(text, row, 0)
            grid.addWidget(spin, row, 1)
            grid.addWidget(slider, row, 2)
            self.spins.append(spin)
            self.sliders.append(slider)
        self.dv_radial, self.dv_in_track, self.dv_cross_track = self.spins
        lay.addLayout(grid)
        form2 = QFormLayout()
        self.isp = QDoubleSpinBox(objectName="ispSetting")
        self.isp.setRange(1.0, 5000.0)
        self.isp.setValue(self.plan.isp_s)
        self.isp.setSuffix(" s")
        self.isp.valueChanged.connect(self._update_totals)
        form2.addRow("Isp", self.isp)
        self.thrust = QDoubleSpinBox(objectName="burnThrust")
        self.thrust.setRange(0.0, 10000.0)
        self.thrust.setDecimals(3)
        self.thrust.setSuffix(" N")
        self.thrust.setSpecialValueText("impulsive")
        self.thrust.setToolTip("0 = impulsive burn. Otherwise a finite burn at this thrust, centred on the burn "
                               "time, long enough to deliver the Δv (rocket equation from the mass and Isp). "
                               "Use it once the burn lasts more than ~2-3 % of the orbit period.")
        self.thrust.valueChanged.connect(lambda _v: self._on_dv_edited())
        form2.addRow("Thrust", self.thrust)
        self.total_dv = QLabel(objectName="totalDv")
        form2.addRow("Total Δv", self.total_dv)
        self.propellant = QLabel(objectName="propellantEstimate")
        form2.addRow("Propellant", self.propellant)
        self.before_after = QLabel(objectName="beforeAfter")
        self.before_after.setWordWrap(True)
        form2.addRow("Targeted", self.before_after)
        lay.addLayout(form2)
        self.new_flag = QLabel(objectName="newConjunctionFlag")
        self.new_flag.setStyleSheet("color: #ff6b6b; font-weight: bold")
        self.new_flag.setWordWrap(True)
        lay.addWidget(self.new_flag)
        self.comparison = QTableWidget(0, 6, objectName="maneuverComparison")
        self.comparison.setHorizontalHeaderLabels(["Other", "TCA (UTC)", "Miss before (km)", "Miss after (km)",
                                                   "Pc before", "Pc after"])
        lay.addWidget(self.comparison, 1)
        self.status = QLabel(objectName="maneuverStatus")
        lay.addWidget(self.status)
        buttons = QHBoxLayout()
        for name, text, slot in (("clearBurn", "Clear", self.clear_burn), ("savePlan", "Save plan", self.save),
                                 ("exportOem", "OEM…", self._export_dialog("oem")),
                                 ("exportSpk", "SPK…", self._export_dialog("spk")),
                                 ("exportOpm", "OPM…", self._export_dialog("opm"))):
            b = QPushButton(text, objectName=name)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.setWidget(body)
        self._update_totals()

    def _label_dv_axes(self) -> None:
        """RTN: Radial / In-track / Cross-track; VNB: Velocity / Normal / Binormal, in that order on screen (the
        in-track box is V, the cross-track box N and the radial box B: see ``dv_local_mps``)."""
        vnb = self.frame.currentText() == "VNB"
        order = (1, 2, 0) if vnb else (0, 1, 2)  # which box goes on each row
        labels = VNB_LABELS if vnb else tuple(label for _, label in DV_AXES)
        for row, (box, text) in enumerate(zip(order, labels)):
            self.dv_labels[box].setText(text)
            for col, widget in enumerate((self.dv_labels[box], self.spins[box], self.sliders[box])):
                self.dv_grid.addWidget(widget, row, col)

    # --- scenario and baseline -----------------------------------------------------------------------------
    def set_scenario(self, scenario, baseline=None) -> None:
        """Show SCENARIO; restore its saved plan (or an unsaved autosave, which wins)."""
        self.worker.cancel()
        self.scenario, self.baseline, self.outcome = scenario, baseline, None
        if getattr(self, "trade", None) is not None:
            self.trade.reset()  # nothing of the previous scenario stays on screen
        self.before_after.setText("")
        self.new_flag.setText("")
        self.comparison.setRowCount(0)
        self.model_info.setText("")
        self._context_key += 1
        self._arc_cache = {}
        self.plan = self._restore_plan(scenario)
        self._updating = True
        self.target.clear()
        self.target.addItems([o.name for o in scenario.objects if o.kind == "spacecraft"])
        self._updating = False
        named = [n for n in self.plan.burns if n in scenario.names()]
        if named:
            self.target.setCurrentText(named[0])
        self._on_target_changed(self.target.currentText())
        self._offer_autosave()
        if getattr(self, "indicator", None) is not None:
            self.indicator.clear()  # no plan of the previous scenario stays on screen

    def set_baseline(self, result) -> None:
        """A fresh screening of the unplanned scenario: the plan is re-applied on top of it."""
        if self.outcome is not None and result is self.outcome.result:
            return  # our own planned result coming back through the main window
        self.baseline = result
        self._context_key += 1
        self._fill_encounters()
        self._warm_child()
        self._schedule()

    def _warm_child(self) -> None:
        """Send the planning child the new context and let it plan once (imports, compiled kernels, caches),
        so the operator's first drag is as fast as the next ones."""
        if not self.worker.process or self.scenario is None or self.baseline is None:
            return
        name = self.target.currentText()
        if not name:
            return
        req = self.request()
        start, stop = self._span()
        self.worker.set_context((self._context_key, req.targets, req.baseline))
        self._sent_context = self._context_key
        self.worker.warm(WarmPlan(self._context_key, name, start + 0.1 * (stop - start), stop, req.force_model,
                                  req.method, req.targeted))

    def _on_target_changed(self, name) -> None:
        if self._updating or not name or self.scenario is None:
            return
        self._updating = True
        burns = self.plan.burns_for(name)
        start, stop = self._span()
        self.burn_time.setDateTimeRange(qdatetime_from_tdb_s(start), qdatetime_from_tdb_s(stop))
        b = burns[0] if burns else None
        centre = (b.epoch_tdb_s + b.duration_s / 2.0) if b else start + 0.1 * (stop - start)
        self.burn_time.setDateTime(qdatetime_from_tdb_s(centre))
        self.thrust.setValue(b.thrust_n if b is not None and b.is_finite and b.thrust_n else 0.0)
        self.frame.setCurrentText(b.frame if b else "RTN")
        dv = b.dv_mps if b else (0.0, 0.0, 0.0)
        if b is not None and b.frame == "VNB":  # spin boxes show (R, T, N) ~ (B, V, N)
            dv = (dv[2], dv[0], dv[1])
        for spin, slider, value in zip(self.spins, self.sliders, dv):
            spin.setValue(value)
            slider.setValue(round(value * 1000))
        self._updating = False
        self._fill_encounters()
        self._update_totals()
        self._schedule()

    def _span(self):
        from ..controller import screening_span

        return screening_span(self.scenario)

    def _fill_encounters(self) -> None:
        name = self.target.currentText()
        keep = self.encounter.currentData()
        self.encounter.blockSignals(True)
        self.encounter.clear()
        events = [e for e in (self.baseline.events if self.baseline else ()) if name in (e.object1, e.object2)]
        for e in sorted(events, key=lambda e: e.miss_km):
            other = e.object2 if e.object1 == name else e.object1
            self.encounter.addItem(f"{other} {format_epoch(e.tca_tdb_s, digits=0)} {e.miss_km:.3f} km",
                                   (other, e.tca_tdb_s))
        if keep is not None:
            for i in range(self.encounter.count()):
                d = self.encounter.itemData(i)
                if d[0] == keep[0] and abs(d[1] - keep[1]) < 1800.0:
                    self.encounter.setCurrentIndex(i)
        self.encounter.blockSignals(False)

    # --- editing -------------------------------------------------------------------------------------------
    def _spin_changed(self, value, slider) -> None:
        slider.blockSignals(True)
        slider.setValue(round(max(-SLIDER_RANGE_MPS, min(SLIDER_RANGE_MPS, value)) * 1000))
        slider.blockSignals(False)
        self._on_dv_edited()

    def dv_local_mps(self) -> tuple[float, float, float]:
        """dv in the chosen frame's order: RTN (R, T, N) or VNB (V, N, B) from the (radial, in-track, cross)
        spin boxes (B ~ R, V ~ T for a near-circular orbit)."""
        r, t, n = (s.value() for s in self.spins)
        return (t, n, r) if self.frame.currentText() == "VNB" else (r, t, n)

    def current_burn(self) -> PlannedBurn:
        """The burn the widgets describe: impulsive, or (thrust > 0) a finite burn delivering the same |dv|
        along the same direction, centred on the burn time."""
        epoch, dv, frame = tdb_s_from_qdatetime(self.burn_time.dateTime()), self.dv_local_mps(), self.frame.currentText()
        obj = self._object()
        thrust = self.thrust.value()
        total = sum(x * x for x in dv) ** 0.5
        if thrust <= 0.0 or total == 0.0 or obj is None or not obj.mass_kg:
            return PlannedBurn(epoch, dv, frame)
        from marsview.core.maneuvers import G0_MPS2

        # m0 (1 - exp(-dv / (Isp g0))) of propellant at a flow of F / (Isp g0)
        isp = self.isp.value()
        duration = propellant_kg(total, obj.mass_kg, isp) * isp * G0_MPS2 / thrust
        return PlannedBurn(epoch - duration / 2.0, dv, frame, duration_s=duration, thrust_n=thrust, isp_s=isp,
                           mass_kg=obj.mass_kg)

    def _on_dv_edited(self) -> None:
        if self._updating or self.scenario is None or not self.target.currentText():
            return
        burn = self.current_burn()
        self.plan.set_burns(self.target.currentText(), [burn] if any(burn.dv_mps) else [])
        self._update_totals()
        self.autosave_timer.start()
        self._schedule()

    def set_burn(self, epoch_tdb_s: float, dv_local_mps, frame: str = "RTN") -> None:
        """Set the burn (e.g. from a trade-space click): one recomputation, not one per field."""
        self._updating = True
        self.frame.setCurrentText(frame)
        self.burn_time.setDateTime(qdatetime_from_tdb_s(epoch_tdb_s))
        a, b, c = dv_local_mps
        values = (c, a, b) if frame == "VNB" else (a, b, c)
        for spin, v in zip(self.spins, values):
            spin.setValue(v)
        self._updating = False
        self._on_dv_edited()

    def set_burn_time(self, tdb_s: float) -> None:
        """Move the burn (e.g. from a marker dragged on the timeline or along the orbit in the 3D view)."""
        self.burn_time.setDateTime(qdatetime_from_tdb_s(tdb_s))

    def clear_burn(self) -> None:
        self.set_burn(tdb_s_from_qdatetime(self.burn_time.dateTime()), (0.0, 0.0, 0.0), self.frame.currentText())

    def _update_totals(self) -> None:
        total = sum(b.dv_magnitude_mps for b in self.plan.burns_for(self.target.currentText()))
        self.plan.isp_s = self.isp.value()
        self.total_dv.setText(f"{total:.4f} m/s")
        obj = self._object()
        if obj is not None and obj.mass_kg:
            self.propellant.setText(f"{propellant_kg(total, obj.mass_kg, self.isp.value()):.3f} kg "
                                    f"(from {obj.mass_kg:g} kg, rocket equation)")
        else:
            self.propellant.setText("— (no spacecraft mass in the scenario)")

    def _object(self):
        name = self.target.currentText()
        if self.scenario is None or name not in self.scenario.names():
            return None
        return self.scenario.object(name)

    # --- recomputation -------------------------------------------------------------------------------------
    def _schedule(self) -> None:
        if self.scenario is None or self.baseline is None or not self.target.currentText():
            return
        self.exact_timer.stop()
        self.throttle.trigger()

    def request(self, exact: bool = False) -> PlanRequest:
        from marsview.core.dynamics import ForceModel

        from ..controller import screening_targets

        name = self.target.currentText()
        _, stop = self._span()
        return PlanRequest(name, tuple(self.plan.burns_for(name)), tuple(screening_targets(self.scenario)),
                           self.baseline, ForceModel.from_name(self.force_model.currentText()), stop,
                           self.encounter.currentData(), exact, self._arc_cache, self.preview,
                           self.method.currentData() or "differential")

    def _submit(self, exact: bool) -> None:
        if self.scenario is None or self.baseline is None:
            return
        req = self.request(exact)
        if not req.burns and (self.outcome is None or not self.outcome.request.burns):
            # nothing planned and nothing planned shown: the baseline is already on screen (and no worker
            # process is started for a window where nobody plans)
            self.worker.cancel()
            self._show_baseline(req)
            return
        if exact and (not req.burns or (self.outcome and self.outcome.mode == "exact"
                                        and self.outcome.request.burns == req.burns)):
            return
        self.status.setText("computing the exact trajectory…" if exact else "computing…")
        if self.worker.process:
            from dataclasses import replace

            if self._sent_context != self._context_key:
                self.worker.set_context((self._context_key, req.targets, req.baseline))
                self._sent_context = self._context_key
            light = replace(req, targets=(), baseline=None, arc_cache=None)
            self.worker.submit(ChildPlan(self._context_key, light))
        else:
            self.worker.submit(lambda cancel: compute_plan(req, cancel))

    def _show_baseline(self, req) -> None:
        from marsview.core.planning import compare_events, find_event

        changes = tuple(compare_events(self.baseline.events, self.baseline.events, req.spacecraft))
        before = None if req.targeted is None else find_event(self.baseline.events, req.spacecraft, *req.targeted)
        after = None if before is None else (before.tca_tdb_s, before.miss_km, before.relative_speed_kms, before)

        self.outcome = PlanOutcome(req, None, self.baseline, changes, before, after, "none")
        self._show(self.outcome)
        self.status.setText("no burn")
        self._show_model_info(self.outcome)
        self.outcomeShown.emit(self.outcome)

    def _on_finished(self, _rid, outcome, elapsed_ms) -> None:
        if outcome.planned is None and outcome.planned_samples is not None and self.scenario is not None:
            from dataclasses import replace

            from marsview.model.planning_jobs import planned_from_samples

            name = outcome.request.spacecraft
            if name in self.scenario.names():
                base = self.scenario.object(name).ephemeris
                outcome = replace(outcome, planned=planned_from_samples(base, outcome.planned_samples))
        self.outcome = outcome
        self.clear_error()
        self._show(outcome)
        mode = {"none": "no burn", "preview": "preview (2nd order)", "exact": "exact"}[outcome.mode]
        self.status.setText(f"{mode}, {elapsed_ms:.0f} ms")
        self._show_model_info(outcome)
        self.outcomeShown.emit(outcome)
        self.plannedResult.emit(outcome.result, outcome.mode)
        self.screeningFinished.emit()
        if outcome.mode == "preview":
            self.exact_timer.start()

    def _show_model_info(self, o) -> None:
        """Which force model made the burn's effect, and how big the correction to our own dynamics is."""
        fm = o.request.force_model.name
        if o.mode == "none":
            self.model_info.setText(f"{fm}; no burn: the delivered trajectory")
        elif o.request.method == "absolute":
            self.model_info.setText(f"{fm}, ABSOLUTE propagation after the burn: includes the force-model "
                                    "mismatch with the delivered ephemeris")
        elif o.model_mismatch_km is not None:
            self.model_info.setText(f"{fm}: delivered + burn effect; correction (delivered vs our propagation at "
                                    f"the window end) {o.model_mismatch_km:.3f} km")
        else:
            self.model_info.setText(f"{fm}: delivered + burn effect")

    def _on_failed(self, _rid, message, details) -> None:
        self._report("Maneuver planning failed: " + message, details)

    def _report(self, message, details) -> None:
        self.last_error = (message, details)
        self.status.setText(message)
        self.status.setToolTip(details)
        self.errorOccurred.emit(message, details)

    def clear_error(self) -> None:
        self.last_error = None
        self.status.setToolTip("")

    def _show(self, o) -> None:
        if o.targeted_after is not None:
            b = o.targeted_before
            tca, miss, _, ev = o.targeted_after
            pc_b = getattr(b, "pc", None)
            pc_a = getattr(ev, "pc", None)
            pcs = f"; Pc {format_pc(pc_b)} → {format_pc(pc_a)}" if pc_b is not None and pc_a is not None else ""
            self.before_after.setText(f"{o.request.targeted[0]}: miss {b.miss_km if b else float('nan'):.3f} km"
                                      f" → {miss:.3f} km{pcs} at {format_epoch(tca, digits=0)} UTC")
        else:
            self.before_after.setText("")
        new = o.new_events
        self.new_flag.setText("" if not new else "NEW close approach: " + "; ".join(
            f"{c.other} at {format_epoch(c.after.tca_tdb_s, digits=0)} UTC, {c.after.miss_km:.3f} km" for c in new))
        rows = o.changes
        outside = {(status, other): miss for status, other, _tca, miss in getattr(o, "outside", ())}
        self.comparison.setRowCount(len(rows))
        for i, c in enumerate(rows):
            ev = c.after or c.before
            before, after = _km(c.before), _km(c.after)
            if c.status == "gone" and ("gone", c.other) in outside:  # left the screening: still say where to
                after = f"{outside['gone', c.other]:.3f} (above threshold)"
            if c.status == "new" and ("new", c.other) in outside:
                before = f"{outside['new', c.other]:.3f} (above threshold)"
            tag = {"new": " (NEW)", "gone": " (REMOVED)"}.get(c.status, "")
            cells = (c.other + tag, format_epoch(ev.tca_tdb_s, digits=0), before, after, _pc(c.before), _pc(c.after))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c.status in ("new", "gone"):
                    font = item.font()
                    font.setBold(c.status == "new")
                    font.setItalic(c.status == "gone")
                    item.setFont(font)
                self.comparison.setItem(i, j, item)

    # --- the main window's panel protocol (panels.base.Panel) ------------------------------------------------
    object_name = "maneuverPanel"
    dock_area = Qt.RightDockWidgetArea

    @classmethod
    def for_window(cls, window) -> ManeuverPanel:
        return _for_window(window)

    def set_result(self, result) -> None:
        self.set_baseline(result)

    def shutdown(self) -> None:
        """Autosave, stop timers, cancel and join the worker (before the window goes away)."""
        for t in (self.exact_timer, self.autosave_timer, getattr(self, "settle_timer", None)):
            if t is not None:
                t.stop()
        self.throttle.stop()
        for w in (self.worker, getattr(getattr(self, "trade", None), "worker", None)):
            if hasattr(w, "begin_shutdown"):
                w.begin_shutdown()  # both children stop at once; the joins below then overlap
        try:
            self.autosave()
        finally:
            self.worker.shutdown()
            if getattr(self, "trade", None) is not None:
                self.trade.shutdown()
            if getattr(self, "indicator", None) is not None:
                self.indicator.shutdown()


def _km(ev) -> str:
    return "—" if ev is None else f"{ev.miss_km:.3f}"


def _pc(ev) -> str:
    return format_pc(getattr(ev, "pc", None))  # as the close-approach table writes it ("< 1e-10" below the floor)


class _CloseWatcher(QObject):
    def __init__(self, panel, window):
        super().__init__(window)
        self.panel = panel

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Close:
            self.panel.shutdown()
        return False


def attach_close_autosave(panel: ManeuverPanel, window) -> None:
    """When WINDOW closes: autosave an unsaved plan, stop timers, cancel and join the panel's worker."""
    watcher = _CloseWatcher(panel, window)
    window.installEventFilter(watcher)
    panel._close_watcher = watcher


def _for_window(window) -> ManeuverPanel:
    """The maneuver panel of marsview's MainWindow (its public ``controller``, ``table``, ``report_error``), with
    the plan indicator; computing in a child process. The trade-space and who-moves panels follow it in the
    registry and find it with ``window.panel("maneuverPanel")``."""
    panel = ManeuverPanel(window, use_process=True)
    controller = window.controller

    settle = QTimer(panel)
    settle.setSingleShot(True)
    settle.setInterval(EXACT_DELAY_MS)
    latest = {}

    def show_planned(result, _mode):
        if not hasattr(window, "table"):
            controller.screeningResult.emit(result)
            return
        # while the operator drags only the table follows; the timeline plot, scenario info and 3D overlay
        # are refreshed (controller.screeningResult) once the plan has settled
        window.table.set_events(result.events)
        # the status bar still counts the unmaneuvered screening otherwise
        window.statusBar().showMessage(
            "with the planned maneuver: " + screening_summary(
                result, window.scenario.objects if window.scenario is not None else ()), 8000)
        window.screeningFinished.emit()
        latest["result"] = result
        settle.start()

    settle.timeout.connect(lambda: controller.screeningResult.emit(latest["result"]))
    panel.settle_timer = settle
    panel.plannedResult.connect(show_planned)
    # a worker thread running Python code holds the GIL for up to the switch interval (5 ms) every time the
    # GUI thread wants it back, and a GUI slot re-acquires it after every Qt call: 1 ms keeps the GUI fluid
    if sys.getswitchinterval() > 0.001:
        sys.setswitchinterval(0.001)
    if hasattr(window, "report_error"):
        panel.errorOccurred.connect(window.report_error)
    if hasattr(window, "table"):
        from .plan_indicator import PlanIndicator

        panel.indicator = PlanIndicator(window, panel)  # banner, ghost orbit, before/after table, plan curve
    return panel
