"""Time scales and CCSDS epochs.

Internal epochs are float64 seconds of TDB past J2000 (2000-01-01T12:00:00 TDB), the same number SPICE
calls ET. float64 keeps ~0.1 us resolution over this century, enough for microsecond TCAs.

Leap seconds come from pyerfa, refreshed from the IERS table that the maintained ``astropy-iers-data``
package ships (pyerfa's built-in table stops in 2017). Every conversion is vectorized over arrays.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

import erfa
import numpy as np

from .jit import kernels_loaded

J2000_JD = 2451545.0
SECONDS_PER_DAY = 86400.0
TT_MINUS_TAI_S = 32.184
TIME_SYSTEMS = ("UTC", "TAI", "TT", "TDB", "GPS", "TCB")
TAI_MINUS_GPS_S = 19.0   # GPS time = TAI - 19 s exactly (no leap seconds since 1980-01-06)
# TDB = TCB - L_B (JD_TCB - T0) 86400 + TDB0 (IAU 2006 Resolution B3; ERFA's tcbtdb): L_B, TDB0 from ERFA,
# T0 = 1977-01-01T00:00:32.184 TAI as JD. Written in seconds past J2000 so float64 keeps ~0.1 us near 2030.
_TCB_T0_S = ((erfa.DJM0 + erfa.DJM77 - 2451545.0) * 86400.0 + erfa.TTMTAI)

_leap_table_loaded = False
_ERFA_LOCK = threading.RLock()
"""Held while the leap-second table is replaced and while ERFA runs under a temporary warnings filter
(``warnings.catch_warnings`` saves and restores process-wide state: two threads at once could leave the
other's filter in place)."""


def _load_leap_seconds() -> None:
    """Replace pyerfa's leap-second table with the current IERS one (astropy-iers-data)."""
    if _leap_table_loaded:
        return
    with _ERFA_LOCK:  # files are read in several threads at once (io.formats.read_in_order)
        _load_leap_seconds_once()


def _load_leap_seconds_once() -> None:
    global _leap_table_loaded
    if _leap_table_loaded:
        return
    try:
        import astropy_iers_data

        rows, expires = _parse_iers_leap_file(astropy_iers_data.IERS_LEAP_SECOND_FILE)
        table = np.array(rows, dtype=[("year", "i4"), ("month", "i4"), ("tai_utc", "f8")])
        erfa.leap_seconds.update(table)
        if expires is not None:
            erfa.leap_seconds.expires = expires
    except ImportError:  # pragma: no cover - the dependency is declared; fall back to pyerfa's own table
        pass
    _leap_table_loaded = True


def _parse_iers_leap_file(path: str):
    import datetime

    rows = []
    expires = None
    months = {m: i for i, m in enumerate(
        ["january", "february", "march", "april", "may", "june", "july", "august", "september",
         "october", "november", "december"], 1)}
    with open(path, encoding="ascii", errors="replace") as fh:
        for line in fh:
            text = line.strip()
            if text.startswith("#"):
                m = re.search(r"expires on\s+(\d+)\s+(\w+)\s+(\d{4})", text, re.IGNORECASE)
                if m and m.group(2).lower() in months:
                    expires = datetime.datetime(int(m.group(3)), months[m.group(2).lower()], int(m.group(1)))
                continue
            parts = text.split()
            if len(parts) == 5:
                rows.append((int(parts[3]), int(parts[2]), float(parts[4])))
    return rows, expires


def leap_second_table() -> np.ndarray:
    """(year, month, TAI-UTC) rows in force, for writing a SPICE LSK from the same source."""
    _load_leap_seconds()
    return erfa.leap_seconds.get()


# --- conversions between scales, on two-part Julian dates -----------------------------------------

def _split(tdb_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    days = np.asarray(tdb_s, dtype=np.float64) / SECONDS_PER_DAY
    return np.full_like(days, J2000_JD), days


def _tdb_minus_tt_s(jd1: np.ndarray, jd2: np.ndarray) -> np.ndarray:
    # geocentric TDB-TT (Fairhead & Bretagnon via ERFA); |value| < 1.7 ms
    return erfa.dtdb(jd1, jd2, 0.0, 0.0, 0.0, 0.0)


_DTDB_NODE_S = 6 * 3600.0


def tdb_minus_tt_s(t_s) -> np.ndarray:
    """TDB-TT [s] at epochs given as seconds past J2000 (TT or TDB: the difference is ~1e-14 s).

    ERFA's series costs ~20 us per epoch, so long arrays (ephemeris files, screening grids) evaluate it on a
    6-hour grid and interpolate with a cubic spline: < 1e-13 s from direct evaluation (tests/core)."""
    t = np.asarray(t_s, dtype=np.float64)
    if t.size < 64:
        return _tdb_minus_tt_s(np.full_like(t, J2000_JD), t / SECONDS_PER_DAY)
    lo = np.floor(t.min() / _DTDB_NODE_S) - 2
    hi = np.ceil(t.max() / _DTDB_NODE_S) + 2
    if hi - lo + 1 > t.size // 4:  # sparse epochs over a long span: the grid would cost more
        return _tdb_minus_tt_s(np.full_like(t, J2000_JD), t / SECONDS_PER_DAY)
    first_node_s, coefficients = _dtdb_spline(int(lo), int(hi))
    if kernels_loaded():  # the same formulas compiled, 6x faster on a file's 10,000 epochs
        from .kernels import cubic_on_uniform_nodes

        out = np.empty(t.shape)
        cubic_on_uniform_nodes(t.reshape(-1), first_node_s, _DTDB_NODE_S, coefficients, out.reshape(-1))
        return out
    # the spline's piecewise cubic evaluated as scipy's PPoly does (Horner in t - node), but the interval found
    # by one division, the nodes being uniform (a third of the cost of CubicSpline.__call__'s search)
    k = np.clip(((t - first_node_s) / _DTDB_NODE_S).astype(np.int64), 0, coefficients.shape[1] - 1)
    x = t - (first_node_s + k * _DTDB_NODE_S)
    c3, c2, c1, c0 = (row.take(k) for row in coefficients)
    return ((c3 * x + c2) * x + c1) * x + c0


@functools.lru_cache(maxsize=64)
def _dtdb_spline(lo: int, hi: int):
    """The cubic spline of TDB-TT over nodes LO..HI (6-hour indices) as (first node [s], PPoly coefficients
    (4, intervals)): a pure function of the span, so the files of one delivery (the same days) and every
    screening grid over them share one."""
    from scipy.interpolate import CubicSpline

    nodes = np.arange(lo, hi + 1) * _DTDB_NODE_S
    values = _tdb_minus_tt_s(np.full_like(nodes, J2000_JD), nodes / SECONDS_PER_DAY)
    coefficients = np.ascontiguousarray(CubicSpline(nodes, values).c)
    coefficients.flags.writeable = False
    return float(nodes[0]), coefficients


def tdb_s_to_tt_s(tdb_s):
    return np.asarray(tdb_s, dtype=np.float64) - tdb_minus_tt_s(tdb_s)


def tt_s_to_tdb_s(tt_s):
    return np.asarray(tt_s, dtype=np.float64) + tdb_minus_tt_s(tt_s)


def _with_erfa_warnings_as_errors(func, *args):
    import warnings

    with _ERFA_LOCK, warnings.catch_warnings():
        # "dubious year" only means beyond the table's expiry; the caller cannot act on it
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        return func(*args)


def utc_jd_to_tdb_s(jd1, jd2):
    """UTC two-part quasi-JD (ERFA convention, leap-second aware) -> TDB seconds past J2000."""
    _load_leap_seconds()
    tai1, tai2 = _with_erfa_warnings_as_errors(erfa.utctai, jd1, jd2)
    return tai_jd_to_tdb_s(tai1, tai2)


def tai_jd_to_tdb_s(jd1, jd2):
    tt_s = ((np.asarray(jd1) - J2000_JD) + np.asarray(jd2)) * SECONDS_PER_DAY + TT_MINUS_TAI_S
    return tt_s_to_tdb_s(tt_s)


def tdb_s_to_tai_s(tdb_s):
    """TAI seconds past J2000 (TAI count; J2000 meaning JD 2451545.0 on the TAI scale)."""
    return tdb_s_to_tt_s(tdb_s) - TT_MINUS_TAI_S


def tdb_s_to_utc_jd(tdb_s):
    """TDB seconds -> UTC two-part quasi-JD (ERFA convention)."""
    _load_leap_seconds()
    tai_s = tdb_s_to_tai_s(tdb_s)
    days = tai_s / SECONDS_PER_DAY
    return _with_erfa_warnings_as_errors(erfa.taiutc, np.full_like(days, J2000_JD), days)


def convert_seconds(t_s, from_scale: str, to_scale: str):
    """Seconds past J2000 in one scale -> seconds past J2000 in another ("UTC" counts SI seconds from
    2000-01-01T12:00:00 UTC, i.e. a continuous count: only used for durations near an epoch)."""
    tdb = to_tdb_s(t_s, from_scale)
    return from_tdb_s(tdb, to_scale)


def to_tdb_s(t_s, scale: str):
    """Seconds past J2000 in SCALE (TT/TAI/TDB) -> TDB seconds past J2000."""
    scale = scale.upper()
    t = np.asarray(t_s, dtype=np.float64)
    if scale == "TDB":
        return t
    if scale == "TT":
        return tt_s_to_tdb_s(t)
    if scale == "TAI":
        return tt_s_to_tdb_s(t + TT_MINUS_TAI_S)
    if scale == "GPS":
        return tt_s_to_tdb_s(t + TAI_MINUS_GPS_S + TT_MINUS_TAI_S)
    if scale == "TCB":
        return t - erfa.ELB * (t - _TCB_T0_S) + erfa.TDB0
    raise ValueError(f"unsupported time scale {scale!r} for a continuous count")


def from_tdb_s(tdb_s, scale: str):
    scale = scale.upper()
    t = np.asarray(tdb_s, dtype=np.float64)
    if scale == "TDB":
        return t
    if scale == "TT":
        return tdb_s_to_tt_s(t)
    if scale == "TAI":
        return tdb_s_to_tai_s(t)
    if scale == "GPS":
        return tdb_s_to_tai_s(t) - TAI_MINUS_GPS_S
    if scale == "TCB":
        return (t - erfa.TDB0 - erfa.ELB * _TCB_T0_S) / (1.0 - erfa.ELB)
    raise ValueError(f"unsupported time scale {scale!r} for a continuous count")


# --- CCSDS epoch strings ----------------------------------------------------------------------------

_EPOCH_RE = re.compile(
    r"^\s*(?P<year>\d{4})-(?:(?P<month>\d{2})-(?P<day>\d{2})|(?P<doy>\d{3}))"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2}(?:\.\d*)?)(?P<z>Z?))?\s*$"
)


