"""The "Pc methods" dock: selecting a close approach computes its Pc by every method of PC_METHODS, in the
background, with the covariances the screening used; FOSTER-2D reproduces the table's Pc exactly, PATERA-2005
(an independent quadrature) agrees to 1e-8, and Monte Carlo's confidence interval holds it (pytest-qt, Xvfb)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QSpinBox, QTableView, QTableWidget

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import MISS_KM, fake_loader  # noqa: E402

from marsview.core.pc_methods import PC_METHODS  # noqa: E402


@pytest.fixture(scope="module")
def window(window_factory):
    return window_factory(fake_loader)


def _rows(panel):
    table = panel.findChild(QTableWidget, "pcMethodsTable")
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def test_selecting_an_encounter_lists_every_method(window, qtbot):
    panel = window.panel("pcMethodsPanel")
    assert panel.findChild(QLabel, "pcMethodsEncounter").text() == "Select a close approach in the table"
    panel.findChild(QSpinBox, "pcMethodsSamples").setValue(200_000)
    table = window.findChild(QTableView, "conjunctionTable")
    model = table.model()
    row = next(r for r in range(model.rowCount()) if round(float(model.index(r, 2).data()), 3) == MISS_KM)
    table.selectRow(row)
    qtbot.waitUntil(lambda: len(panel.rows) == len(PC_METHODS), timeout=60000)
    event = panel.encounter
    assert {event.object1, event.object2} == {"ALPHA", "BRAVO"}
    rows = _rows(panel)
    assert [r[0].split()[0] for r in rows] == list(PC_METHODS)
    assert rows[0][0] == "FOSTER-2D  (screening)"
    results = {m: res for m, res, _err in panel.rows}
    assert results["FOSTER-2D"].pc == event.pc                    # the table's number, recomputed identically
    assert results["PATERA-2005"].pc == pytest.approx(event.pc, rel=1e-8)
    assert results["CHAN"].pc == pytest.approx(event.pc, rel=1e-3)
    assert results["MAX-PC"].pc >= event.pc
    mc = results["MONTE-CARLO"]
    assert mc.samples == 200_000 and mc.ci_low <= event.pc <= mc.ci_high
    assert re.match(rf"{mc.hits:,} hits of 200,000; 95 %: \[\d\.\d\de[-+]\d\d, \d\.\d\de-\d\d\]", rows[-1][2])
    assert rows[0][1] == ("< 1e-10" if event.pc < 1e-10 else f"{event.pc:.4e}")   # as the close-approach table
    assert results["FOSTER-2D"].covariance_source == event.pc_method.split("/")[1].split()[0]
    assert "5 methods" in panel.findChild(QLabel, "pcMethodsStatus").text()


def test_a_new_scenario_clears_the_panel(window, qtbot):
    panel = window.panel("pcMethodsPanel")
    panel.set_scenario(window.scenario)
    assert panel.encounter is None and not _rows(panel)
    assert panel.findChild(QLabel, "pcMethodsEncounter").text() == "Select a close approach in the table"
