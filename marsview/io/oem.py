"""CCSDS Orbit Ephemeris Message (502.0-B-2/-B-3, versions 1.0-3.0), KVN: streaming reader and exact writer.

The reader streams: it walks the file once in ~1 MiB blocks, cuts out each run of data lines with one regex
search and scans it in bulk (``oem_scan``: one compiled pass over the bytes, epochs and numbers converted
exactly as the line reader would), so a million-line file loads in well under a second. The rows go into
columns allocated once for the whole file (its line count is known from a first pass), so memory stays at
the arrays kept. Whatever the bulk scan does not accept goes through the line reader (runs of up to
``CHUNK_LINES`` lines to ``numpy.loadtxt``, then a per-line pass that finds the exact line and field to
report), so errors read the same either way. Epochs are kept as written (in the file's time system) beside
their TDB values, and numbers are written back with the shortest text that reads back to the same float64:
read -> write -> read is identical, digit for digit.

A segment whose last data line repeats the one before it exactly (same epoch, same numbers; some writers
emit one) is read as written, ``OemMessage.warnings`` says so, and ``oem_convert`` leaves the repeat out of
the ephemeris; a repeated epoch anywhere else is an error.

Mars-centred ephemeris objects: ``oem_to_ephemerides`` / ``ephemeris_to_oem`` in ``marsview.io.oem_convert``
(which imports this module, never the reverse).
"""

from __future__ import annotations

import datetime
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import oem_scan, oem_xml
from .atomic import atomic_open
from .errors import ParseError
from ..core import time as mtime
from .frames_io import check_time_system
from .kvn import EpochArray, EpochError, decode_line, format_float, parse_epoch, parse_float, parse_int, split_kvn

CHUNK_LINES = 50_000
WHOLE_FILE_BYTES = 16 << 20
"""Files up to this size are read in one block (one read, one decode, one scan per run of data lines);
larger ones stream in ~1 MiB blocks, so memory stays at the arrays kept."""
_NO_ACCELERATIONS = np.empty((0, 3))
VERSIONS = ("1.0", "2.0", "3.0")
HEADER_KEYS = ("CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
HEADER_MANDATORY = ("CREATION_DATE", "ORIGINATOR")
META_KEYS = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "REF_FRAME_EPOCH", "TIME_SYSTEM",
             "START_TIME", "USEABLE_START_TIME", "USEABLE_STOP_TIME", "STOP_TIME", "INTERPOLATION",
             "INTERPOLATION_DEGREE")
META_MANDATORY = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM", "START_TIME", "STOP_TIME")
INTERPOLATIONS = ("LAGRANGE", "HERMITE", "LINEAR")
FIELDS = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT", "X_DDOT", "Y_DDOT", "Z_DDOT")
_EPOCH_DTYPE = "S80"
# the next line whose first character is not a digit (a keyword, COMMENT, junk); the literal '\n' prefix keeps
# the regex scan at memchr speed
_NON_DATA = re.compile(r"\n[ \t\r\f\v]*[^\d\s]")
_BLANK = re.compile(r"\n[ \t\f\v]*\n")


@dataclass
class OemCovariance:
    """One covariance matrix [km^2, km^2/s, km^2/s^2] in ``frame`` (None: the segment's REF_FRAME)."""

    epoch_text: str
    epoch_tdb_s: float
    matrix: np.ndarray  # (6,6) symmetric
    frame: str | None = None
    line: int = 0


@dataclass
class OemSegment:
    metadata: dict[str, str]
    epochs: EpochArray
    epochs_tdb_s: np.ndarray
    states: np.ndarray  # (N,6) km, km/s, as written in the file's REF_FRAME about CENTER_NAME
    accelerations: np.ndarray | None = None  # (N,3) km/s^2
    covariances: list[OemCovariance] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # in the metadata block
    data_comments: list[str] = field(default_factory=list)
    covariance_comments: list[str] = field(default_factory=list)
    metadata_lines: dict[str, int] = field(default_factory=dict)
    data_lines: np.ndarray | None = None  # line number of every data line
    start_line: int = 0  # META_START

    def _meta(self, key: str, default=None):
        return self.metadata.get(key, default)

    object_name = property(lambda self: self.metadata["OBJECT_NAME"])
    object_id = property(lambda self: self.metadata["OBJECT_ID"])
    center_name = property(lambda self: self.metadata["CENTER_NAME"])
    ref_frame = property(lambda self: self.metadata["REF_FRAME"])
    time_system = property(lambda self: self.metadata["TIME_SYSTEM"].upper())
    interpolation = property(lambda self: self._meta("INTERPOLATION"))

    @property
    def interpolation_degree(self) -> int | None:
        value = self._meta("INTERPOLATION_DEGREE")
        return int(value) if value is not None else None

    def _epoch(self, key: str) -> float | None:
        value = self._meta(key)
        if value is None:
            return None
        return parse_epoch(value, self.time_system, "", self.metadata_lines.get(key, 0), key)

    start_tdb_s = property(lambda self: self._epoch("START_TIME"))
    stop_tdb_s = property(lambda self: self._epoch("STOP_TIME"))
    useable_start_tdb_s = property(lambda self: self._epoch("USEABLE_START_TIME"))
    useable_stop_tdb_s = property(lambda self: self._epoch("USEABLE_STOP_TIME"))


