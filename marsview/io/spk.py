"""SPICE SPK files through spiceypy: read any segment type SPICE supports, write type 13.

SPICE is not thread-safe and its kernel pool is global, so marsview touches it only here, under one lock,
and only at load/save time: reading samples every Mars-centred EME2000 trajectory into a
``TabulatedEphemeris`` (core) that screening then evaluates off the GUI thread without SPICE. The sampling
step is chosen per piece and *verified*: the interpolated state at every mid-point between two nodes is
compared with SPICE and the step is halved until the error is below ``tol_km`` (default 0.5 mm).

Mars-centred means relative to Mars itself (NAIF 499), chained by SPICE through whatever centres the file
uses (e.g. JPL satellite files give Phobos and Mars relative to the Mars barycentre, in the old FK4 frame;
SPICE converts both). When a file offers no path to 499 but one to the Mars barycentre (4), that is used
and a warning says so: the two differ by < 0.25 m (Phobos and Deimos pull Mars off the barycentre).

Caveat: at the exact epoch where two SPK segments meet, SPICE (and so the node there) uses the segment of
higher priority; pieces are split at every segment boundary so no interpolation crosses one.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from marsview.core.ephemeris import Ephemeris
from marsview.core.time import utc_label
from marsview.io.errors import ParseError

SPICE_LOCK = threading.RLock()
MARS_ID = 499
MARS_BARYCENTER_ID = 4
DEFAULT_TOL_KM = 0.5e-6  # 0.5 mm: half the 1 mm budget, so a re-interpolation still stays under it
VEL_TOL_KMS = 1e-9
_DEGREE = 7
_MAX_NODES = 5_000_000
MAX_MARS_DISTANCE_KM = 1.0e8  # 0.67 au: far beyond any Mars-centred arc, arrivals included


def body_kind(naif_id: int) -> str:
    """'spacecraft', 'moon', 'planet', 'barycenter', 'sun' or 'small body' from NAIF's numbering."""
    if naif_id < 0:
        return "spacecraft"
    if naif_id <= 9:
        return "barycenter"
    if naif_id == 10:
        return "sun"
    if 100 <= naif_id <= 999:
        return "planet" if naif_id % 100 == 99 else "moon"
    return "small body"


def body_name(naif_id: int) -> str:
    import spiceypy as sp

    try:
        return sp.bodc2n(int(naif_id))
    except Exception:  # SPICE knows no name for this id
        return f"NAIF {naif_id}"


@contextmanager
def spice_session(*kernels):
    """Hold the SPICE lock with exactly KERNELS loaded; restore the caller's kernels afterwards."""
    import spiceypy as sp

    with SPICE_LOCK:
        saved = []
        for i in range(sp.ktotal("ALL")):
            name, _kind, source, _handle = sp.kdata(i, "ALL")
            if not source:  # loaded directly, not through a meta-kernel
                saved.append(name)
        sp.kclear()
        try:
            for k in kernels:
                sp.furnsh(str(k))
            yield sp
        finally:
            sp.kclear()
            for name in saved:
                sp.furnsh(name)


@dataclass(frozen=True)
class SpkSegmentInfo:
    index: int  # 1-based position in the file
    target: int
    center: int
    frame_id: int
    frame: str
    data_type: int
    start_tdb_s: float
    stop_tdb_s: float
    segment_id: str
    # epochs where the segment's own data records meet (Chebyshev types 2/3, MDA type 1): the SPICE
    # trajectory may jump there by a few mm-cm, so no interpolation window may straddle one
    record_boundaries: tuple[float, ...] = ()


@dataclass
class SpkBody:
    naif_id: int
    name: str
    kind: str
    coverage: list[tuple[float, float]]  # SPICE coverage windows of this body's own segments (TDB s)
    segments: list[SpkSegmentInfo]


@dataclass
class SpkFile:
    path: str
    bodies: dict[int, SpkBody]
    segments: list[SpkSegmentInfo]
    comments: str = ""
    warnings: list[str] = field(default_factory=list)


_SPICE_MAX_PATH = 240  # SPICE's FILEN is 255 characters; leave room


