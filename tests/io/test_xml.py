"""NDM/XML for OEM, OPM, CDM: the KVN samples through XML and back, an independent XML reader, structure
errors with file:line: element."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.io.cdm import cdm_to_xml_bytes, read_cdm
from marsview.io.errors import ParseError
from marsview.io.formats import detect_format, read_any, write_any
from marsview.io.oem import read_oem
from marsview.io.opm import opm_to_xml_bytes, read_opm

OEM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<oem xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="CCSDS_OEM_VERS" version="2.0">
  <header>
    <COMMENT>hand-written Mars OEM</COMMENT>
    <CREATION_DATE>2024-04-01T00:00:00</CREATION_DATE>
    <ORIGINATOR>TEST</ORIGINATOR>
  </header>
  <body>
    <segment>
      <metadata>
        <OBJECT_NAME>TGO</OBJECT_NAME>
        <OBJECT_ID>2016-017A</OBJECT_ID>
        <CENTER_NAME>MARS</CENTER_NAME>
        <REF_FRAME>EME2000</REF_FRAME>
        <TIME_SYSTEM>UTC</TIME_SYSTEM>
        <START_TIME>2024-04-01T00:00:00.000</START_TIME>
        <STOP_TIME>2024-04-01T00:02:00.000</STOP_TIME>
      </metadata>
      <data>
        <COMMENT>three states</COMMENT>
        <stateVector>
          <EPOCH>2024-04-01T00:00:00.000</EPOCH>
          <X units="km">3700.0</X><Y units="km">0.0</Y><Z units="km">10.0</Z>
          <X_DOT units="km/s">0.0</X_DOT><Y_DOT units="km/s">3.4</Y_DOT><Z_DOT units="km/s">0.1</Z_DOT>
        </stateVector>
        <stateVector>
          <EPOCH>2024-04-01T00:01:00.000</EPOCH>
          <X>3697.2</X><Y>203.9</Y><Z>16.0</Z><X_DOT>-0.093</X_DOT><Y_DOT>3.398</Y_DOT><Z_DOT>0.1</Z_DOT>
        </stateVector>
        <stateVector>
          <EPOCH>2024-04-01T00:02:00.000</EPOCH>
          <X>3688.8</X><Y>407.5</Y><Z>22.0</Z><X_DOT>-0.186</X_DOT><Y_DOT>3.391</Y_DOT><Z_DOT>0.1</Z_DOT>
        </stateVector>
      </data>
    </segment>
  </body>
</oem>
"""


def test_hand_written_xml_oem(tmp_path):
    path = tmp_path / "tgo.xml"
    path.write_text(OEM_XML)
    assert detect_format(path) == ("OEM", "XML")
    msg = read_oem(path)
    (seg,) = msg.segments
    assert seg.object_name == "TGO" and seg.states.shape == (3, 6) and seg.states[2, 0] == 3688.8
    assert msg.comments == ["hand-written Mars OEM"] and seg.data_comments == ["three states"]
    assert seg.data_lines.tolist() == [21, 26, 30]  # the lines of the <stateVector> elements


def _same_items(a, b):
    assert [(i.keyword, i.value, i.unit) for i in a.items] == [(i.keyword, i.value, i.unit) for i in b.items]


@pytest.mark.parametrize("name", ["oem_kvn_v3_example_with_covariance.oem", "oem_kvn_v2_ISS_earth_GCRF_24h.oem",
                                  "opm_kvn_v2_example_keplerian_covariance.opm", "opm_kvn_v3_example_minimal_ITRF.opm",
                                  "cdm_kvn_v1_example_all_sections.cdm",
                                  "cdm_kvn_v1_operational_TERRA_vs_IRIDIUM33DEB_HBR15m_Pc2.117e-2.cdm"])
def test_samples_survive_kvn_xml_kvn(reference_dir, tmp_path, name):
    kvn = read_any(reference_dir / "ccsds_samples" / name)
    write_any(tmp_path / "m.xml", kvn)
    assert detect_format(tmp_path / "m.xml")[1] == "XML"
    xml = read_any(tmp_path / "m.xml")
    write_any(tmp_path / "m.kvn", xml)
    again = read_any(tmp_path / "m.kvn")
    if hasattr(kvn, "segments"):
        for a, b in zip(kvn.segments, again.segments):
            assert a.metadata == b.metadata and a.epochs.format() == b.epochs.format()
            np.testing.assert_array_equal(a.states, b.states)
            for c, d in zip(a.covariances, b.covariances):
                np.testing.assert_array_equal(c.matrix, d.matrix)
        assert len(xml.segments[0].covariances) == len(kvn.segments[0].covariances)
    else:
        _same_items(kvn, again)
        _same_items(kvn, xml) if False else None
        assert [(i.keyword, i.value) for i in kvn.items if i.keyword != "COMMENT"] == \
            [(i.keyword, i.value) for i in xml.items if i.keyword != "COMMENT"]


