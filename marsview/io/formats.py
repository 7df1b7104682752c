"""The file formats marsview reads and writes, in one registry, and opening any of them by its content, not its
name: CCSDS OEM/OPM/CDM in KVN or XML, or a SPICE SPK (DAF/SPK).

``FORMATS`` lists each format once: its kind and encoding, file extensions, how it is recognised (``sniff``:
magic bytes, XML root element or first KVN keyword), and its reader and writer (``"module:function"``, imported
on first use so that ``import marsview.io.formats`` stays cheap). ``detect_format``, ``read_any``/``write_any``,
the scenario loader's folder scan (``file_extensions``), ``marsview info``/``convert`` and the GUI's file-open
filter (``file_dialog_filter``) all iterate it: a new format is one more entry here plus its own module.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from .errors import ParseError


@dataclass(frozen=True)
class Sniff:
    """How a format is recognised from the head of a file: any of MAGIC at byte 0, the XML root element
    XML_ROOT, or the first non-comment KVN keyword KVN_KEYWORD (``CCSDS_OEM_VERS``)."""
    magic: tuple[bytes, ...] = ()
    xml_root: str | None = None
    kvn_keyword: str | None = None


@dataclass(frozen=True)
class FileFormat:
    kind: str                      # OEM | OPM | CDM | SPK: what the file holds (what its reader returns)
    encoding: str                  # KVN | XML | DAF | STK
    extensions: tuple[str, ...]    # lower case, with the dot; the first is the format's own
    sniff: Sniff
    reader: str                    # "module:function" (path) -> message
    writer: str | None = None      # "module:function" (path, message) -> None
    message: str | None = None     # "module:Class" of what the reader returns (to pick a writer)
    read_ahead: bool = False       # read_in_order may run the reader in background threads, several files at
    #                                once: it touches no global state (CSPICE, behind the SPK reader, does)
    #                                and the files are long enough to gain

    def read(self, path):
        return _resolve(self.reader)(path)

    def write(self, path, message) -> None:
        if self.writer is None:
            raise TypeError(f"marsview does not write {self.kind} ({self.encoding})")
        _resolve(self.writer)(path, message)


KVN_TEXT = (".txt", ".kvn")   # generic text extensions any KVN message may carry
FORMATS: tuple[FileFormat, ...] = (
    FileFormat("OEM", "KVN", (".oem",) + KVN_TEXT, Sniff(kvn_keyword="CCSDS_OEM_VERS"),
               "marsview.io.oem:read_oem", "marsview.io.oem:write_oem", "marsview.io.oem:OemMessage", True),
    FileFormat("OPM", "KVN", (".opm",) + KVN_TEXT, Sniff(kvn_keyword="CCSDS_OPM_VERS"),
               "marsview.io.opm:read_opm", "marsview.io.opm:write_opm", "marsview.io.opm:OpmMessage"),
    FileFormat("CDM", "KVN", (".cdm",) + KVN_TEXT, Sniff(kvn_keyword="CCSDS_CDM_VERS"),
               "marsview.io.cdm:read_cdm", "marsview.io.cdm:write_cdm", "marsview.io.cdm:CdmMessage"),
    FileFormat("OEM", "XML", (".xml",), Sniff(xml_root="oem"),
               "marsview.io.oem:read_oem", "marsview.io.oem_xml:write_oem_xml", "marsview.io.oem:OemMessage",
               True),
    FileFormat("OPM", "XML", (".xml",), Sniff(xml_root="opm"),
               "marsview.io.opm:read_opm", "marsview.io.opm:write_opm_xml", "marsview.io.opm:OpmMessage"),
    FileFormat("CDM", "XML", (".xml",), Sniff(xml_root="cdm"),
               "marsview.io.cdm:read_cdm", "marsview.io.cdm:write_cdm_xml", "marsview.io.cdm:CdmMessage"),
    FileFormat("SPK", "DAF", (".bsp",), Sniff(magic=(b"DAF/SPK", b"NAIF/DAF")), "marsview.io.spk:read_spk"),
    FileFormat("OEM", "STK", (".e",), Sniff(magic=(b"stk.v.",)),   # read into an OemMessage: an OEM downstream
               "marsview.io.stk_ephemeris:read_stk_ephemeris", None, "marsview.io.oem:OemMessage"),
)


def _resolve(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def format_of(kind: str, encoding: str) -> FileFormat:
    return next(f for f in FORMATS if f.kind == kind and f.encoding == encoding)


def kinds() -> tuple[str, ...]:
    """The kinds marsview reads, in registry order (OEM, OPM, CDM, SPK)."""
    return tuple(dict.fromkeys(f.kind for f in FORMATS))


def file_extensions(kinds_: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Every extension of the registered formats (of KINDS_ only, when given): each format's own first, in
    registry order, then the generic text ones (.txt, .kvn)."""
    exts = [e for f in FORMATS if kinds_ is None or f.kind in kinds_ for e in f.extensions]
    return tuple(dict.fromkeys(e for e in exts if e not in KVN_TEXT)) + tuple(dict.fromkeys(
        e for e in exts if e in KVN_TEXT))