@dataclass(frozen=True)
class CalendarEpoch:
    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: float  # may reach 60.x during a UTC leap second


def parse_calendar(text: str) -> CalendarEpoch:
    """Parse a CCSDS epoch (calendar or day-of-year form). Raises ValueError with the reason."""
    m = _EPOCH_RE.match(text)
    if not m:
        raise ValueError(f"not a CCSDS epoch (YYYY-MM-DDThh:mm:ss[.f] or YYYY-DDDThh:mm:ss[.f]): {text.strip()!r}")
    year = int(m["year"])
    if m["doy"] is not None:
        doy = int(m["doy"])
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if not 1 <= doy <= (366 if leap else 365):
            raise ValueError(f"day of year {doy} out of range in {text.strip()!r}")
        import datetime

        d = datetime.date(year, 1, 1) + datetime.timedelta(days=doy - 1)
        month, day = d.month, d.day
    else:
        month, day = int(m["month"]), int(m["day"])
    hour = int(m["hour"] or 0)
    minute = int(m["minute"] or 0)
    second = float(m["second"] or 0.0)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second < 61.0):
        raise ValueError(f"epoch field out of range in {text.strip()!r}")
    return CalendarEpoch(year, month, day, hour, minute, second)


def _calendar_to_jd(scale: str, year, month, day, hour, minute, second):
    _load_leap_seconds()
    erfa_scale = "UTC" if scale == "UTC" else "TAI"  # any uniform scale: no leap-second handling
    try:
        return _with_erfa_warnings_as_errors(erfa.dtf2d, erfa_scale, year, month, day, hour, minute, second)
    except erfa.ErfaError as exc:
        raise ValueError(f"invalid calendar date: {exc}") from None


