"""`marsview watch --once` driven through three deliveries (the second with a bad file): the change lines,
the exit codes, the history on disk, a restart that does not reprocess, and `trend` on the history."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from marsview.cli import main
from marsview.model.deliveries import DeliveryWatcher, compare_events

sys.path.insert(0, str(Path(__file__).parent))
from delivery_fixtures import NODE_EPOCH, T0, circular, expected_miss_km, write_object  # noqa: E402

THRESHOLD = "5"  # km: lag 1.0 s -> 2.9 km and 0.6 s -> 1.7 km are inside, lag 2.0 s -> 5.8 km is not


def deliver(folder, name, lag_s, start, stop, object_id="-92"):
    """BRAVO (as NAME) with the given node lag, written as FOLDER/<name>.oem and aged past the 2 s rule."""
    path = write_object(folder, circular(name, 60.0, NODE_EPOCH + lag_s, start, stop), start, stop, object_id)
    return age(path)


def age(path, seconds=10.0):
    t = time.time() - seconds
    os.utime(path, (t, t))
    return path


def watch(capsys, folder, *extra):
    rc = main(["watch", "--once", "--threshold-km", THRESHOLD, "--duration", "1d", *extra, str(folder)])
    out, err = capsys.readouterr()
    return rc, out.splitlines(), err


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_watch_once_through_three_deliveries(tmp_path, capsys):
    folder = tmp_path / "inbox"
    folder.mkdir()
    span1 = (T0, T0 + 8 * 3600.0)
    for eph, oid in ((circular("ALPHA", 0.0, NODE_EPOCH, *span1), "-91"),
                     (circular("CHARLIE", 10.0, T0, *span1, 9000.0), "-93")):
        age(write_object(folder, eph, *span1, oid))
    deliver(folder, "BRAVO", 1.0, *span1)

    # delivery 1: everything is new -> exit 3
    rc, lines, err = watch(capsys, folder)
    assert rc == 3, err
    assert lines[0].startswith("DELIVERY delivery-001 ") and "alpha.oem, charlie.oem, bravo.oem" in lines[0]  # by arrival
    new = [ln for ln in lines if ln.startswith("NEW ")]
    assert len(new) == len(lines) - 1 >= 7  # the node crossings every half period over 8 h
    assert all("ALPHA / BRAVO" in ln and f"miss {expected_miss_km(1.0):.3f} km" in ln for ln in new)

    history = json.loads((folder / ".marsview" / "history.json").read_text())
    assert history["items"]["bravo.oem"]["sha256"] == sha(folder / "bravo.oem")
    assert history["items"]["bravo.oem"]["status"] == "applied"
    (d1,) = history["deliveries"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d1["received_utc"])
    assert len(d1["events"]) == len(new)
    assert {e["object2"] for e in d1["events"]} == {"BRAVO"}

    # delivery 2: BRAVO re-delivered one hour later, nudged closer, under another name but the same NAIF
    # ID; plus a bad file, which is set aside with its file:line: keyword error
    span2 = (T0 + 3600.0, T0 + 9 * 3600.0)
    deliver(folder, "BRAVO-SAT", 0.6, *span2)
    bad = folder / "delta.oem"
    lines_ok = (folder / "bravo-sat.oem").read_text().splitlines()
    lines_ok[29] = lines_ok[29].replace(lines_ok[29].split()[2], "1.2.3")
    bad.write_text("\n".join(lines_ok).replace("BRAVO-SAT", "DELTA").replace("-92", "-94") + "\n")
    age(bad)
    rc, lines, err = watch(capsys, folder)
    assert rc == 3, err  # closer: worse
    assert lines[0].startswith("DELIVERY delivery-002 ") and "bravo-sat.oem" in lines[0]
    assert "delta.oem" not in lines[0]
    rejected = [ln for ln in lines if ln.startswith("REJECTED")]
    assert len(rejected) == 1 and re.search(r"delta\.oem:30: Y: ", rejected[0])
    assert "delta.oem:30: Y:" in err and "Traceback" not in err
    changed = [ln for ln in lines if ln.startswith("CHANGED")]
    assert changed and all(ln.endswith("WORSE") for ln in changed)
    assert all(f"miss {expected_miss_km(1.0):.3f} -> {expected_miss_km(0.6):.3f} km" in ln for ln in changed)
    assert all("TCA -0.2 s" in ln and "ALPHA / BRAVO" in ln for ln in changed)  # half the lag change
    # the crossing before the new window start (T0 + 1 h) left the window: not reported GONE
    assert not [ln for ln in lines if ln.startswith(("GONE", "NEW"))]
    history = json.loads((folder / ".marsview" / "history.json").read_text())
    assert history["items"]["delta.oem"]["status"] == "rejected"
    assert "delta.oem:30: Y:" in history["items"]["delta.oem"]["error"]
    assert [o["name"] for o in history["deliveries"][1]["objects"]] == ["ALPHA", "CHARLIE", "BRAVO"]
    assert history["deliveries"][1]["items"][0]["objects"] == ["BRAVO (as BRAVO-SAT)"]

    # a restart with nothing new (a file touched, same content; the bad file unchanged) -> exit 0, silent
    age(folder / "alpha.oem", 5.0)
    rc, lines, err = watch(capsys, folder)
    assert (rc, lines) == (0, []), err
    assert len(json.loads((folder / ".marsview" / "history.json").read_text())["deliveries"]) == 2

    # delivery 3 (a fresh watcher = a restart): BRAVO moved away beyond the threshold -> GONE, exit 0
    deliver(folder, "BRAVO-V3", 2.0, *span2)
    rc, lines, err = watch(capsys, folder)
    assert rc == 0, err
    gone = [ln for ln in lines[1:]]
    assert gone and all(ln.startswith("GONE ") and "ALPHA / BRAVO" in ln for ln in gone)
    assert all(f"was miss {expected_miss_km(0.6):.3f} km" in ln for ln in gone)
    assert not [ln for ln in lines if "REJECTED" in ln]  # the bad file is not retried until it changes

    # the trend over the watch history follows the encounters across the three deliveries
    rc = main(["trend", "--format", "json", str(folder / ".marsview")])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [d["name"] for d in report["deliveries"]] == ["delivery-001", "delivery-002", "delivery-003"]
    two = [e for e in report["encounters"] if len(e["history"]) == 2]
    assert two and all([h["miss_km"] for h in e["history"]] == pytest.approx(
        [expected_miss_km(1.0), expected_miss_km(0.6)], rel=2e-3) for e in two)


def test_a_file_still_being_written_waits(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    span = (T0, T0 + 8 * 3600.0)
    path = write_object(folder, circular("ALPHA", 0.0, NODE_EPOCH, *span), *span, "-91")
    now = [path.stat().st_mtime + 0.5]
    w = DeliveryWatcher(folder, lambda e: {}, stable_s=2.0, clock=lambda: now[0])
    assert w.scan() == ([], [path])  # written half a second ago
    now[0] += 1.0
    assert w.scan() == ([], [path])
    with open(path, "a") as fh:  # still growing: the clock starts again
        fh.write("COMMENT more\n")
    now[0] = path.stat().st_mtime + 1.0
    assert w.scan() == ([], [path])
    now[0] += 2.5
    assert w.scan() == ([path], [])


def test_change_tolerances():
    def ev(miss, tca, pc):
        return {"object1": "A", "object2": "B", "tca_utc": "x", "tca_tdb_s": tca, "miss_km": miss, "pc": pc,
                "shorter_period_s": 7000.0}

    assert compare_events([ev(2.0, 0.0, 1e-5)], [ev(2.09, 0.5, 1.9e-5)], -1, 1) == []  # all inside tolerance
    (c,) = compare_events([ev(2.0, 0.0, 1e-5)], [ev(1.85, 0.0, 1e-5)], -1, 1)
    assert c.kind == "CHANGED" and c.worse
    (c,) = compare_events([ev(2.0, 0.0, 1e-5)], [ev(2.0, 0.0, 3e-5)], -1, 1)
    assert c.worse
    (c,) = compare_events([ev(2.0, 0.0, 1e-5)], [ev(2.5, 3.0, 1e-6)], -1, 1)
    assert c.kind == "CHANGED" and not c.worse
    kinds = sorted(c.kind for c in compare_events([ev(2.0, 0.0, None)], [ev(2.0, 3000.0, None)], -1, 4000))
    assert kinds == ["GONE", "NEW"]  # 3000 s apart > a quarter of 7000 s: a different encounter


def test_a_delivery_outside_the_others_coverage_is_set_aside(tmp_path, capsys):
    folder = tmp_path / "inbox"
    folder.mkdir()
    span = (T0, T0 + 8 * 3600.0)
    age(write_object(folder, circular("ALPHA", 0.0, NODE_EPOCH, *span), *span, "-91"))
    deliver(folder, "BRAVO", 1.0, *span)
    assert watch(capsys, folder)[0] == 3
    late = (T0 + 20 * 3600.0, T0 + 30 * 3600.0)
    deliver(folder, "BRAVO-LATE", 1.0, *late)
    rc, lines, err = watch(capsys, folder)
    assert rc == 0 and len(lines) == 1 and lines[0].startswith("REJECTED bravo-late.oem: ")
    assert "coverage" in lines[0]
    assert watch(capsys, folder)[1] == []  # not retried
    history = json.loads((folder / ".marsview" / "history.json").read_text())
    assert len(history["deliveries"]) == 1 and history["items"]["bravo-late.oem"]["status"] == "rejected"


def test_a_sub_folder_is_one_item_and_history_can_live_elsewhere(tmp_path, capsys):
    folder, history = tmp_path / "inbox", tmp_path / "hist"
    folder.mkdir()
    span = (T0, T0 + 8 * 3600.0)
    age(write_object(folder, circular("ALPHA", 0.0, NODE_EPOCH, *span), *span, "-91"))
    age(write_object(folder, circular("BRAVO", 60.0, NODE_EPOCH + 1.0, *span), *span, "-92"))
    assert watch(capsys, folder, "--history", str(history))[0] == 3
    assert (history / "history.json").is_file() and not (folder / ".marsview").exists()
    team = folder / "team-b-cycle-2"  # a team delivers a folder: one item, loaded all-or-nothing
    team.mkdir()
    age(write_object(team, circular("BRAVO", 60.0, NODE_EPOCH + 0.6, *span), *span, "-92"))
    age(write_object(team, circular("ECHO", 30.0, T0, *span, 6000.0), *span, "-95"))
    age(team)
    rc, lines, err = watch(capsys, folder, "--history", str(history))
    assert rc == 3, err
    assert lines[0].startswith("DELIVERY delivery-002") and "team-b-cycle-2" in lines[0]
    assert all(ln.startswith("CHANGED") for ln in lines[1:]) and len(lines) > 1
    data = json.loads((history / "history.json").read_text())
    item = data["items"]["team-b-cycle-2"]
    assert item["kind"] == "folder" and item["objects"] == ["BRAVO", "ECHO"]
    assert [o["name"] for o in data["deliveries"][-1]["objects"]] == ["ALPHA", "BRAVO", "ECHO"]
    assert watch(capsys, folder, "--history", str(history))[:2] == (0, [])


def test_an_empty_or_growing_sub_folder_waits(tmp_path):
    folder = tmp_path / "inbox"
    (folder / "cycle-3").mkdir(parents=True)
    age(folder / "cycle-3", 60.0)
    w = DeliveryWatcher(folder, lambda e: {}, stable_s=2.0)
    assert w.scan() == ([], [folder / "cycle-3"])  # created, nothing copied into it yet
    span = (T0, T0 + 8 * 3600.0)
    write_object(folder / "cycle-3", circular("ALPHA", 0.0, NODE_EPOCH, *span), *span, "-91")
    assert w.scan() == ([], [folder / "cycle-3"])  # a file just arrived in it