def _error(path, keyword: str, message: str) -> ParseError:
    return ParseError(path, 0, keyword, message)


def _check_daf_spk(path: Path) -> None:
    if not path.is_file():
        raise _error(path, "FILE", "no such file")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise _error(path, "FILE", "empty file")
    if head[:7] != b"DAF/SPK" and head[:8] != b"NAIF/DAF":
        raise _error(path, "IDWORD", "not a SPICE SPK file (it does not start with 'DAF/SPK')")
    size = path.stat().st_size
    if size % 1024:  # a DAF is a whole number of 1024-byte records
        raise _error(path, "DAF", f"truncated: {size} bytes is not a whole number of 1024-byte DAF records")


def read_spk_summary(path) -> SpkFile:
    """Segment summaries and per-body coverage windows of an SPK (no states are read)."""
    p = Path(path)
    _check_daf_spk(p)
    import spiceypy as sp

    with spice_session() as sp, _spice_name(p) as name:
        try:
            segments = []
            handle = sp.dafopr(name)
            try:
                sp.dafbfs(handle)
                while sp.daffna():
                    dc, ic = sp.dafus(sp.dafgs(), 2, 6)
                    try:
                        frame = sp.frmnam(int(ic[2])) or f"FRAME {ic[2]}"
                    except Exception:
                        frame = f"FRAME {ic[2]}"
                    segments.append(SpkSegmentInfo(
                        len(segments) + 1, int(ic[0]), int(ic[1]), int(ic[2]), frame, int(ic[3]),
                        float(dc[0]), float(dc[1]), sp.dafgn().strip(),
                        _record_boundaries(sp, handle, ic, float(dc[0]), float(dc[1]))))
                comments = _comments(sp, handle)
            finally:
                sp.dafcls(handle)
            bodies = {}
            for target in sorted({s.target for s in segments}, key=lambda i: (i >= 0, abs(i))):
                cover = sp.spkcov(name, target)
                windows = [tuple(map(float, sp.wnfetd(cover, i))) for i in range(sp.wncard(cover))]
                bodies[target] = SpkBody(target, body_name(target), body_kind(target), windows,
                                         [s for s in segments if s.target == target])
        except sp.exceptions.SpiceyError as exc:
            raise _error(p, "DAF", _spice_message(exc)) from None
    if not segments:
        raise _error(p, "SEGMENTS", "the SPK holds no segments")
    return SpkFile(str(p), bodies, segments, comments)


def _record_boundaries(sp, handle, ic, start: float, stop: float) -> tuple[float, ...]:
    data_type, begin, end = int(ic[3]), int(ic[4]), int(ic[5])
    if data_type in (2, 3):  # trailer: INIT, INTLEN, RSIZE, N (SPK Required Reading)
        init, intlen, _rsize, n = sp.dafgda(handle, end - 3, end)
        edges = init + intlen * np.arange(1, int(n))
    elif data_type == 1:  # N records of 71 words, then their N final epochs, a directory, then N
        n = int(sp.dafgda(handle, end, end)[0])
        edges = np.asarray(sp.dafgda(handle, begin + 71 * n, begin + 72 * n - 1), dtype=float)[:-1] if n > 1 \
            else np.empty(0)
    else:  # Lagrange/Hermite types interpolate one continuous table: no cuts needed
        return ()
    edges = np.asarray(edges, dtype=float)
    return tuple(float(t) for t in edges[(edges > start) & (edges < stop)])


def _comments(sp, handle) -> str:
    try:
        lines = sp.dafec(handle, 1000, 1000)[1]
    except Exception:
        return ""
    return "\n".join(line.rstrip() for line in lines)


