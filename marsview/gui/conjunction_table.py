"""The close-approach table: a model over ``CloseApproach`` events, sortable, colour-coded, CSV export."""

from __future__ import annotations

import csv
import io
import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from marsview.core.time import format_epoch

COLUMNS = ("Pair", "TCA (UTC)", "Miss (km)", "Rel. speed (km/s)", "Radial (km)", "In-track (km)",
           "Cross-track (km)", "Miss / σ", "Pc")
PLAN_COLUMNS = ("Miss before (km)", "Miss after (km)", "Plan")  # appended while a maneuver plan is shown
SORT_ROLE = Qt.UserRole + 1
EVENT_ROLE = Qt.UserRole + 2

# severity colours (dark enough for white text; red/amber are told apart by the text weight too)
RED, AMBER = QColor("#a01d1d"), QColor("#8a5a00")
NEW_ROW = QColor("#7a2a63")  # a NEW close approach the plan creates, when not already red/amber (white text)


def severity(event) -> int:
    """2 = red, 1 = amber, 0 = none. Miss against the pair threshold, or the collision probability."""
    thr = getattr(event, "threshold_km", 0.0) or 0.0
    pc = getattr(event, "pc", None)
    if (pc is not None and pc >= 1e-4) or (thr > 0 and event.miss_km < 0.2 * thr):
        return 2
    if (pc is not None and pc >= 1e-6) or (thr > 0 and event.miss_km < 0.5 * thr):
        return 1
    return 0


def _fmt(x: float, digits: int = 3) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


class ConjunctionModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.events: list = []
        self.plan_marks: dict | None = None  # id(event) -> (status "", "NEW" or "REMOVED", before km, after km)
        self.removed: list = []  # delivered events the plan takes out of the screening (shown struck out)
        self._row_list = None
        self._value_cache: dict = {}

    def set_events(self, events) -> None:
        self.beginResetModel()
        self.events = list(events)
        self._reset_cache()
        self.endResetModel()

    def set_plan(self, marks, removed=()) -> None:
        """Show a maneuver plan: MARKS as ``plan_marks``, REMOVED rows appended; None = no plan."""
        self.beginResetModel()
        self.plan_marks = None if marks is None else dict(marks)
        self.removed = list(removed) if marks is not None else []
        self._reset_cache()
        self.endResetModel()

    def _reset_cache(self) -> None:
        # the view asks for every cell several times per repaint: the rows and their formatted values are
        # built once per reset (a table refreshed on every maneuver drag must not format the same epoch 100 times)
        self._row_list = self.events + self.removed if self.plan_marks is not None else self.events
        self._value_cache: dict = {}

    def _rows(self) -> list:
        if getattr(self, "_row_list", None) is None:
            self._reset_cache()
        return self._row_list

    def _row_values(self, row: int, e):
        values = self._value_cache.get(row)
        if values is None:
            values = self._values(e) + (self._plan_values(e) if self.plan_marks is not None else ())
            self._value_cache[row] = values
        return values

    def _plan_values(self, e):
        status, before, after = self.plan_marks.get(id(e), ("", e.miss_km, e.miss_km))
        return ((_fmt(before) if before is not None else "—", -1.0 if before is None else before),
                (_fmt(after) if after is not None else "—", -1.0 if after is None else after),
                (status, status))

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(COLUMNS) + (len(PLAN_COLUMNS) if self.plan_marks is not None else 0)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return (COLUMNS + PLAN_COLUMNS)[section]
        return None

    def _values(self, e):
        sigma = getattr(e, "miss_sigma", float("nan"))
        pc = e.pc
        return (
            (f"{e.object1} – {e.object2}", f"{e.object1}-{e.object2}"),
            (format_epoch(e.tca_tdb_s, "UTC", digits=3).replace("T", " "), e.tca_tdb_s),
            (_fmt(e.miss_km), e.miss_km),
            (_fmt(e.relative_speed_kms), e.relative_speed_kms),
            (_fmt(e.radial_km), e.radial_km),
            (_fmt(e.in_track_km), e.in_track_km),
            (_fmt(e.cross_track_km), e.cross_track_km),
            (_fmt(sigma, 2), sigma if math.isfinite(sigma) else math.inf),
            ("—" if pc is None else f"{pc:.2e}", -1.0 if pc is None else pc),
        )

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        e = self._rows()[index.row()]
        if role == EVENT_ROLE:
            return e
        status = self.plan_marks.get(id(e), ("",))[0] if self.plan_marks is not None else ""
        if role in (Qt.DisplayRole, SORT_ROLE):
            text, value = self._row_values(index.row(), e)[index.column()]
            if index.column() == 0 and status:
                text = f"{status} · {text}"
            return text if role == Qt.DisplayRole else value
        if status and role == Qt.FontRole:
            font = QFont()
            font.setBold(status == "NEW")
            font.setItalic(status == "REMOVED")
            font.setStrikeOut(status == "REMOVED" and index.column() < len(COLUMNS))
            return font
        if status == "REMOVED" and role == Qt.ForegroundRole:
            return QBrush(QColor("#9a9a9a"))
        if status == "NEW" and role == Qt.BackgroundRole and not severity(e):
            return QBrush(NEW_ROW)
        if role == Qt.TextAlignmentRole and index.column() >= 2:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.BackgroundRole:
            level = severity(e)
            return QBrush(RED if level == 2 else AMBER) if level else None
        if role == Qt.ForegroundRole and (severity(e) or status == "NEW"):
            return QBrush(QColor("white"))
        if role == Qt.ToolTipRole:
            return (f"{e.object1} ({e.source1}) – {e.object2} ({e.source2})\n"
                    f"threshold {getattr(e, 'threshold_km', float('nan')):.3f} km"
                    + (f"\nPc method {e.pc_method}" if e.pc_method else ""))
        return None

    def to_csv(self) -> str:
        """Full-precision CSV (TCA as UTC ISO and TDB seconds; distances km, speeds km/s)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["object1", "object2", "tca_utc", "tca_tdb_s", "miss_km", "relative_speed_kms", "radial_km",
                    "in_track_km", "cross_track_km", "miss_sigma", "pc", "pc_method", "source1", "source2"])
        for e in self.events:
            w.writerow([e.object1, e.object2, format_epoch(e.tca_tdb_s, "UTC", digits=6), repr(e.tca_tdb_s),
                        repr(e.miss_km), repr(e.relative_speed_kms), repr(e.radial_km), repr(e.in_track_km),
                        repr(e.cross_track_km), repr(getattr(e, "miss_sigma", float("nan"))),
                        "" if e.pc is None else repr(e.pc), e.pc_method or "", e.source1, e.source2])
        return buf.getvalue()


class ConjunctionTable(QTableView):
    """Emits ``eventSelected(event)`` when the user picks a row."""

    eventSelected = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("conjunctionTable")
        self.source_model = ConjunctionModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.source_model)
        self.proxy.setSortRole(SORT_ROLE)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(1, Qt.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.selectionModel().currentRowChanged.connect(self._on_current)

    def set_events(self, events) -> None:
        self.source_model.set_events(events)

    def set_plan(self, marks, removed=()) -> None:
        """Before/after miss columns and NEW / REMOVED rows for a maneuver plan (None: no plan)."""
        self.source_model.set_plan(marks, removed)

    def event_at(self, row: int):
        """The event shown at a view row (after sorting)."""
        return self.proxy.index(row, 0).data(EVENT_ROLE)

    def select_row(self, row: int) -> None:
        self.selectRow(row)

    def _on_current(self, current, _previous):
        if current.isValid():
            self.eventSelected.emit(current.data(EVENT_ROLE))
