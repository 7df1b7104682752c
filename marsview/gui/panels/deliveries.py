"""File → Watch folder…: the delivery loop in the GUI (engine: ``marsview.model.deliveries``).

A polling timer (1 s) hands the Qt-free ``DeliveryWatcher`` to a worker lane whenever the lane is idle; the
worker scans, loads and screens (never the GUI thread). Each delivery then
- becomes the shown scenario (the controller screens it again with the same window and threshold),
- is announced in the status bar and by a notification in the window's corner (``deliveryNotification``),
- is listed in the Deliveries panel (``deliveriesPanel``) with its change lines,
- marks the close-approach rows that are NEW, WORSE or CHANGED with it.
Selecting a close approach shows its trend across deliveries (``trendPlot``, a tab of the plots panel):
miss, Pc and TCA shift against delivery. A bad file is reported like any load error (``statusError``) and changes nothing.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QPlainTextEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..workers import JobBridge

POLL_MS = 1000
NOTIFICATION_MS = 10000
MARK_TCA_TOL_S = 1.0  # the GUI re-screens the same scenario: a delivery's event and its row agree to µs


class Snapshot:
    """What the worker hands back: the delivery (or None), all deliveries so far, the scenario to show."""

    def __init__(self, outcome, deliveries, records, scenario):
        self.outcome, self.deliveries, self.records, self.scenario = outcome, deliveries, records, scenario


class DeliveriesPanel(QWidget):
    stopRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("deliveriesPanel")
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.status = QLabel("Not watching a folder (File → Watch folder…)", self)
        self.status.setObjectName("deliveriesStatus")
        self.status.setWordWrap(True)
        self.stopButton = QPushButton("Stop", self)
        self.stopButton.setObjectName("stopWatchButton")
        self.stopButton.setEnabled(False)
        self.stopButton.clicked.connect(self.stopRequested)
        top.addWidget(self.status, 1)
        top.addWidget(self.stopButton)
        lay.addLayout(top)
        self.table = QTableWidget(0, 5, self)
        self.table.setObjectName("deliveriesTable")
        self.table.setHorizontalHeaderLabels(["Delivery", "Received (UTC)", "Close appr.", "Changes", "Items"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_changes(row))
        lay.addWidget(self.table, 2)
        self.changes = QPlainTextEdit(self)
        self.changes.setObjectName("deliveryChanges")
        self.changes.setReadOnly(True)
        self.changes.setLineWrapMode(QPlainTextEdit.NoWrap)
        lay.addWidget(self.changes, 1)
        self.records: list[dict] = []

    def set_watching(self, folder, history_dir) -> None:
        self.status.setText(f"Watching {folder}\nhistory {history_dir}" if folder else
                            "Not watching a folder (File → Watch folder…)")
        self.stopButton.setEnabled(bool(folder))

    def set_records(self, records: list[dict]) -> None:
        self.records = list(records)
        self.table.setRowCount(len(records))
        for row, r in enumerate(records):
            counts = {}
            for line in r.get("changes", []):
                word = line.split()[0] + (" (worse)" if line.endswith("WORSE") else "")
                counts[word] = counts.get(word, 0) + 1
            cells = (r["name"], r["received_utc"].replace("T", " ").rstrip("Z"), str(len(r["events"])),
                     ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "—",
                     ", ".join(i["path"] for i in r["items"]) + (
                         f"  ({len(r['rejected'])} rejected)" if r.get("rejected") else ""))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 2:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, col, item)
        if records:
            self.table.selectRow(len(records) - 1)
            self._show_changes(len(records) - 1)

    def _show_changes(self, row: int) -> None:
        if not 0 <= row < len(self.records):
            self.changes.setPlainText("")
            return
        r = self.records[row]
        lines = [f"{r['name']}  received {r['received_utc']}  window {r['window']['start_utc']} .. "
                 f"{r['window']['stop_utc']} UTC" if r.get("window") else r["name"]]
        lines += [f"  {i['path']}: {', '.join(i['objects'])}" for i in r["items"]]
        lines += [f"  REJECTED {x['path']}: {x['error']}" for x in r.get("rejected", [])]
        lines += r.get("changes", []) or ["(no change in the close approaches)"]
        self.changes.setPlainText("\n".join(lines))


class _DeliveryAxis(pg.AxisItem):
    def __init__(self, names_ref):
        super().__init__("bottom")
        self._names = names_ref

    def tickStrings(self, values, scale, spacing):
        names = self._names()
        return [names[int(round(v))] if abs(v - round(v)) < 1e-6 and 0 <= int(round(v)) < len(names) else ""
                for v in values]


class TrendPlot(pg.GraphicsLayoutWidget):
    """Miss [km], Pc (log) and TCA shift [s] of one encounter against delivery (oldest left)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("trendPlot")
        self.names: list[str] = []
        self.title = self.addLabel("Select a close approach to see its trend across deliveries", row=0, col=0)
        self.miss = self.addPlot(row=1, col=0, axisItems={"bottom": _DeliveryAxis(lambda: self.names)})
        self.pc = self.addPlot(row=2, col=0, axisItems={"bottom": _DeliveryAxis(lambda: self.names)})
        self.shift = self.addPlot(row=3, col=0, axisItems={"bottom": _DeliveryAxis(lambda: self.names)})
        for plot, label in ((self.miss, "miss [km]"), (self.pc, "Pc"), (self.shift, "TCA shift [s]")):
            plot.setLabel("left", label)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").enableAutoSIPrefix(False)  # "TCA shift [s]" must stay in seconds
            plot.getAxis("left").setWidth(80)  # the three plots' x axes line up
            plot.getAxis("bottom").setTickSpacing(1, 1)
        self.pc.setLogMode(y=True)
        self.pc.setXLink(self.miss)
        self.shift.setXLink(self.miss)
        symbol = {"symbol": "o", "symbolSize": 8}
        self.miss_curve = self.miss.plot(pen=pg.mkPen("#56B4E9", width=2), symbolBrush="#56B4E9", **symbol)
        self.pc_curve = self.pc.plot(pen=pg.mkPen("#E69F00", width=2), symbolBrush="#E69F00", **symbol)
        self.shift_curve = self.shift.plot(pen=pg.mkPen("#009E73", width=2), symbolBrush="#009E73", **symbol)
        self.threshold = pg.InfiniteLine(angle=0, pen=pg.mkPen("#D55E00", width=1.5, style=Qt.DashLine))
        self.miss.addItem(self.threshold)
        self.threshold.setVisible(False)
        self.shown = None  # (object1, object2, [(delivery index, miss_km, pc, tca_shift_s)])

    def clear_trend(self, message: str) -> None:
        self.shown = None
        self.title.setText(message)
        for curve in (self.miss_curve, self.pc_curve, self.shift_curve):
            curve.setData([], [])
        self.threshold.setVisible(False)

    def show_trend(self, encounter, deliveries) -> None:
        self.names = [d.name for d in deliveries]
        x = np.array([k for k, _ in encounter.entries], dtype=float)
        first = encounter.entries[0][1]
        miss = np.array([ev["miss_km"] for _, ev in encounter.entries])
        shift = np.array([ev["tca_tdb_s"] - first["tca_tdb_s"] for _, ev in encounter.entries])
        pcs = [(k, ev["pc"]) for k, ev in encounter.entries if ev.get("pc") is not None and ev["pc"] > 0]
        self.miss_curve.setData(x, miss)
        self.shift_curve.setData(x, shift)
        self.pc_curve.setData([k for k, _ in pcs], [p for _, p in pcs])
        thr = first.get("threshold_km")
        self.threshold.setVisible(bool(thr))
        if thr:
            self.threshold.setPos(thr)
        self.miss.setXRange(-0.3, max(len(self.names) - 0.7, 0.7), padding=0)
        self.miss.setYRange(0.0, max(float(miss.max()), thr or 0.0) * 1.1, padding=0)
        last = encounter.latest
        self.title.setText(f"{encounter.object1} / {encounter.object2}   TCA {last['tca_utc'][:23]} UTC   miss "
                           f"{first['miss_km']:.3f} → {last['miss_km']:.3f} km over {len(encounter.entries)} "
                           f"deliveries, TCA shift {shift[-1]:+.3f} s")
        self.shown = (encounter.object1, encounter.object2,
                      [(int(k), float(m), ev.get("pc"), float(s)) for (k, ev), m, s in zip(encounter.entries, miss,
                                                                                           shift)])


