"""Hypothesis fuzzing of every XML reader (OEM, OPM, CDM in NDM/XML) and of scenario.toml: mutated valid
documents (the KVN fuzzer's line/byte/number mutations plus XML-specific ones: entity references, DOCTYPEs,
CDATA, renamed and nested elements, attributes). Only ParseError may escape, each example within a deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marsview.io import cdm, opm
from marsview.io.cdm import read_cdm
from marsview.io.errors import ParseError
from marsview.io.formats import read_any
from marsview.io.oem import read_oem
from marsview.io.opm import read_opm

from test_bad_input import CDM, OEM  # same directory (pytest prepend import mode)
from test_fuzz_kvn import OPM_FULL, _mutate, mutation
from test_xml import OEM_XML

FUZZ = settings(max_examples=150, deadline=timedelta(seconds=5), derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

XML_PIECES = [b"&amp;", b"&lt;", b"&#x41;", b"&#0;", b"&undefined;", b"&lol;", b"<![CDATA[1.0]]>", b"<!-- c -->",
              b'<!DOCTYPE x [<!ENTITY lol "lol">]>', b'<!ENTITY x SYSTEM "file:///etc/passwd">', b"<X>1</X>",
              b"<COMMENT>c</COMMENT>", b"<segment>", b"</data>", b'<stateVector units="km">', b' units="m"',
              b'<?xml version="1.0" encoding="latin-1"?>', b"<?pi x?>", b"\xef\xbb\xbf", b"<a:b xmlns:a='u'/>"]

xml_mutation = st.one_of(
    mutation,
    st.tuples(st.just("bytes"), st.integers(0, 10_000), st.sampled_from(XML_PIECES)),
    st.tuples(st.just("bytes"), st.integers(0, 200), st.just(b'<!DOCTYPE opm [<!ENTITY a "' + b"x" * 50 + b'">]>')),
)


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xml_bases")
    (tmp / "s.opm").write_text(OPM_FULL)
    (tmp / "s.cdm").write_text(CDM)
    return {"oem": (OEM_XML.encode(), read_oem),
            "opm": (opm.opm_to_xml_bytes(read_opm(tmp / "s.opm")), read_opm),
            "cdm": (cdm.cdm_to_xml_bytes(read_cdm(tmp / "s.cdm")), read_cdm)}


@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_xml_bases_read(tmp_path, documents, kind):
    data, reader = documents[kind]
    (tmp_path / "ok.xml").write_bytes(data)
    reader(tmp_path / "ok.xml")


@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_mutated_xml_raises_only_parse_error(tmp_path, documents, kind):
    data, reader = documents[kind]

    @FUZZ
    @given(ops=st.lists(xml_mutation, min_size=1, max_size=4), through_any=st.booleans())
    def run(ops, through_any):
        path = tmp_path / f"fuzz_{kind}.xml"
        path.write_bytes(_mutate(data, ops))
        try:
            (read_any if through_any else reader)(path)
        except ParseError as exc:
            assert exc.path == str(path) and exc.line >= 0 and exc.keyword

    run()


SCENARIO = """name = "fuzz"
[window]
start_utc = "2024-04-01T00:00:00"
duration = "2m"
threshold_km = 5.0

[[objects]]
name = "MAVEN"
hbr_m = 2.0
visible = true
[objects.orbit]
source = "file"
path = "m.oem"

[[objects]]
name = "Phobos"
kind = "moon"
hbr_m = 15000.0
[objects.orbit]
source = "moon"
body = "Phobos"

[[maneuvers]]
object = "MAVEN"
epoch_utc = "2024-04-01T00:01:00"
dv_mps = [0.0, 0.1, 0.0]
"""

toml_mutation = st.one_of(
    mutation,
    st.tuples(st.just("bytes"), st.integers(0, 2_000),
              st.sampled_from([b'"false"', b"[[objects]]\n", b"[window]\n", b"= 1\n", b'path = "../x"\n',
                               b'path = "/etc/passwd"\n', b'duration = "3650d"\n', b"[" * 50, b"{a={b={}}}",
                               b'source = "elements"\n', b"1979-05-27T07:32:00Z", b"nan", b"\x00"])),
)


def test_mutated_scenario_toml_raises_only_parse_error(tmp_path):
    folder = tmp_path / "sc"
    folder.mkdir()
    (folder / "m.oem").write_text(OEM)

    @settings(FUZZ, max_examples=100, deadline=timedelta(seconds=20))
    @given(ops=st.lists(toml_mutation, min_size=1, max_size=3))
    def run(ops):
        from marsview.model.loading import load_scenario

        (folder / "scenario.toml").write_bytes(_mutate(SCENARIO.encode(), ops))
        try:
            load_scenario([folder], use_cache=False)
        except ParseError as exc:
            assert exc.keyword

    run()


def test_scenario_fuzz_base_loads(tmp_path):
    from marsview.model.loading import load_scenario

    (tmp_path / "m.oem").write_text(OEM)
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    assert load_scenario([tmp_path], use_cache=False).names() == ["MAVEN", "Phobos"]
