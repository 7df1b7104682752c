"""Hypothesis fuzzing of the KVN readers with mutated valid messages: dropped, duplicated and swapped lines,
random bytes, truncation, number mutations. Only ParseError may escape; never another exception, never a
hang (each example has a deadline)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marsview.io.cdm import read_cdm
from marsview.io.errors import ParseError
from marsview.io.formats import read_any
from marsview.io.oem import read_oem
from marsview.io.opm import read_opm

from test_bad_input import CDM, OEM, OPM  # same directory (pytest prepend import mode)

OEM_FULL = OEM.replace("META_STOP\n", "INTERPOLATION = HERMITE\nINTERPOLATION_DEGREE = 3\nMETA_STOP\nCOMMENT data\n") + (
    "COVARIANCE_START\nEPOCH = 2024-04-01T00:00:00.000\nCOV_REF_FRAME = EME2000\n1.0\n0.0 1.0\n0.0 0.0 1.0\n"
    "0 0 0 1e-6\n0 0 0 0 1e-6\n0 0 0 0 0 1e-6\nCOVARIANCE_STOP\n")
OPM_FULL = OPM + ("SEMI_MAJOR_AXIS = 20000.0 [km]\nECCENTRICITY = 0.1\nINCLINATION = 25.0 [deg]\n"
                  "RA_OF_ASC_NODE = 10.0 [deg]\nARG_OF_PERICENTER = 20.0 [deg]\nTRUE_ANOMALY = 30.0 [deg]\n"
                  "GM = 42828.37 [km**3/s**2]\nMASS = 1350.0 [kg]\nMAN_EPOCH_IGNITION = 2024-04-01T01:00:00\n"
                  "MAN_DURATION = 0.0 [s]\nMAN_DELTA_MASS = -0.1 [kg]\nMAN_REF_FRAME = RTN\nMAN_DV_1 = 0.0 [km/s]\n"
                  "MAN_DV_2 = 0.001 [km/s]\nMAN_DV_3 = 0.0 [km/s]\n")
CASES = {"oem": (OEM_FULL, read_oem), "opm": (OPM_FULL, read_opm), "cdm": (CDM, read_cdm)}
_NUMBER = re.compile(rb"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")

mutation = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 200)),
    st.tuples(st.just("dup"), st.integers(0, 200)),
    st.tuples(st.just("swap"), st.integers(0, 200), st.integers(0, 200)),
    st.tuples(st.just("bytes"), st.integers(0, 10_000), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000)),
    st.tuples(st.just("number"), st.integers(0, 500),
              st.sampled_from([b"", b"-", b"1e999", b"nan", b"inf", b"0x10", b"1_0", b"9" * 30, b"-0", b".",
                               b"1e-400", b"99", b"2024-13-45T25:61:61", b"1 2", b"\xff"])),
    st.tuples(st.just("case"), st.integers(0, 200)),
)


def _mutate(data: bytes, ops) -> bytes:
    for op in ops:
        lines = data.split(b"\n")
        kind = op[0]
        if kind == "drop" and lines:
            del lines[op[1] % len(lines)]
        elif kind == "dup" and lines:
            i = op[1] % len(lines)
            lines.insert(i, lines[i])
        elif kind == "swap" and lines:
            i, j = op[1] % len(lines), op[2] % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "case" and lines:
            i = op[1] % len(lines)
            lines[i] = lines[i].lower()
        elif kind == "bytes":
            pos = op[1] % (len(data) + 1)
            data = data[:pos] + op[2] + data[pos:]
            continue
        elif kind == "truncate":
            data = data[: op[1] % (len(data) + 1)]
            continue
        elif kind == "number":
            spans = [m.span() for m in _NUMBER.finditer(data)]
            if spans:
                a, b = spans[op[1] % len(spans)]
                data = data[:a] + op[2] + data[b:]
            continue
        data = b"\n".join(lines)
    return data


def _check(tmp_path, kind, ops, reader=None):
    text, read = CASES[kind]
    path = tmp_path / f"fuzz.{kind}"
    path.write_bytes(_mutate(text.encode(), ops))
    try:
        (reader or read)(path)
    except ParseError as exc:
        assert exc.path == str(path) and exc.line >= 0 and exc.keyword


FUZZ = settings(max_examples=200, deadline=timedelta(seconds=5), derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_mutated_messages_raise_only_parse_error(tmp_path, kind):
    @FUZZ
    @given(ops=st.lists(mutation, min_size=1, max_size=4))
    def run(ops):
        _check(tmp_path, kind, ops)

    run()


def test_read_any_on_mutated_messages(tmp_path):
    @settings(FUZZ, max_examples=100)
    @given(kind=st.sampled_from(sorted(CASES)), ops=st.lists(mutation, min_size=1, max_size=3))
    def run(kind, ops):
        _check(tmp_path, kind, ops, reader=read_any)

    run()


@pytest.mark.parametrize("kind", ["oem", "opm", "cdm"])
def test_unmutated_fuzz_bases_read(tmp_path, kind):
    text, read = CASES[kind]
    (tmp_path / "ok").write_text(text)
    read(tmp_path / "ok")