_SPICE_MEANING = (  # SPICE short error code fragments -> what is wrong with the file, in words
    (("DAFBEGGTEND", "DAFNOSUCHHANDLE", "DAFFRNOTFOUND", "DAFRWDATA", "FILEREADFAILED", "READFAILURE",
      "DAFIMPROPOPEN", "DAFNEGADDR", "DAFBADRECORD", "DAFCRNOTFOUND", "BADDOUBLEPRECISION", "DAFFTFAILED"),
     "truncated or damaged"),
    (("UNKNOWNSPKTYPE", "SPKTYPENOTSUPP", "SPKTYPENOTSUPPORTD", "UNSUPPORTEDTYPE"), "unsupported SPK data type"),
    (("SPKINSUFFDATA", "NOSUCHSEGMENT", "NOTCOVERED"), "no data"),
    (("IDWORDNOTKNOWN", "NOTADAFFILE", "FILARCHMISMATCH", "INVALIDARCHTYPE", "NOTDAF", "FILARCHTYPE",
      "UNKNOWNFILARC", "BADFILETYPE"), "not an SPK (DAF) file"),
    (("NOSUCHFILE", "FILENOTFOUND"), "no such file"),
)


def _spice_message(exc, body: str = "") -> str:
    """One line for a SPICE error: what is wrong, SPICE's short code and first sentence; never the =====
    banner, toolkit version or call traceback."""
    short = str(getattr(exc, "short", "") or "")
    long_text = " ".join(str(getattr(exc, "long", "") or "").split())
    if not short:  # not a SpiceyError with fields: take the code out of the text
        import re

        text = " ".join(str(exc).split())
        m = re.search(r"SPICE\((\w+)\)\s*--\s*(.*?)(?:\s+\w+_c\s*-->|\s*=====|$)", text)
        short, long_text = (f"SPICE({m.group(1)})", m.group(2)) if m else ("SPICE", text.replace("=", "").strip())
    code = short.removeprefix("SPICE(").rstrip(")")
    meaning = next((words for codes, words in _SPICE_MEANING if any(c in code for c in codes)), "SPICE error")
    if meaning == "no data" and body:
        meaning = f"no data for {body}"
    first = long_text.split(". ")[0].strip().rstrip(".")
    return f"{meaning} ({short}: {first[:200]})" if first else f"{meaning} ({short})"


@contextmanager
def _spice_name(path: Path, folder: bool = False):
    """A name SPICE can open for PATH (its file names are limited to 255 characters): the path itself, or
    for a longer one a symlink to it (FOLDER: to its folder) in a short temporary folder."""
    text = str(Path(path).absolute())
    target = Path(text).parent if folder else Path(text)
    if len(text) <= _SPICE_MAX_PATH:
        yield text
        return
    short = tempfile.mkdtemp(prefix="mv", dir="/tmp" if os.path.isdir("/tmp") else None)
    link = os.path.join(short, "d" if folder else "k.bsp")
    try:
        os.symlink(target, link)
        yield os.path.join(link, Path(text).name) if folder else link
    finally:
        try:
            os.unlink(link)
        except OSError:
            pass
        os.rmdir(short)


# --- reading states ---------------------------------------------------------------------------------

def _ancestors(info: SpkFile, body: int) -> list[int]:
    chain, seen = [body], {body}
    while body in info.bodies:
        body = info.bodies[body].segments[-1].center
        if body in seen:
            break
        chain.append(body)
        seen.add(body)
    return chain


def path_bodies(info: SpkFile, target: int, observer: int) -> list[int] | None:
    """Bodies whose segments SPICE chains to give TARGET relative to OBSERVER (None: no path)."""
    up_t, up_o = _ancestors(info, target), _ancestors(info, observer)
    for i, body in enumerate(up_t):
        if body in up_o:
            return [b for b in up_t[:i] + up_o[: up_o.index(body)] if b in info.bodies]
    return None


def _select(info: SpkFile, objects) -> list[int]:
    if not objects:
        return [b.naif_id for b in info.bodies.values() if b.kind in ("spacecraft", "moon", "small body")]
    chosen = []
    for wanted in objects:
        key = str(wanted).strip()
        match = [b.naif_id for b in info.bodies.values()
                 if key.upper() == b.name.upper() or key == str(b.naif_id)]
        if not match:
            known = ", ".join(f"{b.name} ({b.naif_id})" for b in info.bodies.values())
            raise _error(info.path, "OBJECT", f"no body {key!r} in this SPK (it holds: {known})")
        chosen.extend(m for m in match if m not in chosen)
    return chosen