def file_dialog_filter() -> str:
    """The Qt file-dialog filter of every readable file (the GUI's Open)."""
    return f"Ephemerides and CDMs ({' '.join('*' + e for e in file_extensions())});;All files (*)"


def _xml_roots() -> dict[str, FileFormat]:
    return {f.sniff.xml_root: f for f in FORMATS if f.sniff.xml_root}


def _kvn_keywords() -> dict[bytes, FileFormat]:
    return {f.sniff.kvn_keyword.encode(): f for f in FORMATS if f.sniff.kvn_keyword}


def _one_of(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]

_XML_ROOT = re.compile(rb"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]")
_KVN_FIRST = re.compile(rb"^\s*([A-Z_]+)\s*=")
_KVN_OTHER = re.compile(rb"^\s*CCSDS_([A-Z]{3})_VERS\s*=")
# magic numbers of the compressed containers partners use, and the command that opens each
_COMPRESSED = ((b"\x1f\x8b", "gzip", "gunzip"), (b"BZh", "bzip2", "bunzip2"), (b"\xfd7zXZ\x00", "xz", "unxz"),
               (b"\x5d\x00\x00", "lzma", "unlzma"), (b"PK\x03\x04", "zip", "unzip"),
               (b"\x28\xb5\x2f\xfd", "zstd", "unzstd"))
# other CCSDS messages: what each is, so a refusal says why rather than "not a CCSDS message"
_OTHER_MESSAGES = {
    "OMM": "OMM (mean elements) is not supported — load an OEM/OPM",
    "OCM": "OCM (orbit comprehensive message) is not supported — load an OEM/OPM",
    "AEM": "AEM (attitude ephemeris) is not supported: marsview reads orbits (OEM/OPM/CDM)",
    "APM": "APM (attitude parameters) is not supported: marsview reads orbits (OEM/OPM/CDM)",
    "ACM": "ACM (attitude comprehensive message) is not supported: marsview reads orbits (OEM/OPM/CDM)",
    "TDM": "TDM (tracking data) is not supported: marsview reads orbits (OEM/OPM/CDM)",
    "RDM": "RDM (re-entry data) is not supported: marsview reads OEM/OPM/CDM",
}


