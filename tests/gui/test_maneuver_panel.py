"""The maneuver panel through its real widgets: dv updates the targeted miss, fast drags end on the last value,
a new close approach is flagged, the exported OEM re-imports to the planned orbit, an unsaved plan survives
closing, and the main window shows the planned table and emits screeningFinished."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QPushButton

from marsview.core.dynamics import ForceModel
from marsview.core.maneuvers import ImpulsiveBurn
from marsview.core.orbits import state_from_peri_apo
from marsview.core.planning import planned_ephemeris, refine_encounter
from marsview.core.screening import ScreeningSettings, screen
from marsview.core.twobody import TwoBodyEphemeris
from marsview.gui.controller import screening_targets
from marsview.gui.planning.maneuver_panel import ManeuverPanel, attach_close_autosave
from marsview.model.scenario import Scenario, ScenarioObject

T0 = 8.0e8
SPAN = 0.8 * 86400.0
TCA = T0 + 0.6 * SPAN
T_THIRD = T0 + 0.75 * SPAN
BURN_DV = 1.0  # m/s in-track: what creates the close approach with THIRD
BURN_AT = T0 + 0.1 * SPAN
TIMEOUT_MS = 60_000


def _passing(sc, t, offset_km, name):
    """An object passing SC at t, offset along SC's orbit normal, relative velocity normal to the offset."""
    s = sc.state(t)[0].copy()
    r, v = s[:3], s[3:]
    n = np.cross(r, v) / np.linalg.norm(np.cross(r, v))
    s[:3] = r + offset_km * n
    s[3:] = 0.9 * v + 0.4 * np.linalg.norm(v) * r / np.linalg.norm(r)
    return TwoBodyEphemeris(name, s, t, T0, T0 + SPAN)


def make_scenario(path=None) -> Scenario:
    sc = TwoBodyEphemeris("SC", state_from_peri_apo(303.81, 303.81, 93.0, 10.0, 0.0, 0.0), T0, T0, T0 + SPAN)
    other = _passing(sc, TCA, 2.0, "OTHER")
    burned = planned_ephemeris(sc, [ImpulsiveBurn(BURN_AT, (0.0, BURN_DV, 0.0))], ForceModel.two_body())
    third = _passing(burned, T_THIRD, 1.5, "THIRD")  # close to the planned orbit only
    objs = [ScenarioObject("SC", "spacecraft", sc, 5.0, "#E69F00", mass_kg=1000.0),
            ScenarioObject("OTHER", "spacecraft", other, 5.0, "#56B4E9", mass_kg=500.0),
            ScenarioObject("THIRD", "inactive", third, 2.0, "#009E73")]
    scenario = Scenario("planning test", objs, window_start_tdb_s=T0, window_duration_s=SPAN, threshold_km=10.0)
    scenario.path = None if path is None else str(path)
    return scenario


def baseline_for(scenario):
    return screen(screening_targets(scenario), T0, T0 + SPAN, ScreeningSettings(threshold_km=10.0))


@pytest.fixture
def setup(qtbot, tmp_path, monkeypatch, request):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = ManeuverPanel(window, use_process=getattr(request, "param", False))
    window.addDockWidget(Qt.RightDockWidgetArea, panel)
    panel.force_model.setCurrentText("two-body")  # fast arcs; the physics of the others is tested in core
    scenario = make_scenario(tmp_path)
    panel.set_scenario(scenario)
    panel.set_baseline(baseline_for(scenario))
    window.show()
    yield window, panel, scenario
    panel.shutdown()


def _select_encounter(panel, other):
    for i in range(panel.encounter.count()):
        if panel.encounter.itemData(i)[0] == other:
            panel.encounter.setCurrentIndex(i)
            return
    raise AssertionError(f"no encounter with {other}")


def _wait_for(qtbot, panel, predicate):
    qtbot.waitUntil(lambda: bool(panel.outcome is not None and predicate(panel.outcome) and not panel.worker.busy),
                    timeout=TIMEOUT_MS)


def test_in_track_dv_updates_the_targeted_miss(qtbot, setup):
    window, panel, scenario = setup
    assert panel.target.currentText() == "SC"
    _select_encounter(panel, "OTHER")
    panel.set_burn(BURN_AT, (0.0, 0.0, 0.0))
    qtbot.waitUntil(lambda: panel.outcome is not None, timeout=TIMEOUT_MS)
    before = panel.outcome.targeted_after[1]
    assert before == pytest.approx(2.0, abs=0.01)
    window.findChild(type(panel.dv_in_track), "dvInTrack").setValue(0.05)
    _wait_for(qtbot, panel, lambda o: o.request.burns and o.request.burns[0].dv_mps[1] == 0.05)
    after = panel.outcome.targeted_after[1]
    exact = planned_ephemeris(scenario.object("SC").ephemeris, [ImpulsiveBurn(BURN_AT, (0, 0.05, 0))],
                              ForceModel.two_body())
    assert after == pytest.approx(refine_encounter(exact, scenario.object("OTHER").ephemeris, TCA)[1], abs=0.01)
    assert abs(after - before) > 1.0
    assert f"{after:.3f} km" in panel.before_after.text()
    assert panel.total_dv.text() == "0.0500 m/s"
    assert "kg" in panel.propellant.text()


