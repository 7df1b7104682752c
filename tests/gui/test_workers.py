"""JobBridge (gui.workers): the newest request wins, older results are dropped, errors reach the GUI thread with
their traceback, progress arrives for the newest request, shutdown cancels and joins."""

from __future__ import annotations

import threading
import time

from marsview.gui.workers import JobBridge


def test_a_newer_request_supersedes_and_cancels_the_older(qtbot):
    lane = JobBridge("test")
    release = threading.Event()
    seen_cancel = []

    def slow(cancel):
        release.wait(5)
        seen_cancel.append(cancel())
        return "old"

    results = []
    lane.finished.connect(lambda rid, r: results.append((rid, r)))
    first = lane.submit(slow)
    with qtbot.waitSignal(lane.finished, timeout=5000):
        second = lane.submit(lambda cancel: "new")
        release.set()
    qtbot.wait(100)
    assert results == [(second, "new")] and second > first
    assert seen_cancel == [True] or seen_cancel == []  # cancelled before or while running
    assert lane.shutdown(5.0)


def test_worker_exceptions_reach_the_gui_thread(qtbot):
    lane = JobBridge("test")
    errors = []
    lane.failed.connect(lambda rid, msg, details: errors.append((threading.current_thread(), msg, details)))

    def boom(cancel):
        raise ValueError("bad.oem:3: EPOCH: not a date")

    with qtbot.waitSignal(lane.failed, timeout=5000):
        lane.submit(boom)
    thread, msg, details = errors[0]
    assert thread is threading.main_thread()
    assert msg == "ValueError: bad.oem:3: EPOCH: not a date" and "Traceback" in details
    assert lane.shutdown(5.0)


def test_a_parse_error_is_shown_as_its_own_message(qtbot):
    from marsview.io.errors import ParseError

    lane = JobBridge("test")
    errors = []
    lane.failed.connect(lambda rid, msg, details: errors.append(msg))

    def bad_file(cancel):
        raise ParseError("bad.oem", 3, "EPOCH", "not a date")

    with qtbot.waitSignal(lane.failed, timeout=5000):
        lane.submit(bad_file)
    assert errors == ["bad.oem:3: EPOCH: not a date"]
    assert lane.shutdown(5.0)


def test_progress_of_the_newest_request_reaches_the_gui_thread(qtbot):
    lane = JobBridge("test")
    seen = []
    lane.progress.connect(lambda rid, f: seen.append((rid, f, threading.current_thread())))

    def steps(cancel):
        for k in range(1, 5):
            cancel.progress(k / 4)
        return k

    with qtbot.waitSignal(lane.finished, timeout=5000):
        rid = lane.submit(steps)
    qtbot.waitUntil(lambda: len(seen) == 4, timeout=5000)
    assert [f for _, f, _ in seen] == [0.25, 0.5, 0.75, 1.0]
    assert all(r == rid and t is threading.main_thread() for r, _, t in seen)
    assert lane.shutdown(5.0)


def test_shutdown_cancels_and_joins_a_running_job(qapp):
    lane = JobBridge("test")
    started, stopped = threading.Event(), threading.Event()

    def spin(cancel):
        started.set()
        while not cancel():
            time.sleep(0.005)
        stopped.set()

    lane.submit(spin)
    assert started.wait(5)
    assert lane.shutdown(5.0) and stopped.is_set() and not lane.busy
