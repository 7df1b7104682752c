"""File → Watch folder… in the main window: deliveries arrive through the real engine in a worker, show in the
Deliveries panel and as a notification, mark the changed close-approach rows, and the trend plot of a
selected close approach shows the miss moving as the deliveries moved it (pytest-qt, Xvfb)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTableWidget, QWidget

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from delivery_fixtures import NODE_EPOCH, T0, circular, expected_miss_km, write_object  # noqa: E402
from fake_scenario import fake_loader  # noqa: E402



def age(path, seconds=10.0):
    t = time.time() - seconds
    os.utime(path, (t, t))
    return path


@pytest.fixture
def window(fresh_window_factory):
    return fresh_window_factory(fake_loader)


def wait_delivery(qtbot, window):
    with qtbot.waitSignal(window.deliveries.arrived, timeout=60000) as blocker:
        window.deliveries.poll()
    return blocker.args[0]


def test_watch_folder_in_the_gui(window, qtbot, tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    span = (T0, T0 + 8 * 3600.0)
    age(write_object(folder, circular("ALPHA", 0.0, NODE_EPOCH, *span), *span, "-91"))
    age(write_object(folder, circular("BRAVO", 60.0, NODE_EPOCH + 1.0, *span), *span, "-92"))
    assert any(a.objectName() == "actionWatchFolder" for a in window.findChildren(QAction))

    watch = window.deliveries
    watch.timer.setInterval(3_600_000)  # the test polls itself
    with qtbot.waitSignal(window.screeningFinished, timeout=60000):
        with qtbot.waitSignal(watch.arrived, timeout=60000):
            watch.start(folder)
    assert window.scenario.names() == ["ALPHA", "BRAVO"]
    panel = window.findChild(QWidget, "deliveriesPanel")
    rows = panel.findChild(QTableWidget, "deliveriesTable")
    assert rows.rowCount() == 1 and rows.item(0, 0).text() == "delivery-001"
    toast = window.findChild(QLabel, "deliveryNotification")
    assert toast.isVisible() and "delivery-001" in toast.text()
    model = window.table.source_model
    assert model.events and all(model.marks[id(e)][0] == "NEW" for e in model.events)
    assert window.table.model().index(0, 0).data().startswith("NEW · ALPHA")

    # delivery 2: BRAVO nudged closer, plus a bad file that is set aside
    age(write_object(folder, circular("BRAVO", 60.0, NODE_EPOCH + 0.6, *span), *span, "-92").rename(
        folder / "bravo-v2.oem"))
    bad = folder / "zulu.oem"
    bad.write_text((folder / "alpha.oem").read_text().replace("OBJECT_ID = -91", "OBJECT_ID = -99")
                   .replace("CENTER_NAME = MARS", "CENTER_NAME = PLUTO"))
    age(bad)
    age(folder / "bravo-v2.oem")
    with qtbot.waitSignal(window.screeningFinished, timeout=60000):
        snap = wait_delivery(qtbot, window)
    assert [i["path"] for i in snap.outcome.record["items"]] == ["bravo-v2.oem"]
    assert "zulu.oem:" in window.findChild(QLabel, "statusError").text()
    assert window.scenario.names() == ["ALPHA", "BRAVO"]  # the bad file changed nothing
    assert rows.rowCount() == 2
    changes = panel.findChild(QPlainTextEdit, "deliveryChanges").toPlainText()
    assert "REJECTED zulu.oem" in changes and "WORSE" in changes
    marks = [model.marks.get(id(e), ("",))[0] for e in model.events]
    assert marks and set(marks) == {"WORSE"}

    # selecting a close approach shows its trend: miss against delivery, as constructed
    window.table.selectRow(2)
    plot = window.findChild(QWidget, "trendPlot")
    assert plot.shown is not None
    n1, n2, points = plot.shown
    assert (n1, n2) == ("ALPHA", "BRAVO")
    assert [p[0] for p in points] == [0, 1]
    assert [p[1] for p in points] == pytest.approx([expected_miss_km(1.0), expected_miss_km(0.6)], rel=2e-3)
    assert points[1][3] == pytest.approx(-0.2, abs=2e-3)  # TCA moved by half the lag change

    # nothing new: a poll changes nothing
    with qtbot.assertNotEmitted(window.screeningFinished, wait=300):
        watch.poll()
        qtbot.waitUntil(lambda: not watch.lane.busy, timeout=10000)
    assert rows.rowCount() == 2

    # watching the same folder again (a restart) shows its history and the current scenario, processing nothing
    watch.stop()
    assert rows.rowCount() == 2 and not panel.findChild(QWidget, "stopWatchButton").isEnabled()
    with qtbot.waitSignal(watch.arrived, timeout=60000) as blocker:
        watch.start(folder)
    assert blocker.args[0].outcome is None and rows.rowCount() == 2
    assert window.scenario.names() == ["ALPHA", "BRAVO"]
    assert "bravo-v2.oem" in window.scenario.files[1]