@pytest.mark.parametrize("setup", [False, True], ids=["thread", "process"], indirect=True)
def test_fast_drag_ends_with_the_last_value(qtbot, setup):
    _, panel, _ = setup
    panel.preview = True  # the path without compiled dynamics: previews while dragging, then the exact result
    _select_encounter(panel, "OTHER")
    shown = []
    modes = []
    panel.outcomeShown.connect(lambda o: shown.append(o.request.burns[0].dv_mps[1] if o.request.burns else 0.0))
    panel.outcomeShown.connect(lambda o: modes.append(o.mode))
    values = [0.01 * k for k in range(1, 16)]
    for v in values:  # faster than the worker: most requests are superseded
        panel.dv_in_track.setValue(v)
        qtbot.wait(5)
    _wait_for(qtbot, panel, lambda o: o.mode == "exact")
    assert shown[-1] == values[-1] and "preview" in modes
    assert all(v in values for v in shown) and len(shown) < len(values)  # superseded requests never shown
    # the value shown last is the last one asked for, preview and exact agree on it
    assert panel.outcome.request.burns[0].dv_mps[1] == values[-1]


def test_burn_creating_a_new_close_approach_is_flagged(qtbot, setup):
    _, panel, _ = setup
    assert "THIRD" not in panel.new_flag.text()
    panel.set_burn(BURN_AT, (0.0, BURN_DV, 0.0))
    _wait_for(qtbot, panel, lambda o: o.request.burns and o.mode == "exact")
    assert [c.other for c in panel.outcome.new_events] == ["THIRD"]
    assert "NEW close approach: THIRD" in panel.new_flag.text()
    rows = [panel.comparison.item(r, 0).text() for r in range(panel.comparison.rowCount())]
    assert "THIRD (NEW)" in rows


def test_exported_oem_reimports_to_the_planned_orbit(qtbot, setup, tmp_path):
    from marsview.io.oem import read_oem
    from marsview.io.oem_convert import oem_to_ephemerides

    _, panel, scenario = setup
    panel.set_burn(BURN_AT, (0.02, 0.3, -0.01))
    _wait_for(qtbot, panel, lambda o: o.mode == "exact")
    path = tmp_path / "planned.oem"
    panel.export("oem", path)
    (back,) = oem_to_ephemerides(read_oem(path))
    exact = planned_ephemeris(scenario.object("SC").ephemeris, [ImpulsiveBurn(BURN_AT, (0.02, 0.3, -0.01))],
                              ForceModel.two_body())
    t = np.linspace(T0 + 1.0, T0 + SPAN - 1.0, 500)
    assert np.abs(back.state(t)[:, :3] - exact.state(t)[:, :3]).max() < 1e-3
    assert len(read_oem(path).segments) == 2


