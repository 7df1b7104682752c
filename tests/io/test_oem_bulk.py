"""The bulk OEM data-line scan (io.oem_scan) against the line-by-line reader: the same numbers to the bit,
the same epochs, the same file:line: keyword errors; and the repeated-last-line rule."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.io import oem, oem_scan
from marsview.io.errors import ParseError
from marsview.io.oem import read_oem, write_oem
from marsview.io.oem_convert import oem_to_ephemerides

from test_oem import _assert_same, _mars_oem

pytest.importorskip("numba")


def _read(path, bulk: bool, monkeypatch):
    """Read PATH with the bulk scan forced on (any file size) or off (MARSVIEW_NO_JIT=1)."""
    with monkeypatch.context() as m:
        if bulk:
            m.delenv("MARSVIEW_NO_JIT", raising=False)
            m.setattr(oem_scan, "MIN_LINES", 0)
        else:
            m.setenv("MARSVIEW_NO_JIT", "1")
        return read_oem(path)


def _both(path, monkeypatch):
    return _read(path, True, monkeypatch), _read(path, False, monkeypatch)


@pytest.mark.parametrize("time_system", ["UTC", "TAI", "TDB"])
@pytest.mark.parametrize("doy", [False, True])
@pytest.mark.parametrize("accel", [False, True])
def test_bulk_and_line_readers_agree(tmp_path, monkeypatch, time_system, doy, accel):
    src = _mars_oem(tmp_path / "in.oem", time_system=time_system, doy=doy, accel=accel, n=50)
    bulk, line = _both(src, monkeypatch)
    _assert_same(bulk, line)
    for a, b in zip(bulk.segments, line.segments):
        np.testing.assert_array_equal(a.data_lines, b.data_lines)
        np.testing.assert_array_equal(a.epochs.minutes, b.epochs.minutes)
        np.testing.assert_array_equal(a.epochs.seconds, b.epochs.seconds)
        assert (a.epochs.digits, a.epochs.day_of_year) == (b.epochs.digits, b.epochs.day_of_year)


def _number_texts(rng, n):
    """Numbers as partners and marsview write them: shortest round trip (17 digits), fixed decimals, E forms,
    leading '+', '.5', '-0.0', integers, 18-digit significands, tiny and huge exponents, exact halfway cases."""
    x = rng.normal(size=n) * 10.0 ** rng.integers(-12, 12, n)
    out = [repr(float(v)) for v in x[: n // 4]]
    out += [f"{v:.10f}" for v in x[n // 4: n // 2]]
    out += [f"{v:+.16E}" for v in x[n // 2: 3 * n // 4]]
    out += [f"{int(rng.integers(10**17, 10**18))}e{int(rng.integers(-30, 10))}" for _ in range(n // 8)]
    # integers exactly halfway between two float64 (ties go to the even significand)
    out += [str((2 * int(rng.integers(2**52, 2**53)) + 1) * 2 ** int(rng.integers(0, 3))) for _ in range(60)]
    out += ["9007199254740993", "9007199254740995", "0.1", ".5", "-0.0", "+7", "1e-320", "123456789012345678901234"]
    while len(out) % 6:
        out.append("1.5")
    return out


def test_every_number_form_reads_to_the_same_float_as_python(tmp_path, monkeypatch):
    rng = np.random.default_rng(11)
    numbers = _number_texts(rng, 6000)
    rows = np.array(numbers, dtype=object).reshape(-1, 6)
    lines = [f"2024-04-01T{k // 3600:02d}:{k // 60 % 60:02d}:{k % 60:02d}.25 " + "  ".join(r)
             for k, r in enumerate(rows)]
    src = tmp_path / "numbers.oem"
    src.write_text("CCSDS_OEM_VERS = 2.0\nCREATION_DATE = 2024-04-01T00:00:00\nORIGINATOR = T\n\nMETA_START\n"
                   "OBJECT_NAME = X\nOBJECT_ID = X\nCENTER_NAME = MARS\nREF_FRAME = EME2000\nTIME_SYSTEM = UTC\n"
                   f"START_TIME = 2024-04-01T00:00:00\nSTOP_TIME = 2024-04-02T00:00:00\nMETA_STOP\n"
                   + "\n".join(lines) + "\n")
    bulk, line = _both(src, monkeypatch)
    expected = np.array([[float(t) for t in r] for r in rows])
    np.testing.assert_array_equal(bulk.segments[0].states, expected)
    np.testing.assert_array_equal(line.segments[0].states, expected)
    assert np.signbit(bulk.segments[0].states).tolist() == np.signbit(expected).tolist()  # -0.0 stays -0.0


def test_marsview_files_round_trip_through_the_bulk_reader(tmp_path, monkeypatch):
    src = _mars_oem(tmp_path / "in.oem", n=200)
    first = _read(src, True, monkeypatch)
    write_oem(tmp_path / "out.oem", first)
    again = _read(tmp_path / "out.oem", True, monkeypatch)
    _assert_same(first, again)


def _corrupt(tmp_path, line_offset: int, edit):
    src = _mars_oem(tmp_path / "in.oem", n=40, segments=1)
    lines = src.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("2024-04-01T00:00"))
    k = first + line_offset
    lines[k] = edit(lines[k])
    src.write_text("\n".join(lines) + "\n")
    return src


EDITS = {
    "letter in a number": lambda s: s.replace(".", "x", 2),
    "nan": lambda s: " ".join(s.split()[:3] + ["nan"] + s.split()[4:]),
    "overflow": lambda s: " ".join(s.split()[:3] + ["1e999"] + s.split()[4:]),
    "hex": lambda s: " ".join(s.split()[:3] + ["0x1p3"] + s.split()[4:]),
    "underscore": lambda s: " ".join(s.split()[:3] + ["1_000.0"] + s.split()[4:]),
    "missing field": lambda s: " ".join(s.split()[:-1]),
    "extra field": lambda s: s + " 1.0",
    "bad month": lambda s: s.replace("2024-04-01", "2024-13-01", 1),
    "bad day": lambda s: s.replace("2024-04-01", "2024-04-31", 1),
    "bad second": lambda s: s.replace(":00.000", ":61.000", 1),
    "garbage epoch": lambda s: "2024-04-01X" + s[11:],
    "repeated epoch": lambda s: s,  # replaced below with the previous line's epoch
    "keyword in data": lambda s: "X = 1",
}


@pytest.mark.parametrize("what", sorted(EDITS))
@pytest.mark.parametrize("offset", [0, 17])
def test_errors_are_the_same_with_the_bulk_scan(tmp_path, monkeypatch, what, offset):
    if what == "repeated epoch":
        src = _mars_oem(tmp_path / "in.oem", n=40, segments=1)
        lines = src.read_text().splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith("2024-04-01T00:00"))
        k = first + max(offset, 1)
        lines[k] = lines[k - 1].split()[0] + " " + " ".join(lines[k].split()[1:])
        src.write_text("\n".join(lines) + "\n")
    else:
        src = _corrupt(tmp_path, offset, EDITS[what])
    errors = []
    for bulk in (True, False):
        with pytest.raises(ParseError) as err:
            _read(src, bulk, monkeypatch)
        errors.append(str(err.value))
    assert errors[0] == errors[1]


def _with_repeat(tmp_path, where: str):
    src = _mars_oem(tmp_path / "in.oem", n=30, segments=2)
    lines = src.read_text().splitlines()
    data = [i for i, line in enumerate(lines) if line[:4] == "2024"]
    seg1_last = max(i for i in data if i < next(j for j, x in enumerate(lines) if x == "COVARIANCE_START"))
    target = {"end of segment 1": seg1_last, "end of file": data[-1], "middle": data[5]}[where]
    lines.insert(target + 1, lines[target])
    src.write_text("\n".join(lines) + "\n")
    return src, target + 2  # 1-based line number of the repeat


@pytest.mark.parametrize("bulk", [True, False])
@pytest.mark.parametrize("where", ["end of segment 1", "end of file"])
def test_a_repeated_last_data_line_is_a_warning_and_left_out_of_the_ephemeris(tmp_path, monkeypatch, bulk, where):
    src, line = _with_repeat(tmp_path, where)
    msg = _read(src, bulk, monkeypatch)
    assert len(msg.warnings) == 1 and msg.warnings[0].startswith(f"{src}:{line}: epoch: ")
    seg = msg.segments[0 if where == "end of segment 1" else 1]
    assert len(seg.states) == 31 and np.array_equal(seg.states[-1], seg.states[-2])  # the message is the file
    eph = oem_to_ephemerides(msg)[0]
    tab = eph.segments[0 if where == "end of segment 1" else 1]
    assert len(tab.epochs_tdb_s) == 30 and np.all(np.diff(tab.epochs_tdb_s) > 0)
    # the ephemeris is the one of the file without the repeat
    clean = _mars_oem(tmp_path / "clean.oem", n=30, segments=2)
    ref = oem_to_ephemerides(read_oem(clean))[0]
    for got, want in zip(eph.segments, ref.segments):
        np.testing.assert_array_equal(got.epochs_tdb_s, want.epochs_tdb_s)
        np.testing.assert_array_equal(got.states, want.states)
        t = np.linspace(want.useable_start_tdb_s, want.useable_stop_tdb_s, 25)
        np.testing.assert_array_equal(got.state(t), want.state(t))


def test_a_repeated_last_line_beside_a_local_frame_covariance_loads(tmp_path):
    """A segment with the repeat and an RTN covariance (as Orekit's OEMExample1 / OEM-Issue839 of MGS): the
    covariance is rotated with the states the ephemeris keeps, not with the file's one line longer list."""
    from marsview.model.loading import load_scenario

    src, _line = _with_repeat(tmp_path, "end of segment 1")
    src.write_text(src.read_text().replace("COV_REF_FRAME = EME2000", "COV_REF_FRAME = RTN", 1))
    clean = _mars_oem(tmp_path / "clean.oem", n=30, segments=2)
    clean.write_text(clean.read_text().replace("COV_REF_FRAME = EME2000", "COV_REF_FRAME = RTN", 1))
    got = oem_to_ephemerides(read_oem(src))[0].segments[0].covariances
    want = oem_to_ephemerides(read_oem(clean))[0].segments[0].covariances
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert load_scenario([str(src)]).objects  # the GUI's and the CLI's load path


@pytest.mark.parametrize("bulk", [True, False])
def test_a_repeated_line_before_more_data_is_still_an_error(tmp_path, monkeypatch, bulk):
    src, line = _with_repeat(tmp_path, "middle")
    with pytest.raises(ParseError) as err:
        _read(src, bulk, monkeypatch)
    assert err.value.line == line and err.value.keyword == "epoch"


def test_the_scan_hands_back_what_it_does_not_read_exactly():
    """Status IRREGULAR (the line reader then decides) for anything outside the forms the scan converts."""
    def status(text):
        return oem_scan.scan_data_lines(np.frombuffer(text.encode(), np.uint8), 0, True)[0]

    assert status("2024-04-01T00:00:00.5 1 2 3 4 5 6\n") == oem_scan.OK
    assert status("2024-092T00:00:00.5Z 1 2 3 4 5 6\n") == oem_scan.OK
    for bad in ("2024-04-01 00:00:00 1 2 3 4 5 6", "2024-04-01T00:00:00 1 2 3 4 5", "2024-04-01T00:00:00 1 2 3 4 5 6 7",
                "2024-04-01T00:00:00.1234567890123456 1 2 3 4 5 6", "2024-04-01T00:00:00 1 2 3 4 5 6d0",
                "2024-04-01T00:00:00 1 2 3 4 5 1e", "2024-04-01T24:00:00 1 2 3 4 5 6",
                "2024-04-01T00:00:00 1 2 3 4 5 6\n2024-04-01T00:00:00 1 2 3 4 5 6"):
        assert status(bad + "\n") == oem_scan.IRREGULAR, bad


def test_columns_are_sized_once_from_the_file(tmp_path, monkeypatch):
    """Rows go into one allocation per file; segments are views that the reader trims when mostly empty."""
    src = _mars_oem(tmp_path / "in.oem", n=300, segments=2)
    msg = _read(src, True, monkeypatch)
    a, b = msg.segments
    assert a.states.base is not None and a.states.base is b.states.base
    assert oem.CHUNK_LINES > 0  # the line reader's chunking is untouched


def _near_halfway_texts(rng, n):
    """Decimals within a unit of the 16th-18th digit of the midpoint between two adjacent float64 (where a
    conversion that is not correctly rounded goes wrong), over the whole exponent range, and the midpoints
    themselves written out in full (more digits than the fast paths take)."""
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    out = []
    for y in np.abs(rng.normal(size=n)) * 10.0 ** rng.integers(-300, 300, n):
        y = float(y)
        if not np.isfinite(y) or y == 0.0:
            continue
        mid = (Decimal(y) + Decimal(float(np.nextafter(y, np.inf)))) / 2
        for digits in (16, 17, 18):
            d = Decimal(f"{mid:.{digits - 1}e}")
            unit = Decimal(1).scaleb(d.adjusted() - digits + 1)
            out += [f"{t:.{digits - 1}e}" for t in (d - unit, d, d + unit)]
        out.append(f"{mid:.40e}")
    return out


def test_numbers_near_rounding_boundaries_read_to_the_same_float_as_python():
    """The Eisel-Lemire path, its fallbacks and Python's float for the rest: bit-identical to float(text)."""
    rng = np.random.default_rng(5)
    numbers = _near_halfway_texts(rng, 1500) + _number_texts(rng, 3000)
    numbers += [f"{int(rng.integers(10**16, 10**18))}e{int(rng.integers(-330, 300))}" for _ in range(3000)]
    numbers += [f"-0.{int(rng.integers(10**16, 10**17)):017d}" for _ in range(1000)]
    while len(numbers) % 6:
        numbers.append("1.5")
    rows = np.array(numbers, dtype=object).reshape(-1, 6)
    text = "".join(f"2024-04-01T00:00:00.{k:06d} " + " ".join(r) + "\n" for k, r in enumerate(rows))
    buf = np.frombuffer(text.encode(), np.uint8)
    status, n, _, _, _, _, _, _, values, hard = oem_scan.scan_data_lines(buf, 0, True)
    assert status == oem_scan.OK and n == len(rows)
    for r, c, a, b in hard.tolist():
        values[r, c] = float(text[a:b])
    expected = np.array([[float(t) for t in r] for r in rows])
    assert np.array_equal(values.view(np.uint64), expected.view(np.uint64))
    assert len(hard) < 0.2 * values.size  # most numbers never reach Python's float


@pytest.mark.parametrize("edit", ["none", "blank lines", "keyword in first half", "disorder at the cut",
                                  "bad number in second half"])
def test_a_long_run_scanned_in_two_halves_reads_as_in_one(tmp_path, monkeypatch, edit):
    """Runs longer than 2 x SPLIT_BYTES are scanned as two halves at once (with a second core): the same
    message (or the same error) as the line reader gives."""
    src = _mars_oem(tmp_path / "in.oem", n=400, segments=1)
    lines = src.read_text().splitlines()
    data = [i for i, line in enumerate(lines) if line.startswith("2024-04-01T")]
    if edit == "blank lines":
        for k in (data[3], data[10], data[100]):
            lines[k] += "\n\n  "
    elif edit == "keyword in first half":
        lines[data[50]] += "\nCOMMENT in the data\n"
    elif edit == "disorder at the cut":
        middle = data[len(data) // 2]
        lines[middle - 1], lines[middle] = lines[middle], lines[middle - 1]
        lines[middle + 1], lines[middle + 2] = lines[middle + 2], lines[middle + 1]
    elif edit == "bad number in second half":
        lines[data[300]] = lines[data[300]].replace(".", "x", 2)
    src.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(oem_scan, "SPLIT_BYTES", 2048)
    monkeypatch.setattr(oem_scan, "_second_core", lambda: True)  # even on one core
    split = []
    real_split = oem_scan._split_point
    monkeypatch.setattr(oem_scan, "_split_point", lambda buf, pos: split.append(real_split(buf, pos)) or split[-1])
    results = []
    for bulk in (True, False):
        try:
            results.append(_read(src, bulk, monkeypatch))
        except ParseError as exc:
            results.append(str(exc))
    assert any(s > 0 for s in split)
    if isinstance(results[1], str):
        assert results[0] == results[1]
    else:
        _assert_same(*results)
        np.testing.assert_array_equal(results[0].segments[0].data_lines, results[1].segments[0].data_lines)


def test_read_in_order_reads_ahead_and_gives_each_file_as_read_oem(tmp_path, monkeypatch):
    """io.formats.read_in_order: the OEMs read ahead in the background threads (one core each), each message
    equal to read_oem's, in the order given, other formats read at their turn."""
    import threading

    from marsview.io import formats

    monkeypatch.setattr(oem_scan, "MIN_LINES", 0)
    monkeypatch.setattr(formats, "_usable_cores", lambda: 2)
    paths = [_mars_oem(tmp_path / f"f{k}.oem", n=40 + k, doy=k % 2 == 1) for k in range(4)]
    opm = tmp_path / "x.opm"
    opm.write_text("CCSDS_OPM_VERS = 2.0\nCREATION_DATE = 2024-04-01T00:00:00\nORIGINATOR = T\nOBJECT_NAME = X\n"
                   "OBJECT_ID = 1\nCENTER_NAME = MARS\nREF_FRAME = EME2000\nTIME_SYSTEM = UTC\n"
                   "EPOCH = 2024-04-01T00:00:00\nX = 3800\nY = 0\nZ = 0\nX_DOT = 0\nY_DOT = 3.357\nZ_DOT = 0\n")
    threads, one_core = {}, {}
    real_read = oem.read_oem

    def spy(path):
        threads[str(path)] = threading.current_thread().name
        one_core[str(path)] = getattr(oem_scan._thread_state, "one_core", False)
        return real_read(path)

    monkeypatch.setattr(oem, "read_oem", spy)
    got = list(formats.read_in_order(paths[:2] + [opm] + paths[2:]))
    assert type(got[2]).__name__ == "OpmMessage"
    for message, path in zip(got[:2] + got[3:], paths):
        _assert_same(message, real_read(path))
    assert all(threads[str(p)].startswith("read-ahead") and one_core[str(p)] for p in paths)


def test_read_in_order_raises_a_bad_file_at_its_turn(tmp_path, monkeypatch):
    """The files before a bad one come out; the bad one raises its own file:line: keyword error when its turn
    comes, as reading one after the other would."""
    from marsview.io import formats

    monkeypatch.setattr(oem_scan, "MIN_LINES", 0)
    monkeypatch.setattr(formats, "_usable_cores", lambda: 2)
    paths = [_mars_oem(tmp_path / f"f{k}.oem", n=30) for k in range(4)]
    text = paths[2].read_text().splitlines(keepends=True)
    bad = next(k for k, line in enumerate(text) if line[:4].isdigit() and k > 25)
    text[bad] = text[bad].replace(" ", " 1.5e ", 1)
    paths[2].write_text("".join(text))
    want = None
    try:
        read_oem(paths[2])
    except ParseError as exc:
        want = str(exc)
    assert want is not None and f":{bad + 1}:" in want
    messages = formats.read_in_order(paths)
    assert next(messages).segments and next(messages).segments
    with pytest.raises(ParseError) as err:
        next(messages)
    assert str(err.value) == want