def calendar_to_tdb_s(year, month, day, hour, minute, second, time_system: str):
    """Vectorized calendar fields in TIME_SYSTEM -> TDB seconds past J2000 (fields checked by ERFA)."""
    scale = time_system.upper()
    if scale not in TIME_SYSTEMS:
        raise ValueError(f"unsupported TIME_SYSTEM {time_system!r} (marsview reads {', '.join(TIME_SYSTEMS)})")
    jd1, jd2 = _calendar_to_jd(scale, year, month, day, hour, minute, second)
    y, mo, d = (np.asarray(x, dtype=np.int64) for x in (year, month, day))
    minutes = _days_since_2000(y, mo, d) * 1440 + np.asarray(hour, dtype=np.int64) * 60 + np.asarray(minute)
    fast = _minutes_to_tdb_s(minutes, np.asarray(second, dtype=np.float64), scale)
    if fast is not None:
        return fast
    if scale == "UTC":
        return utc_jd_to_tdb_s(jd1, jd2)
    seconds = ((jd1 - J2000_JD) + jd2) * SECONDS_PER_DAY
    return to_tdb_s(seconds, scale)


def calendar_minutes_to_tdb_s(minutes, seconds, time_system: str):
    """Epochs as whole minutes since 2000-01-01T00:00 of TIME_SYSTEM's calendar plus the seconds of the minute
    (>= 60 only inside a UTC leap second) -> TDB seconds past J2000. Vectorized: ERFA is called once per
    distinct UTC day (TAI-UTC only changes at midnight), so a million epochs convert in milliseconds. A
    second >= 60 outside a leap second raises the same ValueError as ``calendar_to_tdb_s``."""
    scale = time_system.upper()
    if scale not in TIME_SYSTEMS:
        raise ValueError(f"unsupported TIME_SYSTEM {time_system!r} (marsview reads {', '.join(TIME_SYSTEMS)})")
    minutes = np.asarray(minutes, dtype=np.int64)
    seconds = np.asarray(seconds, dtype=np.float64)
    leap = seconds >= 60.0
    if np.any(leap):  # let ERFA judge (and refuse) seconds 60.x exactly as the calendar path does
        y, mo, d, h, mi = _minutes_to_fields(minutes[leap])
        _calendar_to_jd(scale, y, mo, d, h, mi, seconds[leap])
    fast = _minutes_to_tdb_s(minutes, seconds, scale)
    if fast is not None:
        return fast
    y, mo, d, h, mi = _minutes_to_fields(minutes)
    return calendar_to_tdb_s(y, mo, d, h, mi, seconds, scale)