@dataclass
class OemMessage:
    header: dict[str, str]
    segments: list[OemSegment]
    comments: list[str] = field(default_factory=list)
    path: str = ""
    header_lines: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """What the reader tolerated (``file:line: keyword: what``), e.g. a segment's repeated last data line."""

    @property
    def version(self) -> str:
        return self.header.get("CCSDS_OEM_VERS", "2.0")


# --- reading ---------------------------------------------------------------------------------------

def read_oem(path) -> OemMessage:
    """Read an OEM (KVN, or XML when the file starts with '<'). Raises ParseError (file:line: keyword: why)."""
    path = Path(path)
    try:
        fh = open(path, "rb", buffering=0)  # unbuffered: reads are whole files or 1 MiB blocks (a buffered
    except OSError as exc:                  # read-all after a seek copies the file several times over)
        raise ParseError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from None
    with fh:
        head = fh.read(512).lstrip()
        fh.seek(0)
        if head.startswith(b"<"):
            return read_oem_xml(path)
        return OemReader(path).run(fh)


def read_oem_xml(path, block_bytes: int = 1 << 22) -> OemMessage:
    """Read an XML OEM (streamed through the KVN rules). Raises ParseError (file:line: element/keyword: why)."""
    return oem_xml.stream_oem_xml(path, OemReader(Path(path)), block_bytes)


class _Segment:
    """A segment being read: metadata, then data chunks."""

    def __init__(self, line: int):
        self.start_line = line
        self.meta: dict[str, str] = {}
        self.meta_lines: dict[str, int] = {}
        self.comments: list[str] = []
        self.data_comments: list[str] = []
        self.cov_comments: list[str] = []
        self.ncols: int | None = None
        self.row0: int | None = None  # first row in the reader's _Rows
        self.rows = 0
        self.digits = 0
        self.day_of_year = False
        self.last_key: tuple | None = None
        self.last_values: np.ndarray | None = None
        self.pending_duplicate: tuple[int, str] | None = None  # (line, epoch text) of a repeated last line
        self.covs: list[OemCovariance] = []
        self.time_system = "UTC"
        self.meta_stop_line = 0


