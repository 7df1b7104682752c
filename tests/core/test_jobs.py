"""core.jobs without Qt: one Cancelled for every kernel, latest-wins executors on a thread and in a child process
(older requests are cancelled, a running job sees its token, the child's failures come back and it restarts,
shutdown is prompt)."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import CancelledError

import pytest

from marsview.core.jobs import Call, Cancelled, CancelToken, JobFailed, Request, ThreadExecutor, WorkerLost, as_request
from marsview.core.jobs_process import ProcessExecutor, child_cache, child_context

TIMEOUT_S = 60.0


def test_every_cancel_exception_is_the_one_cancelled():
    from marsview.core.dynamics import PropagationCancelled
    from marsview.core.probability_montecarlo import MonteCarloCancelled
    from marsview.core.screening import ScreeningCancelled

    for exc in (PropagationCancelled, ScreeningCancelled, MonteCarloCancelled):
        assert issubclass(exc, Cancelled)
    assert issubclass(PropagationCancelled, RuntimeError)  # older ``except RuntimeError`` sites still see it


def test_a_kernel_given_a_set_token_raises_cancelled():
    from marsview.core.orbits import state_from_peri_apo
    from marsview.core.screening import ScreeningSettings, ScreeningTarget, screen
    from marsview.core.twobody import TwoBodyEphemeris

    targets = [ScreeningTarget(n, TwoBodyEphemeris(n, state_from_peri_apo(300, 400 + 10 * k, 90, 0, 0, 10 * k),
                                                   0.0, 0.0, 86400.0)) for k, n in enumerate(("A", "B", "C"))]
    token = CancelToken()
    token.set()
    with pytest.raises(Cancelled):
        screen(targets, 0.0, 86400.0, ScreeningSettings(threshold_km=10.0), cancel=token)


def test_requests_have_ids_and_plain_callables_are_wrapped():
    a, b = Call(lambda x, cancel: x, 1), as_request(lambda cancel: 2)
    assert isinstance(a, Request) and isinstance(b, Request) and b.id > a.id
    assert a(CancelToken()) == 1 and b(CancelToken()) == 2
    with pytest.raises(TypeError):
        as_request(42)


def test_thread_submit_cancels_the_older_request_running_and_pending():
    ex = ThreadExecutor("test")
    started, release = threading.Event(), threading.Event()
    seen = []

    def running(cancel):
        started.set()
        release.wait(10)
        seen.append(cancel())
        cancel.check()
        return "old"

    first = ex.submit(running)
    assert started.wait(10)
    pending = ex.submit(lambda cancel: "never")  # waits behind the running one, then is superseded
    newest = ex.submit(lambda cancel: "new")
    assert pending.cancelled() and first.token.is_set() and not newest.token.is_set()
    release.set()
    assert newest.result(TIMEOUT_S) == "new" and ex.latest_id == newest.id
    with pytest.raises(Cancelled):
        first.result(TIMEOUT_S)
    with pytest.raises(CancelledError):
        pending.result(0)
    assert seen == [True]
    assert ex.shutdown(5.0)


def test_cancel_reaches_a_running_job_and_shutdown_joins_it():
    ex = ThreadExecutor("test")
    started = threading.Event()

    def spin(cancel):
        started.set()
        while not cancel():
            time.sleep(0.002)
        cancel.check()

    f = ex.submit(spin)
    assert started.wait(10) and ex.busy
    t0 = time.monotonic()
    assert ex.shutdown(5.0)
    assert time.monotonic() - t0 < 1.0 and not ex.busy
    assert isinstance(f.exception(0), Cancelled)
    with pytest.raises(RuntimeError):
        ex.submit(lambda cancel: None)


def test_thread_errors_keep_their_exception_and_progress_is_reported():
    got = []
    ex = ThreadExecutor("test", on_progress=lambda rid, f: got.append((rid, f)))

    def job(cancel):
        cancel.progress(0.5)
        cancel.post("partial")
        raise ValueError("bad burn epoch")

    f = ex.submit(job)
    exc = f.exception(TIMEOUT_S)
    assert isinstance(exc, ValueError) and str(exc) == "bad burn epoch" and exc.__traceback__ is not None
    assert got == [(f.id, 0.5)] and ex.items.get_nowait() == "partial"
    assert ex.submit(lambda cancel: 7).result(TIMEOUT_S) == 7
    assert ex.shutdown(5.0)


def test_a_fifo_lane_runs_every_job_in_order():
    ex = ThreadExecutor("fifo", latest_wins=False)
    futures = [ex.submit(Call(lambda k, cancel: k * k, k)) for k in range(5)]
    assert [f.result(TIMEOUT_S) for f in futures] == [0, 1, 4, 9, 16]
    assert ex.shutdown(5.0)


# --- the process backend (module-level jobs: they travel by pickle to the spawned child) -------------------

def _pid_and_context(cancel):
    return os.getpid(), child_context()


def _remember(cancel):
    cache = child_cache()
    cache["n"] = cache.get("n", 0) + 1
    return cache["n"]


def _spin_until_cancelled(cancel):
    cancel.post("started")
    while not cancel():
        time.sleep(0.002)
    cancel.check()


def _fail(cancel):
    raise ValueError("no such spacecraft: MGS")


def _die(cancel):
    os._exit(3)


@pytest.fixture
def child():
    ex = ProcessExecutor("marsview-test", label="test process")
    yield ex
    ex.shutdown()


def test_process_context_is_sent_once_and_again_to_a_restarted_child(child):
    child.set_context(("key", 1))
    pid, ctx = child.submit(_pid_and_context).result(TIMEOUT_S)
    assert pid != os.getpid() and pid == child.pid and ctx == ("key", 1)
    assert child.submit(_remember).result(TIMEOUT_S) == 1 and child.submit(_remember).result(TIMEOUT_S) == 2
    child.set_context(("key", 2))  # a new context empties the child's cache
    assert child.submit(_remember).result(TIMEOUT_S) == 1
    f = child.submit(_die)
    assert isinstance(f.exception(TIMEOUT_S), WorkerLost) and "test process stopped unexpectedly" in str(f.exception())
    pid2, ctx2 = child.submit(_pid_and_context).result(TIMEOUT_S)
    assert pid2 != pid and ctx2 == ("key", 2) and child.restarts == 1


def test_process_submit_cancels_the_running_request(child):
    first = child.submit(_spin_until_cancelled)
    assert child.items.get(timeout=TIMEOUT_S) == "started" and child.busy
    second = child.submit(_remember)
    assert second.result(TIMEOUT_S) == 1
    assert isinstance(first.exception(TIMEOUT_S), Cancelled) and not child.busy


def test_a_quiet_job_gives_way_to_a_request_not_to_cancel(child):
    quiet = child.post(_spin_until_cancelled)
    assert child.items.get(timeout=TIMEOUT_S) == "started"
    child.cancel()
    time.sleep(0.2)
    assert not quiet.done() and not child.busy  # a warm-up is not a request
    assert child.submit(_remember).result(TIMEOUT_S) == 1
    assert isinstance(quiet.exception(TIMEOUT_S), Cancelled)


def test_process_errors_come_back_with_their_traceback(child):
    exc = child.submit(_fail).exception(TIMEOUT_S)
    assert isinstance(exc, JobFailed) and exc.type_name == "ValueError" and exc.text == "no such spacecraft: MGS"
    assert "Traceback" in exc.details and "_fail" in exc.details
    assert child.submit(_remember).result(TIMEOUT_S) == 1  # the same child goes on
    assert child.restarts == 0


def test_a_child_that_cannot_start_fails_the_request_and_is_tried_again(child, monkeypatch):
    from marsview.core.jobs import WorkerStartFailed

    def no_process(self):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(ProcessExecutor, "_spawn", no_process)
    exc = child.submit(_remember).exception(TIMEOUT_S)
    assert isinstance(exc, WorkerStartFailed) and "could not start" in str(exc) and "Traceback" in exc.details
    monkeypatch.undo()
    assert child.submit(_remember).result(TIMEOUT_S) == 1 and child.alive()


def test_process_shutdown_is_prompt_with_a_job_running(child):
    f = child.submit(_spin_until_cancelled)
    assert child.items.get(timeout=TIMEOUT_S) == "started"
    pid = child.pid
    t0 = time.monotonic()
    assert child.shutdown()
    elapsed = time.monotonic() - t0
    assert elapsed < ProcessExecutor.SHUTDOWN_S + 1.5, elapsed
    assert f.done() and not child.alive() and not _running(pid)


def _running(pid: int) -> bool:
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
