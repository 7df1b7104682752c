"""Propagate element-defined orbits once, then reuse them: a disk cache keyed by a hash of the inputs.

Propagating the nine-object default fleet for 14 days with J2 at rtol 1e-12 takes ~20 s of scipy; the GUI
must show its first frame within 3 s. So the states (60 s grid, Mars-centred EME2000) are stored in the
user's cache folder (``$MARSVIEW_CACHE_DIR``, else ``$XDG_CACHE_HOME/marsview``, else ``~/.cache/marsview``)
under a SHA-256 of everything that determines them: initial state, epochs, force model, and the source of
the core modules that compute them (so a physics fix invalidates old entries). Nothing is shipped.

Partner-independent but still untrusted: each entry holds the request key it was computed for and a SHA-256 of
its arrays; on read the key, the hash, the shapes, finiteness, the exact grid span and the state at the
request's epoch are all checked, and any mismatch or read error (truncated, zero-byte, not a zip, shifted
states, a short span) discards the entry with one log line and recomputes it: the cache can only ever cost
time, never give a different orbit.

Each orbit is stored as a ``TabulatedEphemeris`` (Lagrange, degree 7) whose interpolation error is
verified at every mid-point between nodes against the integrator's dense output (< 1 mm), so the cached
ephemeris is as good as the propagation itself.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE_FORMAT = "marsview-orbit-cache 2"
STEP_S = 60.0
DEGREE = 7
TOL_KM = 1e-6
_LOG = logging.getLogger("marsview.cache")
_CORE_SOURCES = ("dynamics.py", "frames.py", "constants.py", "atmosphere.py", "sun.py", "maneuvers.py",
                 "tabulated.py", "time.py", "jit.py", "kernels.py", "twobody.py")


@dataclass(frozen=True)
class OrbitRequest:
    """One orbit to propagate: state0 (6,) Mars-centred EME2000 at t0_tdb_s, covering [start, stop]."""

    name: str
    state0: tuple[float, ...]
    t0_tdb_s: float
    start_tdb_s: float
    stop_tdb_s: float
    force_model: object  # core.dynamics.ForceModel (frozen, has a stable repr)
    source: str = ""


def cache_dir() -> Path:
    explicit = os.environ.get("MARSVIEW_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "marsview"


def _code_fingerprint() -> str:
    import marsview
    import marsview.core as core

    h = hashlib.sha256(getattr(marsview, "__version__", "0").encode())
    folder = Path(core.__file__).parent
    for name in _CORE_SOURCES:
        p = folder / name
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def request_key(req: OrbitRequest) -> str:
    h = hashlib.sha256(CACHE_FORMAT.encode())
    h.update(_code_fingerprint().encode())
    h.update(np.asarray(req.state0, dtype=np.float64).tobytes())
    h.update(np.array([req.t0_tdb_s, req.start_tdb_s, req.stop_tdb_s, STEP_S], dtype=np.float64).tobytes())
    h.update(repr(req.force_model).encode())
    return h.hexdigest()[:32]


def _grid(start: float, stop: float, step: float) -> np.ndarray:
    n = max(int(np.ceil((stop - start) / step)), DEGREE) + 1
    return np.linspace(start, stop, n)


def _tabulate(req: OrbitRequest, epochs: np.ndarray, states: np.ndarray):
    from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment

    seg = TabulatedSegment(epochs, states, interpolation="LAGRANGE", degree=DEGREE, source=req.source)
    return TabulatedEphemeris(req.name, [seg], frame="EME2000", source=req.source)


def _content_hash(key: str, epochs: np.ndarray, states: np.ndarray) -> str:
    h = hashlib.sha256(key.encode())
    h.update(np.ascontiguousarray(epochs, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(states, dtype="<f8").tobytes())
    return h.hexdigest()


def _load(path: Path, req: OrbitRequest, key: str):
    """(epochs, states) of a verified entry, else None (missing; or bad: discarded with one log line)."""
    if not path.exists():
        return None
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:  # our handle: closed on any error
            stored_key, digest = str(data["key"]), str(data["sha256"])
            epochs, states = data["epochs_tdb_s"].astype("<f8"), data["states"].astype("<f8")
        problem = _check_entry(req, key, stored_key, digest, epochs, states)
    except Exception as exc:  # noqa: BLE001 - any unreadable entry (BadZipFile, EOFError, ...) only costs time
        problem = f"unreadable ({type(exc).__name__})"
    if problem is None:
        return epochs, states
    _LOG.warning("orbit cache: %s: %s; discarded and recomputed", path.name, problem)
    try:
        path.unlink()
    except OSError:
        pass
    return None


def _check_entry(req, key, stored_key, digest, epochs, states) -> str | None:
    if stored_key != key:
        return "computed for other inputs"
    if epochs.ndim != 1 or len(epochs) < DEGREE + 1 or states.shape != (len(epochs), 6):
        return f"wrong shape {epochs.shape} / {states.shape}"
    if digest != _content_hash(key, epochs, states):
        return "content hash mismatch"
    if not (np.all(np.isfinite(epochs)) and np.all(np.isfinite(states)) and np.all(np.diff(epochs) > 0)):
        return "non-finite or unordered values"
    if epochs[0] != req.start_tdb_s or epochs[-1] != req.stop_tdb_s:
        return "span differs from the request"
    if req.start_tdb_s <= req.t0_tdb_s <= req.stop_tdb_s:  # the orbit must pass through its initial state
        at_t0 = _tabulate(req, epochs, states).state([req.t0_tdb_s])[0]
        if np.max(np.abs(at_t0[:3] - np.asarray(req.state0[:3]))) > 1e-3:
            return "states do not start from the requested state"
    return None


def _store(path: Path, key: str, epochs: np.ndarray, states: np.ndarray) -> None:
    from marsview.io.atomic import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, epochs_tdb_s=epochs, states=states, key=np.array(key),
             sha256=np.array(_content_hash(key, epochs, states)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buf.getvalue())
    except OSError:
        pass  # a read-only or full cache folder only costs speed


def _propagate_group(reqs: list[OrbitRequest], cancel=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Propagate requests that share t0, span and force model together (one vectorized solve)."""
    from marsview.core.dynamics import propagate_many

    first = reqs[0]
    step = STEP_S
    while True:
        epochs = _grid(first.start_tdb_s, first.stop_tdb_s, step)
        mids = 0.5 * (epochs[:-1] + epochs[1:])
        both = np.concatenate([epochs, mids])
        states0 = np.array([r.state0 for r in reqs], dtype=np.float64)
        out = propagate_many(states0, first.t0_tdb_s, both, first.force_model, cancel=cancel)
        results, worst = [], 0.0
        for k, req in enumerate(reqs):
            nodes, at_mids = out[k, : len(epochs)], out[k, len(epochs):]
            interp = _tabulate(req, epochs, nodes).state(mids)
            worst = max(worst, float(np.max(np.linalg.norm(interp[:, :3] - at_mids[:, :3], axis=1))))
            results.append((epochs, nodes))
        if worst <= TOL_KM or step < 1.0:
            return results
        step /= 2.0


def propagate_cached(requests: list[OrbitRequest], use_cache: bool = True, cancel=None) -> list:
    """TabulatedEphemeris per request (same order), from the cache where possible."""
    folder = cache_dir()
    found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    keys = [request_key(r) for r in requests]
    if use_cache:
        for i, key in enumerate(keys):
            hit = _load(folder / f"{key}.npz", requests[i], key)
            if hit is not None:
                found[i] = hit
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(requests):
        if i not in found:
            groups.setdefault((r.t0_tdb_s, r.start_tdb_s, r.stop_tdb_s, repr(r.force_model)), []).append(i)
    for members in groups.values():
        results = _propagate_group([requests[i] for i in members], cancel)
        for i, (epochs, states) in zip(members, results):
            found[i] = (epochs, states)
            if use_cache:
                _store(folder / f"{keys[i]}.npz", keys[i], epochs, states)
    return [_tabulate(r, *found[i]) for i, r in enumerate(requests)]
