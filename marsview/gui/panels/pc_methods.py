"""The "Pc methods" dock: the selected close approach's collision probability by every method marsview has
(``core.pc_methods.PC_METHODS``), side by side, as conjunction tools show Pc 2D against its cross-checks.

The screening gives one number (FOSTER-2D with the covariances the screening used: the partner's OEM covariance
at TCA, else the timing model). An analyst checks it against the other methods before trusting it: CHAN's
series, PATERA-2005's contour integral (an independent quadrature of the same integral), MAX-PC (the worst case
over the covariance's size) and Monte Carlo (two-body sampling, with its confidence interval). Every method
uses the event's own states, covariances, covariance source and combined hard-body radius; the table marks the
screening's method and lists each method's flags (CARA's usage checks, CHAN-POOR, ...) and notes. All of it
runs in a background lane (Monte Carlo takes seconds); a CDM row has no screening covariances and is not
recomputed here (``marsview assess`` does that).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QHeaderView, QLabel, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from ..workers import JobBridge

MC_SAMPLES = 100_000
COLUMNS = ("Method", "Pc", "Details")


def pc_by_method(event, targets, mc_samples: int = MC_SAMPLES, mc_seed: int | None = 1, cancel=None):
    """[(method, PcResult or None, error text)] for a core CloseApproach EVENT, every method of PC_METHODS, with
    the covariances the screening used (core.screening.event_covariances_km2) and TARGETS by name."""
    from marsview.core.pc_methods import PC_METHODS
    from marsview.core.probability import collision_probability
    from marsview.core.screening import event_covariances_km2

    t1, t2 = targets[event.object1], targets[event.object2]
    (c1, c2), sources = event_covariances_km2(t1, t2, event.tca_tdb_s, event.state1, event.state2)
    source = sources[0] if sources[0] == sources[1] else "+".join(sources)
    hbr_km = event.hbr1_km + event.hbr2_km
    rows = []
    for method in PC_METHODS:
        if cancel is not None:
            cancel.check()
        try:
            res = collision_probability(event.state1, c1, event.state2, c2, hbr_km, method=method,
                                        covariance_source=source, mc_samples=mc_samples, mc_seed=mc_seed,
                                        cancel=cancel, progress=cancel.progress if cancel is not None else None)   # a core.jobs token: callable, True once cancelled
            rows.append((method, res, ""))
        except ValueError as exc:   # an undefined encounter plane, a zero hard-body radius: said, not hidden
            rows.append((method, None, str(exc)))
    return rows


def format_pc(result) -> str:
    if result is None:
        return "-"
    return "< 1e-10" if result.pc < 1e-10 and result.ci_low is None else f"{result.pc:.4e}"


def details(result, error: str = "") -> str:
    """Monte Carlo's hits and 95 % interval, then the flags, then the method's notes."""
    if result is None:
        return error
    parts = []
    if result.ci_low is not None:
        parts.append(f"{result.hits:,} hits of {result.samples:,}; 95 %: [{result.ci_low:.2e}, {result.ci_high:.2e}]")
    if result.flags:
        parts.append(", ".join(result.flags))
    parts += list(result.notes)
    return "; ".join(parts)


class PcMethodsPanel(QDockWidget):
    """Right-hand dock ``pcMethodsPanel``: table ``pcMethodsTable`` (one row per method), title
    ``pcMethodsEncounter``, Monte Carlo sample count ``pcMethodsSamples``, status ``pcMethodsStatus``."""

    object_name = "pcMethodsPanel"
    dock_area = Qt.RightDockWidgetArea

    def __init__(self, parent=None):
        super().__init__("Pc methods", parent)
        self.setObjectName(self.object_name)
        self.targets: dict = {}
        self.encounter = None
        self.rows: list = []
        self.lane = JobBridge("pc-methods", self)
        self.lane.finished.connect(self._on_finished)
        self.lane.failed.connect(self._on_failed)
        self.lane.progress.connect(lambda _id, f: self.status.setText(f"Computing… Monte Carlo {100 * f:.0f} %"))
        body = QWidget()
        lay = QVBoxLayout(body)
        self.title = QLabel("Select a close approach in the table", objectName="pcMethodsEncounter")
        self.title.setWordWrap(True)
        lay.addWidget(self.title)
        row = QHBoxLayout()
        row.addWidget(QLabel("Monte Carlo samples"))
        self.samples = QSpinBox(objectName="pcMethodsSamples")
        self.samples.setRange(1_000, 10_000_000)
        self.samples.setSingleStep(100_000)
        self.samples.setValue(MC_SAMPLES)
        self.samples.editingFinished.connect(lambda: self.set_event(self.encounter))
        row.addWidget(self.samples)
        row.addStretch(1)
        lay.addLayout(row)
        self.table = QTableWidget(0, len(COLUMNS), objectName="pcMethodsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        lay.addWidget(self.table, 1)
        self.status = QLabel("", objectName="pcMethodsStatus")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.setWidget(body)

    # --- Panel protocol -----------------------------------------------------------------------------------
    @classmethod
    def for_window(cls, window) -> PcMethodsPanel:
        """Fed by the close-approach table's selection."""
        panel = cls(window)
        window.table.eventSelected.connect(panel.set_event)
        return panel

    def set_scenario(self, scenario) -> None:
        from marsview.model.scenario import screening_targets

        self.targets = {t.name: t for t in screening_targets(scenario.screened_objects())}
        self.set_event(None)

    def set_result(self, result) -> None:
        pass   # the selection follows the table, which re-emits eventSelected for the row it keeps

    def shutdown(self) -> None:
        self.lane.shutdown()

    # --- computation --------------------------------------------------------------------------------------
    def set_event(self, event) -> None:
        """Compute every method for EVENT (a screening CloseApproach) in the lane; clear for None or a CDM row."""
        from marsview.core.time import format_epoch

        self.encounter, self.rows = event, []
        self.table.setRowCount(0)
        if event is None or not hasattr(event, "state1") or event.object1 not in self.targets \
                or event.object2 not in self.targets:
            self.lane.cancel()
            self.title.setText("Select a close approach in the table" if event is None else
                               f"{event.object1} / {event.object2}: a CDM row (its Pc: marsview assess)")
            self.status.setText("")
            return
        self.title.setText(f"{event.object1} / {event.object2} at {format_epoch(event.tca_tdb_s, 'UTC', 3)} UTC, "
                           f"miss {event.miss_km:.3f} km, HBR {1e3 * (event.hbr1_km + event.hbr2_km):g} m; "
                           f"screening: {event.pc_method or '-'}")
        self.status.setText("Computing…")
        targets, samples = dict(self.targets), self.samples.value()
        self.lane.submit(lambda cancel: pc_by_method(event, targets, samples, cancel=cancel))

    def _on_finished(self, _request_id, rows, elapsed_ms) -> None:
        self.rows = rows
        screening_method = (self.encounter.pc_method or "").split("/")[0] if self.encounter is not None else ""
        self.table.setRowCount(len(rows))
        for i, (method, res, error) in enumerate(rows):
            label = method + ("  (screening)" if method == screening_method else "")
            cells = (label, format_pc(res), details(res, error))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 1:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(i, j, item)
        self.status.setText(f"{len(rows)} methods in {elapsed_ms / 1000:.1f} s; covariances: "
                            f"{rows[0][1].covariance_source if rows and rows[0][1] else '-'}")

    def _on_failed(self, _request_id, message, _details) -> None:
        self.status.setText(f"Pc methods failed: {message}")
