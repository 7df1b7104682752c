"""OEM in NDM/XML (505.0), streamed both ways.

Reading feeds expat 4 MiB at a time; its callbacks check every element against the NDM structure as it
opens (file:line: element: why) and turn the document into the KVN lines the KVN reader walks (META_START,
``KEY = value``, one data line per <stateVector>, covariance rows), so a million-state XML OEM never
becomes a million-element tree and both encodings share the same rules and messages. Writing emits the
text a chunk of states at a time.
"""

from __future__ import annotations

import xml.parsers.expat
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from .atomic import atomic_open
from .errors import ParseError
from .kvn import format_float
from .xml_expat import hardened_parser

HEADER = ("COMMENT", "CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
META = ("COMMENT", "OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "REF_FRAME_EPOCH", "TIME_SYSTEM",
        "START_TIME", "USEABLE_START_TIME", "USEABLE_STOP_TIME", "STOP_TIME", "INTERPOLATION", "INTERPOLATION_DEGREE")
STATE = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
ACC = ("X_DDOT", "Y_DDOT", "Z_DDOT")
COV = tuple(f"C{a}_{b}" for i, a in enumerate(STATE) for b in STATE[: i + 1])
STRUCTURE = {
    "oem": ("header", "body"), "header": HEADER, "body": ("segment",), "segment": ("metadata", "data"),
    "metadata": META, "data": ("COMMENT", "stateVector", "covarianceMatrix"),
    "stateVector": ("EPOCH",) + STATE + ACC, "covarianceMatrix": ("COMMENT", "EPOCH", "COV_REF_FRAME") + COV,
}
UNITS = {**{k: "km" for k in STATE[:3]}, **{k: "km/s" for k in STATE[3:]}, **{k: "km/s**2" for k in ACC},
         **{k: ("km**2", "km**2/s", "km**2/s**2")[k.count("_DOT")] for k in COV}}
XSD = "https://sanaregistry.org/r/ndmxml/ndmxml-1.0-master.xsd"
_SV_CHILDREN = frozenset(STRUCTURE["stateVector"])
CHUNK_LINES = 50_000  # states formatted per piece when writing (the text does not depend on it)


class _Frame:
    __slots__ = ("tag", "line", "text", "children")

    def __init__(self, tag, line):
        self.tag, self.line, self.text, self.children = tag, line, [], []


class _Stream:
    def __init__(self, path: Path, parser, reader):
        self.path, self.p = path, parser
        self.reader = reader
        self.stack: list[_Frame] = []
        self.values: dict[str, tuple[int, str]] = {}
        self.in_cov = False
        self.last_line = 0
        self.done = False

    def error(self, line, keyword, message):
        return ParseError(self.path, line, keyword, message)

    def emit(self, line, text):
        self.last_line = line
        self.reader.step(line, text)

    def start(self, name, attrs):
        stack = self.stack
        if not attrs and name in _SV_CHILDREN and stack and stack[-1].tag == "stateVector":  # the hot path
            stack[-1].children.append(name)
            stack.append(_Frame(name, self.p.CurrentLineNumber))
            return
        tag = name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
        line = self.p.CurrentLineNumber
        if not self.stack:
            if tag != "oem" or self.done:
                raise self.error(line, tag, "root element must be <oem> for an OEM")
            if not attrs.get("version"):
                raise self.error(line, "oem", "the version attribute is missing")
            self.emit(line, f"CCSDS_OEM_VERS = {attrs['version']}")
        else:
            parent = self.stack[-1]
            allowed = STRUCTURE.get(parent.tag)
            if allowed is None:
                raise self.error(line, tag, f"not allowed inside <{parent.tag}>")
            if tag not in allowed:
                raise self.error(line, tag, f"element not allowed inside <{parent.tag}> of an OEM")
            parent.children.append(tag)
            unit = attrs.get("units")
            if unit is not None and tag in UNITS and unit.replace(" ", "").lower() != UNITS[tag].lower():
                raise self.error(line, tag, f'units="{unit}" where "{UNITS[tag]}" is required')
            if tag == "segment":
                self.in_cov = False
            elif tag == "metadata":
                self.emit(line, "META_START")
            elif tag == "stateVector":
                if self.in_cov:
                    raise self.error(line, "stateVector", "state vectors must come before covariances")
                self.values = {}
            elif tag == "covarianceMatrix":
                if not self.in_cov:
                    self.emit(line, "COVARIANCE_START")
                    self.in_cov = True
                self.values = {}
        self.stack.append(_Frame(tag, line))

    def chars(self, data):
        if self.stack:
            self.stack[-1].text.append(data)

    def end(self, name):
        frame = self.stack.pop()
        tag, line = frame.tag, frame.line
        text = "".join(frame.text).strip()
        if tag in _SV_CHILDREN and self.stack[-1].tag == "stateVector":  # the hot path
            if tag in self.values:
                raise self.error(line, tag, "repeated in <stateVector>")
            self.values[tag] = (line, text)
            return
        if tag in STRUCTURE:  # a container
            if text:
                raise self.error(line, tag, f"text {text[:30]!r} directly inside a container")
            self.close_container(frame)
            return
        parent = self.stack[-1].tag
        if parent in ("stateVector", "covarianceMatrix") and tag != "COMMENT":
            if tag in self.values:
                raise self.error(line, tag, f"repeated in <{parent}>")
            if parent == "covarianceMatrix" and tag in ("EPOCH", "COV_REF_FRAME"):
                self.emit(line, f"{tag} = {text}")
            self.values[tag] = (line, text)
        elif tag == "COMMENT":
            self.emit(line, "COMMENT " + text)
        else:
            self.emit(line, f"{tag} = {text}")

    def close_container(self, frame):
        tag, line, end = frame.tag, frame.line, self.p.CurrentLineNumber
        if tag == "oem":
            if frame.children != ["header", "body"]:
                raise self.error(line, "body" if "header" in frame.children else "header",
                                 "<oem> must contain <header> then <body>")
            self.done = True
        elif tag == "segment" and frame.children != ["metadata", "data"]:
            raise self.error(line, "segment", "a segment needs <metadata> then <data>")
        elif tag == "metadata":
            self.emit(end, "META_STOP")
        elif tag == "stateVector":
            keys = ("EPOCH",) + STATE + (ACC if any(a in self.values for a in ACC) else ())
            for key in keys:
                if key not in self.values:
                    raise self.error(line, key, "missing from <stateVector>")
                value = self.values[key][1]
                if len(value.split()) != 1:
                    raise self.error(self.values[key][0], key, f"empty or blank-separated value {value!r}")
            text = " ".join(self.values[k][1] for k in keys)
            reader = self.reader
            if reader.state == "data" and "0" <= text[0] <= "9":  # straight into the data chunk
                self.last_line = line
                reader.add_data_line(line, text)
            else:
                self.emit(line, text)
        elif tag == "covarianceMatrix":
            for i, a in enumerate(STATE):
                row = [f"C{a}_{b}" for b in STATE[: i + 1]]
                for key in row:
                    if key not in self.values:
                        raise self.error(line, key, "missing from <covarianceMatrix>")
                self.emit(self.values[row[0]][0], " ".join(self.values[k][1] for k in row))
        elif tag == "data" and self.in_cov:
            self.emit(end, "COVARIANCE_STOP")


def stream_oem_xml(path, reader, block_bytes: int = 1 << 22):
    """Stream an XML OEM into READER as the KVN lines it stands for (READER: marsview.io.oem.OemReader, which
    checks them with the KVN rules), and return ``reader.finish(last line)``. Raises ParseError
    (file:line: element/keyword: why). Reading an XML OEM is ``marsview.io.oem.read_oem``."""
    path = Path(path)
    parser = hardened_parser(path)
    stream = _Stream(path, parser, reader)
    parser.StartElementHandler, parser.EndElementHandler = stream.start, stream.end
    parser.CharacterDataHandler = stream.chars
    try:
        with open(path, "rb") as fh:
            while True:
                data = fh.read(block_bytes)
                parser.Parse(data, not data)
                if not data:
                    break
    except OSError as exc:
        raise ParseError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from None
    except xml.parsers.expat.ExpatError as exc:
        where = stream.stack[-1].tag if stream.stack else "xml"
        raise ParseError(path, exc.lineno, where, f"malformed XML: {xml.parsers.expat.ErrorString(exc.code)}") from None
    except (LookupError, ValueError) as exc:
        if isinstance(exc, ParseError):
            raise
        raise ParseError(path, parser.CurrentLineNumber or 1, "xml", f"unreadable XML: {exc}") from None
    if not stream.done:
        raise ParseError(path, parser.CurrentLineNumber or 1, "oem", "empty or truncated XML document")
    return stream.reader.finish(stream.last_line)


# --- writing ---------------------------------------------------------------------------------------

def iter_oem_xml(message):
    """The OEM as NDM/XML text in pieces (states formatted a chunk at a time)."""
    def leaf(tag, text, indent):
        return f"{' ' * indent}<{tag}>{escape(str(text))}</{tag}>\n"

    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           f'<oem xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="{XSD}" '
           f'id="CCSDS_OEM_VERS" version="{escape(message.version)}">\n', "  <header>\n"]
    out += [leaf("COMMENT", c, 4) for c in message.comments]
    out += [leaf(k, message.header[k], 4) for k in HEADER[1:] if k in message.header]
    out.append("  </header>\n  <body>\n")
    yield "".join(out)
    for seg in message.segments:
        out = ["    <segment>\n      <metadata>\n"]
        out += [leaf("COMMENT", c, 8) for c in seg.comments]
        out += [leaf(k, seg.metadata[k], 8) for k in META[1:] if k in seg.metadata]
        out.append("      </metadata>\n      <data>\n")
        out += [leaf("COMMENT", c, 8) for c in seg.data_comments]
        yield "".join(out)
        keys = STATE + (ACC if seg.accelerations is not None else ())
        values = seg.states if seg.accelerations is None else np.hstack([seg.states, seg.accelerations])
        for start in range(0, len(values), CHUNK_LINES):
            epochs = seg.epochs.take(slice(start, start + CHUNK_LINES)).format()
            rows = values[start:start + CHUNK_LINES].tolist()
            yield "".join(
                "        <stateVector>\n          <EPOCH>" + e + "</EPOCH>\n"
                + "".join(f"          <{k}>{format_float(x)}</{k}>\n" for k, x in zip(keys, row))
                + "        </stateVector>\n" for e, row in zip(epochs, rows))
        out = []
        for k, cov in enumerate(seg.covariances):
            out.append("        <covarianceMatrix>\n")
            if k == 0:
                out += [leaf("COMMENT", c, 10) for c in seg.covariance_comments]
            out.append(leaf("EPOCH", cov.epoch_text, 10))
            if cov.frame:
                out.append(leaf("COV_REF_FRAME", cov.frame, 10))
            out += [leaf(f"C{a}_{b}", format_float(cov.matrix[i, j]), 10)
                    for i, a in enumerate(STATE) for j, b in enumerate(STATE[: i + 1])]
            out.append("        </covarianceMatrix>\n")
        out.append("      </data>\n    </segment>\n")
        yield "".join(out)
    yield "  </body>\n</oem>\n"


def oem_to_xml_bytes(message) -> bytes:
    return "".join(iter_oem_xml(message)).encode("utf-8")


def write_oem_xml(path, message) -> None:
    with atomic_open(path) as fh:
        for piece in iter_oem_xml(message):
            fh.write(piece)