class OemReader:
    """The OEM line checker: KVN lines (from a KVN file, or an XML OEM flattened by oem_xml) in, an OemMessage
    out (``run``/``run_lines``/``step`` then ``finish``)."""

    def __init__(self, path: Path):
        self.path = path
        self.header: dict[str, str] = {}
        self.header_lines: dict[str, int] = {}
        self.comments: list[str] = []
        self.segments: list[OemSegment] = []
        self.seg: _Segment | None = None
        self.block: list[str] = []
        self.block_lines: list[int] = []
        self.cov: dict | None = None
        self.state = "header"
        self.rows = _Rows()
        self.bulk = False
        self.warnings: list[str] = []

    def error(self, line, keyword, message):
        return ParseError(self.path, line, keyword, message)

    def run(self, fh) -> OemMessage:
        try:
            size = os.fstat(fh.fileno()).st_size
        except (OSError, AttributeError, ValueError):
            size = WHOLE_FILE_BYTES + 1
        if size <= WHOLE_FILE_BYTES:
            whole = fh.read()
            newlines = oem_scan.count_newlines(whole)
            blocks = self.blocks(io.BytesIO(whole), max(len(whole), 1))
        else:
            newlines = 0
            while chunk := fh.read(1 << 20):  # size the columns once: a data line is at most one row
                newlines += oem_scan.count_newlines(chunk)
            fh.seek(0)
            blocks = self.blocks(fh)
        self.rows = _Rows(newlines + 1)
        self.bulk = oem_scan.enabled(newlines)
        lineno = 0
        for data in blocks:
            if self.bulk and data.isascii() and b"\x00" not in data:
                # ASCII (what the scan reads): runs of data lines are scanned in place, and only the other lines
                # are decoded (decoding the whole block cost as much as a third of the scan)
                lineno = self.walk_ascii(lineno, data)
            else:
                lineno = self.walk(lineno, self.decode(data, lineno))
        return self.finish(lineno)

    def walk_ascii(self, lineno: int, data: bytes) -> int:
        """``walk`` of an ASCII block without NUL bytes, on its bytes: the same steps, the keyword lines decoded
        one by one. Where the scan declines a run, the rest of the block is walked as text."""
        raw = np.frombuffer(data, np.uint8)
        pos, n = 0, len(data)
        while pos < n:
            if self.state == "data" and data[pos:pos + 64].lstrip(b" \t\r\f\v")[:1].isdigit():
                done = self.scan_in_place(raw, data, pos, lineno)
                if done is None:  # the line reader judges this run, cut out as walk cuts it (on the text)
                    rest = data[pos:].decode("ascii")
                    m = _NON_DATA.search(rest)
                    end = m.start() + 1 if m else len(rest)
                    lineno = self.add_span(rest[:end], lineno, bulk=False)
                    pos += end
                    continue
                pos, lineno = done
                continue
            nl = data.find(b"\n", pos)
            if nl < 0:
                nl = n
            lineno += 1
            line = data[pos:nl].decode("ascii").strip()  # (str's strip: what walk strips)
            pos = nl + 1
            if line:
                self.step(lineno, line)
        return lineno

    def run_lines(self, numbered_lines) -> OemMessage:
        """Walk (line number, stripped text) pairs (an XML OEM flattened to KVN lines)."""
        lineno = 0
        for lineno, text in numbered_lines:
            if text:
                self.step(lineno, text)
        return self.finish(lineno)

    def walk(self, lineno: int, text: str) -> int:
        """Walk a decoded block of whole lines that starts after line LINENO; return the last line number.
        Runs of data lines are cut out with one regex search and handed to the bulk scan as slices (an ASCII
        block goes through walk_ascii instead, which scans them in place); no per-line Python either way."""
        pos, n = 0, len(text)
        while pos < n:
            if self.state == "data":
                head = text[pos:pos + 64].lstrip(" \t\r\f\v")
                if head[:1].isdigit() and head[:1].isascii():
                    m = _NON_DATA.search(text, pos)
                    end = m.start() + 1 if m else n
                else:
                    end = pos
                if end > pos:
                    lineno = self.add_span(text[pos:end], lineno)
                    pos = end
                    continue
            nl = text.find("\n", pos)
            if nl < 0:
                nl = n
            lineno += 1
            line = text[pos:nl].strip()
            pos = nl + 1
            if line:
                self.step(lineno, line)
        return lineno

    def scan_in_place(self, raw: np.ndarray, text: bytes, pos: int, lineno: int):
        """The data lines of RAW from offset POS (the first after line LINENO) scanned straight into the
        file's columns, up to the next keyword line: (its offset, the line before it), or None (nothing
        stored) when the scan meets anything the line reader must judge."""
        seg, rows = self.seg, self.rows
        if self.block:
            self.flush()
        self.check_no_pending_duplicate()
        ncols = seg.ncols
        if ncols is None:
            nl = text.find(b"\n", pos)
            ncols = len(text[pos:nl if nl >= 0 else len(text)].split())
            if ncols not in (7, 10):
                return None  # the line reader says what is wrong
        if ncols == 10:
            rows.ensure_accelerations()
        start = rows.n
        acc = rows.accelerations[start:] if ncols == 10 else _NO_ACCELERATIONS
        status, end, count, k, ncols, digits, doy, hard = oem_scan.scan_run(
            raw, pos, ncols, seg.time_system == "UTC", lineno + 1, seg.last_key, rows.minutes[start:],
            rows.seconds[start:], rows.states[start:], acc, rows.lines[start:])
        if status == oem_scan.IRREGULAR or k == 0:
            return None
        for r, c, a, b in hard.tolist():
            value = float(raw[a:b].tobytes())
            if not math.isfinite(value):
                return None
            if c < 6:
                rows.states[start + r, c] = value
            else:
                rows.accelerations[start + r, c - 6] = value
        rows_now = slice(start, start + k)
        epochs = EpochArray(rows.minutes[rows_now], rows.seconds[rows_now], digits, doy)
        try:
            rows.tdb[rows_now] = epochs.to_tdb_s(seg.time_system)
        except ValueError:
            return None
        seg.ncols = ncols
        rows.n += k
        last = rows.states[start + k - 1] if ncols == 7 else np.concatenate(
            [rows.states[start + k - 1], rows.accelerations[start + k - 1]])
        self.note_rows(epochs, start, last)
        return end, lineno + count

    def step(self, lineno: int, text: str) -> None:
        if self.state == "data" and "0" <= text[0] <= "9" and "=" not in text:
            self.add_lines([text], [lineno])
            return
        if self.block:
            self.flush()
        kv = split_kvn(text, self.path, lineno)
        self.state = getattr(self, "on_" + self.state)(kv, self.state)

    def add_span(self, span: str, lineno: int, bulk: bool = True) -> int:
        """Read a run of data lines (whole lines, the first after line LINENO); return the last line number.
        BULK: try the bulk scan first (False: the in-place scan of this run has already declined it)."""
        body = span[:-1] if span.endswith("\n") else span
        count = body.count("\n") + 1
        if bulk and self.bulk and span.isascii() and self.add_scanned(body.encode("ascii"), lineno):
            return lineno + count
        if "\r" in body:
            body = body.replace("\r", "")
        lines = body.split("\n")
        if lines[0].strip() and lines[-1].strip() and _BLANK.search(body) is None:
            self.add_lines(lines, range(lineno + 1, lineno + 1 + len(lines)))
        else:
            for i, line in enumerate(lines):
                if line.strip():
                    self.add_lines([line], [lineno + 1 + i])
        return lineno + count

    def add_scanned(self, data: bytes, lineno: int) -> bool:
        """The bulk path: False (nothing stored) when the scan meets anything the line reader must judge."""
        seg = self.seg
        if self.block:
            self.flush()
        self.check_no_pending_duplicate()
        buf = np.frombuffer(data, np.uint8)
        status, n, ncols, digits, doy, line, minutes, seconds, values, hard = oem_scan.scan_data_lines(
            buf, seg.ncols or 0, seg.time_system == "UTC")
        if status != oem_scan.OK or n == 0:
            return False
        if len(hard):
            for r, c, a, b in hard.tolist():
                values[r, c] = float(data[a:b])
            if not np.isfinite(values[hard[:, 0], hard[:, 1]]).all():
                return False
        if seg.last_key is not None and not (int(minutes[0]), float(seconds[0])) > seg.last_key:
            return False
        epochs = EpochArray(minutes, seconds, digits, doy)
        try:
            tdb = epochs.to_tdb_s(seg.time_system)
        except ValueError:
            return False
        seg.ncols = ncols
        self.store_rows(epochs, tdb, values, line + (lineno + 1))
        return True

    def check_no_pending_duplicate(self) -> None:
        if self.seg.pending_duplicate is not None:  # the repeated line was not the segment's last after all
            line, text = self.seg.pending_duplicate
            raise self.error(line, "epoch", f"epoch {text} is not after the previous epoch")

    def store_rows(self, epochs: EpochArray, tdb, values, lines) -> None:
        self.check_no_pending_duplicate()
        start = self.rows.n
        self.rows.append(epochs.minutes, epochs.seconds, tdb, values, lines)
        self.note_rows(epochs, start, values[-1].copy())

    def note_rows(self, epochs: EpochArray, start: int, last_values: np.ndarray) -> None:
        """The segment's account of the rows EPOCHS just stored in the columns from row START."""
        seg = self.seg
        if seg.row0 is None:
            seg.row0 = start
            seg.day_of_year = epochs.day_of_year
        seg.rows += len(epochs)
        seg.digits = max(seg.digits, epochs.digits)
        seg.last_key = (int(epochs.minutes[-1]), float(epochs.seconds[-1]))
        seg.last_values = last_values

    def add_data_line(self, line: int, text: str) -> None:
        """One data line while in a data block (the XML reader's fast path): checked in chunks of CHUNK_LINES."""
        self.block.append(text)
        self.block_lines.append(line)
        if len(self.block) >= CHUNK_LINES:
            self.flush()

    def add_lines(self, texts, numbers) -> None:
        i = 0
        while i < len(texts):
            room = CHUNK_LINES - len(self.block)
            self.block.extend(texts[i:i + room])
            self.block_lines.extend(numbers[i:i + room])
            i += room
            if len(self.block) >= CHUNK_LINES:
                self.flush()

    def finish(self, lineno: int) -> OemMessage:
        if self.block:
            self.flush()
        state = self.state
        if lineno == 0 or (state == "header" and not self.header):
            raise self.error(max(lineno, 0), "CCSDS_OEM_VERS", "empty file: not an OEM")
        expected = {"header": "META_START", "meta": "META_STOP", "cov": "COVARIANCE_STOP"}.get(state)
        if expected:
            raise self.error(lineno, expected, f"truncated file: ended before {expected}")
        self.finish_segment(lineno)
        if self.rows.n < 0.75 * self.rows.capacity:  # mostly covariance or metadata lines: give back the rest
            for seg in self.segments:
                _copy_arrays(seg)
        return OemMessage(self.header, self.segments, self.comments, str(self.path), self.header_lines,
                          self.warnings)

    def blocks(self, fh, block_bytes=1 << 20):
        """Blocks of whole lines (bytes; the last one may lack its newline), ~BLOCK_BYTES each."""
        rest = b""
        first = True
        while True:
            data = fh.read(block_bytes)
            if not data:
                break
            data = rest + data
            if first and data.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark
                data = data[3:]
            first = False
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            if cut == len(data):
                data, rest = data, b""
            else:
                data, rest = data[:cut], data[cut:]
            yield data
        if rest:
            yield rest

    def decode(self, data: bytes, lineno: int) -> str:
        try:
            if b"\x00" in data:
                raise ValueError
            return data.decode("utf-8")
        except ValueError:
            for i, raw in enumerate(data.split(b"\n")):
                decode_line(raw, self.path, lineno + i + 1)  # raises with the line
            raise  # pragma: no cover

    # --- states of the line walk: each returns the next state
    def on_header(self, kv, state):
        if not self.header:
            if kv.keyword == "COMMENT":
                self.comments.append(kv.value)
                return state
            if kv.keyword != "CCSDS_OEM_VERS":
                raise self.error(kv.line, kv.keyword or "CCSDS_OEM_VERS",
                                 "an OEM must start with CCSDS_OEM_VERS (is this an OEM?)")
            if kv.value not in VERSIONS:
                raise self.error(kv.line, "CCSDS_OEM_VERS", f"unsupported version {kv.value!r} ({', '.join(VERSIONS)})")
            self.header["CCSDS_OEM_VERS"] = kv.value
            self.header_lines["CCSDS_OEM_VERS"] = kv.line
            return state
        if kv.keyword == "COMMENT":
            self.comments.append(kv.value)
            return state
        if kv.keyword == "META_START":
            for key in HEADER_MANDATORY:
                if key not in self.header:
                    raise self.error(kv.line, key, "mandatory header keyword missing before META_START")
            if _plain_epochs([self.header["CREATION_DATE"]], "UTC") is None:  # else: the exact error
                parse_epoch(self.header["CREATION_DATE"], "UTC", self.path, self.header_lines["CREATION_DATE"],
                            "CREATION_DATE")
            return self.start_segment(kv)
        self.store(kv, HEADER_KEYS, self.header, self.header_lines, "header")
        return state

    def on_meta(self, kv, state):
        seg = self.seg
        if kv.keyword == "COMMENT":
            seg.comments.append(kv.value)
            return state
        if kv.keyword == "META_STOP":
            self.check_metadata(kv.line)
            return "data"
        if kv.keyword == "":
            raise self.error(kv.line, "META_STOP", "data line inside the metadata block (META_STOP missing?)")
        self.store(kv, META_KEYS, seg.meta, seg.meta_lines, "metadata")
        return state

    def on_data(self, kv, state):
        if kv.keyword == "COMMENT":
            self.seg.data_comments.append(kv.value)
            return state
        if kv.keyword == "META_START":
            self.finish_segment(kv.line)
            return self.start_segment(kv)
        if kv.keyword == "COVARIANCE_START":
            return "cov"
        if kv.keyword == "":
            raise self.error(kv.line, "epoch", f"not an ephemeris data line: {kv.value[:40]!r}")
        raise self.error(kv.line, kv.keyword, "keyword not allowed in the data section")

    def on_cov(self, kv, state):
        seg = self.seg
        if kv.keyword == "COMMENT":
            seg.cov_comments.append(kv.value)
        elif kv.keyword == "EPOCH":
            self.close_matrix(kv.line)
            tdb = parse_epoch(kv.value, seg.time_system, self.path, kv.line, "EPOCH")
            if seg.covs and tdb <= seg.covs[-1].epoch_tdb_s:
                raise self.error(kv.line, "EPOCH", "covariance epochs must increase")
            self.cov = {"epoch": kv.value, "tdb": tdb, "line": kv.line, "frame": None, "rows": []}
        elif kv.keyword == "COV_REF_FRAME":
            if self.cov is None or self.cov["rows"]:
                raise self.error(kv.line, "COV_REF_FRAME", "must follow EPOCH, before the matrix rows")
            self.cov["frame"] = kv.value
        elif kv.keyword == "":
            if self.cov is None:
                raise self.error(kv.line, "EPOCH", "covariance rows before EPOCH")
            rows = self.cov["rows"]
            tokens = kv.value.split()
            if len(rows) >= 6 or len(tokens) != len(rows) + 1:
                raise self.error(kv.line, f"covariance row {len(rows) + 1}",
                                 f"expected {len(rows) + 1} values of the lower triangle, found {len(tokens)}")
            rows.append([parse_float(t, self.path, kv.line, f"covariance row {len(rows) + 1}") for t in tokens])
        elif kv.keyword == "COVARIANCE_STOP":
            self.close_matrix(kv.line)
            return "after_cov"
        else:
            raise self.error(kv.line, kv.keyword, "keyword not allowed in a covariance block")
        return state

    def on_after_cov(self, kv, state):
        if kv.keyword == "COMMENT":
            self.seg.cov_comments.append(kv.value)
            return state
        if kv.keyword == "META_START":
            self.finish_segment(kv.line)
            return self.start_segment(kv)
        if kv.keyword == "COVARIANCE_START":
            return "cov"
        raise self.error(kv.line, kv.keyword or "META_START", "only META_START may follow COVARIANCE_STOP")

    # --- helpers
    def store(self, kv, allowed, target, lines, where):
        if kv.keyword == "":
            raise self.error(kv.line, "(no keyword)", f"expected KEYWORD = value in the {where}: {kv.value[:40]!r}")
        if kv.keyword not in allowed:
            raise self.error(kv.line, kv.keyword, f"unknown keyword in the OEM {where}")
        if kv.keyword in target:
            raise self.error(kv.line, kv.keyword, f"repeated (first at line {lines[kv.keyword]})")
        if kv.value == "":
            raise self.error(kv.line, kv.keyword, "empty value")
        target[kv.keyword] = kv.value
        lines[kv.keyword] = kv.line

    def start_segment(self, kv):
        self.seg = _Segment(kv.line)
        return "meta"

    def check_metadata(self, line):
        seg = self.seg
        seg.meta_stop_line = line
        for key in META_MANDATORY:
            if key not in seg.meta:
                raise self.error(line, key, f"mandatory metadata keyword missing (segment at line {seg.start_line})")
        ml = seg.meta_lines
        seg.time_system = check_time_system(seg.meta["TIME_SYSTEM"], self.path, ml["TIME_SYSTEM"])
        interp = seg.meta.get("INTERPOLATION")
        if interp is not None and interp.upper() not in INTERPOLATIONS:
            raise self.error(ml["INTERPOLATION"], "INTERPOLATION",
                             f"unknown method {interp!r} ({', '.join(INTERPOLATIONS)})")
        if "INTERPOLATION_DEGREE" in seg.meta:
            deg = parse_int(seg.meta["INTERPOLATION_DEGREE"], self.path, ml["INTERPOLATION_DEGREE"],
                            "INTERPOLATION_DEGREE")
            if not 0 <= deg <= 32:
                raise self.error(ml["INTERPOLATION_DEGREE"], "INTERPOLATION_DEGREE", f"{deg} is not in 0..32")
        names = [k for k in ("START_TIME", "USEABLE_START_TIME", "USEABLE_STOP_TIME", "STOP_TIME", "REF_FRAME_EPOCH")
                 if k in seg.meta]
        plain = _plain_epochs([seg.meta[k] for k in names], seg.time_system)
        if plain is not None:
            keys = {k: (m, sec) for k, m, sec in zip(names, *plain)}
        else:  # one by one, for the exact error
            keys = {}
            for key in names:
                try:
                    keys[key] = _key(EpochArray.parse([seg.meta[key]], seg.time_system), 0)
                    parse_epoch(seg.meta[key], seg.time_system, self.path, ml[key], key)
                except EpochError as exc:
                    raise self.error(ml[key], key, f"bad epoch {seg.meta[key]!r}: {exc}") from None
        order = [k for k in ("START_TIME", "USEABLE_START_TIME", "USEABLE_STOP_TIME", "STOP_TIME") if k in keys]
        for a, b in zip(order, order[1:]):
            if keys[b] < keys[a]:
                raise self.error(ml[b], b, f"is before {a}")
        seg.keys = keys

    def flush(self):
        seg, lines, texts = self.seg, self.block_lines, self.block
        self.check_no_pending_duplicate()
        ncols = len(texts[0].split())
        if seg.ncols is None:
            if ncols not in (7, 10):
                raise self.error(lines[0], "data line",
                                 f"expected 7 fields (epoch X Y Z X_DOT Y_DOT Z_DOT) or 10 (with accelerations), "
                                 f"found {ncols}")
            seg.ncols = ncols
        dtype = [("epoch", _EPOCH_DTYPE)] + [(name, "f8") for name in FIELDS[: seg.ncols - 1]]
        try:
            table = np.loadtxt(texts, dtype=dtype, comments=None, ndmin=1)
            values = np.stack([table[name] for name in FIELDS[: seg.ncols - 1]], axis=1)
            finite = np.isfinite(values).all(axis=1)
            if not finite.all():
                raise ValueError
            epochs = EpochArray.parse(table["epoch"], seg.time_system)
            tdb = epochs.to_tdb_s(seg.time_system)
        except (ValueError, EpochError):
            self.locate_error(texts, lines, seg)
            raise  # pragma: no cover - locate_error always raises
        minutes, seconds = epochs.minutes, epochs.seconds
        order_ok = (np.diff(minutes) > 0) | ((np.diff(minutes) == 0) & (np.diff(seconds) > 0))
        if seg.last_key is not None:
            first = (minutes[0], seconds[0])
            order_ok = np.concatenate([[first > seg.last_key], order_ok])
            offset = 0
        else:
            offset = 1
        keep = len(texts)
        if not order_ok.all():
            i = int(np.argmin(order_ok)) + offset
            if i == len(texts) - 1 and self.repeats_previous(epochs, values, i):
                # the run's last line repeats the previous one: kept (the message is the file) and flagged;
                # an error after all if more data lines follow in this segment
                pending = (lines[i], texts[i].split()[0])
                self.store_kept(epochs, tdb, values, lines, keep)  # (clears the block lists)
                seg.pending_duplicate = pending
                return
            raise self.error(lines[i], "epoch", f"epoch {texts[i].split()[0]} is not after the previous epoch")
        self.store_kept(epochs, tdb, values, lines, keep)

    def store_kept(self, epochs, tdb, values, lines, keep):
        if keep:
            self.store_rows(epochs.take(slice(0, keep)), tdb[:keep], values[:keep],
                            np.asarray(lines[:keep], dtype=np.int64))
        self.block.clear()
        self.block_lines.clear()

    def repeats_previous(self, epochs, values, i) -> bool:
        """Row I has the same epoch and the same numbers as the row before it (maybe in an earlier run)."""
        seg = self.seg
        if i >= 1:
            key, previous = (epochs.minutes[i - 1], epochs.seconds[i - 1]), values[i - 1]
        elif seg.last_key is not None:
            key, previous = seg.last_key, seg.last_values
        else:
            return False
        return (epochs.minutes[i], epochs.seconds[i]) == key and np.array_equal(values[i], previous)

    def locate_error(self, texts, lines, seg):
        names = FIELDS[: seg.ncols - 1]
        for text, line in zip(texts, lines):
            tokens = text.split()
            if len(tokens) != seg.ncols:
                raise self.error(line, "data line", f"expected {seg.ncols} fields as in the segment's first data "
                                                    f"line, found {len(tokens)}")
            for name, token in zip(names, tokens[1:]):
                parse_float(token, self.path, line, name)
            try:
                e = EpochArray.parse([tokens[0]], seg.time_system)
                e.to_tdb_s(seg.time_system)
            except (EpochError, ValueError) as exc:
                raise self.error(line, "epoch", f"bad epoch {tokens[0]!r}: {exc}") from None
        raise self.error(lines[0], "data line", "unreadable data lines")

    def close_matrix(self, line):
        if self.cov is None:
            return
        rows = self.cov["rows"]
        if len(rows) != 6:
            raise self.error(line, f"covariance row {len(rows) + 1}",
                             f"covariance at line {self.cov['line']} has {len(rows)} of 6 rows")
        m = np.zeros((6, 6))
        for i, row in enumerate(rows):
            m[i, : i + 1] = row
        m = m + np.tril(m, -1).T
        self.seg.covs.append(OemCovariance(self.cov["epoch"], self.cov["tdb"], m, self.cov["frame"], self.cov["line"]))
        self.cov = None

    def finish_segment(self, line):
        seg = self.seg
        if seg is None:
            return
        if not seg.rows:
            raise self.error(seg.meta_stop_line or line, "data line", "segment has no ephemeris data lines")
        rows = slice(seg.row0, seg.row0 + seg.rows)
        epochs = EpochArray(self.rows.minutes[rows], self.rows.seconds[rows], seg.digits, seg.day_of_year)
        tdb, states, data_lines = self.rows.tdb[rows], self.rows.states[rows], self.rows.lines[rows]
        accelerations = self.rows.accelerations[rows] if seg.ncols == 10 else None
        if seg.pending_duplicate is not None:
            dup_line, text = seg.pending_duplicate
            self.warnings.append(f"{self.path}:{dup_line}: epoch: the segment's last data line repeats the one "
                                 f"before it exactly ({text}); the repeat is not used for interpolation")
        keys, ml = seg.keys, seg.meta_lines
        if _key(epochs, 0) < keys["START_TIME"]:
            raise self.error(int(data_lines[0]), "epoch", f"first epoch is before START_TIME (line {ml['START_TIME']})")
        if _key(epochs, -1) > keys["STOP_TIME"]:
            raise self.error(int(data_lines[-1]), "epoch", f"last epoch is after STOP_TIME (line {ml['STOP_TIME']})")
        self.segments.append(OemSegment(
            metadata=seg.meta, epochs=epochs, epochs_tdb_s=tdb, states=states, accelerations=accelerations,
            covariances=seg.covs, comments=seg.comments, data_comments=seg.data_comments,
            covariance_comments=seg.cov_comments, metadata_lines=ml, data_lines=data_lines,
            start_line=seg.start_line))
        self.seg = None