class DeliveryWatch(QObject):
    """Owns the watcher, the timer and the worker lane; updates the window's panels."""

    arrived = Signal(object)  # Snapshot, on the GUI thread, after the panels were updated

    def __init__(self, window, poll_ms: int = POLL_MS, stable_s: float | None = None):
        super().__init__(window)
        self.window = window
        self.watcher = None
        self.deliveries: list = []
        self.pending_changes: list = []
        self.lane = JobBridge("deliveries", self)
        self.lane.finished.connect(self._on_done)
        self.lane.failed.connect(lambda _i, m, d: window.report_error("Watching the folder failed: " + m, d))
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)
        self.stable_s = stable_s
        self._first = False
        window.installEventFilter(self)

    def start(self, folder, history_dir=None, threshold_km: float | None = None, duration_s: float | None = None):
        """Watch FOLDER (history: FOLDER/.marsview unless HISTORY_DIR); the threshold follows the scenario."""
        from marsview.model.events import event_dict
        from marsview.model.deliveries import STABLE_S, DeliveryWatcher

        sc = self.window.scenario
        self.stop()
        self.watcher = DeliveryWatcher(
            folder, event_dict, threshold_km or (sc.threshold_km if sc is not None else 10.0),
            duration_s or 7 * 86400.0, history_dir, STABLE_S if self.stable_s is None else self.stable_s)
        self.panel.set_watching(self.watcher.folder, self.watcher.history_dir)
        self.deliveries = []
        self._first = True
        self.timer.start()
        self.poll()

    def stop(self) -> None:
        self.timer.stop()
        self.lane.cancel()
        self.watcher = None
        self.panel.set_watching(None, None)

    def poll(self) -> None:
        if self.watcher is None or self.lane.busy:
            return
        watcher, first = self.watcher, self._first
        self._first = False

        def job(cancel):
            outcome = watcher.poll(progress=cancel.progress, cancel=cancel)
            if outcome is None and not first:
                return None
            scenario = outcome.scenario if outcome is not None and outcome.scenario is not None else (
                watcher.scenario() if first and outcome is None and len(watcher.objects) >= 2 else None)
            return Snapshot(outcome, watcher.deliveries(), list(watcher.history["deliveries"]), scenario)

        self.lane.submit(job)

    def _on_done(self, _rid, snap) -> None:
        if snap is None or self.watcher is None:
            return
        w = self.window
        self.deliveries = snap.deliveries
        self.panel.set_records(snap.records)
        outcome = snap.outcome
        if outcome is not None and outcome.record is not None:
            self.pending_changes = list(outcome.changes)
            self.notify(outcome)
        if snap.scenario is not None:
            w.controller.set_scenario(snap.scenario)  # clears the error line: report rejections after it
        for r in (outcome.rejected if outcome is not None else []):
            w.report_error(f"Delivery {r['path']} set aside: {r['error']}", "")
        self.arrived.emit(snap)

    def notify(self, outcome) -> None:
        rec = outcome.record
        kinds = {}
        for c in outcome.changes:
            key = "worse" if c.worse and c.kind == "CHANGED" else c.kind.lower()
            kinds[key] = kinds.get(key, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no change"
        text = (f"Delivery {rec['name']}: {', '.join(i['path'] for i in rec['items'])} — "
                f"{len(rec['events'])} close approaches ({summary})")
        self.window.statusBar().showMessage(text, NOTIFICATION_MS)
        self.toast.setText(text)
        self.toast.setStyleSheet(
            "QLabel { background: %s; color: white; padding: 10px; border-radius: 6px; font-weight: bold }"
            % ("#a01d1d" if outcome.worse else "#1f4e79"))
        self._place_toast()
        self.toast.show()
        self.toast.raise_()
        self.toast_timer.start(NOTIFICATION_MS)

    def _place_toast(self) -> None:
        """Over the bottom-right corner of the 3D view (its upper corners hold the overlays and the clock)."""
        w = self.window
        view = w.globe.widget
        self.toast.ensurePolished()
        bold = QFont(self.toast.font())
        bold.setBold(True)
        width = min(QFontMetrics(bold).horizontalAdvance(self.toast.text()) + 32, max(view.width() - 32, 200))
        self.toast.setWordWrap(True)
        self.toast.resize(width, self.toast.heightForWidth(width))
        corner = view.mapToGlobal(view.rect().bottomRight())
        self.toast.move(corner.x() - width - 16, corner.y() - self.toast.height() - 16)

    # --- table marks and the trend -------------------------------------------------------------------
    def mark_rows(self, result) -> None:
        """Mark the rows of RESULT that changed with the last delivery (once, for the screening after it)."""
        if not self.pending_changes:
            return
        marks = {}
        for e in result.events:
            for c in self.pending_changes:
                ev = c.event
                if ev is not None and {ev["object1"], ev["object2"]} == {e.object1, e.object2} and \
                        abs(ev["tca_tdb_s"] - e.tca_tdb_s) < MARK_TCA_TOL_S:
                    label = "WORSE" if c.kind == "CHANGED" and c.worse else c.kind
                    marks[id(e)] = (label, c.line.strip())
        self.window.table.source_model.set_marks(marks)

    def encounter_for(self, event):
        """The encounter (model.trend) the table's EVENT belongs to, or None."""
        from marsview.model.trend import match_encounters, match_events, shorter_period_s

        if not self.deliveries:
            return None
        encounters = match_encounters(self.deliveries)
        probe = {"object1": event.object1, "object2": event.object2, "tca_tdb_s": event.tca_tdb_s,
                 "shorter_period_s": shorter_period_s(event)}
        pairs = match_events([probe], [enc.latest for enc in encounters])
        return encounters[pairs[0][1]] if pairs else None

    def show_trend(self, event) -> None:
        if event is None:
            return
        enc = self.encounter_for(event)
        if enc is None:
            self.trend.clear_trend("No delivery history for this close approach" if self.deliveries else
                                   "Watch a delivery folder (File → Watch folder…) to see trends")
            return
        self.trend.show_trend(enc, self.deliveries)
        self.window.plots.setCurrentWidget(self.trend)

    # --- window lifetime -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """The window closes: stop polling, cancel and join the worker lane, hide the notification."""
        self.timer.stop()
        self.watcher = None
        self.lane.shutdown()
        self.toast.hide()

    def eventFilter(self, obj, event):
        if obj is self.window and event.type() in (QEvent.Resize, QEvent.Move) and self.toast.isVisible():
            self._place_toast()
        return False


class DeliveriesDock(QDockWidget):
    """The delivery loop as a panel (``panels.base.Panel``): File → Watch folder…, this dock, the Trend tab of the
    plots, the notification. ``watch`` is the ``DeliveryWatch`` (``MainWindow.deliveries``); each screening
    result gets the last delivery's NEW / WORSE / CHANGED marks."""

    object_name = "deliveriesDock"
    dock_area = Qt.RightDockWidgetArea  # tabbed with Scenario by arrange_docks

    def __init__(self, window):
        super().__init__("Deliveries", window)
        self.setObjectName(self.object_name)
        self.watch = None

    @classmethod
    def for_window(cls, window, poll_ms: int = POLL_MS, stable_s: float | None = None) -> DeliveriesDock:
        dock = cls(window)
        dock.watch = _build_watch(window, dock, poll_ms, stable_s)
        return dock

    def set_scenario(self, scenario) -> None:
        pass

    def set_result(self, result) -> None:
        self.watch.mark_rows(result)

    def shutdown(self) -> None:
        self.watch.shutdown()


def _build_watch(window, deliveries_dock, poll_ms: int, stable_s: float | None) -> DeliveryWatch:
    watch = DeliveryWatch(window, poll_ms, stable_s)
    watch.panel = DeliveriesPanel(window)
    watch.trend = TrendPlot(window)
    watch.trend.clear_trend("Watch a delivery folder (File → Watch folder…) to see trends")
    watch.panel.stopRequested.connect(watch.stop)
    # a frameless tool window, not a child widget: the OpenGL canvas of the 3D view paints over its siblings
    watch.toast = QLabel(window, Qt.Tool | Qt.FramelessWindowHint | Qt.WindowDoesNotAcceptFocus)
    watch.toast.setAttribute(Qt.WA_ShowWithoutActivating)
    watch.toast.setObjectName("deliveryNotification")
    watch.toast.setVisible(False)
    watch.toast.setAttribute(Qt.WA_TransparentForMouseEvents)
    watch.toast_timer = QTimer(watch)
    watch.toast_timer.setSingleShot(True)
    watch.toast_timer.timeout.connect(watch.toast.hide)
    deliveries_dock.setWidget(watch.panel)
    # a tab of the plots panel rather than a dock tabified with it: Qt (6.7-6.11) left a second, orphan tab
    # bar on screen when a dock was tabified with the Plots dock, which shares its area with the table
    window.plots.addTab(watch.trend, "Trend")
    menu = window.menuFile
    action = QAction("&Watch folder…", window)
    action.setObjectName("actionWatchFolder")
    action.triggered.connect(lambda: _choose_folder(window, watch))
    first_separator = next((a for a in menu.actions() if a.isSeparator()), None)
    menu.insertAction(first_separator, action)
    window.table.eventSelected.connect(watch.show_trend)

    def raise_docks(snap):
        if snap.outcome is not None and snap.outcome.record is not None:
            deliveries_dock.raise_()

    watch.arrived.connect(raise_docks)
    return watch


def _choose_folder(window, watch) -> None:
    folder = QFileDialog.getExistingDirectory(window, "Watch a delivery folder", window.settings.value("lastDir", ""))
    if folder:
        window.settings.setValue("lastDir", folder)
        try:
            watch.start(folder)
        except (ValueError, OSError) as exc:
            window.report_error(f"Cannot watch {folder}: {exc}", "")


