"""Trade space dock (``tradeSpacePanel``): miss distance or Pc of the targeted encounter over burn time x dv
magnitude along one direction, computed in the background (``core.planning.trade_space``), drawn column by
column as it arrives, with progress and cancel. Clicking a cell sets that burn in the maneuver panel.
"Solve" finds the smallest dv (chosen direction, or any) reaching a target miss distance or Pc.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QDockWidget, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from marsview.core.time import format_epoch
from marsview.model.options import encounter_pc_func
from marsview.model.planning_jobs import ChildTrade

from ..qtkit.qt_time import tdb_s_from_qdatetime
from ..workers import JobBridge

DIRECTIONS = {"in-track (T)": (0.0, 1.0, 0.0), "radial (R)": (1.0, 0.0, 0.0), "cross-track (N)": (0.0, 0.0, 1.0)}
HOUR = 3600.0
DEFAULT_LOG10_PC_TARGET = -4.0  # Pc 1e-4: the usual action threshold


class TradeSpacePanel(QDockWidget):
    """columnReady(k, values): one burn-time column finished (GUI thread); burnChosen(epoch_tdb_s, dv_rtn_mps)."""

    columnReady = Signal(object)  # (run token, k, (miss_row, pc_row))
    progressed = Signal(float)
    burnChosen = Signal(float, object)
    finished = Signal(object)
    solved = Signal(object)

    def __init__(self, panel, parent=None):
        super().__init__("Trade space", parent)
        self.setObjectName("tradeSpacePanel")
        self.panel = panel
        self.promise = None  # the solver's last answer, until the panel's exact re-screen of it comes back
        panel.outcomeShown.connect(self._check_promise)
        self.result = None
        self.last_error = None
        self._grid = None
        # the trade space runs where the panel computes (a child process in the app: its compiled kernels
        # would otherwise hold the GUI's GIL); the quick solver runs on a thread
        self.worker = JobBridge("planning", self, process=panel.worker.process)
        self.solve_worker = JobBridge("solver", self)
        self._sent_context = None
        for w in (self.worker, self.solve_worker):
            w.finished.connect(self._on_finished)
            w.failed.connect(self._on_failed)
        self._poll = QTimer(self)
        self._poll.setInterval(40)
        self._poll.timeout.connect(self._drain)
        self.columnReady.connect(self._on_column, Qt.QueuedConnection)
        self._run = None
        self.progressed.connect(self._on_progress, Qt.QueuedConnection)
        body = QWidget(self)
        lay = QVBoxLayout(body)
        form = QFormLayout()
        self.direction = QComboBox(objectName="tradeDirection")
        self.direction.addItems(list(DIRECTIONS))
        form.addRow("Δv direction (RTN)", self.direction)
        self.metric_box = QComboBox(objectName="tradeMetric")
        self.metric_box.addItems(["miss distance (km)", "log10 Pc"])
        form.addRow("Show", self.metric_box)
        self.dv_max = QDoubleSpinBox(objectName="tradeDvMax", value=1.0, minimum=0.001, maximum=100.0, decimals=3)
        self.dv_max.setSuffix(" m/s")
        form.addRow("Δv range ±", self.dv_max)
        self.cells = QSpinBox(objectName="tradeCells", minimum=2, maximum=400, value=50)
        form.addRow("Cells per axis", self.cells)
        self.target_miss = QDoubleSpinBox(objectName="solveTargetMiss", value=5.0, minimum=0.0, maximum=1e4)
        self.target_miss.setSuffix(" km")
        form.addRow("Solve: target miss", self.target_miss)
        # the range first: a value set before it would be clamped to the default 0..99 (it showed "Pc <= 10^0")
        self.target_pc = QDoubleSpinBox(objectName="solveTargetLog10Pc", minimum=-12.0, maximum=0.0)
        self.target_pc.setValue(DEFAULT_LOG10_PC_TARGET)
        self.target_pc.setPrefix("Pc ≤ 10^")
        self.target_pc.setToolTip("1e-4 is the usual action threshold for a collision probability")
        self.target_kind = QComboBox(objectName="solveTargetKind")
        self.target_kind.addItems(["miss distance", "collision probability"])
        form.addRow("Solve for", self.target_kind)
        form.addRow("Solve: target Pc", self.target_pc)
        self.any_direction = QComboBox(objectName="solveDirection")
        self.any_direction.addItems(["chosen direction", "any direction"])
        form.addRow("Solve along", self.any_direction)
        lay.addLayout(form)
        row = QHBoxLayout()
        for name, text, slot in (("tradeRun", "Compute", self.start), ("tradeCancel", "Cancel", self.cancel),
                                 ("solveButton", "Solve", self.solve)):
            b = QPushButton(text, objectName=name)
            b.clicked.connect(slot)
            row.addWidget(b)
        lay.addLayout(row)
        self.progress = QProgressBar(objectName="tradeProgress")
        self.progress.setRange(0, 1000)
        lay.addWidget(self.progress)
        self.plot = pg.PlotWidget(objectName="tradeSpacePlot")
        self.plot.setLabel("bottom", "burn time before TCA (h)")
        self.plot.setLabel("left", "Δv (m/s)")
        self.image = pg.ImageItem()
        cmap = pg.colormap.get("viridis")
        self.image.setColorMap(cmap)
        self.plot.addItem(self.image)
        # what a colour means (km or log10 Pc) and where the threshold runs (miss = screening threshold, or
        # Pc = the solver's Pc target)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=cmap, interactive=False)
        self.colorbar.axis.setLabel("miss distance (km)")
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.contour = pg.IsocurveItem(level=0.0, pen=pg.mkPen("#ff4040", width=2))
        self.contour.setParentItem(self.image)
        self.contour.setZValue(10)
        self.image.mouseClickEvent = self._on_click
        lay.addWidget(self.plot, 1)
        self.status = QLabel(objectName="tradeStatus")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.setWidget(body)

    # --- inputs from the maneuver panel -----------------------------------------------------------------
    def _encounter(self):
        """(Encounter, targets, force model, burn-epoch span) for the panel's targeted encounter."""
        from marsview.core.planning import Encounter

        p = self.panel
        data = p.encounter.currentData()
        if p.scenario is None or data is None:
            raise ValueError("choose a targeted encounter in the maneuver panel first")
        req = p.request()
        other, tca = data
        eph = {t.name: t for t in req.targets}
        start, _ = p._span()
        stop = tca - 0.25 * HOUR  # a burn right before TCA cannot help; leave a quarter hour
        if stop <= start:
            raise ValueError("the targeted encounter is at the start of the window: no time to burn")
        return Encounter(eph[req.spacecraft].ephemeris, eph[other].ephemeris, tca), eph[req.spacecraft], \
            eph[other], req.force_model, (start, stop)

    def _drain(self) -> None:
        """Columns and progress from the child process (its queue), newest run only."""
        import queue as _queue

        while True:
            try:
                rid, k, a, b = self.worker.items.get_nowait()
            except (_queue.Empty, OSError, ValueError):
                return
            if rid != self.worker.latest_id:
                continue
            if k == "progress":
                self._on_progress(a)
            else:
                self.columnReady.emit((self._run, k, (a, b)))

    # --- trade space ------------------------------------------------------------------------------------
    def start(self) -> None:
        from marsview.core.planning import trade_space

        try:
            enc, t1, t2, fm, (a, b) = self._encounter()
        except ValueError as exc:
            self._report(str(exc), "")
            return
        n = self.cells.value()
        epochs = np.linspace(a, b, n)
        dv = np.linspace(-self.dv_max.value(), self.dv_max.value(), n)
        direction = DIRECTIONS[self.direction.currentText()]
        use_pc = self.metric_box.currentIndex() == 1
        self._grid = (epochs, dv, direction, enc.tca_tdb_s, use_pc)
        self._values = np.full((n, n), np.nan)
        self.result = None
        self._draw()
        self.progress.setValue(0)
        self.status.setText("computing…")
        run = self._run = object()  # columns of an older run arriving late are ignored
        if self.worker.process:
            p = self.panel
            if self._sent_context != p._context_key:
                req = p.request()
                self.worker.set_context((p._context_key, req.targets, None))  # the trade space needs no baseline
                self._sent_context = p._context_key
            self.worker.submit(ChildTrade(p._context_key, t1.name, t2.name, enc.tca_tdb_s, epochs, dv, direction, fm,
                                          use_pc))
            self._poll.start()
            return
        pc_func = encounter_pc_func(t1, t2, enc.tca_tdb_s) if use_pc else None

        def job(cancel):
            def column(k, miss, pc):
                self.columnReady.emit((run, k, (miss.copy(), None if pc is None else pc.copy())))
            return trade_space(enc, epochs, dv, direction, "RTN", fm, pc_func=pc_func, on_column=column,
                               progress=self.progressed.emit, cancel=cancel)
        self.worker.submit(job)

    @Slot(float)
    def _on_progress(self, fraction: float) -> None:
        self.progress.setValue(round(1000 * fraction))

    @Slot(object)
    def _on_column(self, item) -> None:
        run, k, values = item
        if run is not self._run or self._grid is None or (self.result is not None and self._grid is not None
                                                           and np.isfinite(self._values).all()):
            return  # late columns of a map already drawn whole
        miss, pc = values
        if self._grid[4]:
            with np.errstate(divide="ignore"):
                self._values[k] = np.log10(np.maximum(pc, 1e-300))
        else:
            self._values[k] = miss
        self._draw()

    def threshold_level(self) -> float:
        """The contour level in the map's unit: the screening threshold [km], or log10 of the Pc target."""
        if self._grid is not None and self._grid[4]:
            return float(self.target_pc.value())
        base = self.panel.baseline
        return float(base.threshold_km) if base is not None else 10.0

    def _draw(self) -> None:
        """The map as it stands, and the threshold line once the map is complete (pyqtgraph traces it in Python:
        not for every column that arrives)."""
        epochs, dv, _, tca, use_pc = self._grid
        finite = np.isfinite(self._values)
        img = np.nan_to_num(self._values, nan=np.nanmin(self._values) if finite.any() else 0.0)
        lo, hi = (float(np.nanmin(self._values)), float(np.nanmax(self._values))) if finite.any() else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1e-9
        self.image.setImage(img, autoLevels=False, levels=(lo, hi))
        self.colorbar.setLevels((lo, hi))
        self.colorbar.axis.setLabel("log10 Pc" if use_pc else "miss distance (km)")
        level = self.threshold_level()
        self.contour.setLevel(level)
        self.contour.setData(img if finite.all() and lo < level < hi else None)
        x0, x1 = (epochs[0] - tca) / HOUR, (epochs[-1] - tca) / HOUR
        dx = (x1 - x0) / max(len(epochs) - 1, 1)
        dy = (dv[-1] - dv[0]) / max(len(dv) - 1, 1)
        self.image.setRect(x0 - dx / 2, dv[0] - dy / 2, (x1 - x0) + dx, (dv[-1] - dv[0]) + dy)

    def _on_finished(self, _rid, result, elapsed_ms) -> None:
        from marsview.core.planning import Solution

        if isinstance(result, Solution):
            return self._on_solved(result, elapsed_ms)
        if self._poll.isActive():
            self._drain()  # the last columns may still be in the queue
            self._poll.stop()
        self.result = result
        if self._grid is not None and getattr(result, "miss_km", None) is not None \
                and result.miss_km.shape == self._values.shape:  # the whole map, whatever columns are in flight
            if self._grid[4] and result.pc is not None:
                with np.errstate(divide="ignore"):
                    self._values = np.log10(np.maximum(result.pc, 1e-300))
            else:
                self._values = np.array(result.miss_km, dtype=float)
            self._draw()
        self.progress.setValue(1000)
        self.status.setText(f"{result.miss_km.size} cells in {elapsed_ms / 1000:.2f} s (linear response, "
                            "relative to the ephemeris; click a cell to set that burn)")
        self.finished.emit(result)

    def cell_burn(self, k: int, l: int):
        """(epoch_tdb_s, dv RTN m/s) of cell (burn-time index k, dv index l)."""
        epochs, dv, direction, _, _ = self._grid
        return float(epochs[k]), tuple(float(dv[l]) * c for c in direction)

    def _on_click(self, ev) -> None:
        if self._grid is None:
            return
        pos = ev.pos()  # image pixel coordinates: x = burn-time index, y = dv index
        k, l = int(pos.x()), int(pos.y())
        if 0 <= k < len(self._grid[0]) and 0 <= l < len(self._grid[1]):
            self.choose(k, l)
            ev.accept()

    def choose(self, k: int, l: int) -> None:
        epoch, dv = self.cell_burn(k, l)
        self.burnChosen.emit(epoch, dv)
        self.panel.set_burn(epoch, dv, "RTN")

    # --- solver -----------------------------------------------------------------------------------------
    def solve(self) -> None:
        from marsview.core.planning import smallest_dv

        try:
            enc, t1, t2, fm, _span = self._encounter()
        except ValueError as exc:
            self._report(str(exc), "")
            return
        epoch = tdb_s_from_qdatetime(self.panel.burn_time.dateTime())
        direction = None if self.any_direction.currentIndex() == 1 else DIRECTIONS[self.direction.currentText()]
        if self.target_kind.currentIndex() == 1:  # Pc <= target with the targets' covariances at TCA
            target = dict(target_pc=10.0 ** self.target_pc.value(),
                          pc_func=encounter_pc_func(t1, t2, enc.tca_tdb_s))
        else:
            target = dict(target_miss_km=self.target_miss.value())
        self.status.setText("solving…")
        self.solve_worker.submit(lambda cancel: smallest_dv(enc, epoch, direction=direction, force_model=fm,
                                                            cancel=cancel, **target))

    def _on_solved(self, solution, _elapsed_ms) -> None:
        self.promise = solution
        self.solved.emit(solution)
        self.status.setText(f"smallest Δv {solution.total_dv_mps:.4f} m/s RTN ({', '.join(f'{x:.4f}' for x in solution.dv_mps)})"
                            f" at {format_epoch(solution.burn_epoch_tdb_s, digits=0)} UTC: predicted miss "
                            f"{solution.predicted_miss_km:.3f} km"
                            + (f", Pc {solution.predicted_pc:.2e}" if solution.predicted_pc is not None else "")
                            + "; the panel now checks it exactly against every object")
        self.panel.set_burn(solution.burn_epoch_tdb_s, solution.dv_mps, "RTN")

    def _check_promise(self, outcome) -> None:
        """The solver's promise next to what the exact re-screen of that burn shows (the same number within
        about 1 %: both follow the planning rule, the promise through the linear response)."""
        sol = self.promise
        if sol is None or outcome.mode != "exact" or outcome.targeted_after is None or not outcome.request.burns:
            return
        b = outcome.request.burns[0]
        if abs(b.epoch_tdb_s - sol.burn_epoch_tdb_s) > 1.0 or any(
                abs(x - y) > 6e-5 for x, y in zip(b.dv_mps, sol.dv_mps)):
            return  # another burn by now
        self.promise = None
        exact = outcome.targeted_after[1]
        off_pct = 100.0 * (exact / sol.predicted_miss_km - 1.0)
        self.status.setText(self.status.text().split("; the panel now checks")[0]
                            + f"; exact re-screen: {exact:.3f} km ({off_pct:+.2f} % of the promise)")

    def reset(self) -> None:
        """Another scenario was opened: forget the map, the solver's answer and any run in flight."""
        self.worker.cancel()
        self.solve_worker.cancel()
        self._poll.stop()
        self._run = None
        self._grid = None
        self.result = None
        self.promise = None
        self.last_error = None
        self.image.clear()
        self.contour.setData(None)
        self.progress.setValue(0)
        self.status.setText("")
        self.status.setToolTip("")

    def cancel(self) -> None:
        self.worker.cancel()
        self._poll.stop()
        self._run = None
        self.status.setText("cancelled")

    def _on_failed(self, _rid, message, details) -> None:
        self._poll.stop()
        self._report(message, details)

    def _report(self, message, details) -> None:
        self.last_error = (message, details)
        self.status.setText(message)
        self.status.setToolTip(details)

    # --- the main window's panel protocol (panels.base.Panel) ------------------------------------------------
    object_name = "tradeSpacePanel"
    dock_area = Qt.RightDockWidgetArea  # tabbed with the maneuver panel by arrange_docks

    @classmethod
    def for_window(cls, window) -> TradeSpacePanel:
        """The trade space of the window's maneuver panel (``maneuverPanel``, built before it)."""
        maneuver = window.panel("maneuverPanel")
        trade = cls(maneuver, window)
        maneuver.trade = trade  # the maneuver panel resets it on a new scenario and stops its child on close
        return trade

    def set_scenario(self, scenario) -> None:
        pass  # the maneuver panel resets it (ManeuverPanel.set_scenario)

    def set_result(self, result) -> None:
        pass

    def shutdown(self) -> None:
        self._poll.stop()
        self.worker.shutdown()
        self.solve_worker.shutdown()