_DAY0_2000 = np.datetime64("2000-01-01", "D")
_UTC_INTEGER_LEAP_SECONDS_FROM = 10227  # 1972-01-01 in days since 2000-01-01 is -10227


def _days_since_2000(y, mo, d):
    months = ((y - 1970) * 12 + (mo - 1)).astype("M8[M]")
    return (months.astype("M8[D]") - _DAY0_2000).astype(np.int64) + (d - 1)


def _minutes_to_fields(minutes):
    days, minute_of_day = np.divmod(np.asarray(minutes, dtype=np.int64), 1440)
    dates = _DAY0_2000 + days.astype("m8[D]")
    years, months = dates.astype("M8[Y]"), dates.astype("M8[M]")
    y = years.astype(np.int64) + 1970
    mo = (months - years.astype("M8[M]")).astype(np.int64) + 1
    d = (dates - months.astype("M8[D]")).astype(np.int64) + 1
    h, mi = np.divmod(minute_of_day, 60)
    return y, mo, d, h, mi


def _minutes_to_tdb_s(minutes, seconds, scale):
    """The arithmetic of calendar -> TDB on whole days; None where it does not apply (UTC before 1972, whose
    TAI-UTC was not a whole number of seconds fixed over each day)."""
    shape = np.shape(minutes)
    minutes, seconds = np.broadcast_arrays(np.ravel(minutes), np.ravel(seconds))
    out = _minutes_to_tdb_s_flat(minutes, seconds, scale)
    return None if out is None else out.reshape(shape)


