"""Every bad-input case of issue 3, for every reader: the error names the file, the line and the keyword."""

from __future__ import annotations

import pytest

from marsview.io.cdm import read_cdm
from marsview.io.errors import ParseError
from marsview.io.formats import read_any
from marsview.io.oem import read_oem
from marsview.io.oem_convert import oem_to_ephemerides
from marsview.io.opm import read_opm

OEM = """CCSDS_OEM_VERS = 2.0
CREATION_DATE = 2024-04-01T00:00:00
ORIGINATOR = TEST
META_START
OBJECT_NAME = MAVEN
OBJECT_ID = 2013-063A
CENTER_NAME = MARS
REF_FRAME = EME2000
TIME_SYSTEM = UTC
START_TIME = 2024-04-01T00:00:00.000
STOP_TIME = 2024-04-01T00:03:00.000
META_STOP
2024-04-01T00:00:00.000 4000.0 0.0 0.0 0.0 3.2 0.5
2024-04-01T00:01:00.000 3998.5 192.0 30.0 -0.05 3.19 0.5
2024-04-01T00:02:00.000 3994.0 383.7 60.0 -0.10 3.18 0.5
2024-04-01T00:03:00.000 3986.6 575.0 90.0 -0.15 3.17 0.5
"""  # line 13 is the first data line

OPM = """CCSDS_OPM_VERS = 2.0
CREATION_DATE = 2024-04-01T00:00:00
ORIGINATOR = TEST
OBJECT_NAME = HOPE
OBJECT_ID = 2020-047A
CENTER_NAME = MARS
REF_FRAME = EME2000
TIME_SYSTEM = UTC
EPOCH = 2024-04-01T00:00:00.000
X = 20000.0 [km]
Y = 0.0 [km]
Z = 0.0 [km]
X_DOT = 0.0 [km/s]
Y_DOT = 1.2 [km/s]
Z_DOT = 0.3 [km/s]
"""

CDM_HEAD = """CCSDS_CDM_VERS = 1.0
CREATION_DATE = 2024-04-01T00:00:00.000
ORIGINATOR = MARSVIEW
MESSAGE_ID = MV-7
TCA = 2024-04-02T03:04:05.678
MISS_DISTANCE = 812.5 [m]
"""


def _cdm_object(n, name, x):
    cov = "\n".join(f"{k} = {v}" for k, v in zip(
        ["CR_R", "CT_R", "CT_T", "CN_R", "CN_T", "CN_N", "CRDOT_R", "CRDOT_T", "CRDOT_N", "CRDOT_RDOT", "CTDOT_R",
         "CTDOT_T", "CTDOT_N", "CTDOT_RDOT", "CTDOT_TDOT", "CNDOT_R", "CNDOT_T", "CNDOT_N", "CNDOT_RDOT",
         "CNDOT_TDOT", "CNDOT_NDOT"], ["100.0", "0.0", "400.0", "0.0", "0.0", "90.0"] + ["0.0"] * 3 + ["0.01"]
        + ["0.0"] * 4 + ["0.01"] + ["0.0"] * 5 + ["0.01"]))
    return f"""OBJECT = OBJECT{n}
OBJECT_DESIGNATOR = {n}
CATALOG_NAME = MARSVIEW
OBJECT_NAME = {name}
INTERNATIONAL_DESIGNATOR = UNKNOWN
EPHEMERIS_NAME = NONE
COVARIANCE_METHOD = DEFAULT
MANEUVERABLE = YES
REF_FRAME = EME2000
X = {x} [km]
Y = 0.0 [km]
Z = 0.0 [km]
X_DOT = 0.0 [km/s]
Y_DOT = 3.4 [km/s]
Z_DOT = 0.0 [km/s]
{cov}
"""


CDM = CDM_HEAD + _cdm_object(1, "MRO", "3700.0") + _cdm_object(2, "ODY", "3700.8")
READERS = {"oem": read_oem, "opm": read_opm, "cdm": read_cdm}
TEXTS = {"oem": OEM, "opm": OPM, "cdm": CDM}


def _fails(tmp_path, kind, text, line, keyword, contains="", reader=None):
    path = tmp_path / f"bad.{kind}"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ParseError) as err:
        (reader or READERS[kind])(path)
    e = err.value
    assert (e.line, e.keyword) == (line, keyword), str(e)
    assert str(e).startswith(f"{path}:{line}: {keyword}: ")
    assert contains.lower() in e.message.lower(), e.message
    return e


def _replace_line(text, lineno, new):
    lines = text.splitlines()
    lines[lineno - 1] = new
    return "\n".join(lines) + "\n"


def _drop_line(text, lineno):
    lines = text.splitlines()
    del lines[lineno - 1]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_fixture_texts_are_valid(tmp_path, kind):
    path = tmp_path / f"ok.{kind}"
    path.write_text(TEXTS[kind])
    READERS[kind](path)


# --- missing mandatory keyword
def test_oem_missing_mandatory_keyword(tmp_path):
    _fails(tmp_path, "oem", _drop_line(OEM, 6), 11, "OBJECT_ID", "mandatory")  # META_STOP moved up to line 11