_PLAIN_EPOCH = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,15}))?Z?",
                          re.ASCII)
_DAY0 = datetime.date(2000, 1, 1).toordinal()


def _plain_epochs(texts, time_system: str):
    """(minutes, seconds) lists of epochs of the plain form YYYY-MM-DDThh:mm:ss[.f][Z] (no leap second), the
    values ``EpochArray.parse`` gives for each alone, when every one of TEXTS has that form and is an epoch
    ``parse_epoch`` accepts in TIME_SYSTEM; None otherwise (the caller then asks them, for the exact error).

    What only needs checking costs no time-scale conversion: for such an epoch it cannot fail (TT, TAI, TDB,
    GPS and TCB are arithmetic on the count; UTC from 1972 on, ERFA's TAI-UTC of a valid date)."""
    scale = time_system.upper()
    if scale not in mtime.TIME_SYSTEMS:
        return None
    minutes, seconds = [], []
    for text in texts:
        m = _PLAIN_EPOCH.fullmatch(text)
        if m is None:
            return None
        y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
        if h > 23 or mi > 59 or sec > 59 or (scale == "UTC" and y < 1972):
            return None
        try:
            day = datetime.date(y, mo, d).toordinal() - _DAY0
        except ValueError:
            return None
        frac = m.group(7)
        minutes.append(day * 1440 + h * 60 + mi)
        seconds.append(sec + (int(frac) / 10.0 ** len(frac) if frac else 0.0))
    return minutes, seconds


