"""Issue 17: a scenario save holds exactly the data on screen and is atomic as a whole.

Every test reopens what it saved and compares the states of every object with what was shown. The kill -9
loop saves two different multi-file versions of a scenario in a child process, kills it at random points
(>= 20 times) and checks the folder always loads as one version or the other, complete."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from marsview.core.orbits import state_from_peri_apo
from marsview.core.time import utc_to_tdb_s
from marsview.core.twobody import TwoBodyEphemeris
from marsview.io.errors import ParseError
from marsview.io.scenario import save_scenario
from marsview.model.loading import load_scenario

DAY = 86400.0
EPOCH = utc_to_tdb_s("2024-04-15T00:00:00")
HEAD = """\
name = "fleet"
[window]
start_utc = "2024-04-15T00:00:00"
duration = "6h"
threshold_km = 5.0
"""


def two_body(name, alt_km=400.0, inc=74.0, phase=0.0):
    s0 = np.asarray(state_from_peri_apo(alt_km, alt_km, inc, 0, 0, phase))
    return TwoBodyEphemeris(name, s0, EPOCH, EPOCH, EPOCH + 0.25 * DAY)


def write_oem(path: Path, ephemerides, step_s=60.0):
    from marsview.io.oem import write_oem as _write
    from marsview.io.oem_convert import ephemeris_to_oem

    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, ephemeris_to_oem(list(ephemerides), step_s=step_s))
    return path


def file_object(name, rel, hbr_m=2.0):
    return (f'\n[[objects]]\nname = "{name}"\nhbr_m = {hbr_m}\n[objects.orbit]\nsource = "file"\n'
            f'path = "{rel}"\nobject = "{name}"\n')


def states(sc):
    t = np.linspace(EPOCH + 1.0, EPOCH + 0.25 * DAY - 60.0, 37)
    return {o.name: o.ephemeris.state(t) for o in sc.objects}


def assert_same_states(a, b, tol_km=1e-9):
    sa, sb = states(a), states(b)
    assert sorted(sa) == sorted(sb)
    for name in sa:
        assert np.max(np.abs(sa[name] - sb[name])) <= tol_km, name


def test_files_with_the_same_name_stay_apart(tmp_path):
    """x/fleet.oem holds A, y/fleet.oem holds B: saved, each keeps its own orbit."""
    sc_dir = tmp_path / "sc"
    write_oem(sc_dir / "x" / "fleet.oem", [two_body("A", 400.0)])
    write_oem(sc_dir / "y" / "fleet.oem", [two_body("B", 2400.0, 20.0)])
    (sc_dir / "scenario.toml").write_text(HEAD + file_object("A", "x/fleet.oem") + file_object("B", "y/fleet.oem"))
    shown = load_scenario([sc_dir])
    save_scenario(shown, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out" / "data-v1").iterdir())
    assert names == ["fleet-2.oem", "fleet.oem"]
    again = load_scenario([tmp_path / "out"])
    assert_same_states(again, shown)
    r = {o.name: np.linalg.norm(o.ephemeris.state([EPOCH])[0, :3]) for o in again.objects}
    assert abs(r["B"] - r["A"]) > 1900.0  # B kept its own, higher orbit


def test_a_newer_delivery_dropped_in_is_what_gets_saved(tmp_path):
    """The GUI's merge replaces A's ephemeris; Save plan (into the scenario's own folder) must save the newer
    file, not copy the old one back."""
    sc_dir = tmp_path / "sc"
    write_oem(sc_dir / "a.oem", [two_body("A", 400.0)])
    write_oem(sc_dir / "b.oem", [two_body("B", 900.0)])
    (sc_dir / "scenario.toml").write_text(HEAD + file_object("A", "a.oem") + file_object("B", "b.oem"))
    shown = load_scenario([sc_dir])
    newer = load_scenario([write_oem(tmp_path / "delivery" / "a.oem", [two_body("A", 400.0, phase=40.0)])])
    shown.replace_ephemeris("A", newer.object("A").ephemeris)  # what controller._merge does
    shown.object("B").hbr_m = 7.5
    save_scenario(shown, sc_dir)
    again = load_scenario([sc_dir])
    assert_same_states(again, shown)
    assert again.object("B").hbr_m == 7.5
    shown.object("B").hbr_m = 8.5  # saved again from the same screen (the GUI does not reload after a save)
    save_scenario(shown, sc_dir)
    again = load_scenario([sc_dir])
    assert_same_states(again, shown)
    assert again.object("B").hbr_m == 8.5
    moved = np.linalg.norm(again.object("A").ephemeris.state([EPOCH])[0, :3]
                           - load_scenario([sc_dir / "a.oem"]).object("A").ephemeris.state([EPOCH])[0, :3])
    assert moved > 1000.0  # the newer delivery, not the file the scenario first named
    # saved again and again in place: always the same states, one version folder, no leftovers
    for _ in range(3):
        save_scenario(load_scenario([sc_dir]), sc_dir)
        assert_same_states(load_scenario([sc_dir]), shown)
    versions = sorted(p.name for p in sc_dir.iterdir() if p.name.startswith("data-v"))
    assert versions == ["data-v5"] and not list(sc_dir.glob(".*"))


def test_objects_built_in_the_gui_and_elements_round_trip(tmp_path):
    from marsview.model import ScenarioObject

    sc_dir = tmp_path / "sc"
    write_oem(sc_dir / "a.oem", [two_body("A", 400.0)])
    (sc_dir / "scenario.toml").write_text(HEAD + file_object("A", "a.oem") + textwrap.dedent("""
        [[objects]]
        name = "Moon"
        kind = "moon"
        hbr_m = 15000.0
        [objects.orbit]
        source = "moon"
        body = "Phobos"
        """))
    shown = load_scenario([sc_dir])
    shown.add_object(ScenarioObject("G", "spacecraft", two_body("G", 600.0), hbr_m=1.0))
    save_scenario(shown, tmp_path / "out")
    assert_same_states(load_scenario([tmp_path / "out"]), shown, tol_km=1e-5)  # G: OEM written at 60 s


def test_a_file_changed_after_saving_is_refused_by_its_hash(tmp_path):
    sc_dir = tmp_path / "sc"
    write_oem(sc_dir / "a.oem", [two_body("A", 400.0)])
    (sc_dir / "scenario.toml").write_text(HEAD + file_object("A", "a.oem"))
    save_scenario(load_scenario([sc_dir]), tmp_path / "out")
    saved = tmp_path / "out" / "data-v1" / "a.oem"
    text = saved.read_text()
    saved.write_text(text[: len(text) // 2 + 1])  # e.g. an incomplete copy
    with pytest.raises(ParseError) as err:
        load_scenario([tmp_path / "out"])
    assert err.value.keyword == "sha256" and "a.oem" in err.value.message


def test_stale_temporaries_are_removed_on_the_next_load(tmp_path):
    sc_dir = tmp_path / "sc"
    write_oem(sc_dir / "a.oem", [two_body("A", 400.0)])
    (sc_dir / "scenario.toml").write_text(HEAD + file_object("A", "a.oem"))
    for name in (".scenario.toml.abc123de.tmp", ".a.oem.x1_b2c3d.tmp", ".users-own.tmp"):
        (sc_dir / name).write_text("half")
    (sc_dir / ".data-v7.tmp").mkdir()
    (sc_dir / ".data-v7.tmp" / "a.oem").write_text("half")
    load_scenario([sc_dir])
    assert sorted(p.name for p in sc_dir.iterdir()) == [".users-own.tmp", "a.oem", "scenario.toml"]


CHILD = """
import sys
from marsview.io.scenario import save_scenario
from marsview.model.loading import load_scenario
versions = [load_scenario([sys.argv[1]]), load_scenario([sys.argv[2]])]
print("ready", flush=True)
k = 0
while True:
    save_scenario(versions[k % 2], sys.argv[3])
    k += 1
"""


@pytest.mark.timeout(600)
def test_kill_9_during_multi_file_saves_leaves_old_or_new(tmp_path):
    """>= 20 kill -9 at random points while a child saves two multi-file versions in turn."""
    signatures = {}
    for label, phase, hbr in (("old", 0.0, 2.0), ("new", 90.0, 3.0)):
        src = tmp_path / label
        body = HEAD
        for i, name in enumerate("ABCD"):
            write_oem(src / f"{name.lower()}.oem", [two_body(name, 400.0 + 300 * i, phase=phase + 10 * i)],
                      step_s=10.0)
            body += file_object(name, f"{name.lower()}.oem", hbr_m=hbr)
        (src / "scenario.toml").write_text(body)
        signatures[label] = states(load_scenario([src]))
    target = tmp_path / "target"
    save_scenario(load_scenario([tmp_path / "old"]), target)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    rng = random.Random(17)
    seen = {"old": 0, "new": 0}
    mid_save = 0  # kills that left a partial save behind (then cleaned by the load)
    for _kill in range(20):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "old"), str(tmp_path / "new"),
                                  str(target)], stdout=subprocess.PIPE, env=env)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.6))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        mid_save += any(p.name.endswith(".tmp") or p.name.startswith("data-v") for p in target.iterdir()
                        if p.name != _referenced(target))
        loaded = load_scenario([target])  # complete and loadable, every time
        got = states(loaded)
        hbrs = {o.hbr_m for o in loaded.objects}
        matches = [label for label, sig in signatures.items()
                   if all(np.array_equal(got[n], sig[n]) for n in sig)]
        assert len(matches) == 1 and hbrs == {2.0 if matches[0] == "old" else 3.0}, (matches, hbrs)
        seen[matches[0]] += 1
    leftovers = [p.name for p in target.iterdir() if p.name.endswith(".tmp")]
    versions = [p.name for p in target.iterdir() if p.name.startswith("data-v")]
    assert not leftovers and len(versions) == 1, (leftovers, versions)
    print(f"kills: {seen}, {mid_save} interrupted a save")


def _referenced(folder):
    text = (folder / "scenario.toml").read_text()
    return text.split('path = "', 1)[1].split("/", 1)[0]