def _minutes_to_tdb_s_flat(minutes, seconds, scale):
    # seconds past J2000 (noon) on the scale's own uniform count; whole numbers are exact in float64
    count = (minutes * 60 - 43200).astype(np.float64) + seconds
    if scale == "UTC":
        if minutes.size == 0:
            return count
        first_day, last_day = int(minutes.min()) // 1440, int(minutes.max()) // 1440
        if first_day < -_UTC_INTEGER_LEAP_SECONDS_FROM:
            return None
        if last_day - first_day < 64:  # a file's span: TAI-UTC of each day, one value unless a leap second is inside
            _load_leap_seconds()
            y, mo, d, _, _ = _minutes_to_fields(np.arange(first_day, last_day + 1) * 1440)
            tai_minus_utc = np.asarray(_with_erfa_warnings_as_errors(erfa.dat, y, mo, d, 0.0))
            if np.all(tai_minus_utc == tai_minus_utc[0]):
                return tt_s_to_tdb_s(count + float(tai_minus_utc[0]) + TT_MINUS_TAI_S)
        days = minutes // 1440
        cut = np.flatnonzero(np.diff(days)) + 1  # epochs come sorted: one ERFA call per run of one day
        starts = np.concatenate([[0], cut])
        if starts.size > days.size // 8 + 16:
            unique, inverse = np.unique(days, return_inverse=True)
        else:
            unique, inverse = days[starts], np.repeat(np.arange(starts.size), np.diff(np.append(starts, days.size)))
        _load_leap_seconds()
        y, mo, d, _, _ = _minutes_to_fields(unique * 1440)
        tai_minus_utc = _with_erfa_warnings_as_errors(erfa.dat, y, mo, d, 0.0)
        return tt_s_to_tdb_s(count + np.asarray(tai_minus_utc)[inverse] + TT_MINUS_TAI_S)
    return to_tdb_s(count, scale)


def epoch_to_tdb_s(text: str, time_system: str = "UTC") -> float:
    """One CCSDS epoch string in TIME_SYSTEM -> TDB seconds past J2000."""
    c = parse_calendar(text)
    _check_leap_second(c, time_system)
    return float(calendar_to_tdb_s(c.year, c.month, c.day, c.hour, c.minute, c.second, time_system))


def _check_leap_second(c: CalendarEpoch, time_system: str) -> None:
    if c.second >= 60.0 and time_system.upper() != "UTC":
        raise ValueError(f"second {c.second} is only valid during a UTC leap second")


def epochs_to_tdb_s(texts, time_system: str = "UTC") -> np.ndarray:
    """Many epoch strings -> TDB seconds (vectorized through ERFA; the regex runs per string)."""
    fields = np.array(
        [(c.year, c.month, c.day, c.hour, c.minute, c.second) for c in map(parse_calendar, texts)],
        dtype=np.float64,
    ).reshape(-1, 6)
    return calendar_to_tdb_s(
        fields[:, 0].astype(int), fields[:, 1].astype(int), fields[:, 2].astype(int),
        fields[:, 3].astype(int), fields[:, 4].astype(int), fields[:, 5], time_system,
    )


def tdb_s_to_calendar(tdb_s, time_system: str = "UTC", digits: int = 6):
    """TDB seconds -> (iy, im, id, ihmsf) arrays from ERFA's d2dtf, rounded to DIGITS decimals."""
    scale = time_system.upper()
    t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
    if scale == "UTC":
        jd1, jd2 = tdb_s_to_utc_jd(t)
        erfa_scale = "UTC"
    else:
        seconds = from_tdb_s(t, scale)
        jd1, jd2 = np.full_like(seconds, J2000_JD), seconds / SECONDS_PER_DAY
        erfa_scale = "TAI"
    return _with_erfa_warnings_as_errors(erfa.d2dtf, erfa_scale, digits, jd1, jd2)