def _key(epochs: EpochArray, i: int) -> tuple[int, float]:
    return int(epochs.minutes[i]), float(epochs.seconds[i])


class _Rows:
    """The data rows of all segments of a file in columns allocated once (capacity = the file's line count
    when known, else grown by doubling); segments take views of their rows."""

    def __init__(self, capacity: int = 0):
        self.n = 0
        self.capacity = capacity
        self.minutes = np.empty(capacity, np.int64)
        self.seconds = np.empty(capacity)
        self.tdb = np.empty(capacity)
        self.states = np.empty((capacity, 6))
        self.lines = np.empty(capacity, np.int64)
        self.accelerations: np.ndarray | None = None

    def append(self, minutes, seconds, tdb, values, lines) -> None:
        k = len(tdb)
        if self.n + k > self.capacity:
            self._grow(max(self.n + k, 2 * self.capacity, 1024))
        if values.shape[1] == 9 and self.accelerations is None:
            self.accelerations = np.empty((self.capacity, 3))
        rows = slice(self.n, self.n + k)
        self.minutes[rows], self.seconds[rows], self.tdb[rows], self.lines[rows] = minutes, seconds, tdb, lines
        self.states[rows] = values[:, :6]
        if values.shape[1] == 9:
            self.accelerations[rows] = values[:, 6:9]
        self.n += k

    def ensure_accelerations(self) -> None:
        if self.accelerations is None:
            self.accelerations = np.empty((self.capacity, 3))

    def _grow(self, capacity: int) -> None:
        for name in ("minutes", "seconds", "tdb", "states", "lines", "accelerations"):
            old = getattr(self, name)
            if old is not None:
                new = np.empty((capacity,) + old.shape[1:], old.dtype)
                new[:self.n] = old[:self.n]
                setattr(self, name, new)
        self.capacity = capacity


