"""The one hardened expat parser every NDM/XML reader (OEM, OPM, CDM) uses.

NDM/XML uses no DTD, so any ``<!DOCTYPE`` (and with it every entity declaration: "billion laughs", external
entities, a DOCTYPE that silently renames the object) is refused at its line before expat expands anything.
Character data is buffered by expat (``buffer_text``) and collected by the readers in lists, so a
multi-megabyte COMMENT costs linear time.
"""

from __future__ import annotations

import xml.parsers.expat

from .errors import ParseError


def hardened_parser(path):
    """An expat parser for PATH that refuses any DOCTYPE / entity declaration with file:line: DOCTYPE: why."""
    parser = xml.parsers.expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    try:  # never read an external DTD or parameter entity, whatever the declaration says
        parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    except AttributeError:  # pragma: no cover - every CPython expat has it
        pass

    def refuse_doctype(*_args):
        raise ParseError(path, parser.CurrentLineNumber or 1, "DOCTYPE",
                         "DOCTYPE declarations are not allowed in CCSDS NDM/XML (it uses no DTD)")

    def refuse_entity(*_args):
        raise ParseError(path, parser.CurrentLineNumber or 1, "ENTITY",
                         "entity declarations are not allowed in CCSDS NDM/XML")

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = lambda *_args: refuse_entity()
    return parser
