"""CCSDS NDM/XML (505.0) for OPM and CDM (and, re-exported, the streamed OEM of ``oem_xml``): read and write.

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

from .atomic import atomic_write_bytes
from .errors import ParseError
from .kvn import KvnLine
from .oem_xml import iter_oem_xml, oem_to_xml_bytes, read_oem_xml, write_oem_xml  # noqa: F401  (OEM: streamed)
from .xml_expat import hardened_parser

# --- structure: container -> allowed children; leaves are everything else ---------------------------

_STATE = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
_OEM_COV = tuple(f"C{a}_{b}" for i, a in enumerate(_STATE) for b in _STATE[: i + 1])
_HEADER = ("COMMENT", "CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID", "MESSAGE_FOR")

STRUCTURE = {
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
    parts: list = field(default_factory=list, repr=False)  # character data while parsing (joined once: linear)


def parse_xml_tree(path) -> Node:
    """The document as Nodes with line numbers; malformed XML -> ParseError at expat's line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from None
    parser = hardened_parser(path)
    stack: list[Node] = []
    root: list[Node] = []

    def start(name, attrs):
        node = Node(name.rsplit("}", 1)[-1].rsplit(":", 1)[-1], attrs, parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def end(name):
        node = stack.pop()
        node.end_line = parser.CurrentLineNumber
        node.text, node.parts = "".join(node.parts), []

    def chars(text):
        if stack:
            stack[-1].parts.append(text)

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        where = stack[-1].tag if stack else "xml"
        raise ParseError(path, exc.lineno, where, f"malformed XML: {xml.parsers.expat.ErrorString(exc.code)}") from None
    except (LookupError, ValueError) as exc:  # e.g. an unknown encoding in the XML declaration
        if isinstance(exc, ParseError):  # a DOCTYPE refused by the hardened parser
            raise
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