def _copy_arrays(seg: OemSegment) -> None:
    """Give SEG its own arrays (views of a larger buffer would keep all of it alive)."""
    seg.epochs = EpochArray(seg.epochs.minutes.copy(), seg.epochs.seconds.copy(), seg.epochs.digits,
                            seg.epochs.day_of_year)
    seg.epochs_tdb_s, seg.states = seg.epochs_tdb_s.copy(), seg.states.copy()
    seg.data_lines = seg.data_lines.copy()
    if seg.accelerations is not None:
        seg.accelerations = seg.accelerations.copy()


# --- writing ---------------------------------------------------------------------------------------

def write_oem(path, message: OemMessage) -> None:
    """Write MESSAGE as OEM KVN, atomically. Numbers are written with the shortest exact text."""
    with atomic_open(path) as fh:
        for chunk in iter_oem_kvn(message):
            fh.write(chunk)


def oem_to_kvn_text(message: OemMessage) -> str:
    return "".join(iter_oem_kvn(message))


def iter_oem_kvn(message: OemMessage):
    header = dict(message.header)
    version = header.pop("CCSDS_OEM_VERS", "2.0")
    out = [f"CCSDS_OEM_VERS = {version}\n"]
    out += [f"COMMENT {c}\n" for c in message.comments]
    if "CREATION_DATE" not in header:
        header["CREATION_DATE"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    header.setdefault("ORIGINATOR", "MARSVIEW")
    for key in HEADER_KEYS:
        if key in header:
            out.append(f"{key} = {header[key]}\n")
    yield "".join(out)
    for seg in message.segments:
        out = ["\nMETA_START\n"]
        out += [f"COMMENT {c}\n" for c in seg.comments]
        for key in META_KEYS:
            if key in seg.metadata:
                out.append(f"{key} = {seg.metadata[key]}\n")
        out.append("META_STOP\n\n")
        out += [f"COMMENT {c}\n" for c in seg.data_comments]
        yield "".join(out)
        values = seg.states if seg.accelerations is None else np.hstack([seg.states, seg.accelerations])
        for start in range(0, len(values), CHUNK_LINES):
            epochs = seg.epochs.take(slice(start, start + CHUNK_LINES)).format()
            rows = values[start: start + CHUNK_LINES].tolist()
            yield "".join(e + " " + " ".join(map(format_float, row)) + "\n" for e, row in zip(epochs, rows))
        if seg.covariances or seg.covariance_comments:
            out = ["COVARIANCE_START\n"] + [f"COMMENT {c}\n" for c in seg.covariance_comments]
            for cov in seg.covariances:
                out.append(f"EPOCH = {cov.epoch_text}\n")
                if cov.frame:
                    out.append(f"COV_REF_FRAME = {cov.frame}\n")
                for i in range(6):
                    out.append(" ".join(format_float(x) for x in cov.matrix[i, : i + 1]) + "\n")
            out.append("COVARIANCE_STOP\n")
            yield "".join(out)
