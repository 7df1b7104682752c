"""OEM <-> marsview ephemerides: Mars-centred EME2000 ``TabulatedEphemeris`` objects from an OEM, and OEM
messages sampled from any ``Ephemeris`` (used by convert, propagate and the maneuver export)."""

from __future__ import annotations

import datetime

import numpy as np

from ..core.ephemeris import CoverageError
from ..core.tabulated import TabulatedEphemeris, TabulatedSegment
from ..core.time import from_tdb_s, to_tdb_s, utc_span
from .errors import ParseError
from ..core import frames as cframes
from .frames_io import check_frame, check_mars_centre, normalize_frame, rotation_to_eme2000, to_eme2000
from .kvn import EpochArray
from .oem import OemMessage, OemSegment

DEFAULT_DEGREE = 7


def segment_to_tabulated(seg: OemSegment, path: str = "", index: int = 0, warnings=None) -> TabulatedSegment:
    """One OEM segment -> a TabulatedSegment in Mars-centred EME2000 (refuses other centres and frames).

    ``covariances`` of the result: None, or (epochs_tdb_s (K,), matrices (K,6,6)) rotated to EME2000 [km, km/s].
    A covariance in a frame marsview cannot convert (e.g. ITRF1997 on a Mars orbiter) is refused, or, when
    WARNINGS is a list, dropped with a ``file:line: COV_REF_FRAME: ...`` note appended to it.
    """
    lines = seg.metadata_lines
    check_mars_centre(seg.center_name, path, lines.get("CENTER_NAME", seg.start_line))
    frame = check_frame(seg.ref_frame, path, lines.get("REF_FRAME", seg.start_line))
    t, raw, raw_acc = seg.epochs_tdb_s, seg.states, seg.accelerations
    if t.size >= 2 and t[-1] == t[-2]:  # the exact repeat of the last line the reader warned about
        t, raw = t[:-1], raw[:-1]
        raw_acc = None if raw_acc is None else raw_acc[:-1]
    states = to_eme2000(raw, t, frame)
    acc = None
    if raw_acc is not None and frame != "IAU_MARS":  # body-fixed accelerations carry frame terms
        rot = rotation_to_eme2000(t, frame)[:, :3, :3]
        acc = np.einsum("nij,nj->ni", rot, raw_acc)
    method = (seg.interpolation or "LAGRANGE").upper()
    degree = seg.interpolation_degree if seg.interpolation_degree is not None else DEFAULT_DEGREE
    if method == "LINEAR":
        method, degree = "LAGRANGE", 1
    first, last = (int(seg.data_lines[0]), int(seg.data_lines[-1])) if seg.data_lines is not None else (0, 0)
    source = f"{path} segment {index + 1} (lines {first}-{last})" if path else f"segment {index + 1}"
    use_start, use_stop = _useable_span(seg, t, path, warnings)
    try:
        tab = TabulatedSegment(t, states, method, max(int(degree), 1), use_start, use_stop, acc, None, source)
    except ValueError as exc:
        # the message starts with SOURCE (path, segment, lines); the ParseError names the path already
        text = str(exc).removeprefix(f"{path} ") if path else str(exc)
        raise ParseError(path, seg.start_line, "META_START", text) from None
    if seg.covariances:
        tab.covariances = _covariances_eme2000(seg, frame, t, states, path, warnings)
    return tab


def _useable_span(seg: OemSegment, t, path, warnings):
    """The segment's useable span; with WARNINGS (a list), one that reaches past its states (the CCSDS sample
    files' MGS segment: STOP_TIME ten days after its third state) is cut to the states, and a note says so.
    Without WARNINGS, or when nothing of it overlaps the states, TabulatedSegment refuses it as before."""
    start, stop = seg.useable_start_tdb_s, seg.useable_stop_tdb_s
    if warnings is None or t.size < 2:
        return start, stop
    lo = t[0] if start is None else max(float(start), t[0])
    hi = t[-1] if stop is None else min(float(stop), t[-1])
    beyond = (start is not None and start < t[0]) or (stop is not None and stop > t[-1])
    if not beyond or not hi > lo:
        return start, stop
    lines = seg.metadata_lines
    keyword = next((k for k in ("USEABLE_STOP_TIME", "STOP_TIME", "USEABLE_START_TIME", "START_TIME")
                    if k in lines), "META_START")
    warnings.append(f"{path}:{lines.get(keyword, seg.start_line)}: {keyword}: the segment's span "
                    f"{utc_span(start if start is not None else t[0], stop if stop is not None else t[-1])} reaches "
                    f"past its states; marsview uses {utc_span(lo, hi)} (no extrapolation)")
    return lo, hi


