"""The close-approach table: a model over ``CloseApproach`` events, sortable, colour-coded, CSV export."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QHeaderView, QTableView

from marsview.core.time import format_epoch
from marsview.io.safe_text import spreadsheet_safe

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


PC_FLOOR = 1e-10  # below this a Pc is numerically zero for any decision; printed as "< 1e-10"


def format_pc(pc) -> str:
    """'—' when not computed, '< 1e-10' below PC_FLOOR (a 1e-268 helps nobody), else 2 significant digits."""
    if pc is None or not math.isfinite(pc):
        return "—"
    return f"< {PC_FLOOR:.0e}" if pc < PC_FLOOR else f"{pc:.2e}"


def _finite_or(x, fallback: float) -> float:
    return x if x is not None and math.isfinite(x) else fallback


def _is_cdm(e) -> bool:
    return getattr(e, "source", None) == "CDM"


def _pc_text(e) -> str:
    """Pc; for a CDM row the recomputed value with the file's own beside it."""
    text = format_pc(e.pc)
    return text + f" (file {format_pc(e.cdm_pc)})" if _is_cdm(e) else text


def _cdm_tag(e) -> str:
    """' (CDM)' after the pair of a received CDM's row, ' (CDM ⚑)' when it has flags (listed in the tool tip)."""
    if not _is_cdm(e):
        return ""
    return " (CDM ⚑)" if getattr(e, "flags", ()) else " (CDM)"


@dataclass(frozen=True)
class Column:
    """One table column: HEADER (a line break keeps it narrow), the cell TEXT and SORT value of an event,
    TIP for the header. Columns are added by adding a Column to TABLE_COLUMNS."""

    header: str
    text: Callable[[object], str]
    sort: Callable[[object], object]
    tip: str = ""
    numeric: bool = True


TABLE_COLUMNS: list[Column] = [
    Column("Pair", lambda e: f"{e.object1} – {e.object2}{_cdm_tag(e)}",
           lambda e: f"{e.object1}-{e.object2}",
           "Object 1 – object 2 (R/T/N are in object 1's frame)", numeric=False),
    Column("TCA (UTC)", lambda e: format_epoch(e.tca_tdb_s, "UTC", digits=3).replace("T", " "),
           lambda e: e.tca_tdb_s, "Time of closest approach, UTC", numeric=False),
    Column("Miss\n(km)", lambda e: _fmt(e.miss_km), lambda e: e.miss_km, "Miss distance at TCA, km"),
    Column("Rel. v\n(km/s)", lambda e: _fmt(e.relative_speed_kms), lambda e: e.relative_speed_kms,
           "Relative speed at TCA, km/s"),
    Column("R\n(km)", lambda e: _fmt(e.radial_km), lambda e: e.radial_km,
           "Radial miss component in object 1's RTN frame, km"),
    Column("T\n(km)", lambda e: _fmt(e.in_track_km), lambda e: e.in_track_km,
           "In-track miss component in object 1's RTN frame, km"),
    Column("N\n(km)", lambda e: _fmt(e.cross_track_km), lambda e: e.cross_track_km,
           "Cross-track miss component in object 1's RTN frame, km"),
    Column("Crossing\nΔt (s)", lambda e: _fmt(getattr(e, "crossing_dt_s", math.nan), 1),
           lambda e: _finite_or(getattr(e, "crossing_dt_s", math.nan), math.inf),
           "Orbit-crossing time difference: seconds after object 1 that object 2 passes the point where "
           "their paths cross"),
    Column("Miss\n/ σ", lambda e: _fmt(getattr(e, "miss_sigma", math.nan), 2),
           lambda e: _finite_or(getattr(e, "miss_sigma", math.nan), math.inf),
           "Miss distance in units of the combined 1σ position uncertainty"),
    Column("Pc", _pc_text, lambda e: _finite_or(e.pc, -1.0),
           "Probability of collision (method in the row's tool tip); < 1e-10 is shown as such; for a CDM row "
           "the recomputed value with the file's own beside it"),
]
COLUMNS = tuple(c.header.replace("\n", " ") for c in TABLE_COLUMNS)  # one-line headers, for text exports
PLAN_COLUMNS = ("Miss before\n(km)", "Miss after\n(km)", "Plan")  # appended while a maneuver plan is shown
PLAN_TIP = ("While a maneuver plan is shown: the delivered (before) and planned (after) miss, and NEW / REMOVED "
            "for close approaches the plan creates or takes away")


class ConjunctionModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.events: list = []
        self.marks: dict = {}  # id(event) -> (label, tooltip): rows that changed with the last delivery
        self.plan_marks: dict | None = None  # id(event) -> (status "", "NEW" or "REMOVED", before km, after km)
        self.removed: list = []  # delivered events the plan takes out of the screening (shown struck out)
        self._row_list = None
        self._value_cache: dict = {}

    def set_events(self, events) -> None:
        self.beginResetModel()
        self.events = list(events)
        self.marks = {}
        self._reset_cache()
        self.endResetModel()

    def set_marks(self, marks: dict) -> None:
        """Mark rows (id(event) -> (label such as "NEW" or "WORSE", tooltip)); shown before the pair."""
        self.marks = dict(marks)
        if self._rows():
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows()) - 1, self.columnCount() - 1))

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
        self._value_cache = {}

    def _rows(self) -> list:
        if self._row_list is None:
            self._reset_cache()
        return self._row_list

    def _row_values(self, row: int, e):
        values = self._value_cache.get(row)
        if values is None:
            values = (tuple((c.text(e), c.sort(e)) for c in TABLE_COLUMNS)
                      + (self._plan_values(e) if self.plan_marks is not None else ()))
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
        if parent.isValid():
            return 0
        return len(TABLE_COLUMNS) + (len(PLAN_COLUMNS) if self.plan_marks is not None else 0)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation != Qt.Horizontal:
            return None
        base = len(TABLE_COLUMNS)
        if role == Qt.DisplayRole:
            return TABLE_COLUMNS[section].header if section < base else PLAN_COLUMNS[section - base]
        if role == Qt.ToolTipRole:
            return TABLE_COLUMNS[section].tip if section < base else PLAN_TIP
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        e = self._rows()[index.row()]
        if role == EVENT_ROLE:
            return e
        status = self.plan_marks.get(id(e), ("",))[0] if self.plan_marks is not None else ""
        mark = self.marks.get(id(e))
        if role in (Qt.DisplayRole, SORT_ROLE):
            text, value = self._row_values(index.row(), e)[index.column()]
            if role == SORT_ROLE:
                return value
            if index.column() == 0:
                # the plan status (NEW / REMOVED) and the delivery mark (NEW / WORSE / CHANGED) lead the pair
                text = " · ".join([*filter(None, (status, mark[0] if mark is not None else "")), text])
            return text
        if role == Qt.FontRole and (status or mark is not None):
            font = QFont()
            font.setBold(status == "NEW" or mark is not None)
            font.setItalic(status == "REMOVED")
            font.setStrikeOut(status == "REMOVED" and index.column() < len(TABLE_COLUMNS))
            return font
        if status == "REMOVED" and role == Qt.ForegroundRole:
            return QBrush(QColor("#9a9a9a"))
        if status == "NEW" and role == Qt.BackgroundRole and not severity(e):
            return QBrush(NEW_ROW)
        if role == Qt.TextAlignmentRole and (index.column() >= len(TABLE_COLUMNS)
                                              or TABLE_COLUMNS[index.column()].numeric):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.BackgroundRole:
            level = severity(e)
            return QBrush(RED if level == 2 else AMBER) if level else None
        if role == Qt.ForegroundRole and (severity(e) or status == "NEW"):
            return QBrush(QColor("white"))
        if role == Qt.ToolTipRole and getattr(e, "source", None) == "CDM":
            return (f"{e.object1} – {e.object2} from {e.path}\nPc {e.pc_method} with HBR {e.hbr_m:g} m "
                    f"({e.hbr_source}); the file says {e.cdm_pc} ({e.cdm_pc_method or 'method not given'})"
                    + (f"\nflags: {', '.join(e.flags)}" if getattr(e, "flags", ()) else "")
                    + "".join(f"\n{n}" for n in e.notes))
        if role == Qt.ToolTipRole:
            return ((mark[1] + "\n" if mark is not None else "")
                    + f"{e.object1} ({e.source1}) – {e.object2} ({e.source2})\n"
                    f"threshold {getattr(e, 'threshold_km', float('nan')):.3f} km"
                    + (f"\nPc method {e.pc_method}" if e.pc_method else ""))
        return None

    def to_csv(self) -> str:
        """Full-precision CSV (TCA as UTC ISO and TDB seconds; distances km, speeds km/s)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["object1", "object2", "tca_utc", "tca_tdb_s", "miss_km", "relative_speed_kms", "radial_km",
                    "in_track_km", "cross_track_km", "crossing_dt_s", "miss_sigma", "pc", "pc_method", "source1",
                    "source2"])
        safe = spreadsheet_safe  # names and sources come from partner files: no live formulas
        for e in self.events:
            w.writerow([safe(e.object1), safe(e.object2), format_epoch(e.tca_tdb_s, "UTC", digits=6), repr(e.tca_tdb_s),
                        repr(e.miss_km), repr(e.relative_speed_kms), repr(e.radial_km), repr(e.in_track_km),
                        repr(e.cross_track_km), repr(getattr(e, "crossing_dt_s", float("nan"))),
                        repr(getattr(e, "miss_sigma", float("nan"))),
                        "" if e.pc is None else repr(e.pc), safe(e.pc_method or ""), safe(e.source1),
                        safe(e.source2)])
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


class ConjunctionDock(QDockWidget):
    """The close-approach table as a panel (``panels.base.Panel``): the scenario's CDM rows, then each screening's
    close approaches with them; picking a row selects the event in the window."""

    object_name = "conjunctionDock"
    dock_area = Qt.BottomDockWidgetArea

    def __init__(self, window):
        super().__init__("Close approaches", window)
        self.setObjectName(self.object_name)
        self.main_window = window
        self.table = ConjunctionTable(self)
        self.setWidget(self.table)

    @classmethod
    def for_window(cls, window) -> ConjunctionDock:
        dock = cls(window)
        dock.table.eventSelected.connect(window.select_event)
        return dock

    def set_scenario(self, scenario) -> None:
        self.table.set_events(list(scenario.cdm_conjunctions))

    def set_result(self, result) -> None:
        self.table.set_events(list(result.events) + list(self.main_window.scenario.cdm_conjunctions))

    def shutdown(self) -> None:
        pass
