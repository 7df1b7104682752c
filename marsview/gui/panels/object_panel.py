"""Object list (visibility, colour, follow) and scenario information (files, coverage, warnings)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QColorDialog, QDockWidget, QHBoxLayout, QPushButton, QTableWidget, QTableWidgetItem,
                               QTextBrowser, QVBoxLayout, QWidget)

from marsview.core.time import format_epoch


def _swatch(color: str) -> QIcon:
    pm = QPixmap(14, 14)
    pm.fill(QColor(color))
    return QIcon(pm)


class ObjectPanel(QWidget):
    followRequested = Signal(object)  # name or None (Mars)
    selectionChanged = Signal(object)  # name or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("objectPanel")
        self.scenario = None
        self.table = QTableWidget(0, 3, self)
        self.table.setObjectName("objectList")
        self.table.setHorizontalHeaderLabels(["Object", "Kind", "Colour"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.followButton = QPushButton("Follow", self)
        self.followButton.setObjectName("followButton")
        self.followButton.setToolTip("Centre the 3D view on the selected object and follow it")
        self.followMarsButton = QPushButton("Centre on Mars", self)
        self.followMarsButton.setObjectName("followMarsButton")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.table)
        row = QHBoxLayout()
        row.addWidget(self.followButton)
        row.addWidget(self.followMarsButton)
        lay.addLayout(row)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.cellDoubleClicked.connect(self._on_double_click)
        self.table.itemSelectionChanged.connect(lambda: self.selectionChanged.emit(self.selected_name()))
        self.followButton.clicked.connect(lambda: self.followRequested.emit(self.selected_name()))
        self.followMarsButton.clicked.connect(lambda: self.followRequested.emit(None))

    def set_scenario(self, scenario) -> None:
        self.scenario = scenario
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for obj in scenario.objects:
            r = self.table.rowCount()
            self.table.insertRow(r)
            name = QTableWidgetItem(obj.name)
            name.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsUserCheckable)
            name.setCheckState(Qt.Checked if obj.visible else Qt.Unchecked)
            name.setToolTip("Tick to show in the 3D view")
            kind = QTableWidgetItem(obj.kind)
            kind.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
            color = QTableWidgetItem(obj.color)
            color.setIcon(_swatch(obj.color))
            color.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
            color.setToolTip("Double-click to change the colour")
            for c, item in enumerate((name, kind, color)):
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()

    def selected_name(self):
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def select(self, name: str) -> None:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).text() == name:
                self.table.selectRow(r)
                return

    def _on_item_changed(self, item) -> None:
        if item.column() == 0 and self.scenario is not None:
            obj = self.scenario.object(item.text())
            obj.visible = item.checkState() == Qt.Checked  # the scenario notifies the view

    def _on_double_click(self, row: int, column: int) -> None:
        if column != 2 or self.scenario is None:
            return
        obj = self.scenario.object(self.table.item(row, 0).text())
        chosen = QColorDialog.getColor(QColor(obj.color), self, f"Colour of {obj.name}")
        if chosen.isValid():
            self.set_color(obj.name, chosen.name())

    def set_color(self, name: str, color: str) -> None:
        obj = self.scenario.object(name)
        obj.color = color
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).text() == name:
                item = self.table.item(r, 2)
                self.table.blockSignals(True)
                item.setText(color)
                item.setIcon(_swatch(color))
                self.table.blockSignals(False)


class ScenarioInfo(QTextBrowser):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("scenarioInfo")

    def set_scenario(self, scenario, result=None) -> None:
        e = html.escape
        rows = [f"<h3>{e(scenario.name)}</h3>"]
        if scenario.description:
            rows.append(f"<p>{e(scenario.description)}</p>")
        ws, we = scenario.window_start_tdb_s, scenario.window_stop_tdb_s
        rows.append(f"<p><b>Screening window</b> {e(format_epoch(ws, 'UTC', 0))} → {e(format_epoch(we, 'UTC', 0))}"
                    f" UTC ({scenario.window_duration_s / 86400:.2f} d), threshold {scenario.threshold_km:g} km</p>")
        if result is not None:
            rows.append(f"<p><b>Last screening</b> {len(result.events)} close approaches among "
                        f"{result.pairs_screened} pairs, step {result.step_s:.1f} s, {result.elapsed_s:.2f} s</p>")
        if result is not None:
            notes = scenario.coverage_notes(result.start_tdb_s, result.stop_tdb_s)
        else:
            from ..controller import screening_span

            notes = scenario.coverage_notes(*screening_span(scenario))
        if notes:
            rows.append('<p><b>Not screened</b> (coverage outside the screening window)</p><ul>'
                        + "".join(f"<li><b>{e(n)}</b>: {e(why)}</li>" for n, why in notes.items()) + "</ul>")
        rows.append("<p><b>Objects</b></p><ul>")
        for o in scenario.objects:
            c0, c1 = o.ephemeris.coverage
            rows.append(f"<li>{e(o.name)} ({e(o.kind)}, HBR {o.hbr_m:g} m): {e(format_epoch(c0, 'UTC', 0))} → "
                        f"{e(format_epoch(c1, 'UTC', 0))}</li>")
        rows.append("</ul>")
        if scenario.files:
            rows.append("<p><b>Files</b></p><ul>" + "".join(f"<li>{e(str(f))}</li>" for f in scenario.files)
                        + "</ul>")
        if scenario.warnings:
            rows.append("<p><b>Warnings</b></p><ul>" + "".join(f"<li>{e(str(w))}</li>" for w in scenario.warnings)
                        + "</ul>")
        self.setHtml("".join(rows))


class ObjectsDock(QDockWidget):
    """The object list as a panel (``panels.base.Panel``): follow and select act on the window."""

    object_name = "objectsDock"
    dock_area = Qt.RightDockWidgetArea

    def __init__(self, window):
        super().__init__("Objects", window)
        self.setObjectName(self.object_name)
        self.objects = ObjectPanel(self)
        self.setWidget(self.objects)

    @classmethod
    def for_window(cls, window) -> ObjectsDock:
        dock = cls(window)
        dock.objects.followRequested.connect(window.follow)
        dock.objects.selectionChanged.connect(window.select_object)
        return dock

    def set_scenario(self, scenario) -> None:
        self.objects.set_scenario(scenario)

    def set_result(self, result) -> None:
        pass

    def shutdown(self) -> None:
        pass


class ScenarioDock(QDockWidget):
    """Scenario information as a panel (``panels.base.Panel``), with the last screening once there is one."""

    object_name = "scenarioDock"
    dock_area = Qt.RightDockWidgetArea

    def __init__(self, window):
        super().__init__("Scenario", window)
        self.setObjectName(self.object_name)
        self.main_window = window
        self.info = ScenarioInfo(self)
        self.setWidget(self.info)

    @classmethod
    def for_window(cls, window) -> ScenarioDock:
        return cls(window)

    def set_scenario(self, scenario) -> None:
        self.info.set_scenario(scenario)

    def set_result(self, result) -> None:
        self.info.set_scenario(self.main_window.scenario, result)

    def shutdown(self) -> None:
        pass
