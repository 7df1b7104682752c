"""KVN (keyword = value) building blocks shared by the OEM, OPM and CDM readers and writers.

- ``read_kvn_lines``: a small file -> list of ``KvnLine`` (keyword, value, unit, line number), strictly decoded.
- ``parse_float`` / ``parse_int``: CCSDS numbers; NaN, inf, hex and '_' separators are refused.
- ``EpochArray``: epochs kept *as written* in the file's own time system (minute count + seconds of the
  minute), parsed vectorized from string arrays, so that writing them back reproduces every digit and no
  UTC<->TDB round trip can move the last decimal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import time as mtime
from .errors import ParseError

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_KEYWORD_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_UNIT_RE = re.compile(r"^(?P<value>.*?)\s*\[(?P<unit>[^\[\]]*)\]\s*$")


@dataclass(frozen=True)
class KvnLine:
    line: int
    keyword: str  # upper case; "COMMENT" for comments; "" for a data line (no '=')
    value: str  # stripped; for COMMENT the free text; for a data line the whole line
    unit: str | None = None


def decode_line(raw: bytes, path, lineno: int) -> str:
    """One raw line -> text; refuse binary content with the file and line."""
    if b"\x00" in raw:
        raise ParseError(path, lineno, "file", "binary content (NUL byte): not a CCSDS text message")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(path, lineno, "file", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def split_kvn(text: str, path, lineno: int) -> KvnLine:
    """A stripped non-blank line -> KvnLine; keyword syntax checked, units split off."""
    if text.startswith("COMMENT") and (len(text) == 7 or text[7] in " \t"):
        return KvnLine(lineno, "COMMENT", text[7:].strip())
    if "=" not in text:
        if _KEYWORD_RE.match(text):  # bare block keywords: META_START, COVARIANCE_STOP, ...
            return KvnLine(lineno, text.upper(), "")
        return KvnLine(lineno, "", text)
    key, _, value = text.partition("=")
    key = key.strip()
    if not _KEYWORD_RE.match(key):
        raise ParseError(path, lineno, key or "(blank)", "not a KVN keyword (letters, digits and '_' only)")
    value = value.strip()
    unit = None
    m = _UNIT_RE.match(value)
    if m:
        value, unit = m["value"].strip(), m["unit"].strip()
    return KvnLine(lineno, key.upper(), value, unit)


def read_kvn_lines(path) -> list[KvnLine]:
    """Read a whole (small) KVN file. Blank lines dropped; an empty or binary file is refused."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark some Windows tools write
        data = data[3:]
    out = []
    for lineno, raw in enumerate(data.splitlines(), 1):
        text = decode_line(raw, path, lineno).strip()
        if text:
            out.append(split_kvn(text, path, lineno))
    if not out:
        raise ParseError(path, 1 if data else 0, "file", "empty file: no CCSDS keywords")
    return out


