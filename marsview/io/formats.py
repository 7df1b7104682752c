"""Open any ephemeris-exchange file by its content, not its name: CCSDS OEM/OPM/CDM in KVN or XML, or a
SPICE SPK (DAF/SPK)."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ParseError

_XML_ROOT = re.compile(rb"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]")
_KVN_FIRST = re.compile(rb"^\s*CCSDS_(OEM|OPM|CDM)_VERS\s*=", re.MULTILINE)
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
    """(kind, encoding): kind OEM | OPM | CDM | SPK; encoding KVN | XML | DAF. ParseError when unknown."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise ParseError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from None
    if head[:7] == b"DAF/SPK" or head[:8] == b"NAIF/DAF":
        return "SPK", "DAF"
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
        if root in ("oem", "opm", "cdm"):
            return root.upper(), "XML"
        line = head[: head.find(b"<" + m.group(1)) if m else 0].count(b"\n") + 1
        if root.upper() in _OTHER_MESSAGES:
            raise ParseError(path, line, root, _OTHER_MESSAGES[root.upper()])
        raise ParseError(path, line, root or "xml", "XML root is not <oem>, <opm> or <cdm>")
    # KVN: COMMENT lines may precede CCSDS_xxx_VERS (any amount of them: read on past the first 8 kB)
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
            if m:
                return m.group(1).decode(), "KVN"
            keyword = _keyword_fragment(stripped)
            other = _KVN_OTHER.match(stripped)
            if other and other.group(1).decode() in _OTHER_MESSAGES:   # an OMM, TDM, ...: say what it is
                raise ParseError(path, lineno, keyword, _OTHER_MESSAGES[other.group(1).decode()])
            raise ParseError(path, lineno, keyword,
                             "not a CCSDS message (expected CCSDS_OEM_VERS, CCSDS_OPM_VERS or CCSDS_CDM_VERS first)")
    raise ParseError(path, lineno, "file", "only comments: no CCSDS message")

_KEYWORD = re.compile(rb"[A-Za-z][A-Za-z0-9_]{0,39}")


def _keyword_fragment(line: bytes) -> str:
    """The keyword of a KVN-looking line, else "file": an error never quotes the content of a file that is not
    a CCSDS message (it may be /etc/passwd)."""
    key = line.split(b"=")[0].strip()
    return key.decode("ascii") if b"=" in line and _KEYWORD.fullmatch(key) else "file"


def read_any(path):
    """OemMessage, OpmMessage or CdmMessage for CCSDS files; list of SpkTrajectory for an SPK."""
    kind, encoding = detect_format(path)
    if kind == "SPK":
        from .spk import read_spk

        return read_spk(path)
    if kind == "OEM":
        from .oem import read_oem

        return read_oem(path)
    if kind == "OPM":
        from .opm import read_opm

        return read_opm(path)
    from .cdm import read_cdm

    return read_cdm(path)


def write_any(path, message, encoding: str | None = None) -> None:
    """Write an OEM/OPM/CDM message as KVN or XML (by ENCODING, else by the extension: .xml -> XML)."""
    from .cdm import CdmMessage, write_cdm, write_cdm_xml
    from .oem import OemMessage, write_oem
    from .oem_xml import write_oem_xml
    from .opm import OpmMessage, write_opm, write_opm_xml

    xml = (encoding or ("XML" if str(path).lower().endswith(".xml") else "KVN")).upper() == "XML"
    writers = {OemMessage: (write_oem, write_oem_xml), OpmMessage: (write_opm, write_opm_xml),
               CdmMessage: (write_cdm, write_cdm_xml)}
    for cls, (kvn_writer, xml_writer) in writers.items():
        if isinstance(message, cls):
            return (xml_writer if xml else kvn_writer)(path, message)
    raise TypeError(f"cannot write a {type(message).__name__}")