def _window(sp, info: SpkFile, bodies: list[int], name: str | None = None):
    windows = None
    for b in bodies:
        cover = sp.spkcov(name or info.path, b)
        windows = cover if windows is None else sp.wnintd(windows, cover)
    return [tuple(map(float, sp.wnfetd(windows, i))) for i in range(sp.wncard(windows))]


def _pieces(info: SpkFile, bodies: list[int], a: float, b: float) -> list[tuple[float, float]]:
    cuts = {a, b}
    for body in bodies:
        for s in info.bodies[body].segments:
            for t in (s.start_tdb_s, s.stop_tdb_s, *s.record_boundaries):
                if a < t < b:
                    cuts.add(t)
    edges = [a]
    for t in sorted(cuts - {a, b}) + [b]:
        if t - edges[-1] > 1e-3:  # a cut within 1 ms of another (rounding) adds nothing
            edges.append(t)
    edges[-1] = b
    return list(zip(edges[:-1], edges[1:]))


def _states(sp, target: int, observer: int, epochs: np.ndarray) -> np.ndarray:
    """Geometric states (J2000, km, km/s) straight from CSPICE's spkgeo_c: spiceypy's wrapper costs ~30 us
    a call in Python overhead, which dominated reading a year of Phobos. Errors still raise SpiceyError."""
    import ctypes

    from spiceypy.utils.libspicehelper import libspice

    out = np.empty((len(epochs), 6))
    buf = (ctypes.c_double * 6)()
    lt = ctypes.c_double()
    ref = b"J2000"
    for i, et in enumerate(np.asarray(epochs, dtype=float).tolist()):
        libspice.spkgeo_c(target, et, ref, observer, buf, ctypes.byref(lt))
        if libspice.failed_c():
            sp.spiceypy.check_for_spice_error(None)
        out[i] = buf
    return out


def _grid(a: float, b: float, step_s: float) -> np.ndarray:
    n = max(int(math.ceil((b - a) / step_s)), _DEGREE) + 1
    return np.linspace(a, b, n)


def _initial_step(sp, target, observer, a, b) -> float:
    probe = _states(sp, target, observer, np.linspace(a, b, 33))
    r = np.linalg.norm(probe[:, :3], axis=1)
    v = np.maximum(np.linalg.norm(probe[:, 3:], axis=1), 1e-12)
    return max(min(0.25 * float(np.min(r / v)), b - a), 1e-3)


def _sample_piece(sp, target, observer, a, b, tol_km, source, step=None):
    """(segment, max mid-point error km, step used): the largest step (halving from STEP or a guess from
    r/|v|) whose Lagrange interpolation matches SPICE at every mid-point."""
    from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment

    step = _initial_step(sp, target, observer, a, b) if step is None else min(step, b - a)
    while True:
        epochs = _grid(a, b, step)
        if len(epochs) > _MAX_NODES:
            raise _error(source, f"BODY {target}", f"cannot reach {tol_km * 1e6:.2f} mm interpolation "
                         f"accuracy with fewer than {_MAX_NODES} nodes")
        states = _states(sp, target, observer, epochs)
        segment = TabulatedSegment(epochs, states, interpolation="LAGRANGE", degree=_DEGREE, source=source)
        mids = 0.5 * (epochs[:-1] + epochs[1:])
        got = TabulatedEphemeris("check", [segment]).state(mids)
        want = _states(sp, target, observer, mids)
        err_km = float(np.max(np.linalg.norm(got[:, :3] - want[:, :3], axis=1)))
        err_kms = float(np.max(np.linalg.norm(got[:, 3:] - want[:, 3:], axis=1)))
        if err_km <= tol_km and err_kms <= VEL_TOL_KMS:
            return segment, err_km, step
        step /= 2.0


@dataclass
class SpkTrajectory:
    """One body of an SPK, sampled: the ephemeris plus what ``marsview info`` reports about it."""

    naif_id: int
    name: str
    kind: str
    ephemeris: Ephemeris
    observer: int
    windows: list[tuple[float, float]]
    max_interp_error_km: float
    warnings: list[str] = field(default_factory=list)


