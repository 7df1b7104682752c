"""STK ephemeris files (``.e``, Ansys/AGI's ASCII ephemeris format), read into an ``OemMessage`` so that the rest
of marsview (loader, ``info``, ``convert``, screening) treats a partner's STK table exactly as an OEM.

What is read (keywords case-insensitive, ``#`` starts a comment):
- ``stk.v.N.M`` first, then ``BEGIN Ephemeris`` ... ``END Ephemeris``;
- ``ScenarioEpoch`` (``d Mon yyyy hh:mm:ss.sss``, UTC): the data's times are elapsed SI seconds from it, so
  the epochs are kept in TAI (``TIME_SYSTEM = TAI``: epoch + offset is exact there, across leap seconds);
- ``CentralBody`` (Mars only), ``CoordinateSystem`` ``ICRF`` | ``J2000`` (EME2000) | ``Fixed`` (Mars
  body-fixed, read as IAU_MARS); ``CoordinateSystemEpoch`` is irrelevant to these three and ignored;
- ``DistanceUnit`` ``Meters`` (STK's default) or ``Kilometers``; states are returned in km and km/s;
- ``InterpolationMethod`` ``Lagrange`` | ``Hermite`` and ``InterpolationSamplesM1`` (or the older
  ``InterpolationOrder``): N = samples points, i.e. Lagrange degree N - 1, Hermite degree 2N - 1;
- ``NumberOfEphemerisPoints`` (checked against the data), ``BEGIN/END SegmentBoundaryTimes`` (an epoch
  written twice at a boundary splits the table into OEM segments);
- data ``EphemerisTimePosVel`` or ``EphemerisTimePosVelAcc``. ``EphemerisTimePos`` (no velocities), the
  LLA/geodetic forms and covariance blocks are refused or skipped with a message.

The object's name is the file's stem (STK names a vehicle after its ephemeris file).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from marsview.core import time as mtime

from .errors import ParseError
from .frames_io import check_mars_centre
from .kvn import EpochArray
from .oem import OemMessage, OemSegment

_MONTHS = {m: i + 1 for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP",
                                           "OCT", "NOV", "DEC"))}
_EPOCH = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2}(?:\.\d*)?)$")
_FRAMES = {"ICRF": "ICRF", "J2000": "EME2000", "FIXED": "IAU_MARS"}
_DATA_KEYWORDS = {"EPHEMERISTIMEPOSVEL": 6, "EPHEMERISTIMEPOSVELACC": 9}
_UNITS_KM = {"METERS": 1e-3, "KILOMETERS": 1.0}


def _scenario_epoch_tai_s(text: str, path, line: int) -> float:
    m = _EPOCH.match(text.strip())
    month = _MONTHS.get(m.group(2).upper()) if m else None
    if m is None or month is None:
        raise ParseError(path, line, "ScenarioEpoch",
                         "expected a UTC epoch written 'd Mon yyyy hh:mm:ss.sss' (e.g. 1 Jun 2024 12:00:00.000)")
    day, year, hour, minute, second = int(m.group(1)), int(m.group(3)), int(m.group(4)), int(m.group(5)), \
        float(m.group(6))
    try:
        tdb = mtime.calendar_to_tdb_s(year, month, day, hour, minute, second, "UTC")
    except ValueError as exc:
        raise ParseError(path, line, "ScenarioEpoch", str(exc)) from None
    return float(mtime.tdb_s_to_tai_s(np.array([tdb]))[0])


def read_stk_ephemeris(path) -> OemMessage:
    """An STK ``.e`` ephemeris file -> an OemMessage (one segment per SegmentBoundaryTimes span), Mars-centred,
    km and km/s, epochs in TAI. ParseError (file:line: keyword) for anything marsview cannot use."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")
    except UnicodeDecodeError as exc:
        raise ParseError(path, 1, "file", f"not UTF-8 text (byte {exc.start})") from None
    lines = text.splitlines()
    keys: dict[str, tuple[str, int]] = {}
    boundaries: list[float] = []
    version = None
    data_kind, data_kind_name, data_line, rows, row_lines = None, "", 0, [], []
    in_ephemeris = in_boundaries = ended = False
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if version is None:
            if not re.fullmatch(r"stk\.v\.\d+\.\d+", line):
                raise ParseError(path, number, "stk.v", "an STK ephemeris file starts with its version (stk.v.N.M)")
            version = line
            continue
        word, _, rest = line.partition(" ")
        upper = word.upper()
        if not in_ephemeris:
            if upper == "BEGIN" and rest.strip().upper() == "EPHEMERIS" and not ended:
                in_ephemeris = True
                continue
            raise ParseError(path, number, word[:40] if re.fullmatch(r"[A-Za-z_]\w*", word) else "file",
                             "expected BEGIN Ephemeris" if not ended else "text after END Ephemeris")
        if in_boundaries:
            if upper == "END":
                in_boundaries = False
                continue
            try:
                boundaries.append(float(line))
            except ValueError:
                raise ParseError(path, number, "SegmentBoundaryTimes", "expected a time in seconds") from None
            continue
        if upper == "END":
            if rest.strip().upper() != "EPHEMERIS":
                raise ParseError(path, number, "END", f"unexpected END {rest.strip()[:40]}")
            in_ephemeris, ended = False, True
            continue
        if upper == "BEGIN":
            block = rest.strip().upper()
            if block == "SEGMENTBOUNDARYTIMES":
                in_boundaries = True
                continue
            raise ParseError(path, number, rest.strip()[:40] or "BEGIN",
                             "this STK block is not supported (marsview reads the ephemeris table)")
        if data_kind is not None and (upper[:1].isdigit() or upper[:1] in "+-."):
            fields = line.split()
            if len(fields) != 1 + _DATA_KEYWORDS[data_kind]:
                raise ParseError(path, number, data_kind_name,
                                 f"expected {1 + _DATA_KEYWORDS[data_kind]} numbers, found {len(fields)}")
            try:
                rows.append([float(f) for f in fields])
            except ValueError:
                raise ParseError(path, number, data_kind_name, "a value is not a number") from None
            row_lines.append(number)
            continue
        if upper in _DATA_KEYWORDS:
            data_kind, data_kind_name, data_line = upper, word, number
            continue
        if upper.startswith("EPHEMERIS") or upper.startswith("COVARIANCE"):
            raise ParseError(path, number, word[:40], "this STK data form is not supported: marsview reads "
                             "EphemerisTimePosVel or EphemerisTimePosVelAcc (Cartesian positions and velocities)")
        keys[upper] = (rest.strip(), number)
    if version is None:
        raise ParseError(path, 1, "stk.v", "empty file")
    if in_ephemeris or not ended:
        raise ParseError(path, len(lines), "END", "the file ends before END Ephemeris (truncated?)")
    if data_kind is None or not rows:
        raise ParseError(path, len(lines), "EphemerisTimePosVel", "no ephemeris data in the file")

    def value(key: str, default=None):
        return keys.get(key.upper(), (default, 0))

    epoch_text, epoch_line = value("ScenarioEpoch")
    if epoch_text is None:
        raise ParseError(path, data_line, "ScenarioEpoch", "missing: the data's times count from it")
    epoch_tai_s = _scenario_epoch_tai_s(epoch_text, path, epoch_line)
    centre, centre_line = value("CentralBody", "Earth")
    check_mars_centre(centre, path, centre_line or data_line, "CentralBody")
    system, system_line = value("CoordinateSystem", "Fixed")
    frame = _FRAMES.get(system.upper())
    if frame is None:
        raise ParseError(path, system_line or data_line, "CoordinateSystem",
                         f"{system[:40]!r} cannot be used (marsview reads ICRF, J2000 or Fixed)")
    unit, unit_line = value("DistanceUnit", "Meters")
    scale = _UNITS_KM.get(unit.upper())
    if scale is None:
        raise ParseError(path, unit_line, "DistanceUnit", f"{unit[:40]!r}: expected Meters or Kilometers")
    method, method_line = value("InterpolationMethod", "Lagrange")
    if method.upper() not in ("LAGRANGE", "HERMITE"):
        raise ParseError(path, method_line, "InterpolationMethod", f"{method[:40]!r}: expected Lagrange or Hermite")
    samples_m1, samples_line = value("InterpolationSamplesM1", None)
    if samples_m1 is None:
        samples_m1, samples_line = value("InterpolationOrder", "5")
    try:
        samples = int(samples_m1) + 1
    except ValueError:
        raise ParseError(path, samples_line, "InterpolationSamplesM1", "expected an integer") from None
    degree = samples - 1 if method.upper() == "LAGRANGE" else 2 * samples - 1
    table = np.asarray(rows, dtype=np.float64)
    declared, declared_line = value("NumberOfEphemerisPoints")
    if declared is not None and declared.isdigit() and int(declared) != len(table):
        raise ParseError(path, declared_line, "NumberOfEphemerisPoints",
                         f"says {declared} points, the table holds {len(table)} (truncated file?)")
    offsets_s = table[:, 0]
    if np.any(np.diff(offsets_s) < 0):
        k = int(np.argmax(np.diff(offsets_s) < 0)) + 1
        raise ParseError(path, row_lines[k], data_kind_name, "times decrease")
    states_km = table[:, 1:7] * scale
    acc = table[:, 7:10] * scale if table.shape[1] == 10 else None

    # segments: a time written twice starts a new segment at its second occurrence; a SegmentBoundaryTime
    # written once ends one segment and starts the next at that point (interpolation never crosses it)
    ranges, start = [], 0
    repeated = set(np.flatnonzero(np.diff(offsets_s) == 0) + 1)
    single = set(np.flatnonzero(np.isin(offsets_s, boundaries))) - repeated - {i - 1 for i in repeated}
    for i in range(1, len(table)):
        if i in repeated:
            ranges.append((start, i))
            start = i
        elif i in single and i < len(table) - 1:
            ranges.append((start, i + 1))
            start = i
    ranges.append((start, len(table)))
    name = path.stem
    segments = []
    for a, b in ranges:
        if b - a < 2:
            raise ParseError(path, row_lines[a], data_kind_name, "a segment needs at least two points")
        tdb = mtime.to_tdb_s(epoch_tai_s + offsets_s[a:b], "TAI")
        epochs = EpochArray.from_tdb_s(tdb, "TAI", 6)
        first, last = epochs.take(np.array([0, b - a - 1])).format()
        metadata = {"OBJECT_NAME": name, "OBJECT_ID": name, "CENTER_NAME": "MARS", "REF_FRAME": frame,
                    "TIME_SYSTEM": "TAI", "START_TIME": first, "STOP_TIME": last,
                    "INTERPOLATION": method.upper(), "INTERPOLATION_DEGREE": str(degree)}
        lines_of = {"CENTER_NAME": centre_line, "REF_FRAME": system_line, "TIME_SYSTEM": epoch_line,
                    "INTERPOLATION": method_line, "INTERPOLATION_DEGREE": samples_line}
        segments.append(OemSegment(metadata, epochs, tdb, states_km[a:b].copy(),
                                   None if acc is None else acc[a:b].copy(),
                                   comments=[f"read from the STK ephemeris file {path.name} ({version})"],
                                   metadata_lines=lines_of, data_lines=np.asarray(row_lines[a:b]),
                                   start_line=data_line))
    header = {"ORIGINATOR": f"STK ephemeris file ({version})"}
    warnings = []
    if frame == "IAU_MARS":
        warnings.append(f"{path}:{system_line}: CoordinateSystem: STK's Mars 'Fixed' frame read as IAU_MARS "
                        "(marsview's IAU rotation model)")
    return OemMessage(header, segments, path=str(path), warnings=warnings)
