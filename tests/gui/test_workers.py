"""TaskLane: the newest request wins, older results are dropped, errors are reported, shutdown joins."""

from __future__ import annotations

import threading
import time

from marsview.gui.workers import TaskLane


def test_a_newer_request_supersedes_and_cancels_the_older(qtbot):
    lane = TaskLane("test")
    release = threading.Event()
    seen_cancel = []

    def slow(cancelled, progress):
        release.wait(5)
        seen_cancel.append(cancelled())
        return "old"

    results = []
    lane.finished.connect(lambda rid, r: results.append((rid, r)))
    first = lane.submit(slow)
    with qtbot.waitSignal(lane.finished, timeout=5000):
        second = lane.submit(lambda c, p: "new")
        release.set()
    qtbot.wait(100)
    assert results == [(second, "new")] and second == first + 1
    assert seen_cancel == [True] or seen_cancel == []  # cancelled before or while running
    assert lane.shutdown(5000)


def test_worker_exceptions_reach_the_gui_thread(qtbot):
    lane = TaskLane("test")
    errors = []
    lane.failed.connect(lambda rid, msg, details: errors.append((threading.current_thread(), msg, details)))

    def boom(cancelled, progress):
        raise ValueError("bad.oem:3: EPOCH: not a date")

    with qtbot.waitSignal(lane.failed, timeout=5000):
        lane.submit(boom)
    thread, msg, details = errors[0]
    assert thread is threading.main_thread()
    assert msg == "ValueError: bad.oem:3: EPOCH: not a date" and "Traceback" in details
    assert lane.shutdown(5000)


def test_shutdown_cancels_and_joins_a_running_job(qapp):
    lane = TaskLane("test")
    started, stopped = threading.Event(), threading.Event()

    def spin(cancelled, progress):
        started.set()
        while not cancelled():
            time.sleep(0.005)
        stopped.set()

    lane.submit(spin)
    assert started.wait(5)
    assert lane.shutdown(5000) and stopped.is_set() and not lane.busy