def test_closing_with_an_unsaved_plan_keeps_it(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    scenario = make_scenario(tmp_path)
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = ManeuverPanel(window)
    attach_close_autosave(panel, window)
    panel.set_scenario(scenario)
    panel.dv_in_track.setValue(0.123)
    assert panel.plan.dirty
    window.close()
    assert (tmp_path / ".plan.autosave.toml").exists()
    again = ManeuverPanel()
    qtbot.addWidget(again)
    asked = []
    again.restore_question = lambda text, restore, discard: (asked.append(text), restore())
    again.set_scenario(make_scenario(tmp_path))
    assert len(asked) == 1 and "SC (0.1230 m/s)" in asked[0]  # asked first, never applied silently
    assert again.dv_in_track.value() == pytest.approx(0.123)
    assert "unsaved" in again.status.text()
    # an explicit save puts the plan in scenario.toml ([[maneuvers]], atomic) and drops the autosave
    again.save()
    assert (tmp_path / "scenario.toml").exists() and not (tmp_path / ".plan.autosave.toml").exists()
    again.shutdown()
    from marsview.model.loading import load_scenario

    reopened = load_scenario([str(tmp_path)])
    (burn,) = reopened.maneuvers["SC"]
    assert burn.dv_mps == (0.0, 0.123, 0.0) and abs(burn.epoch_tdb_s - again.plan.burns["SC"][0].epoch_tdb_s) < 1e-5
    third = ManeuverPanel()
    qtbot.addWidget(third)
    third.set_scenario(reopened)
    assert third.dv_in_track.value() == pytest.approx(0.123) and not third.plan.dirty
    third.shutdown()


def test_an_autosave_is_offered_only_for_the_same_data_and_only_applied_on_yes(qtbot, tmp_path, monkeypatch):
    from marsview.model.plan import autosave_path, scenario_key

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    first = make_scenario(None)  # no folder: the autosave goes to the state folder, keyed by the data
    panel = ManeuverPanel()
    qtbot.addWidget(panel)
    panel.set_scenario(first)
    panel.dv_in_track.setValue(0.2)
    saved = panel.autosave()
    assert saved == autosave_path(None, scenario_key(first)) and saved.exists()
    panel.shutdown()
    # other data (one object fewer, as when opening MRO.oem + MAVEN.oem after the default scenario)
    other = make_scenario(None)
    other.objects = [o for o in other.objects if o.name != "THIRD"]
    asked = []
    again = ManeuverPanel()
    qtbot.addWidget(again)
    again.restore_question = lambda text, restore, discard: asked.append(text)
    again.set_scenario(other)
    assert asked == [] and again.dv_in_track.value() == 0.0 and not again.plan.burns
    # the same data: asked; "no" (neither callback) leaves the delivery alone
    again.set_scenario(make_scenario(None))
    assert len(asked) == 1 and again.dv_in_track.value() == 0.0 and not again.plan.burns
    # "discard" removes the autosave: not asked again
    again.restore_question = lambda text, restore, discard: (asked.append(text), discard())
    again.set_scenario(make_scenario(None))
    assert len(asked) == 2 and not saved.exists()
    again.set_scenario(make_scenario(None))
    assert len(asked) == 2
    again.shutdown()


def test_main_window_shows_the_planned_table(qtbot, tmp_path, monkeypatch):
    from marsview.gui.main_window import MainWindow

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    scenario = make_scenario(tmp_path)
    window = MainWindow(scenario=scenario, planning=True)
    qtbot.addWidget(window)
    panel = window.maneuver_panel
    panel.force_model.setCurrentText("two-body")
    assert window.findChild(ManeuverPanel, "maneuverPanel") is panel
    window.show()
    qtbot.waitUntil(lambda: panel.baseline is not None, timeout=TIMEOUT_MS)
    assert not any("THIRD" in (e.object1, e.object2) for e in window.table.source_model.events)
    with qtbot.waitSignal(window.screeningFinished, timeout=TIMEOUT_MS):
        panel.set_burn(BURN_AT, (0.0, BURN_DV, 0.0))
    qtbot.waitUntil(lambda: any("THIRD" in (e.object1, e.object2) for e in window.table.source_model.events),
                    timeout=TIMEOUT_MS)
    window.close()
    assert not panel.worker.busy


def test_worker_drops_stale_results_and_reports_errors(qtbot):
    import threading

    from marsview.core.jobs import Call
    from marsview.gui.workers import JobBridge

    worker = JobBridge()
    got, failed = [], []
    worker.finished.connect(lambda rid, result, ms: got.append(result))
    worker.failed.connect(lambda rid, message, details: failed.append((message, details)))
    release = threading.Event()

    def slow(payload, cancel):  # ignores its cancel flag on purpose: the result must still be dropped
        release.wait(5.0)
        return payload

    worker.submit(Call(slow, "old"))
    worker.submit(Call(slow, "skipped"))  # superseded before it starts: never runs
    newest = worker.submit(lambda cancel: "new")
    release.set()
    qtbot.waitUntil(lambda: bool(got), timeout=10_000)
    qtbot.wait(100)
    assert got == ["new"] and worker.latest_id == newest

    def broken(cancel):
        raise ValueError("bad burn epoch")

    worker.submit(broken)
    qtbot.waitUntil(lambda: bool(failed), timeout=10_000)
    assert failed[0][0] == "ValueError: bad burn epoch" and "Traceback" in failed[0][1]
    worker.shutdown()


@pytest.mark.parametrize("setup", [False, True], ids=["thread", "process"], indirect=True)
def test_trade_space_progressive_click_and_solve(qtbot, setup):
    from marsview.gui.planning.trade_space import TradeSpacePanel

    window, panel, scenario = setup
    trade = TradeSpacePanel(panel, window)
    window.addDockWidget(Qt.RightDockWidgetArea, trade)
    _select_encounter(panel, "OTHER")
    trade.cells.setValue(6)
    columns = []
    trade.columnReady.connect(lambda item: columns.append(item[1]))
    with qtbot.waitSignal(trade.finished, timeout=TIMEOUT_MS) as done:
        trade.findChild(QPushButton, "tradeRun").click()
    qtbot.waitUntil(lambda: len(columns) == 6, timeout=TIMEOUT_MS)
    assert columns == [5, 4, 3, 2, 1, 0]  # drawn as they arrive, latest burn first
    result = done.args[0]
    assert np.all(np.isfinite(result.miss_km))
    assert trade.progress.value() == 1000
    # cell (k, l) sets that burn in the panel; its exact miss matches the map to 1 %
    k, l = 1, 5
    trade.choose(k, l)
    epoch, dv = trade.cell_burn(k, l)
    assert panel.dv_in_track.value() == pytest.approx(dv[1]) and dv[1] == pytest.approx(1.0)
    _wait_for(qtbot, panel, lambda o: o.mode == "exact" and o.request.burns[0].dv_mps == dv)
    assert panel.outcome.targeted_after[1] == pytest.approx(result.miss_km[k, l], rel=0.01)
    # the solver: smallest in-track dv giving 5 km at the panel's burn time, checked exactly
    trade.target_miss.setValue(5.0)
    with qtbot.waitSignal(trade.solved, timeout=TIMEOUT_MS) as solved:
        trade.solve()
    sol = solved.args[0]
    assert sol.predicted_miss_km == pytest.approx(5.0, abs=0.01)
    # the spin boxes keep 0.1 mm/s: the burn the panel checks is the solution to that resolution
    _wait_for(qtbot, panel, lambda o: o.mode == "exact"
              and np.allclose(o.request.burns[0].dv_mps, sol.dv_mps, rtol=0, atol=6e-5))
    assert panel.outcome.targeted_after[1] == pytest.approx(5.0, rel=0.02)
    qtbot.waitUntil(lambda: "exact re-screen" in trade.status.text(), timeout=TIMEOUT_MS)  # promise vs check shown
    trade.cells.setValue(200)
    trade.start()
    trade.cancel()
    qtbot.wait(300)
    assert trade.status.text() == "cancelled"
    trade.shutdown()


def test_export_spk_and_opm_from_the_panel(qtbot, setup, tmp_path):
    from marsview.io.opm import read_opm

    _, panel, scenario = setup
    panel.set_burn_time(BURN_AT)
    panel.dv_in_track.setValue(0.25)
    _wait_for(qtbot, panel, lambda o: bool(o.request.burns))
    status = panel.export("spk", tmp_path / "plan.bsp")
    assert "-999" in status and (tmp_path / "plan.bsp").stat().st_size > 0
    panel.export("opm", tmp_path / "plan.opm")
    (man,) = read_opm(tmp_path / "plan.opm").maneuvers
    assert man.epoch_tdb_s == pytest.approx(BURN_AT, abs=1e-3)
    assert np.allclose(man.local_dv_mps()[1], (0.0, 0.25, 0.0), atol=1e-9)


def test_finite_burn_option_delivers_the_same_dv(qtbot, setup):
    _, panel, scenario = setup
    _select_encounter(panel, "OTHER")
    panel.set_burn(BURN_AT, (0.0, 0.05, 0.0))
    _wait_for(qtbot, panel, lambda o: o.mode == "exact")
    impulsive_miss = panel.outcome.targeted_after[1]
    panel.thrust.setValue(1.0)  # 1 N on 1000 kg: 0.05 m/s takes ~50 s, ~0.8 % of the orbit
    _wait_for(qtbot, panel, lambda o: o.mode == "exact" and o.request.burns[0].is_finite)
    burn = panel.outcome.request.burns[0]
    assert burn.duration_s == pytest.approx(50.0, rel=0.01)
    assert burn.epoch_tdb_s + burn.duration_s / 2 == pytest.approx(BURN_AT, abs=1e-3)  # centred on the burn time
    assert burn.dv_magnitude_mps == pytest.approx(0.05, rel=1e-9)
    # a short finite burn is nearly the impulse: the targeted miss agrees to ~1 %
    assert panel.outcome.targeted_after[1] == pytest.approx(impulsive_miss, rel=0.01)
    assert panel.total_dv.text() == "0.0500 m/s"


def test_the_planner_writes_pc_as_the_close_approach_table_does():
    """One event, one Pc text: 7.41e-47 in the planner beside '< 1e-10' in the table was two answers."""
    from types import SimpleNamespace

    from marsview.gui.panels.conjunction_table import format_pc
    from marsview.gui.planning.maneuver_panel import _pc

    for pc in (7.41e-47, 0.0, 9.99e-11, 1e-10, 4.04e-9, 0.77, None):
        assert _pc(SimpleNamespace(pc=pc)) == format_pc(pc)
    assert _pc(SimpleNamespace(pc=7.41e-47)) == "< 1e-10"
