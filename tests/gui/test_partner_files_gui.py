"""Partner files in the GUI (issue 11): a refused file leaves no "Loading…" behind and names file:line:
keyword; a CDM becomes a close-approach row (source CDM, its own Pc beside the recomputed one) with its
objects drawn at TCA; the same object from another file is asked about; objects whose coverage misses the
window are listed as not screened."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import fake_loader, make_scenario  # noqa: E402

from marsview.cli import main  # noqa: E402
from marsview.core.orbits import state_from_peri_apo  # noqa: E402
from marsview.core.time import utc_to_tdb_s  # noqa: E402
from marsview.core.twobody import TwoBodyEphemeris  # noqa: E402
from marsview.io.oem import write_oem  # noqa: E402
from marsview.io.oem_convert import ephemeris_to_oem  # noqa: E402
from marsview.io.opm import build_opm, write_opm  # noqa: E402


def _wait(qapp, cond, timeout=60.0):
    deadline = time.time() + timeout
    while not cond() and time.time() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    return cond()


@pytest.fixture(scope="module")
def window(window_factory):
    return window_factory(fake_loader)


def test_refused_file_clears_loading_and_a_later_success_clears_the_error(window, qapp, tmp_path):
    opm = tmp_path / "geo.opm"
    write_opm(opm, build_opm("EUTELSAT W4", "2000-028A", "2025-05-08T00:00:00",
                             [6655.99, -40218.58, -82.92, 3.1155, 0.47, -0.0012], center_name="EARTH",
                             ref_frame="ICRF"))
    assert _wait(qapp, lambda: window.globe.scene.overlay_lines.get("screening"))
    count_line = window.globe.scene.overlay_lines["screening"]
    window.controller.open([str(opm)], merge=True)
    assert window.statusBar().currentMessage().startswith("Loading")
    assert _wait(qapp, lambda: window.last_error is not None)
    line = next(i for i, ln in enumerate(opm.read_text().splitlines(), 1) if ln.startswith("CENTER_NAME"))
    assert window.last_error[0] == (f"Could not load: {opm}:{line}: CENTER_NAME: centre 'EARTH' cannot be used: "
                                    "marsview needs Mars-centred states (MARS or MARS BARYCENTER)")
    assert "Loading" not in window.statusBar().currentMessage()
    assert window.errorLabel.text().startswith("Could not load")
    assert window.globe.scene.overlay_lines["screening"] == count_line  # a refused file changes nothing
    n = len(window.screenings)
    window.controller.set_scenario(make_scenario())
    assert _wait(qapp, lambda: len(window.screenings) > n)
    assert window.last_error is None and window.errorLabel.text() == ""


def test_cdm_becomes_a_row_with_its_objects_drawn(window, qapp, tmp_path, capsys):
    # a Mars-centred CDM of the test scenario's designed encounter, written by marsview screen
    paths = []
    for obj in make_scenario().objects[:2]:
        paths.append(tmp_path / f"{obj.name}.oem")
        write_oem(paths[-1], ephemeris_to_oem([obj.ephemeris], step_s=60.0))
    assert main(["screen", *map(str, paths), "--cdm-dir", str(tmp_path / "cdm"), "--format", "json"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    cdm = next((tmp_path / "cdm").glob("*.cdm"))
    n = len(window.screenings)
    window.controller.open([str(cdm)], merge=True)
    assert _wait(qapp, lambda: len(window.screenings) > n)
    table = window.table
    rows = [table.event_at(r) for r in range(table.proxy.rowCount())]
    cdm_rows = [r for r in range(len(rows)) if getattr(rows[r], "source", None) == "CDM"]
    assert len(cdm_rows) == 1
    row = cdm_rows[0]
    model = table.model()
    from marsview.gui.panels.conjunction_table import TABLE_COLUMNS, format_pc

    pc_col = next(c for c, col in enumerate(TABLE_COLUMNS) if col.header == "Pc")
    assert model.index(row, 0).data() in ("ALPHA – BRAVO (CDM)", "ALPHA – BRAVO (CDM ⚑)")
    pc_text = model.index(row, pc_col).data()
    assert pc_text == f"{format_pc(rows[row].pc)} (file {format_pc(rows[row].cdm_pc)})"
    # its two objects are drawn (and not screened against the fleet: still one screening row for the pair)
    assert {"ALPHA [CDM]", "BRAVO [CDM]"} <= set(window.globe.scene.entries)
    tca = rows[row].tca_tdb_s
    event = min(events, key=lambda ev: abs(utc_to_tdb_s(ev["tca_utc"]) - tca))   # the screened event it came from
    assert tca == pytest.approx(utc_to_tdb_s(event["tca_utc"]), abs=1e-3)
    assert float(model.index(row, 2).data()) == pytest.approx(event["miss_km"], abs=1e-3)
    at_tca = [e for e in rows if abs(e.tca_tdb_s - tca) < 1.0]
    assert sorted(getattr(e, "source", "screening") for e in at_tca) == ["CDM", "screening"]
    assert all({e.object1, e.object2} == {"ALPHA", "BRAVO"} for e in at_tca)
    table.selectRow(row)
    assert window.clock.tdb_s == pytest.approx(tca, abs=1e-2)
    assert window.globe.scene.encounter.event is not None


def test_same_object_is_asked_about_and_old_files_are_named_not_screened(window, qapp, tmp_path):
    asked = []
    window.controller.ask_duplicate = lambda new, old: (asked.append((new.name, old.name)), "keep")[1]
    t0 = 6.3e8   # 2019: outside the scenario's window
    eph = TwoBodyEphemeris("alpha", state_from_peri_apo(300, 400, 93, 0, 0, 0), t0, t0, t0 + 7200.0)
    path = tmp_path / "alpha.oem"
    write_oem(path, ephemeris_to_oem([eph], step_s=120.0))
    n = len(window.screenings)
    window.controller.open([str(path)], merge=True)
    assert _wait(qapp, lambda: len(window.screenings) > n)
    assert asked == [("alpha", "ALPHA")]
    assert "alpha" in window.scenario.names()          # kept both: same name up to case, not the same entry
    colours = [str(o.color).upper() for o in window.scenario.objects]
    assert len(set(colours)) == len(colours), colours  # added objects do not take the fleet's colours again
    text = window.info.toPlainText()
    assert "Not screened" in text and "alpha: not screened: its coverage [2019-" in text
    assert "not screened (no coverage in the window): alpha" in window.statusBar().currentMessage()
