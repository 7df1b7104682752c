"""CCSDS NDM/XML (505.0) for OEM, OPM and CDM: read and write.

Reading: ``xml.parsers.expat`` builds a small tree that remembers each element's line (ElementTree keeps
none), the tree is checked against the NDM structure (which element may contain which; unknown or
misplaced elements are refused with file:line: element: why), then flattened into the same KVN lines the
KVN readers check, so both encodings share one set of rules and error messages. Writing builds an
ElementTree from the message. Namespaces are ignored (NDM/XML 1.0 and 2.0 use none on the elements).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path

from xml.sax.saxutils import escape

import numpy as np

from .atomic import atomic_open, atomic_write_bytes
from .errors import ParseError
from .kvn import KvnLine, format_float

# --- structure: container -> allowed children; leaves are everything else ---------------------------

_OEM_META = ("COMMENT", "OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "REF_FRAME_EPOCH", "TIME_SYSTEM",
             "START_TIME", "USEABLE_START_TIME", "USEABLE_STOP_TIME", "STOP_TIME", "INTERPOLATION",
             "INTERPOLATION_DEGREE")
_STATE = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
_ACC = ("X_DDOT", "Y_DDOT", "Z_DDOT")
_OEM_COV = tuple(f"C{a}_{b}" for i, a in enumerate(_STATE) for b in _STATE[: i + 1])
_HEADER = ("COMMENT", "CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID", "MESSAGE_FOR")

STRUCTURE = {
    "oem": {
        "oem": ("header", "body"), "header": _HEADER, "body": ("segment",), "segment": ("metadata", "data"),
        "metadata": _OEM_META, "data": ("COMMENT", "stateVector", "covarianceMatrix"),
        "stateVector": ("EPOCH",) + _STATE + _ACC,
        "covarianceMatrix": ("COMMENT", "EPOCH", "COV_REF_FRAME") + _OEM_COV,
    },
    "opm": {
        "opm": ("header", "body"), "header": _HEADER, "body": ("segment",), "segment": ("metadata", "data"),
        "metadata": ("COMMENT", "OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "REF_FRAME_EPOCH",
                     "TIME_SYSTEM"),
        "data": ("COMMENT", "stateVector", "keplerianElements", "spacecraftParameters", "covarianceMatrix",
                 "maneuverParameters", "userDefinedParameters"),
        "stateVector": ("COMMENT", "EPOCH") + _STATE,
        "keplerianElements": ("COMMENT", "SEMI_MAJOR_AXIS", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
                              "ARG_OF_PERICENTER", "TRUE_ANOMALY", "MEAN_ANOMALY", "GM"),
        "spacecraftParameters": ("COMMENT", "MASS", "SOLAR_RAD_AREA", "SOLAR_RAD_COEFF", "DRAG_AREA", "DRAG_COEFF"),
        "covarianceMatrix": ("COMMENT", "COV_REF_FRAME") + _OEM_COV,
        "maneuverParameters": ("COMMENT", "MAN_EPOCH_IGNITION", "MAN_DURATION", "MAN_DELTA_MASS", "MAN_REF_FRAME",
                               "MAN_DV_1", "MAN_DV_2", "MAN_DV_3"),
        "userDefinedParameters": ("COMMENT", "USER_DEFINED"),
    },
}
_CDM_COV = None  # filled below from the CDM keyword tables


def _cdm_structure():
    from . import cdm

    rel_sv = cdm.RELATIVE[3:9]
    return {
        "cdm": ("header", "body"), "header": _HEADER, "body": ("relativeMetadataData", "segment"),
        "relativeMetadataData": ("COMMENT", "relativeStateVector") + tuple(k for k in cdm.RELATIVE if k not in rel_sv),
        "relativeStateVector": rel_sv, "segment": ("metadata", "data"),
        "metadata": ("COMMENT",) + cdm.OBJ_META,
        "data": ("COMMENT", "odParameters", "additionalParameters", "stateVector", "covarianceMatrix"),
        "odParameters": ("COMMENT",) + cdm.OBJ_OD, "additionalParameters": ("COMMENT",) + cdm.OBJ_ADD,
        "stateVector": ("COMMENT",) + cdm.STATE, "covarianceMatrix": ("COMMENT",) + cdm.COV6 + cdm.COV_EXTRA,
    }


@dataclass
class Node:
    tag: str
    attrs: dict
    line: int
    text: str = ""
    children: list = field(default_factory=list)
    end_line: int = 0


def parse_xml_tree(path) -> Node:
    """The document as Nodes with line numbers; malformed XML -> ParseError at expat's line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from None
    parser = xml.parsers.expat.ParserCreate()
    stack: list[Node] = []
    root: list[Node] = []

    def start(name, attrs):
        node = Node(name.rsplit("}", 1)[-1].rsplit(":", 1)[-1], attrs, parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def end(name):
        stack.pop().end_line = parser.CurrentLineNumber

    def chars(text):
        if stack:
            stack[-1].text += text

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        where = stack[-1].tag if stack else "xml"
        raise ParseError(path, exc.lineno, where, f"malformed XML: {xml.parsers.expat.ErrorString(exc.code)}") from None
    except (LookupError, ValueError) as exc:  # e.g. an unknown encoding in the XML declaration
        raise ParseError(path, parser.CurrentLineNumber or 1, "xml", f"unreadable XML: {exc}") from None
    if not root:
        raise ParseError(path, 1, "xml", "empty XML document")
    return root[0]


def _check(node: Node, kind: str, structure: dict, path) -> None:
    allowed = structure.get(node.tag)
    if allowed is None:  # a leaf
        if node.children:
            raise ParseError(path, node.children[0].line, node.children[0].tag, f"not allowed inside <{node.tag}>")
        return
    if node.text.strip():
        raise ParseError(path, node.line, node.tag, f"text {node.text.strip()[:30]!r} directly inside a container")
    for child in node.children:
        if child.tag not in allowed:
            raise ParseError(path, child.line, child.tag, f"element not allowed inside <{node.tag}> of an {kind.upper()}")
        _check(child, kind, structure, path)


def _root(path, kind: str) -> Node:
    root = parse_xml_tree(path)
    if root.tag != kind:
        raise ParseError(path, root.line, root.tag, f"root element must be <{kind}> for an {kind.upper()}")
    version = root.attrs.get("version")
    if not version:
        raise ParseError(path, root.line, kind, "the version attribute is missing")
    structure = _cdm_structure() if kind == "cdm" else STRUCTURE[kind]
    _check(root, kind, structure, path)
    tags = [c.tag for c in root.children]
    if tags != ["header", "body"]:
        raise ParseError(path, root.line, "header" if "header" not in tags else "body",
                         f"<{kind}> must contain <header> then <body>")
    return root


def _leaf(node: Node) -> KvnLine:
    unit = node.attrs.get("units")
    if node.tag == "USER_DEFINED":
        return KvnLine(node.line, "USER_DEFINED_" + node.attrs.get("parameter", "").upper(), node.text.strip(), unit)
    return KvnLine(node.line, node.tag, node.text.strip(), unit)


def _flatten(node: Node, out: list[KvnLine]) -> None:
    for child in node.children:
        if child.children or child.tag[0].islower():
            _flatten(child, out)
        else:
            out.append(_leaf(child))


# --- readers ------------------------------------------------------------------------------------------

def read_oem_xml(path):
    from .oem import _OemReader

    root = _root(path, "oem")
    lines: list[tuple[int, str]] = [(root.line, f"CCSDS_OEM_VERS = {root.attrs['version']}")]
    header, body = root.children
    lines += [(it.line, _kvn_text(it)) for it in _items(header)]
    for seg in body.children:
        parts = {c.tag: c for c in seg.children}
        if list(parts) != ["metadata", "data"]:
            raise ParseError(path, seg.line, "segment", "a segment needs <metadata> then <data>")
        lines.append((parts["metadata"].line, "META_START"))
        lines += [(it.line, _kvn_text(it)) for it in _items(parts["metadata"])]
        lines.append((parts["metadata"].end_line, "META_STOP"))
        in_cov = False
        for child in parts["data"].children:
            if child.tag == "COMMENT":
                lines.append((child.line, "COMMENT " + child.text.strip()))
            elif child.tag == "stateVector":
                if in_cov:
                    raise ParseError(path, child.line, "stateVector", "state vectors must come before covariances")
                for c in child.children:
                    _check_oem_unit(c, path)
                values = {c.tag: c.text.strip() for c in child.children}
                order = ["EPOCH", *_STATE] + ([*_ACC] if any(a in values for a in _ACC) else [])
                missing = [k for k in order if k not in values]
                if missing:
                    raise ParseError(path, child.line, missing[0], "missing from <stateVector>")
                if any(" " in values[k] or not values[k] for k in order):
                    raise ParseError(path, child.line, "stateVector", "empty or blank-separated value")
                lines.append((child.line, " ".join(values[k] for k in order)))
            else:
                if not in_cov:
                    lines.append((child.line, "COVARIANCE_START"))
                    in_cov = True
                lines += _covariance_lines(child, path)
        if in_cov:
            lines.append((parts["data"].end_line, "COVARIANCE_STOP"))
    msg = _OemReader(Path(path)).run_lines(lines)
    return msg


def _covariance_lines(node: Node, path) -> list[tuple[int, str]]:
    out = []
    values = {}
    for c in node.children:
        if c.tag == "COMMENT":
            out.append((c.line, "COMMENT " + c.text.strip()))
        elif c.tag in ("EPOCH", "COV_REF_FRAME"):
            out.append((c.line, f"{c.tag} = {c.text.strip()}"))
        else:
            _check_oem_unit(c, path)
            values[c.tag] = (c.line, c.text.strip())
    for i, a in enumerate(_STATE):
        row = [f"C{a}_{b}" for b in _STATE[: i + 1]]
        for key in row:
            if key not in values:
                raise ParseError(path, node.line, key, "missing from <covarianceMatrix>")
        out.append((values[row[0]][0], " ".join(values[k][1] for k in row)))
    return out


_OEM_UNITS = {**{k: "km" for k in _STATE[:3]}, **{k: "km/s" for k in _STATE[3:]}, **{k: "km/s**2" for k in _ACC},
              **{k: ("km**2", "km**2/s", "km**2/s**2")[k.count("_DOT")] for k in _OEM_COV}}


def _check_oem_unit(node: Node, path) -> None:
    unit = node.attrs.get("units")
    want = _OEM_UNITS.get(node.tag)
    if unit is not None and want is not None and unit.replace(" ", "").lower() != want.lower():
        raise ParseError(path, node.line, node.tag, f'units="{unit}" where "{want}" is required')


def _items(node: Node) -> list[KvnLine]:
    out: list[KvnLine] = []
    _flatten(node, out)
    return out


def _kvn_text(it: KvnLine) -> str:
    return f"COMMENT {it.value}" if it.keyword == "COMMENT" else f"{it.keyword} = {it.value}"


def read_opm_xml(path):
    from .opm import parse_opm_items

    root = _root(path, "opm")
    items = [KvnLine(root.line, "CCSDS_OPM_VERS", root.attrs["version"])] + _items(root)
    return parse_opm_items(items, Path(path))


def read_cdm_xml(path):
    from .cdm import parse_cdm_items

    root = _root(path, "cdm")
    items = [KvnLine(root.line, "CCSDS_CDM_VERS", root.attrs["version"])] + _items(root)
    return parse_cdm_items(items, Path(path))


# --- writers ------------------------------------------------------------------------------------------

_XSD = "https://sanaregistry.org/r/ndmxml/ndmxml-1.0-master.xsd"


def _root_element(kind: str, version: str) -> ET.Element:
    return ET.Element(kind, {"xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                             "xsi:noNamespaceSchemaLocation": _XSD,
                             "id": f"CCSDS_{kind.upper()}_VERS", "version": version})


def _sub(parent, tag, text, unit=None):
    el = ET.SubElement(parent, tag, {"units": unit} if unit else {})
    el.text = text
    return el


def _to_bytes(root: ET.Element) -> bytes:
    ET.indent(root, "  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def iter_oem_xml(message):
    """The OEM as NDM/XML text, in pieces: the data section is formatted a chunk of states at a time, so a
    million-state OEM converts without building a million-element tree."""
    from .oem import CHUNK_LINES

    def leaf(tag, text, indent):
        return f"{' ' * indent}<{tag}>{escape(str(text))}</{tag}>\n"

    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           f'<oem xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="{_XSD}" '
           f'id="CCSDS_OEM_VERS" version="{escape(message.version)}">\n', "  <header>\n"]
    out += [leaf("COMMENT", c, 4) for c in message.comments]
    out += [leaf(k, message.header[k], 4) for k in ("CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
            if k in message.header]
    out.append("  </header>\n  <body>\n")
    yield "".join(out)
    for seg in message.segments:
        out = ["    <segment>\n      <metadata>\n"]
        out += [leaf("COMMENT", c, 8) for c in seg.comments]
        out += [leaf(k, seg.metadata[k], 8) for k in _OEM_META[1:] if k in seg.metadata]
        out.append("      </metadata>\n      <data>\n")
        out += [leaf("COMMENT", c, 8) for c in seg.data_comments]
        yield "".join(out)
        keys = _STATE + (_ACC if seg.accelerations is not None else ())
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
                    for i, a in enumerate(_STATE) for j, b in enumerate(_STATE[: i + 1])]
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


def _items_to_tree(kind: str, items: list[KvnLine], structure: dict, placement) -> bytes:
    """Rebuild the NDM nesting from KVN items: PLACEMENT(keyword, state) -> container path."""
    version = items[0].value
    root = _root_element(kind, version)
    header = ET.SubElement(root, "header")
    body = ET.SubElement(root, "body")
    state = {"section": "header", "containers": {}, "pending": []}
    for it in items[1:]:
        if it.keyword == "COMMENT":
            state["pending"].append(it.value)
            continue
        parent = placement(it, state, header, body)
        for c in state["pending"]:
            _sub(parent, "COMMENT", c)
        state["pending"] = []
        if it.keyword.startswith("USER_DEFINED_"):
            _sub(parent, "USER_DEFINED", it.value).set("parameter", it.keyword[len("USER_DEFINED_"):])
        else:
            _sub(parent, it.keyword, it.value, it.unit)
    if state["pending"]:
        for c in state["pending"]:
            _sub(parent if items[1:] else header, "COMMENT", c)
    return _to_bytes(root)


def _container(state, key, parent, tag):
    """The current <tag> under PARENT, created on first use (KEY names it in the cache)."""
    cache = state["containers"]
    if key not in cache:
        cache[key] = ET.SubElement(parent, tag)
    return cache[key]


def opm_to_xml_bytes(message) -> bytes:
    from . import opm

    blocks = [("stateVector", opm.STATE), ("keplerianElements", opm.KEPLER), ("spacecraftParameters", opm.SPACECRAFT),
              ("covarianceMatrix", ("COV_REF_FRAME",) + opm.COVARIANCE)]

    def place(it, state, header, body):
        key = it.keyword
        if key in opm.HEADER:
            return header
        seg = _container(state, "segment", body, "segment")
        if key in opm.META:
            return _container(state, "metadata", seg, "metadata")
        data = _container(state, "data", seg, "data")
        if key.startswith("USER_DEFINED_"):
            return _container(state, "user", data, "userDefinedParameters")
        if key.startswith("MAN_"):
            if key == "MAN_EPOCH_IGNITION":
                state["containers"]["man"] = ET.SubElement(data, "maneuverParameters")
            return _container(state, "man", data, "maneuverParameters")
        for tag, keys in blocks:
            if key in keys:
                return _container(state, tag, data, tag)
        return data

    return _items_to_tree("opm", message.items, STRUCTURE["opm"], place)


def cdm_to_xml_bytes(message) -> bytes:
    from . import cdm

    def place(it, state, header, body):
        key = it.keyword
        if key in cdm.HEADER:
            return header
        if key == "OBJECT":
            seg = ET.SubElement(body, "segment")
            state["containers"] = {"rel": state["containers"].get("rel"), "segment": seg}
        if "segment" not in state["containers"]:
            rel = _container(state, "rel", body, "relativeMetadataData")
            if key in cdm.RELATIVE[3:9]:
                return _container(state, "relsv", rel, "relativeStateVector")
            return rel
        seg = state["containers"]["segment"]
        if key in cdm.OBJ_META:
            return _container(state, "metadata", seg, "metadata")
        data = _container(state, "data", seg, "data")
        for tag, keys in (("odParameters", cdm.OBJ_OD), ("additionalParameters", cdm.OBJ_ADD),
                          ("stateVector", cdm.STATE), ("covarianceMatrix", cdm.COV6 + cdm.COV_EXTRA)):
            if key in keys:
                return _container(state, tag, data, tag)
        return data

    return _items_to_tree("cdm", message.items, None, place)


def write_opm_xml(path, message) -> None:
    atomic_write_bytes(path, opm_to_xml_bytes(message))


def write_cdm_xml(path, message) -> None:
    atomic_write_bytes(path, cdm_to_xml_bytes(message))