def detect_format(path) -> tuple[str, str]:
    """(kind, encoding): kind OEM | OPM | CDM | SPK; encoding KVN | XML | DAF | STK. ParseError when unknown."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise ParseError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from None
    for fmt in FORMATS:
        if any(head.startswith(magic) for magic in fmt.sniff.magic):
            return fmt.kind, fmt.encoding
    for magic, name, command in _COMPRESSED:
        if head.startswith(magic):
            raise ParseError(path, 1, "file", f"{name}-compressed file: decompress it first "
                             f"({command} {path.name}) and open the result")
    if head.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark
        head = head[3:]
    if not head.strip():
        raise ParseError(path, 1 if head else 0, "file", "empty file")
    if b"\x00" in head:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise ParseError(path, line, "file", "binary content that is not a SPICE SPK (DAF/SPK)")
    text = head.lstrip()
    if text.startswith(b"<"):
        body = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", text, flags=re.DOTALL)
        m = _XML_ROOT.search(body)
        root = m.group(1).decode("ascii", "replace").lower()[:40] if m else ""  # a keyword-sized fragment
        roots = _xml_roots()
        if root in roots:
            return roots[root].kind, roots[root].encoding
        line = head[: head.find(b"<" + m.group(1)) if m else 0].count(b"\n") + 1
        if root.upper() in _OTHER_MESSAGES:
            raise ParseError(path, line, root, _OTHER_MESSAGES[root.upper()])
        raise ParseError(path, line, root or "xml", f"XML root is not {_one_of(f'<{r}>' for r in roots)}")
    # KVN: COMMENT lines may precede CCSDS_xxx_VERS (any amount of them: read on past the first 8 kB)
    keywords = _kvn_keywords()
    with open(path, "rb") as fh:
        lineno = 0
        while True:
            raw = fh.readline(1 << 16)
            if not raw:
                break
            lineno += 1
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            stripped = raw.strip()
            if not stripped or stripped.startswith(b"COMMENT"):
                continue
            m = _KVN_FIRST.match(stripped)
            if m and m.group(1) in keywords:
                return keywords[m.group(1)].kind, keywords[m.group(1)].encoding
            keyword = _keyword_fragment(stripped)
            other = _KVN_OTHER.match(stripped)
            if other and other.group(1).decode() in _OTHER_MESSAGES:   # an OMM, TDM, ...: say what it is
                raise ParseError(path, lineno, keyword, _OTHER_MESSAGES[other.group(1).decode()])
            raise ParseError(path, lineno, keyword,
                             f"not a CCSDS message (expected {_one_of([k.decode() for k in keywords])} first)")
    raise ParseError(path, lineno, "file", "only comments: no CCSDS message")

_KEYWORD = re.compile(rb"[A-Za-z][A-Za-z0-9_]{0,39}")


def _keyword_fragment(line: bytes) -> str:
    """The keyword of a KVN-looking line, else "file": an error never quotes the content of a file that is not
    a CCSDS message (it may be /etc/passwd)."""
    key = line.split(b"=")[0].strip()
    return key.decode("ascii") if b"=" in line and _KEYWORD.fullmatch(key) else "file"


def read_any(path):
    """OemMessage, OpmMessage or CdmMessage for CCSDS files; list of SpkTrajectory for an SPK."""
    return format_of(*detect_format(path)).read(path)


READ_AHEAD_MAX_BYTES = 256 << 20
"""Larger files are read at their turn, alone: their scan already takes two cores, and two at once would
double the memory a read holds for a while."""
MAX_READ_THREADS = 4
_read_pool = None
_read_pool_lock = threading.Lock()


def read_in_order(files):
    """read_any of each of FILES, in order, as an iterator. An item is a path, or (path, kind, encoding) when
    the caller has detected the format already.

    Files of a ``read_ahead`` format (OEM KVN and XML) are read ahead in background threads, as many at once
    as the machine has cores (at most MAX_READ_THREADS), each scanned on one core: the OEM scan releases
    the GIL, so one file's scan runs while another's Python part does. Ten 10,000-line OEMs read in 22-24 ms
    instead of 33-34 ms one after the other (2 cores; ``benchmarks/bench_screening.py``). An error is raised
    when its file's turn comes, as reading one file after the other would (the scenario loader relies on
    it: the first bad file in its order is the one reported); files after it are not waited for."""
    items = [f if isinstance(f, tuple) else (Path(f), *detect_format(f)) for f in files]
    ahead = [k for k, (path, kind, encoding) in enumerate(items)
             if format_of(kind, encoding).read_ahead and _size(path) <= READ_AHEAD_MAX_BYTES]
    futures = {}
    if len(ahead) >= 2 and _usable_cores() >= 2:
        pool = _get_read_pool()
        for k in ahead:
            path, kind, encoding = items[k]
            futures[k] = pool.submit(_read_on_one_core, format_of(kind, encoding), path)
    return _in_order(items, futures)


def _in_order(items, futures):
    try:
        for k, (path, kind, encoding) in enumerate(items):
            future = futures.get(k)
            yield future.result() if future is not None else format_of(kind, encoding).read(path)
    finally:
        for future in futures.values():
            future.cancel()


def _read_on_one_core(fmt: FileFormat, path):
    from . import oem_scan

    with oem_scan.one_core():  # the other threads keep the other cores busy
        return fmt.read(path)


def _get_read_pool():
    global _read_pool
    with _read_pool_lock:
        if _read_pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _read_pool = ThreadPoolExecutor(max_workers=min(MAX_READ_THREADS, _usable_cores()),
                                            thread_name_prefix="read-ahead")
    return _read_pool


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _size(path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0  # the reader says what is wrong, at the file's turn


def write_any(path, message, encoding: str | None = None) -> None:
    """Write an OEM/OPM/CDM message as KVN or XML (by ENCODING, else by the extension: .xml -> XML)."""
    encoding = (encoding or ("XML" if str(path).lower().endswith(".xml") else "KVN")).upper()
    for fmt in FORMATS:
        if fmt.message and fmt.writer and isinstance(message, _resolve(fmt.message)) and fmt.encoding == (
                "XML" if encoding == "XML" else "KVN"):
            return fmt.write(path, message)
    raise TypeError(f"cannot write a {type(message).__name__}")
