"""Issue 17: a corrupted orbit-cache entry (truncated, zero bytes, wrong shape, NaN, shifted, short span) gives
exactly the orbit of an empty cache, says so in one log line, and heals (the next run reads a good entry)."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

from marsview.core.dynamics import ForceModel
from marsview.core.orbits import state_from_peri_apo
from marsview.core.time import utc_to_tdb_s
from marsview.io import orbit_cache
from marsview.io.orbit_cache import OrbitRequest, propagate_cached, request_key

T0 = utc_to_tdb_s("2024-04-15T00:00:00")


def _request():
    s0 = tuple(float(x) for x in state_from_peri_apo(300.0, 400.0, 80.0, 10.0, 20.0, 30.0))
    return OrbitRequest("A", s0, T0, T0, T0 + 3 * 3600.0, ForceModel.from_name("two-body"), "test")


def _arrays(eph):
    seg = eph.segments[0]
    return np.asarray(seg.epochs_tdb_s), np.asarray(seg.states)


def _rewrite(path, key, epochs, states, rehash=True):
    """An entry a tamperer (or a buggy writer) made consistent with its own hash."""
    digest = orbit_cache._content_hash(key, epochs, states) if rehash else np.load(path)["sha256"]
    buf = io.BytesIO()
    np.savez(buf, epochs_tdb_s=epochs, states=states, key=np.array(key), sha256=np.array(str(digest)))
    path.write_bytes(buf.getvalue())


def _corrupt(kind, path, key):
    data = path.read_bytes()
    with np.load(path) as d:
        epochs, states = d["epochs_tdb_s"].copy(), d["states"].copy()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "zero-bytes":
        path.write_bytes(b"")
    elif kind == "not-a-zip":
        path.write_bytes(b"\x80\x04garbage" * 10)
    elif kind == "wrong-shape":
        _rewrite(path, key, epochs, states[:, :3].copy())
    elif kind == "nan":
        states[5, 0] = np.nan
        _rewrite(path, key, epochs, states)
    elif kind == "shifted-same-hash":
        states[:, 0] += 30.0
        _rewrite(path, key, epochs, states)
    elif kind == "shifted-stale-hash":
        states[10:, 0] += 30.0
        _rewrite(path, key, epochs, states, rehash=False)
    elif kind == "short-span":
        n = len(epochs) // 2
        _rewrite(path, key, epochs[:n], states[:n])
    elif kind == "other-key":
        _rewrite(path, "0" * 32, epochs, states)


KINDS = ["truncated", "zero-bytes", "not-a-zip", "wrong-shape", "nan", "shifted-same-hash", "shifted-stale-hash",
         "short-span", "other-key"]


@pytest.mark.parametrize("kind", KINDS)
def test_corrupted_entry_gives_the_empty_cache_result_and_heals(tmp_path, monkeypatch, caplog, kind):
    monkeypatch.setenv("MARSVIEW_CACHE_DIR", str(tmp_path / "cache"))
    req = _request()
    (reference,) = propagate_cached([req], use_cache=False)
    ref_epochs, ref_states = _arrays(reference)
    (first,) = propagate_cached([req])  # fills the cache
    key = request_key(req)
    entry = tmp_path / "cache" / f"{key}.npz"
    assert entry.is_file()
    _corrupt(kind, entry, key)
    with caplog.at_level(logging.WARNING, logger="marsview.cache"):
        (again,) = propagate_cached([req])
    epochs, states = _arrays(again)
    assert np.array_equal(epochs, ref_epochs) and np.array_equal(states, ref_states)
    lines = [r.getMessage() for r in caplog.records if r.name == "marsview.cache"]
    assert len(lines) == 1 and key in lines[0] and "recomputed" in lines[0], lines
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="marsview.cache"):
        (healed,) = propagate_cached([req])  # a good entry again: read without a word
    assert not [r for r in caplog.records if r.name == "marsview.cache"]
    assert np.array_equal(_arrays(healed)[1], ref_states)
