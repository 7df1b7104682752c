"""Issue 17 in the GUI: names from partner files are defused in Export CSV and the HTML report, a save or
export into a folder that cannot be written tells the user (not a traceback on stderr), and a scenario naming
files outside its folder is loaded only after the user agrees."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import make_scenario  # noqa: E402

from marsview.core.time import format_epoch  # noqa: E402

START = format_epoch(8.0e8 + 60.0, "UTC", 3)
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
def window(window_factory):
    return window_factory(evil_loader, planning=True)


def test_export_csv_and_report_defuse_names(window, tmp_path):
    from marsview.gui.export.report import build_report, report_html, write_csv

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
    from marsview.io.oem import write_oem
    from marsview.io.oem_convert import ephemeris_to_oem

    sc = make_scenario()
    for obj in sc.objects[:2]:
        write_oem(tmp_path / f"{obj.name}.oem", ephemeris_to_oem([obj.ephemeris], step_s=60.0))
    folder = tmp_path / "scenario"
    folder.mkdir()
    (folder / "scenario.toml").write_text(
        f'name = "x"\n[window]\nstart_utc = "{START}"\nduration = "6h"\n'
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


def test_newer_delivery_dropped_in_then_save_plan_saves_the_newer_orbit(qapp, tmp_path, monkeypatch):
    """The issue's path: open a scenario, drop a newer OEM of ALPHA on the window, Save plan; reopened, ALPHA
    has the newer orbit (and BRAVO its own)."""
    import numpy as np

    from marsview.gui import launch, shutdown_window
    from marsview.io.oem import write_oem
    from marsview.io.oem_convert import ephemeris_to_oem
    from marsview.model.loading import load_scenario

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    sc = make_scenario()
    folder = tmp_path / "scenario"
    folder.mkdir()
    for obj in sc.objects[:2]:
        write_oem(folder / f"{obj.name}.oem", ephemeris_to_oem([obj.ephemeris], step_s=60.0))
    (folder / "scenario.toml").write_text(
        f'name = "x"\n[window]\nstart_utc = "{START}"\nduration = "6h"\n'
        + "".join(f'[[objects]]\nname = "{n}"\nhbr_m = 1.0\n[objects.orbit]\nsource = "file"\n'
                  f'path = "{n}.oem"\n' for n in ("ALPHA", "BRAVO")))
    from fake_scenario import _circular

    newer = _circular("ALPHA", 3396.19 + 900.0, 1, 8.0e8 + 3600.0)  # a different, higher orbit
    delivery = tmp_path / "delivery" / "ALPHA.oem"
    delivery.parent.mkdir()
    write_oem(delivery, ephemeris_to_oem([newer], step_s=60.0))
    w = launch([str(folder)], show=False, planning=True)
    try:
        loaded, screened = [], []
        w.scenarioLoaded.connect(lambda: loaded.append(True))
        w.screeningFinished.connect(lambda: screened.append("screened"))
        w.controller.loadFailed.connect(lambda m, d: screened.append(m))
        w.controller.screeningFailed.connect(lambda m, d: screened.append(m))
        _wait(qapp, loaded)
        _wait(qapp, screened)  # the first file's screening, before the drop
        screened.clear()
        w.controller.ask_duplicate = lambda new, existing: "replace"  # the user's answer to "same object twice"
        w.controller.open([str(delivery)], merge=True)  # what dropping the file does
        _wait(qapp, screened)
        assert screened == ["screened"], screened
        shown = {o.name: o.ephemeris for o in w.scenario.objects}
        assert w.maneuver_panel.save(folder=str(folder))
    finally:
        shutdown_window(w)
    again = load_scenario([folder])
    t = np.linspace(8.0e8 + 60.0, 8.0e8 + 5 * 3600.0, 25)
    for name in ("ALPHA", "BRAVO"):
        assert np.max(np.abs(again.object(name).ephemeris.state(t) - shown[name].state(t))) < 1e-9, name
    r = np.linalg.norm(again.object("ALPHA").ephemeris.state(t)[:, :3], axis=1)
    assert np.allclose(r, 3396.19 + 900.0, atol=1e-3)  # the newer delivery, not the first file