def test_opm_missing_mandatory_keyword(tmp_path):
    _fails(tmp_path, "opm", _drop_line(OPM, 3), 14, "ORIGINATOR", "mandatory")


def test_cdm_missing_mandatory_keyword(tmp_path):
    _fails(tmp_path, "cdm", _drop_line(CDM, 6), CDM.count("\n") - 1, "MISS_DISTANCE", "mandatory")


# --- unknown keyword
@pytest.mark.parametrize("kind, line", [("oem", 8), ("opm", 8), ("cdm", 8)])
def test_unknown_keyword(tmp_path, kind, line):
    _fails(tmp_path, kind, _replace_line(TEXTS[kind], line, "SPACECRAFT_COLOUR = RED"), line, "SPACECRAFT_COLOUR",
           "unknown")


# --- bad number
def test_oem_bad_number(tmp_path):
    _fails(tmp_path, "oem", OEM.replace("3994.0 383.7", "3994.0 38x.7"), 15, "Y", "not a finite number")


def test_oem_nan_is_refused(tmp_path):
    _fails(tmp_path, "oem", OEM.replace("-0.10 3.18", "NaN 3.18"), 15, "X_DOT", "not a finite number")


def test_opm_bad_number(tmp_path):
    _fails(tmp_path, "opm", OPM.replace("Y_DOT = 1.2", "Y_DOT = 1.2.3"), 14, "Y_DOT", "not a finite number")


def test_opm_overflowing_number(tmp_path):
    _fails(tmp_path, "opm", OPM.replace("X = 20000.0", "X = 2e999"), 10, "X", "overflows")


def test_cdm_bad_number(tmp_path):
    _fails(tmp_path, "cdm", CDM.replace("MISS_DISTANCE = 812.5", "MISS_DISTANCE = NaN"), 6, "MISS_DISTANCE",
           "not a finite number")


# --- bad or non-increasing epoch
def test_oem_bad_epoch(tmp_path):
    _fails(tmp_path, "oem", OEM.replace("2024-04-01T00:02:00.000 3994", "2024-04-31T00:02:00.000 3994"), 15, "epoch",
           "out of range")


def test_oem_non_increasing_epoch(tmp_path):
    _fails(tmp_path, "oem", OEM.replace("2024-04-01T00:02:00.000 3994", "2024-04-01T00:01:00.000 3994"), 15, "epoch",
           "not after the previous")


def test_oem_bad_metadata_epoch(tmp_path):
    _fails(tmp_path, "oem", OEM.replace("STOP_TIME = 2024-04-01T00:03:00.000", "STOP_TIME = 2024-04-01 00:03"), 11,
           "STOP_TIME", "bad epoch")


def test_oem_data_outside_start_stop(tmp_path):
    _fails(tmp_path, "oem", OEM.replace("STOP_TIME = 2024-04-01T00:03:00.000", "STOP_TIME = 2024-04-01T00:02:30"),
           16, "epoch", "after STOP_TIME")


def test_opm_bad_epoch(tmp_path):
    _fails(tmp_path, "opm", OPM.replace("EPOCH = 2024-04-01T00:00:00.000", "EPOCH = 2024-13-01T00:00:00"), 9, "EPOCH",
           "bad epoch")


def test_cdm_bad_epoch(tmp_path):
    _fails(tmp_path, "cdm", CDM.replace("TCA = 2024-04-02T03:04:05.678", "TCA = yesterday"), 5, "TCA", "bad epoch")


# --- wrong field count
def test_oem_wrong_field_count(tmp_path):
    _fails(tmp_path, "oem", OEM.replace("3994.0 383.7 60.0 -0.10 3.18 0.5", "3994.0 383.7 60.0 -0.10 3.18"), 15,
           "data line", "expected 7 fields")


def test_oem_first_data_line_with_8_fields(tmp_path):
    _fails(tmp_path, "oem", OEM.replace("0.0 3.2 0.5", "0.0 3.2 0.5 1.0"), 13, "data line", "7 fields")


def test_oem_covariance_row_wrong_count(tmp_path):
    text = OEM + "COVARIANCE_START\nEPOCH = 2024-04-01T00:00:00.000\n1.0\n0.0 1.0\n0.0 0.0\n"
    _fails(tmp_path, "oem", text, 21, "covariance row 3", "expected 3 values")


# --- frame, centre, time system marsview cannot use
def test_oem_earth_centre_is_refused_for_mars_use(tmp_path):
    path = tmp_path / "earth.oem"
    path.write_text(OEM.replace("CENTER_NAME = MARS", "CENTER_NAME = EARTH"))
    msg = read_oem(path)  # the reader is generic
    with pytest.raises(ParseError) as err:
        oem_to_ephemerides(msg)
    assert (err.value.line, err.value.keyword) == (7, "CENTER_NAME") and str(path) in str(err.value)