def read_spk(path, objects=None, start_tdb_s: float | None = None, stop_tdb_s: float | None = None,
             tol_km: float = DEFAULT_TOL_KM) -> list[SpkTrajectory]:
    """Mars-centred EME2000 trajectories of the spacecraft and moons in an SPK (or of OBJECTS: names or
    NAIF ids, which may also name planets or barycentres), limited to [START, STOP] when given (a 50-year
    SPK need not be sampled whole). Raises ParseError naming the file and body."""
    from marsview.core.tabulated import TabulatedEphemeris

    info = read_spk_summary(path)
    result = []
    with _spice_name(Path(info.path)) as name, spice_session(name) as sp:
        for target in _select(info, objects):
            body = info.bodies[target]
            warnings = []
            observer, chain = MARS_ID, path_bodies(info, target, MARS_ID)
            if target == MARS_ID:
                raise _error(info.path, "OBJECT", "Mars itself is the centre of every marsview state")
            if chain is None and target != MARS_BARYCENTER_ID:
                chain = path_bodies(info, target, MARS_BARYCENTER_ID)
                observer = MARS_BARYCENTER_ID
                warnings.append(f"{body.name}: no path to Mars (499) in {Path(info.path).name}; states are "
                                "relative to the Mars barycentre (4), which is within 0.25 m of Mars")
            if chain is None:
                raise _error(info.path, f"BODY {target}", f"{body.name} has no path to Mars (499) or the Mars "
                             "barycentre (4) in this file: it would need other kernels")
            lo_t = -np.inf if start_tdb_s is None else float(start_tdb_s)
            hi_t = np.inf if stop_tdb_s is None else float(stop_tdb_s)
            windows = [(max(a, lo_t), min(b, hi_t)) for a, b in _window(sp, info, chain, name)]
            windows = [(a, b) for a, b in windows if b > a]
            if not windows:
                raise _error(info.path, f"BODY {target}", f"{body.name}: no time where all of "
                             f"{', '.join(map(str, chain))} are covered")
            segments, worst, step = [], 0.0, None
            for a, b in windows:
                for lo, hi in _pieces(info, chain, a, b):
                    try:
                        # start from the last piece's step: usually one try per piece
                        seg, err, step = _sample_piece(sp, target, observer, lo, hi, tol_km,
                                                       f"{Path(info.path).name}:{body.name}", step)
                    except sp.exceptions.SpiceyError as exc:
                        raise _error(info.path, f"BODY {target}", _spice_message(exc, body.name)) from None
                    segments.append(seg)
                    worst = max(worst, err)
            eph = TabulatedEphemeris(body.name, segments, frame="EME2000", source=info.path)
            result.append(SpkTrajectory(target, body.name, body.kind, eph, observer, windows, worst, warnings))
    return result


# --- writing type 13 ----------------------------------------------------------------------------------