def _covariances_eme2000(seg: OemSegment, frame: str, t, states_eme2000, path, warnings=None):
    """(epochs_tdb_s (K,), (K,6,6) km**2.. in EME2000). Local frames (RTN/RSW/RIC, VNB, TNW) are rotated with
    the segment's state at the covariance epoch (interpolated over all its points: T, STATES_EME2000, the
    repeated last line left out); the rotation rate of the local frame is neglected, the usual approximation."""
    epochs = []
    mats = []
    for c in seg.covariances:
        cframe = normalize_frame(c.frame) if c.frame else frame
        if cframe in ("EME2000", "ICRF", "MCI", "IAU_MARS"):
            r = rotation_to_eme2000(c.epoch_tdb_s, cframe)[0]
        elif cframe in ("RTN", "RSW", "RIC", "VNB", "TNW"):
            if not t[0] <= c.epoch_tdb_s <= t[-1]:
                raise ParseError(path, c.line, "EPOCH", f"a {cframe} covariance needs a state: its epoch is outside "
                                                        f"the segment's data")
            whole = TabulatedSegment(t, states_eme2000, "LAGRANGE", min(7, len(t) - 1) or 1)
            state = whole.state(np.array([c.epoch_tdb_s]))
            if cframe == "TNW":  # rows T = V, N = W x T = -B, W = orbit normal (VNB's N)
                v, n, b = cframes.vnb_matrix(state)[0]
                rows = np.array([v, -b, n])
            else:
                rows = (cframes.rtn_matrix(state) if cframe != "VNB" else cframes.vnb_matrix(state))[0]
            r = np.zeros((6, 6))
            r[:3, :3] = r[3:, 3:] = rows.T
        else:
            err = ParseError(path, c.line, "COV_REF_FRAME",
                             f"covariance frame {c.frame!r} cannot be converted "
                             "(EME2000, ICRF, MCI, IAU_MARS, RTN, RSW, RIC, VNB, TNW)")
            if warnings is None:
                raise err
            warnings.append(f"{err}; this covariance is ignored")
            continue
        epochs.append(c.epoch_tdb_s)
        mats.append(r @ c.matrix @ r.T)
    if not mats:
        return None
    return np.array(epochs), np.array(mats)


def oem_to_ephemerides(message: OemMessage, warnings=None) -> list[TabulatedEphemeris]:
    """One Mars-centred EME2000 TabulatedEphemeris per OBJECT_NAME, segments in file order (WARNINGS: see
    segment_to_tabulated)."""
    groups: dict[str, list[TabulatedSegment]] = {}
    for i, seg in enumerate(message.segments):
        groups.setdefault(seg.object_name, []).append(segment_to_tabulated(seg, message.path, i, warnings))
    return [TabulatedEphemeris(name, segs, "EME2000", message.path) for name, segs in groups.items()]


def _grid(a: float, b: float, step_s: float, time_system: str = "TDB") -> np.ndarray:
    """Epochs (TDB s) from A to B every STEP_S of the file's TIME_SYSTEM: a UTC file's epochs stay on its round
    grid (16:49:00, 16:50:00, ...) instead of drifting by TDB - TT (tens of microseconds a week). B closes the
    grid; a last node closer to it than STEP_S / 1000 is replaced by it (two nodes microseconds apart make a
    reader's interpolation ill-conditioned)."""
    scale = time_system.upper() if time_system.upper() in ("TDB", "TCB", "TT", "TAI", "GPS") else "TAI"  # UTC: TAI
    lo, hi = (float(x) for x in from_tdb_s(np.array([a, b]), scale))
    n = int(np.floor((hi - lo) / step_s + 1e-9))
    t = to_tdb_s(lo + step_s * np.arange(n + 1), scale)
    t[0] = a
    if b - t[-1] > 1e-3 * step_s or len(t) == 1:
        t = np.append(t, b)
    else:
        t[-1] = b
    return t


