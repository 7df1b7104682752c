"""Issue 17 in the GUI: names from partner files are defused in Export CSV and the HTML report, a save or
export into a folder that cannot be written tells the user (not a traceback on stderr), and a scenario naming
files outside its folder is loaded only after the user agrees."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import make_scenario  # noqa: E402

EVIL = '=HYPERLINK("http://evil.example","x")'
SCRIPT = "<script>alert('x')</script>"


def evil_loader(paths=None):
    sc = make_scenario()
    sc.object("ALPHA").name = EVIL
    sc.object("BRAVO").name = SCRIPT
    return sc


def _wait(qapp, flag, timeout_s=60):
    deadline = time.time() + timeout_s
    while not flag and time.time() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    assert flag


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(tmp_path_factory.mktemp("settings")))
    from marsview.gui import launch, shutdown_window

    w = launch(show=True, planning=True, loader=evil_loader)
    done = []
    w.screeningFinished.connect(lambda: done.append(True))
    _wait(qapp, done)
    yield w
    shutdown_window(w)


def test_export_csv_and_report_defuse_names(window, tmp_path):
    from marsview.gui.report import build_report, report_html, write_csv

    out = tmp_path / "ca.csv"
    assert window.export_csv(out)
    rows = list(csv.DictReader(out.open()))
    assert rows and {rows[0]["object1"], rows[0]["object2"]} >= {"'" + EVIL}
    float(rows[0]["radial_km"])
    content = build_report(window, pictures=False)
    text = report_html(content, lambda key, img: f"res/{key}.png")
    assert SCRIPT not in text and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    write_csv(content, tmp_path / "r.csv")
    report_rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert "'" + EVIL in {report_rows[0]["object1"], report_rows[0]["object2"]}


def test_export_csv_into_unwritable_folder_tells_the_user(window):
    window.clear_error()
    assert window.export_csv("/proc/marsview-ca.csv") is False
    assert "Could not write /proc/marsview-ca.csv" in window.errorLabel.text()


def test_save_plan_into_unwritable_folder_tells_the_user(window):
    panel = window.maneuver_panel
    assert panel.save(folder="/proc/marsview-plan") is False
    assert "Plan NOT saved" in panel.status.text() and "/proc/marsview-plan" in panel.status.text()


def test_outside_paths_are_read_only_after_the_user_agrees(qapp, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from marsview.gui import launch, shutdown_window
    from marsview.io.oem import ephemeris_to_oem, write_oem

    sc = make_scenario()
    for obj in sc.objects[:2]:
        write_oem(tmp_path / f"{obj.name}.oem", ephemeris_to_oem([obj.ephemeris], step_s=60.0))
    folder = tmp_path / "scenario"
    folder.mkdir()
    (folder / "scenario.toml").write_text(
        'name = "x"\n[window]\nstart_utc = "2025-05-08T00:00:00"\nduration = "6h"\n'
        + "".join(f'[[objects]]\nname = "{n}"\nhbr_m = 1.0\n[objects.orbit]\nsource = "file"\n'
                  f'path = "../{n}.oem"\n' for n in ("ALPHA", "BRAVO")))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.Yes)
    w = launch([str(folder)], show=False, planning=False)
    loaded = []
    w.scenarioLoaded.connect(lambda: loaded.append(True))
    try:
        _wait(qapp, loaded)
        assert asked and "outside the scenario folder" in asked[0]
        assert sorted(w.scenario.names()) == ["ALPHA", "BRAVO"]
    finally:
        shutdown_window(w)
