"""Issue 17: every NDM/XML message type (OEM, OPM, CDM) goes through one hardened expat path: any DOCTYPE is
refused at its line (NDM/XML uses no DTD), so entity expansion ("billion laughs") and DOCTYPE renames never
run, and a multi-megabyte COMMENT reads in linear time."""

from __future__ import annotations

import pytest

from marsview.io import cdm, opm
from marsview.io.cdm import read_cdm
from marsview.io.errors import ParseError
from marsview.io.formats import read_any
from marsview.io.oem import read_oem
from marsview.io.opm import read_opm

from test_bad_input import CDM, OPM  # same directory (pytest prepend import mode)
from test_xml import OEM_XML

READERS = {"oem": read_oem, "opm": read_opm, "cdm": read_cdm}


def xml_text(kind: str, tmp_path) -> str:
    if kind == "oem":
        return OEM_XML
    src = tmp_path / f"src.{kind}"
    src.write_text({"opm": OPM, "cdm": CDM}[kind])
    msg = READERS[kind](src)
    return (opm.opm_to_xml_bytes if kind == "opm" else cdm.cdm_to_xml_bytes)(msg).decode()


LAUGHS = """<!DOCTYPE {root} [
 <!ENTITY lol "lol">
""" + "".join(f' <!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">\n' for i in range(1, 10)) + "]>\n"


def with_doctype(text: str, kind: str, doctype: str) -> str:
    head, rest = text.split("\n", 1)  # after the XML declaration
    return head + "\n" + doctype.format(root=kind) + rest


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_billion_laughs_is_refused_at_the_doctype(tmp_path, kind):
    text = with_doctype(xml_text(kind, tmp_path), kind, LAUGHS)
    text = text.replace("<COMMENT>", "<COMMENT>&lol9;", 1) if "<COMMENT>" in text else text.replace(
        "<ORIGINATOR>", "<ORIGINATOR>&lol9;", 1)
    path = tmp_path / f"laughs_{kind}.xml"
    path.write_text(text)
    for reader in (READERS[kind], read_any):
        with pytest.raises(ParseError) as err:
            reader(path)
        assert (err.value.line, err.value.keyword) == (2, "DOCTYPE"), str(err.value)
        assert str(err.value).startswith(f"{path}:2: DOCTYPE: ")


@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_doctype_that_renames_the_object_is_refused(tmp_path, kind):
    text = xml_text(kind, tmp_path)
    name_tag = "<OBJECT_NAME>"
    start = text.index(name_tag) + len(name_tag)
    end = text.index("</OBJECT_NAME>", start)
    text = text[:start] + "&n;" + text[end:]
    text = with_doctype(text, kind, '<!DOCTYPE {root} [<!ENTITY n "IMPOSTOR">]>\n')
    path = tmp_path / f"rename_{kind}.xml"
    path.write_text(text)
    with pytest.raises(ParseError) as err:
        READERS[kind](path)
    assert err.value.keyword == "DOCTYPE" and err.value.line == 2


@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_external_entity_and_plain_doctype_are_refused(tmp_path, kind):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE\n")
    text = xml_text(kind, tmp_path).replace("<ORIGINATOR>", "<ORIGINATOR>&xxe;", 1)
    text = with_doctype(text, kind, f'<!DOCTYPE {{root}} [<!ENTITY xxe SYSTEM "file://{secret}">]>\n')
    path = tmp_path / f"xxe_{kind}.xml"
    path.write_text(text)
    with pytest.raises(ParseError) as err:
        READERS[kind](path)
    assert "TOP-SECRET" not in str(err.value) and err.value.keyword == "DOCTYPE"
    plain = tmp_path / f"plain_{kind}.xml"
    plain.write_text(with_doctype(xml_text(kind, tmp_path), kind, "<!DOCTYPE {root}>\n"))
    with pytest.raises(ParseError, match="DOCTYPE"):
        READERS[kind](plain)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_megabyte_comment_of_entities_reads_whole(tmp_path, kind):
    """1 MB of `&amp;` in one COMMENT: read (linear text collection) and kept to the last character."""
    n = 200_000
    text = xml_text(kind, tmp_path)
    text = text.replace("<ORIGINATOR>", "<COMMENT>" + "&amp;" * n + "end</COMMENT>\n<ORIGINATOR>", 1)
    path = tmp_path / f"big_{kind}.xml"
    path.write_text(text)
    msg = READERS[kind](path)
    comments = msg.comments if kind == "oem" else [it.value for it in msg.items if it.keyword == "COMMENT"]
    assert "&" * n + "end" in comments