def _exact_epochs(tdb_s, lo, hi, time_system, digits):
    """Round epochs to the digits written, then re-derive TDB from that text, so the state written belongs
    to the epoch written (not to one up to half a unit of the last digit away). Stays inside [lo, hi]."""
    unit = 10.0 ** -digits
    e = EpochArray.from_tdb_s(tdb_s, time_system, digits)
    t = e.to_tdb_s(time_system)
    low, high = t < lo, t > hi
    if low.any() or high.any():
        fixed = np.where(low, tdb_s + unit, np.where(high, tdb_s - unit, tdb_s))
        e = EpochArray.from_tdb_s(fixed, time_system, digits)
        t = e.to_tdb_s(time_system)
    keep = np.concatenate([[True], np.diff(t) > 0])
    return e.take(keep), t[keep]


def ephemeris_to_oem(ephemerides, start_tdb_s=None, stop_tdb_s=None, step_s: float = 60.0, *,
                     boundaries=(), time_system: str = "UTC", digits: int = 6, comments=(),
                     segment_comments: dict | None = None, object_ids: dict | None = None,
                     originator: str = "MARSVIEW", creation_date: str | None = None, version: str = "2.0",
                     interpolation: str = "LAGRANGE", degree: int = DEFAULT_DEGREE) -> OemMessage:
    """Sample Mars-centred EME2000 ephemerides into an OEM: states every STEP_S over each one's coverage
    clipped to [start, stop], one segment per piece between the ephemeris' own segment boundaries and the
    extra BOUNDARIES (e.g. burn epochs). Each piece ends at the boundary minus one unit of the last epoch
    digit, so a discontinuity is written as two distinct epochs (10**-DIGITS s apart)."""
    if step_s <= 0:
        raise ValueError("step_s must be positive")
    if isinstance(ephemerides, (list, tuple)):
        ephs = list(ephemerides)
    else:
        ephs = [ephemerides]
    created = creation_date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    header = {"CCSDS_OEM_VERS": version, "CREATION_DATE": created, "ORIGINATOR": originator}
    segments = []
    unit = 10.0 ** -digits
    for eph in ephs:
        c0, c1 = eph.coverage
        a = c0 if start_tdb_s is None else max(c0, float(start_tdb_s))
        b = c1 if stop_tdb_s is None else min(c1, float(stop_tdb_s))
        if b <= a:
            continue
        cuts = np.concatenate([np.asarray(eph.segment_boundaries(), float), np.asarray(boundaries, float)])
        cuts = np.unique(cuts[(cuts > a) & (cuts < b)])
        edges = np.concatenate([[a], cuts, [b]])
        for k, (p, q) in enumerate(zip(edges[:-1], edges[1:])):
            q_end = q - unit if k < len(edges) - 2 else q
            if q_end <= p:
                continue
            try:  # a gap between the ephemeris' own segments: nothing to write there
                eph.state(np.array([0.5 * (p + q_end)]))
            except CoverageError:
                continue
            epochs, t = _exact_epochs(_grid(p, q_end, step_s, time_system), p, q_end, time_system, digits)
            states = np.asarray(eph.state(t), dtype=np.float64)
            frame = normalize_frame(getattr(eph, "frame", "EME2000"))
            if frame not in ("EME2000", "ICRF"):
                states = to_eme2000(states, t, frame)
            texts = epochs.take([0, -1]).format()
            meta = {"OBJECT_NAME": eph.name,
                    "OBJECT_ID": (object_ids or {}).get(eph.name, getattr(eph, "object_id", None) or "UNKNOWN"),
                    "CENTER_NAME": "MARS", "REF_FRAME": "EME2000", "TIME_SYSTEM": time_system.upper(),
                    "START_TIME": texts[0], "STOP_TIME": texts[1], "INTERPOLATION": interpolation.upper(),
                    "INTERPOLATION_DEGREE": str(min(degree, max(len(t) - 1, 1)))}
            segments.append(OemSegment(
                metadata=meta, epochs=epochs, epochs_tdb_s=t, states=states,
                comments=list((segment_comments or {}).get((eph.name, k), [])),
                data_lines=None))
    if not segments:
        raise ValueError("no ephemeris covers the requested window")
    return OemMessage(header, segments, list(comments))
