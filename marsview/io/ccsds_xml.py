"""CCSDS NDM/XML (505.0), the part every message shares: read and write (OPM and CDM use it; the OEM streams
its own, see ``oem_xml``). Each message module owns its XML structure and placement (opm.py, cdm.py).

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

from .errors import ParseError
from .kvn import KvnLine
from .xml_expat import hardened_parser

# --- the parts every NDM shares ------------------------------------------------------------------------

HEADER_ELEMENTS = ("COMMENT", "CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID", "MESSAGE_FOR")


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


def _root(path, kind: str, structure: dict) -> Node:
    root = parse_xml_tree(path)
    if root.tag != kind:
        raise ParseError(path, root.line, root.tag, f"root element must be <{kind}> for an {kind.upper()}")
    version = root.attrs.get("version")
    if not version:
        raise ParseError(path, root.line, kind, "the version attribute is missing")
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


# --- reading ------------------------------------------------------------------------------------------

def read_ndm_items(path, kind: str, structure: dict) -> list[KvnLine]:
    """The <KIND> message at PATH checked against STRUCTURE (container -> allowed children; leaves are everything
    else) and flattened into the KVN lines it stands for, starting with ``CCSDS_<KIND>_VERS``: the KVN reader of
    that message then checks them with the same rules and messages as a KVN file."""
    root = _root(path, kind, structure)
    out: list[KvnLine] = [KvnLine(root.line, f"CCSDS_{kind.upper()}_VERS", root.attrs["version"])]
    _flatten(root, out)
    return out


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


def items_to_xml_bytes(kind: str, items: list[KvnLine], placement) -> bytes:
    """The NDM/XML document of a message's KVN ITEMS (the first is the version line): PLACEMENT(item, state, header,
    body) -> the element the item goes into (``container`` creates each once)."""
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


def container(state, key, parent, tag):
    """The current <tag> under PARENT, created on first use (KEY names it in the cache)."""
    cache = state["containers"]
    if key not in cache:
        cache[key] = ET.SubElement(parent, tag)
    return cache[key]