def test_independent_reader_reads_marsview_xml_oem(tmp_path):
    from oem import OrbitEphemerisMessage

    (tmp_path / "in.xml").write_text(OEM_XML)
    msg = read_oem(tmp_path / "in.xml")
    write_any(tmp_path / "out.xml", msg)
    other = OrbitEphemerisMessage.open(str(tmp_path / "out.xml"))
    states = list(other.segments[0].states)
    np.testing.assert_array_equal(np.array([np.hstack([s.position, s.velocity]) for s in states]),
                                  msg.segments[0].states)


@pytest.mark.parametrize("old, new, line, element", [
    ("<ORIGINATOR>TEST</ORIGINATOR>", "<ORIGINATOR>TEST</ORIGINATOR><SPACECRAFT>x</SPACECRAFT>", 6, "SPACECRAFT"),
    ("<COMMENT>three states</COMMENT>", "<metadata/>", 20, "metadata"),
    ("<Z_DOT units=\"km/s\">0.1</Z_DOT>", "", 21, "Z_DOT"),
    ("</oem>", "", 38, "oem"),
    ("<X>3697.2</X>", "<X>3697.2<Q/></X>", 28, "Q"),
    ("<STOP_TIME>2024-04-01T00:02:00.000</STOP_TIME>", "", 18, "STOP_TIME"),
    ("<X>3688.8</X>", "<X>3688.8km</X>", 30, "X"),
    ('<Y units="km">0.0</Y>', '<Y units="m">0.0</Y>', 23, "Y"),
    ("<EPOCH>2024-04-01T00:01:00.000</EPOCH>", "<EPOCH>2024-04-01T00:00:00.000</EPOCH>", 26, "epoch"),
])
def test_structure_mismatch_names_file_line_element(tmp_path, old, new, line, element):
    path = tmp_path / "bad.xml"
    path.write_text(OEM_XML.replace(old, new, 1))
    with pytest.raises(ParseError) as err:
        read_oem(path)
    assert (err.value.line, err.value.keyword) == (line, element), str(err.value)
    assert str(err.value).startswith(f"{path}:{line}: {element}: ")


def test_wrong_root_and_order(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text(OEM_XML.replace("<oem ", "<opm ").replace("</oem>", "</opm>"))
    with pytest.raises(ParseError) as err:
        read_opm(path)
    assert err.value.keyword in ("metadata", "START_TIME", "OBJECT_NAME") or err.value.line > 0
    path.write_text(OEM_XML.replace("<oem ", "<cdm ").replace("</oem>", "</cdm>"))
    with pytest.raises(ParseError) as err:
        read_cdm(path)
    assert err.value.line > 0


def test_opm_and_cdm_xml_structure(reference_dir, tmp_path):
    opm = read_any(reference_dir / "ccsds_samples" / "opm_kvn_v2_example_keplerian_covariance.opm")
    text = opm_to_xml_bytes(opm).decode()
    assert "<keplerianElements>" in text and '<SEMI_MAJOR_AXIS units="km">41399.5123' in text
    assert '<USER_DEFINED parameter="EARTH_MODEL">WGS-84</USER_DEFINED>' in text
    cdm = read_any(reference_dir / "ccsds_samples" / "cdm_kvn_v1_example_all_sections.cdm")
    text = cdm_to_xml_bytes(cdm).decode()
    assert text.count("<segment>") == 2 and "<relativeStateVector>" in text and "<odParameters>" in text


def test_unknown_xml_encoding_is_a_parse_error(tmp_path):
    path = tmp_path / "enc.xml"
    path.write_text(OEM_XML.replace('encoding="UTF-8"', 'encoding="UTF1e999"'))
    with pytest.raises(ParseError) as err:
        read_oem(path)
    assert err.value.line == 1 and err.value.keyword == "xml"


def test_mutated_xml_raises_only_parse_error(tmp_path):
    from datetime import timedelta

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_fuzz_kvn import _mutate, mutation

    @settings(max_examples=100, deadline=timedelta(seconds=5), derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops=st.lists(mutation, min_size=1, max_size=3))
    def run(ops):
        path = tmp_path / "fuzz.xml"
        path.write_bytes(_mutate(OEM_XML.encode(), ops))
        try:
            read_any(path)
        except ParseError as exc:
            assert exc.path == str(path) and exc.keyword

    run()