def test_oem_unknown_frame_is_refused_for_mars_use(tmp_path):
    path = tmp_path / "frame.oem"
    path.write_text(OEM.replace("REF_FRAME = EME2000", "REF_FRAME = GCRF"))
    with pytest.raises(ParseError) as err:
        oem_to_ephemerides(read_oem(path))
    assert (err.value.line, err.value.keyword) == (8, "REF_FRAME") and "GCRF" in err.value.message


@pytest.mark.parametrize("kind, line", [("oem", 9), ("opm", 8)])
def test_unsupported_time_system(tmp_path, kind, line):
    _fails(tmp_path, kind, TEXTS[kind].replace("TIME_SYSTEM = UTC", "TIME_SYSTEM = GMST"), line, "TIME_SYSTEM",
           "not supported")


def test_cdm_frames_must_agree(tmp_path):
    text = CDM_HEAD + _cdm_object(1, "MRO", "3700.0") + _cdm_object(2, "ODY", "3700.8").replace("EME2000", "ITRF")
    e = _fails(tmp_path, "cdm", text, 15 + 36, "REF_FRAME", "same frame")
    assert e.line == text.splitlines().index("REF_FRAME = ITRF") + 1


def test_cdm_wrong_unit(tmp_path):
    _fails(tmp_path, "cdm", CDM.replace("MISS_DISTANCE = 812.5 [m]", "MISS_DISTANCE = 0.8125 [km]"), 6,
           "MISS_DISTANCE", "unit")


# --- truncated file
def test_oem_truncated_in_metadata(tmp_path):
    _fails(tmp_path, "oem", "\n".join(OEM.splitlines()[:9]) + "\n", 9, "META_STOP", "truncated")


def test_oem_truncated_mid_line(tmp_path):
    _fails(tmp_path, "oem", OEM[: OEM.rindex("3.17")], 16, "data line", "fields")


def test_oem_truncated_in_covariance(tmp_path):
    _fails(tmp_path, "oem", OEM + "COVARIANCE_START\nEPOCH = 2024-04-01T00:00:00.000\n1.0\n", 19, "COVARIANCE_STOP",
           "truncated")


def test_opm_truncated(tmp_path):
    _fails(tmp_path, "opm", "\n".join(OPM.splitlines()[:12]) + "\n", 12, "X_DOT", "truncated")


def test_cdm_truncated(tmp_path):
    text = "\n".join(CDM.splitlines()[:30]) + "\n"
    _fails(tmp_path, "cdm", text, 30, "OBJECT", "truncated")


# --- binary or empty
@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_empty_file(tmp_path, kind):
    e = _fails(tmp_path, kind, "", 0, "CCSDS_OEM_VERS" if kind == "oem" else "file", "empty")
    assert "empty" in str(e)


@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_binary_file(tmp_path, kind):
    data = TEXTS[kind].encode()[:40] + b"\n\x00\x01\x02\xff\xfe binary junk\n"
    _fails(tmp_path, kind, data, 3, "file", "binary")  # 40 bytes = line 1 and part of line 2


def test_non_utf8_text(tmp_path):
    _fails(tmp_path, "oem", OEM.encode().replace(b"MAVEN", b"MAV\xe9N"), 5, "file", "not utf-8")


def test_read_any_refuses_unknown_content(tmp_path):
    _fails(tmp_path, "txt", "hello = world\n", 1, "hello", "not a CCSDS message", reader=read_any)
    _fails(tmp_path, "bin", b"\x7fELF\x00\x00", 1, "file", "binary", reader=read_any)
    _fails(tmp_path, "xml", "<?xml version='1.0'?>\n<ndm/>\n", 2, "ndm", "root", reader=read_any)


# --- XML structure (OPM/CDM; OEM cases in test_xml.py)
def test_opm_xml_misplaced_element(tmp_path):
    from marsview.io.opm import opm_to_xml_bytes

    (tmp_path / "ok.opm").write_text(OPM)
    text = opm_to_xml_bytes(read_opm(tmp_path / "ok.opm")).decode()
    bad = text.replace("</EPOCH>", "</EPOCH><MASS>1.0</MASS>", 1)  # MASS belongs in spacecraftParameters
    line = next(i for i, t in enumerate(bad.splitlines(), 1) if "<MASS>" in t)
    _fails(tmp_path, "opm", bad, line, "MASS", "not allowed inside <stateVector>")


def test_cdm_xml_unknown_element(tmp_path):
    from marsview.io.cdm import cdm_to_xml_bytes

    (tmp_path / "ok.cdm").write_text(CDM)
    text = cdm_to_xml_bytes(read_cdm(tmp_path / "ok.cdm")).decode()
    bad = text.replace("<TCA>", "<TCB>x</TCB><TCA>", 1)
    line = next(i for i, t in enumerate(bad.splitlines(), 1) if "<TCB>" in t)
    _fails(tmp_path, "cdm", bad, line, "TCB", "not allowed")


@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_utf8_byte_order_mark_is_accepted(tmp_path, kind):
    path = tmp_path / f"bom.{kind}"
    path.write_bytes(b"\xef\xbb\xbf" + TEXTS[kind].replace("\n", "\r\n").encode())
    assert read_any(path) is not None
    READERS[kind](path)