def format_epochs(tdb_s, time_system: str = "UTC", digits: int = 6, day_of_year: bool = False) -> list[str]:
    """TDB seconds -> CCSDS epoch strings in TIME_SYSTEM (calendar or day-of-year form)."""
    iy, im, iday, ihmsf = tdb_s_to_calendar(tdb_s, time_system, digits)
    out = []
    import datetime

    for y, mo, d, (h, mi, s, f) in zip(iy, im, iday, ihmsf):
        if day_of_year:
            date = f"{y:04d}-{datetime.date(y, mo, d).timetuple().tm_yday:03d}"
        else:
            date = f"{y:04d}-{mo:02d}-{d:02d}"
        frac = f".{f:0{digits}d}" if digits > 0 else ""
        out.append(f"{date}T{h:02d}:{mi:02d}:{s:02d}{frac}")
    return out


def format_epoch(tdb_s: float, time_system: str = "UTC", digits: int = 6, day_of_year: bool = False) -> str:
    return format_epochs([tdb_s], time_system, digits, day_of_year)[0]


def format_clock(tdb_s: float, time_system: str = "UTC", digits: int = 0) -> str:
    """'YYYY-MM-DD HH:MM:SS[.f…]' for an on-screen clock: the epoch rounded to the millisecond once, then cut
    (not rounded) to DIGITS (0..3) decimals. Clocks showing different precisions of the same instant then
    never disagree: at 12:00:59.96 a 1-decimal clock shows 12:00:59.9 and a whole-second one 12:00:59 (each
    rounding on its own gave 12:01:00.0 and 12:01:00, a second ahead of what the time bar said a moment ago)."""
    if not 0 <= digits <= 3:
        raise ValueError(f"clock digits must be 0..3, got {digits}")
    text = format_epoch(tdb_s, time_system, digits=3).replace("T", " ")
    return text[: len(text) - (3 - digits) - (1 if digits == 0 else 0)]


def utc_to_tdb_s(text: str) -> float:
    """Convenience: a UTC string (CCSDS form; a trailing 'Z' is accepted) -> TDB seconds."""
    return epoch_to_tdb_s(text, "UTC")


def tdb_s_to_utc(tdb_s: float, digits: int = 3) -> str:
    return format_epoch(tdb_s, "UTC", digits)


def utc_label(tdb_s, digits: int = 3) -> str:
    """An epoch for a user message: '2024-04-01T00:00:00.000 UTC' (what users read; never a TDB count).
    Non-finite or unrepresentable epochs (beyond year 9999) are described rather than raising."""
    try:
        t = float(tdb_s)
        if not np.isfinite(t):
            return f"{t} (not an epoch)"
        return format_epoch(t, "UTC", digits) + " UTC"
    except (ValueError, OverflowError, erfa.ErfaError):
        return f"TDB {float(tdb_s):.3f} s past J2000 (beyond the calendar range)"


def utc_span(start_tdb_s, stop_tdb_s, digits: int = 3) -> str:
    """'[2024-04-01T00:00:00.000, 2024-04-08T00:00:00.000] UTC' for a user message."""
    a, b = utc_label(start_tdb_s, digits), utc_label(stop_tdb_s, digits)
    if a.endswith(" UTC") and b.endswith(" UTC"):
        return f"[{a[:-4]}, {b[:-4]}] UTC"
    return f"[{a}, {b}]"


# --- durations ---------------------------------------------------------------------------------------

_DURATION_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*(d|h|m|min|s)?\s*$")
_UNIT_S = {"d": 86400.0, "h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0, None: 1.0}


def parse_duration_s(text: str) -> float:
    """'7d', '36h', '90m', '600s' or a bare number of seconds -> seconds."""
    m = _DURATION_RE.match(str(text))
    if not m:
        raise ValueError(f"not a duration (e.g. 7d, 36h, 90m, 600s): {text!r}")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def julian_centuries_tdb(tdb_s):
    return np.asarray(tdb_s, dtype=np.float64) / (SECONDS_PER_DAY * 36525.0)


def days_tdb(tdb_s):
    return np.asarray(tdb_s, dtype=np.float64) / SECONDS_PER_DAY