def parse_float(value: str, path, line: int, keyword: str) -> float:
    if not _NUMBER_RE.match(value):
        raise ParseError(path, line, keyword, f"not a finite number: {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise ParseError(path, line, keyword, f"not a finite number (overflows float64): {value!r}")
    return number


def parse_int(value: str, path, line: int, keyword: str) -> int:
    if not re.match(r"^[+-]?\d+$", value):
        raise ParseError(path, line, keyword, f"not an integer: {value!r}")
    return int(value)


def format_float(x: float) -> str:
    """Shortest text that reads back to the same float64 (Python's repr), without a '+' or 'inf'."""
    text = repr(float(x))
    return text


# --- epochs kept as written --------------------------------------------------------------------------

_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_ZERO = ord("0")
_DATE0 = np.datetime64("2000-01-01", "D")


@dataclass
class EpochArray:
    """Epochs in a file's time system: whole minutes since 2000-01-01T00:00 of that scale's calendar, plus
    the seconds within the minute (0 <= s < 61; >= 60 only in a UTC leap second). ``digits`` decimals are
    written back; ``day_of_year`` selects the YYYY-DDD form."""

    minutes: np.ndarray  # int64
    seconds: np.ndarray  # float64
    digits: int = 3
    day_of_year: bool = False

    def __len__(self) -> int:
        return len(self.minutes)

    def to_tdb_s(self, time_system: str) -> np.ndarray:
        return mtime.calendar_minutes_to_tdb_s(self.minutes, self.seconds, time_system)

    def format(self) -> list[str]:
        days, minute_of_day = np.divmod(self.minutes, 1440)
        dates = _DATE0 + days.astype("m8[D]")
        if self.day_of_year:
            years = dates.astype("M8[Y]")
            doy = (dates - years.astype("M8[D]")).astype(np.int64) + 1
            date_txt = [f"{y}-{n:03d}" for y, n in zip(np.datetime_as_string(years), doy)]
        else:
            date_txt = np.datetime_as_string(dates).tolist()
        h, mi = np.divmod(minute_of_day, 60)
        n = self.digits
        width = 3 + n if n > 0 else 2
        return [
            f"{dt}T{hh:02d}:{mm:02d}:{ss:0{width}.{n}f}"
            for dt, hh, mm, ss in zip(date_txt, h.tolist(), mi.tolist(), self.seconds.tolist())
        ]

    def key(self) -> tuple[np.ndarray, np.ndarray]:
        return self.minutes, self.seconds

    def take(self, index) -> EpochArray:
        return EpochArray(self.minutes[index], self.seconds[index], self.digits, self.day_of_year)

    @staticmethod
    def concatenate(parts: list[EpochArray]) -> EpochArray:
        if not parts:
            return EpochArray(np.empty(0, np.int64), np.empty(0), 3, False)
        return EpochArray(
            np.concatenate([p.minutes for p in parts]),
            np.concatenate([p.seconds for p in parts]),
            max(p.digits for p in parts),
            parts[0].day_of_year,
        )

    @staticmethod
    def from_tdb_s(tdb_s, time_system: str, digits: int = 6, day_of_year: bool = False) -> EpochArray:
        t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
        if t.size == 0:
            return EpochArray(np.empty(0, np.int64), np.empty(0), digits, day_of_year)
        iy, im, iday, ihmsf = mtime.tdb_s_to_calendar(t, time_system, digits)
        dates = _dates_from_ymd(np.asarray(iy), np.asarray(im), np.asarray(iday))
        ihmsf = np.asarray(ihmsf)
        if ihmsf.dtype.names:  # pyerfa returns a structured (h, m, s, f) array
            hmsf = np.stack([ihmsf[name] for name in ihmsf.dtype.names], axis=-1).astype(np.int64)
        else:
            hmsf = ihmsf.reshape(-1, 4).astype(np.int64)
        minutes = (dates - _DATE0).astype(np.int64) * 1440 + hmsf[:, 0] * 60 + hmsf[:, 1]
        seconds = hmsf[:, 2] + hmsf[:, 3] / 10.0**digits
        return EpochArray(minutes, seconds, digits, day_of_year)

    @staticmethod
    def parse(texts, time_system: str) -> EpochArray:
        """Parse epoch strings (any CCSDS form). Raises ``EpochError(index, message)`` at the first bad one."""
        arr = np.asarray(texts)
        if arr.size == 0:
            return EpochArray(np.empty(0, np.int64), np.empty(0))
        if arr.dtype.kind != "S":
            try:  # one byte per character: 4x less memory than UCS-4 for the vectorized checks
                arr = np.char.encode(arr.astype(str), "ascii")
            except UnicodeEncodeError:
                arr = np.array([t.encode("ascii", "replace") for t in arr.astype(str).tolist()])
        width = max(arr.dtype.itemsize, 24)
        arr = np.ascontiguousarray(arr.astype(f"S{width}"))
        codes = arr.view(np.uint8).reshape(arr.size, width)
        lengths = np.char.str_len(arr)
        doy = (codes[:, 4] == ord("-")) & (codes[:, 7] != ord("-"))
        fast_cal = _fast_mask(codes, lengths, 0) & ~doy
        fast_doy = (_fast_mask(codes, lengths, -2) & doy) if doy.any() else doy
        minutes = np.empty(arr.size, np.int64)
        seconds = np.empty(arr.size)
        digits = 0
        for mask, shift in ((fast_cal, 0), (fast_doy, -2)):
            if mask.any():
                digits = max(digits, _fill_fast(codes[mask], lengths[mask], shift, time_system, minutes, seconds, mask))
        slow = ~(fast_cal | fast_doy)
        for i in np.flatnonzero(slow):
            m, s, nd = _parse_one(arr[i].decode("ascii", "replace"), time_system, i)
            minutes[i], seconds[i] = m, s
            digits = max(digits, nd)
        return EpochArray(minutes, seconds, digits, bool(doy[0]))


class EpochError(ValueError):
    def __init__(self, index: int, message: str):
        self.index = index
        super().__init__(message)


def _dates_from_ymd(y, mo, d):
    months = ((y - 1970) * 12 + (mo - 1)).astype("M8[M]")
    return months.astype("M8[D]") + (d - 1).astype("m8[D]")


def _digit(codes, pos):
    return codes[:, pos].astype(np.int64) - _ZERO


def _fast_mask(codes, lengths, shift):
    """Rows matching YYYY-MM-DDThh:mm:ss[.f...][Z] (shift 0) or YYYY-DDDThh:mm:ss... (shift -2) exactly."""
    ok = lengths >= 19 + shift
    digit_pos = [0, 1, 2, 3] + ([5, 6, 8, 9] if shift == 0 else [5, 6, 7]) + [p + shift for p in (11, 12, 14, 15, 17, 18)]
    sub = codes[:, digit_pos]
    ok &= ((sub >= _ZERO) & (sub <= _ZERO + 9)).all(axis=1)
    seps = {4: "-", 10 + shift: "T", 13 + shift: ":", 16 + shift: ":"}
    if shift == 0:
        seps[7] = "-"
    for p, ch in seps.items():
        ok &= codes[:, p] == ord(ch)
    # the tail after the seconds: nothing, or '.' and digits, with an optional final 'Z'
    tail = 19 + shift
    t = codes[:, tail:]
    dot, zed = t == ord("."), t == ord("Z")
    allowed = ((t >= _ZERO) & (t <= _ZERO + 9)) | dot | zed | (t == 0)
    ok &= allowed.all(axis=1) & ~dot[:, 1:].any(axis=1)
    z_count = zed.sum(axis=1)
    ok &= (z_count == 0) | ((z_count == 1) & (np.argmax(zed, axis=1) == lengths - 1 - tail))
    has_tail = lengths > tail
    ok &= ~has_tail | dot[:, 0] | zed[:, 0]
    return ok


def _fill_fast(codes, lengths, shift, time_system, minutes_out, seconds_out, mask):
    year = _digit(codes, 0) * 1000 + _digit(codes, 1) * 100 + _digit(codes, 2) * 10 + _digit(codes, 3)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    index = np.flatnonzero(mask)
    if shift == 0:
        month = _digit(codes, 5) * 10 + _digit(codes, 6)
        day = _digit(codes, 8) * 10 + _digit(codes, 9)
        bad = (month < 1) | (month > 12)
        dim = _DAYS_IN_MONTH[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
        bad |= (day < 1) | (day > dim)
        _raise_first(bad, index, "month or day out of range")
        dates = _dates_from_ymd(year, month, day)
    else:
        doy = _digit(codes, 5) * 100 + _digit(codes, 6) * 10 + _digit(codes, 7)
        _raise_first((doy < 1) | (doy > 365 + leap), index, "day of year out of range")
        dates = (year - 1970).astype("M8[Y]").astype("M8[D]") + (doy - 1).astype("m8[D]")
    hour = _digit(codes, 11 + shift) * 10 + _digit(codes, 12 + shift)
    minute = _digit(codes, 14 + shift) * 10 + _digit(codes, 15 + shift)
    sec = _digit(codes, 17 + shift) * 10 + _digit(codes, 18 + shift)
    _raise_first((hour > 23) | (minute > 59), index, "hour or minute out of range")
    limit = 61 if time_system.upper() == "UTC" else 60
    _raise_first(sec >= limit, index, f"second {'>= 61' if limit == 61 else '>= 60 outside UTC'}")
    # fraction: the digits after '.', read as an integer (exact up to 18 digits) then scaled once
    tail = 19 + shift + 1
    width = codes.shape[1]
    cols = np.arange(width)
    is_digit = (codes >= _ZERO) & (codes <= _ZERO + 9)
    frac_mask = (cols[None, :] >= tail) & (cols[None, :] < lengths[:, None]) & is_digit
    ndig = frac_mask.sum(axis=1)
    max_digits = int(ndig.max()) if ndig.size else 0
    frac = np.zeros(len(codes))
    if max_digits:
        use = min(max_digits, 18)
        block = np.where(frac_mask[:, tail:tail + use], codes[:, tail:tail + use].astype(np.int64) - _ZERO, 0)
        ints = np.zeros(len(codes), np.int64)
        for k in range(use):
            ints = ints * 10 + block[:, k]
        frac = ints / 10.0**use
    minutes_out[mask] = (dates - _DATE0).astype(np.int64) * 1440 + hour * 60 + minute
    seconds_out[mask] = sec + frac
    return max_digits


def _raise_first(bad, index, message):
    if np.any(bad):
        raise EpochError(int(index[np.argmax(bad)]), message)


def _parse_one(text: str, time_system: str, index: int):
    try:
        c = mtime.parse_calendar(text)
        mtime._check_leap_second(c, time_system)
    except ValueError as exc:
        raise EpochError(index, str(exc)) from None
    date = np.datetime64(f"{c.year:04d}-{c.month:02d}-{c.day:02d}", "D")
    minutes = int((date - _DATE0).astype(np.int64)) * 1440 + c.hour * 60 + c.minute
    m = re.search(r"\.(\d+)", text.split("T", 1)[1]) if "T" in text else None
    return minutes, c.second, len(m.group(1)) if m else 0


def parse_epoch(value: str, time_system: str, path, line: int, keyword: str) -> float:
    """One epoch keyword value -> TDB seconds, or a ParseError naming the keyword."""
    try:
        e = EpochArray.parse([value], time_system)
        return float(e.to_tdb_s(time_system)[0])
    except (EpochError, ValueError) as exc:
        raise ParseError(path, line, keyword, f"bad epoch {value!r}: {exc}") from None


def items_to_kvn(items: list[KvnLine]) -> str:
    """KVN text of a message's items (keywords aligned, units in brackets): how OPM and CDM are written."""
    width = max((len(it.keyword) for it in items if it.keyword not in ("COMMENT", "")), default=0)
    out = []
    for it in items:
        if it.keyword == "COMMENT":
            out.append(f"COMMENT {it.value}".rstrip())
        elif it.value == "" and it.unit is None:
            out.append(it.keyword)
        else:
            unit = f" [{it.unit}]" if it.unit else ""
            out.append(f"{it.keyword.ljust(width)} = {it.value}{unit}")
    return "\n".join(out) + "\n"
