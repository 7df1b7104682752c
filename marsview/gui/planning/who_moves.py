"""The "Who moves" dock: for the selected close approach, both objects' smallest-dv avoidance options side by side
(model.options.who_moves, computed on a JobBridge lane off the GUI thread), each with the close approaches its burn
creates and a button that makes it the plan in the maneuver panel (target, burn time, dv RTN)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDockWidget, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget)

from marsview.core.time import format_epoch

from ..workers import JobBridge


def _pc(x) -> str:
    return "—" if x is None else f"{x:.2e}"


class WhoMovesPanel(QDockWidget):
    """optionsReady(list of model.options.Option) once both options of the selected encounter are computed."""

    optionsReady = Signal(object)

    def __init__(self, panel, window=None):
        super().__init__("Who moves", window)
        self.setObjectName("whoMovesPanel")
        self.panel = panel  # the ManeuverPanel: scenario, baseline, force model, and where an option is applied
        self.encounter = None
        self.options = None
        self.last_error = None
        self.lane = JobBridge("who-moves", self)
        self.lane.finished.connect(self._on_finished)
        self.lane.failed.connect(self._on_failed)
        body = QWidget()
        outer = QVBoxLayout(body)
        self.title = QLabel("Select a close approach in the table", objectName="whoMovesEncounter")
        self.title.setWordWrap(True)
        outer.addWidget(self.title)
        row = QHBoxLayout()
        self.columns, self.texts, self.buttons = [], [], []
        for i in (1, 2):
            box = QGroupBox(f"Option {i}")
            box.setObjectName(f"whoMovesOption{i}")
            lay = QVBoxLayout(box)
            text = QLabel("", objectName=f"whoMovesText{i}")
            text.setWordWrap(True)
            text.setTextFormat(Qt.RichText)
            text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
            text.setTextInteractionFlags(Qt.TextSelectableByMouse)
            button = QPushButton("Apply as the plan", objectName=f"whoMovesApply{i}")
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, k=i - 1: self.apply(k))
            lay.addWidget(text, 1)
            lay.addWidget(button)
            row.addWidget(box, 1)
            self.columns.append(box)
            self.texts.append(text)
            self.buttons.append(button)
        outer.addLayout(row, 1)
        self.status = QLabel("", objectName="whoMovesStatus")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        self.setWidget(body)

    # --- computation ------------------------------------------------------------------------------------
    def set_event(self, event) -> None:
        """Compute both options for EVENT (a core screening event of the unplanned screening) in the lane."""
        from marsview.core.dynamics import ForceModel
        from marsview.model.options import who_moves

        from ..controller import screening_span, screening_targets

        p = self.panel
        self.encounter, self.options = event, None
        for text, button in zip(self.texts, self.buttons):
            text.setText("")
            button.setEnabled(False)
        if event is None or p.scenario is None or p.baseline is None:
            self.lane.cancel()
            return
        self.title.setText(f"<b>{event.object1} / {event.object2}</b> at {format_epoch(event.tca_tdb_s, digits=0)} "
                           f"UTC: miss {event.miss_km:.3f} km, Pc {_pc(event.pc)}; target: miss ≥ "
                           f"{event.threshold_km:g} km (the screening threshold)")
        objects = list(p.scenario.objects)
        targets = screening_targets(p.scenario)
        baseline = p.baseline
        start, stop = screening_span(p.scenario)
        force_model = ForceModel.from_name(p.force_model.currentText())
        isp = float(p.isp.value())
        self.status.setText("computing both options (smallest Δv, then the exact re-screen)…")
        self.lane.submit(lambda cancel: who_moves(
            objects, targets, baseline, event, stop_tdb_s=stop, window_start_tdb_s=start,
            force_model=force_model, isp_s=isp, cancel=cancel))

    def _on_finished(self, _rid, options) -> None:
        self.options = options
        self.last_error = None
        for opt, box, text, button in zip(options, self.columns, self.texts, self.buttons):
            box.setTitle(f"{opt.object} moves" if opt.reason is None else opt.object)
            text.setText(self._describe(opt))
            button.setEnabled(opt.reason is None)
        self.status.setText("each option alone; miss and Pc after are the exact re-screen's")
        self.optionsReady.emit(options)

    def _describe(self, opt) -> str:
        if opt.reason is not None:
            return f"<i>{opt.object}: {opt.reason}</i>"
        dv = ", ".join(f"{x:+.4f}" for x in opt.dv_mps)
        prop = "—" if opt.propellant_kg is None else f"{opt.propellant_kg:.3f} kg"
        lines = [f"burn {format_epoch(opt.burn_tdb_s, digits=0)} UTC",
                 f"Δv RTN ({dv}) m/s", f"<b>|Δv| {opt.total_dv_mps:.4f} m/s</b>, propellant {prop}",
                 f"miss after <b>{opt.miss_after_km:.3f} km</b> (predicted {opt.predicted_miss_km:.3f})",
                 f"Pc after {_pc(opt.pc_after)}"]
        if opt.new_events:
            lines.append(f"<span style='color:#e0a000'><b>{len(opt.new_events)} new close approach(es):</b></span>")
            for e in opt.new_events:
                other = e.object2 if e.object1 == opt.object else e.object1
                lines.append(f"&nbsp;&nbsp;{other} {format_epoch(e.tca_tdb_s, digits=0)} {e.miss_km:.3f} km")
        else:
            lines.append("no new close approach")
        return "<br>".join(lines)

    def _on_failed(self, _rid, message, details) -> None:
        self.last_error = (message, details)
        self.status.setText(message)
        self.status.setToolTip(details)

    # --- applying ---------------------------------------------------------------------------------------
    def apply(self, index: int) -> None:
        """Make option INDEX the plan: the maneuver panel's target, targeted encounter, burn time and dv."""
        opt = (self.options or [None, None])[index]
        if opt is None or opt.reason is not None:
            return
        p = self.panel
        p.target.setCurrentText(opt.object)
        other = self.encounter.object2 if self.encounter.object1 == opt.object else self.encounter.object1
        for i in range(p.encounter.count()):
            data = p.encounter.itemData(i)
            if data and data[0] == other and abs(data[1] - self.encounter.tca_tdb_s) < 1800.0:
                p.encounter.setCurrentIndex(i)
                break
        p.set_burn(opt.burn_tdb_s, opt.dv_mps, "RTN")
        p.raise_()

    # --- the main window's panel protocol (panels.base.Panel) ------------------------------------------------
    object_name = "whoMovesPanel"
    dock_area = Qt.RightDockWidgetArea  # tabbed with the maneuver panel by arrange_docks

    @classmethod
    def for_window(cls, window) -> WhoMovesPanel:
        """The dock beside the window's maneuver panel (``maneuverPanel``, built before it), fed by the
        close-approach table's selection."""
        who = cls(window.panel("maneuverPanel"), window)
        window.table.eventSelected.connect(who.set_event)
        return who

    def set_scenario(self, scenario) -> None:
        self.set_event(None)

    def set_result(self, result) -> None:
        pass

    def shutdown(self) -> None:
        self.lane.shutdown()