def _ephemeris_pieces(eph: Ephemeris) -> list[tuple[float, float]]:
    """Spans to write as separate segments: each tabulated segment (gaps stay gaps), cut at the
    ephemeris' boundaries (burns)."""
    spans = [tuple(seg.coverage) for seg in getattr(eph, "segments", [])] or [tuple(eph.coverage)]
    bounds = np.asarray(eph.segment_boundaries(), dtype=float)
    pieces = []
    for start, stop in spans:
        cuts = sorted({float(t) for t in bounds if start < t < stop})
        edges = [start, *cuts, stop]
        pieces.extend((a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a)
    return pieces


def _segment_id(name: str) -> str:
    clean = "".join(c if 32 <= ord(c) < 127 else "?" for c in name)
    return f"marsview {clean}"[:40]


def write_spk(path, items, tol_km: float = DEFAULT_TOL_KM, degree: int = _DEGREE,
              comment: str = "", center: int = MARS_ID) -> dict[int, float]:
    """Write ITEMS = [(ephemeris, naif_id), ...] (Mars-centred EME2000) as SPK type 13 segments (Hermite,
    positions and velocities), centre Mars (499), frame J2000. One segment per ephemeris piece (split at
    its segment boundaries and burns). The step per object is verified by reading the file back through
    SPICE at every mid-point, and halved until the error is below TOL_KM; an object whose velocities are
    not the derivative of its positions (Hermite stops converging) is written as type 9 (Lagrange) instead.
    Atomic: written to a temporary file beside PATH, then renamed. Returns the achieved max position error
    per NAIF id (km)."""
    target = Path(path)
    items = list(items)
    for eph, naif in items:
        if naif is None:
            raise ValueError(f"{eph.name}: a NAIF id is needed to write it to an SPK")
        if getattr(eph, "frame", "EME2000").upper() not in ("EME2000", "ICRF", "J2000"):
            raise ValueError(f"{eph.name}: frame {eph.frame} is not EME2000")
    steps = {int(n): None for _, n in items}
    for eph, naif in items:
        pieces = _ephemeris_pieces(eph)
        probe_t = np.concatenate([np.linspace(a, b, 17) for a, b in pieces])
        probe = eph.state(probe_t)
        far = np.linalg.norm(probe[:, :3], axis=1)
        if not np.all(np.isfinite(probe)) or far.max() > MAX_MARS_DISTANCE_KM:
            k = int(np.argmax(np.where(np.isfinite(far), far, np.inf)))
            raise ValueError(f"{eph.name}: cannot be written to an SPK: between its states its interpolated "
                             f"trajectory reaches {far[k]:.3g} km from Mars at {utc_label(probe_t[k])} (more than "
                             f"{MAX_MARS_DISTANCE_KM:.0e} km): too few states for the span, or states that disagree "
                             "with each other")
        ratio = far / np.maximum(np.linalg.norm(probe[:, 3:], axis=1), 1e-12)
        steps[int(naif)] = 0.1 * float(np.min(ratio))
    fd, tmp_real = tempfile.mkstemp(prefix=".mv-spk.", suffix=".tmp", dir=target.parent or ".")
    os.close(fd)
    alias = _spice_name(Path(tmp_real), folder=True)
    tmp = alias.__enter__()  # the name SPICE writes and reads (short even in a deep folder)
    # a tabulated ephemeris is first written as its own table (type 9 for Lagrange, 13 for Hermite): SPICE
    # then interpolates exactly what marsview does; the read-back check decides, as for sampled objects
    types = {int(n): ("native" if _native_ok(eph) else 13) for eph, n in items}
    history: dict[int, list[float]] = {n: [] for n in steps}
    try:
        for _attempt in range(20):
            errors = _write_and_check(tmp, items, steps, types, degree, comment, center)
            bad = [n for n, e in errors.items() if e > tol_km]
            if not bad:
                os.replace(tmp_real, target)
                return errors
            for n in bad:
                if types[n] == "native":
                    types[n] = 13
                    continue
                history[n].append(errors[n])
                h = history[n]
                # Hermite converges as step^(degree+1); if halving the step twice gained less than 4x, the
                # velocities are not the derivative of the positions (e.g. JPL's old mar022 satellites
                # differ by ~1 m/s): write Lagrange type 9, which interpolates them independently.
                if types[n] == 13 and len(h) >= 3 and h[-3] < 4.0 * h[-1]:
                    types[n] = 9
                    history[n] = []
                elif len(h) >= 3 and h[-3] < 4.0 * h[-1]:  # Lagrange does not converge either: a jump
                    name = next(e.name for e, k in items if int(k) == n)
                    raise ValueError(
                        f"{name}: cannot be written to an SPK within {tol_km * 1e6:.2f} mm: its trajectory is not "
                        f"smooth between its states (halving the SPK step twice left the error at {h[-1]:.3g} km, "
                        f"from {h[-3]:.3g} km); its states may disagree with each other (velocities that are not "
                        "the rate of the positions, or too few states for the interpolation degree)")
                else:
                    steps[n] /= 2.0
        raise ValueError(f"{target}: could not reach {tol_km * 1e6:.2f} mm accuracy for NAIF ids {bad}")
    finally:
        if os.path.exists(tmp_real):
            os.unlink(tmp_real)
        alias.__exit__(None, None, None)


def _native_ok(eph) -> bool:
    segs = getattr(eph, "segments", None)
    return bool(segs) and all(
        getattr(g, "interpolation", None) in ("LAGRANGE", "HERMITE") and getattr(g, "accelerations", None) is None
        and len(g.epochs_tdb_s) > g.degree and (g.degree % 2 == 1 or g.interpolation == "LAGRANGE")
        and g.degree <= 27 for g in segs)


def _native_tables(eph, pieces):
    """(epochs, states, SPK type, degree) per piece from the ephemeris' own nodes."""
    out = []
    for a, b in pieces:
        seg = next(g for g in eph.segments if g.coverage[0] <= a and b <= g.coverage[1])
        t = seg.epochs_tdb_s
        keep = (t > a) & (t < b)
        epochs = np.concatenate([[a], t[keep], [b]])
        states = np.vstack([eph.state([a]), seg.states[keep], seg.state([b])])
        spk_type = 9 if seg.interpolation == "LAGRANGE" else 13
        out.append((epochs, states, spk_type, seg.degree))
    return out


def _left_limit(eph: Ephemeris, t: float, dt_s: float = 1e-3) -> np.ndarray:
    """The state just before a boundary (pre-burn): one 1 ms Taylor step from t - 1 ms. Position error
    |a| dt^2 / 2 ~ 2e-9 km; the J2 and burn accelerations are left out (< 1e-12 km/s over 1 ms)."""
    from marsview.core.constants import GM_MARS_KM3S2

    s = eph.state([t - dt_s])[0]
    r = s[:3]
    acc = -GM_MARS_KM3S2 * r / np.linalg.norm(r) ** 3
    return np.concatenate([r + s[3:] * dt_s + 0.5 * acc * dt_s**2, s[3:] + acc * dt_s])


def _write_and_check(tmp, items, steps, types, degree, comment, center) -> dict[int, float]:
    import spiceypy as sp

    samples = []
    for eph, naif in items:
        pieces = _ephemeris_pieces(eph)
        if types[int(naif)] == "native":
            samples.extend((eph, int(naif), e, st, ty, dg) for e, st, ty, dg in _native_tables(eph, pieces))
            continue
        for k, (a, b) in enumerate(pieces):
            n = max(int(math.ceil((b - a) / steps[int(naif)])), (degree + 1) // 2) + 1
            if n > _MAX_NODES:
                raise ValueError(f"{eph.name}: more than {_MAX_NODES} states needed for 1 mm accuracy")
            epochs = np.linspace(a, b, n)
            states = eph.state(epochs)
            if k < len(pieces) - 1 and pieces[k + 1][0] == b:  # on a shared boundary the ephemeris
                states[-1] = _left_limit(eph, b)                 # gives the later (post-burn) state
            samples.append((eph, int(naif), epochs, states, types[int(naif)], degree))
    with spice_session() as sp:
        os.unlink(tmp)  # spkopn refuses to overwrite
        handle = sp.spkopn(tmp, "marsview SPK", 4000)
        try:
            text = ["Written by marsview: Mars-centred (499) J2000/EME2000 states, TDB,",
                    "SPK type 13 (Hermite, unequal steps); type 9 (Lagrange) for objects whose",
                    "velocities are not the derivative of their positions."] + [ln for ln in comment.splitlines() if ln.strip()]
            sp.dafac(handle, [ln[:1000] for ln in text])
            for eph, naif, epochs, states, spk_type, deg in samples:
                write = sp.spkw13 if spk_type == 13 else sp.spkw09
                write(handle, naif, center, "J2000", float(epochs[0]), float(epochs[-1]),
                      _segment_id(eph.name), deg, len(epochs), states, epochs)
        finally:
            sp.spkcls(handle)
    errors = {int(n): 0.0 for _, n in items}
    with spice_session(tmp) as sp:
        for eph, naif, epochs, _states_written, _type, _deg in samples:
            mids = 0.5 * (epochs[:-1] + epochs[1:])
            check = np.concatenate([epochs[:-1], mids])  # the end node may be a pre-burn state
            got = _states(sp, naif, center, check)
            want = eph.state(check)
            errors[naif] = max(errors[naif], float(np.max(np.linalg.norm(got[:, :3] - want[:, :3], axis=1))))
    return errors
