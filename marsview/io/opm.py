"""CCSDS Orbit Parameter Message (502.0-B-2/-B-3), KVN: reader and exact writer.

The message keeps its lines (``items``: keyword, value text, unit, line) so that writing it back
reproduces every value and comment; the parsed view (state, Keplerian elements, spacecraft parameters,
covariance, maneuvers) is checked on reading and exposed as numbers with units in their names.
Maneuvers stay plain data (``OpmManeuver``): the consumer turns them into core.maneuvers objects.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import ccsds_xml
from .atomic import atomic_write_bytes, atomic_write_text
from .errors import ParseError
from .frames_io import check_time_system, normalize
from .kvn import KvnLine, format_float, items_to_kvn, parse_epoch, parse_float, read_kvn_lines

VERSIONS = ("1.0", "2.0", "3.0")
HEADER = ("CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
META = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "REF_FRAME_EPOCH", "TIME_SYSTEM")
STATE = ("EPOCH", "X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
KEPLER = ("SEMI_MAJOR_AXIS", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE", "ARG_OF_PERICENTER",
          "TRUE_ANOMALY", "MEAN_ANOMALY", "GM")
SPACECRAFT = ("MASS", "SOLAR_RAD_AREA", "SOLAR_RAD_COEFF", "DRAG_AREA", "DRAG_COEFF")
_AXES = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
_COV_INDEX = {f"C{_AXES[i]}_{_AXES[j]}": (i, j) for i in range(6) for j in range(i + 1)}
COVARIANCE = tuple(_COV_INDEX)
MANEUVER = ("MAN_EPOCH_IGNITION", "MAN_DURATION", "MAN_DELTA_MASS", "MAN_REF_FRAME", "MAN_DV_1", "MAN_DV_2",
            "MAN_DV_3")
MANDATORY = ("CREATION_DATE", "ORIGINATOR") + ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME",
                                               "TIME_SYSTEM") + STATE
UNITS = {"X": "km", "Y": "km", "Z": "km", "X_DOT": "km/s", "Y_DOT": "km/s", "Z_DOT": "km/s",
         "SEMI_MAJOR_AXIS": "km", "INCLINATION": "deg", "RA_OF_ASC_NODE": "deg", "ARG_OF_PERICENTER": "deg",
         "TRUE_ANOMALY": "deg", "MEAN_ANOMALY": "deg", "GM": "km**3/s**2", "MASS": "kg", "SOLAR_RAD_AREA": "m**2",
         "DRAG_AREA": "m**2", "MAN_DURATION": "s", "MAN_DELTA_MASS": "kg", "MAN_DV_1": "km/s", "MAN_DV_2": "km/s",
         "MAN_DV_3": "km/s"}
for _k in COVARIANCE:
    _n = _k.count("_DOT")
    UNITS[_k] = ("km**2", "km**2/s", "km**2/s**2")[_n]


@dataclass(frozen=True)
class OpmKeplerian:
    a_km: float
    e: float
    inc_deg: float
    raan_deg: float
    argp_deg: float
    true_anomaly_deg: float | None
    mean_anomaly_deg: float | None
    gm_km3s2: float


@dataclass(frozen=True)
class OpmManeuver:
    """One MAN_* block. dv in the MAN_REF_FRAME axes (RTN/RSW, TNW, VNB, or an inertial frame)."""

    epoch_text: str
    epoch_tdb_s: float
    duration_s: float
    delta_mass_kg: float
    ref_frame: str
    dv_kms: tuple[float, float, float]
    line: int = 0

    @property
    def dv_mps(self) -> np.ndarray:
        return np.asarray(self.dv_kms) * 1000.0

    def local_dv_mps(self) -> tuple[str, np.ndarray]:
        """(frame, dv [m/s]) in one of core.maneuvers' frames where possible: RSW/RIC -> RTN (same axes),
        TNW (T along v, W orbit normal, N = W x T) -> VNB (V = T, N = W, B = V x N = -N_tnw); inertial
        frames are returned unchanged for the caller to rotate."""
        frame = normalize(self.ref_frame)
        dv = self.dv_mps
        if frame in ("RTN", "RSW", "RIC"):
            return "RTN", dv
        if frame == "TNW":
            return "VNB", np.array([dv[0], dv[2], -dv[1]])
        return frame, dv


@dataclass
class OpmMessage:
    items: list[KvnLine]
    path: str = ""
    header: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    epoch_tdb_s: float = 0.0
    state: np.ndarray = field(default_factory=lambda: np.zeros(6))  # km, km/s in ref_frame about center
    keplerian: OpmKeplerian | None = None
    spacecraft: dict[str, float] = field(default_factory=dict)  # MASS, SOLAR_RAD_AREA, ... (kg, m**2)
    covariance: np.ndarray | None = None  # (6,6) km**2, km**2/s, km**2/s**2
    covariance_frame: str | None = None
    maneuvers: list[OpmManeuver] = field(default_factory=list)
    user_defined: dict[str, str] = field(default_factory=dict)

    object_name = property(lambda self: self.metadata["OBJECT_NAME"])
    center_name = property(lambda self: self.metadata["CENTER_NAME"])
    ref_frame = property(lambda self: self.metadata["REF_FRAME"])
    time_system = property(lambda self: self.metadata["TIME_SYSTEM"].upper())
    mass_kg = property(lambda self: self.spacecraft.get("MASS"))
    drag_area_m2 = property(lambda self: self.spacecraft.get("DRAG_AREA"))
    drag_coeff = property(lambda self: self.spacecraft.get("DRAG_COEFF"))

    @property
    def version(self) -> str:
        return self.header.get("CCSDS_OPM_VERS", "2.0")

    def comments(self) -> list[str]:
        return [it.value for it in self.items if it.keyword == "COMMENT"]


def read_opm(path) -> OpmMessage:
    path = Path(path)
    if _is_xml(path):
        return read_opm_xml(path)
    return parse_opm_items(read_kvn_lines(path), path)


def _is_xml(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(512).lstrip().startswith(b"<")
    except OSError as exc:
        raise ParseError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from None


def parse_opm_items(items: list[KvnLine], path) -> OpmMessage:
    """Validate OPM items (from KVN or XML) and build the parsed view."""
    allowed = set(HEADER + META + STATE + KEPLER + SPACECRAFT + COVARIANCE + ("COV_REF_FRAME",))
    seen: dict[str, int] = {}
    msg = OpmMessage(items=list(items), path=str(path))
    values: dict[str, KvnLine] = {}
    man: dict[str, KvnLine] | None = None
    mans: list[dict[str, KvnLine]] = []
    first = next((it for it in items if it.keyword != "COMMENT"), None)
    if first is None or first.keyword != "CCSDS_OPM_VERS":
        line = first.line if first else (items[0].line if items else 0)
        raise ParseError(path, line, first.keyword if first and first.keyword else "CCSDS_OPM_VERS",
                         "an OPM must start with CCSDS_OPM_VERS (is this an OPM?)")
    if first.value not in VERSIONS:
        raise ParseError(path, first.line, "CCSDS_OPM_VERS", f"unsupported version {first.value!r}")
    msg.header["CCSDS_OPM_VERS"] = first.value
    for it in items:
        if it.keyword == "COMMENT" or it is first:
            continue
        key = it.keyword
        if key == "":
            raise ParseError(path, it.line, "(no keyword)", f"expected KEYWORD = value: {it.value[:40]!r}")
        if it.value == "":
            raise ParseError(path, it.line, key, "empty value")
        _check_unit(it, path)
        if key.startswith("MAN_"):
            if key not in MANEUVER:
                raise ParseError(path, it.line, key, "unknown maneuver keyword")
            if key == "MAN_EPOCH_IGNITION":
                man = {}
                mans.append(man)
            elif man is None:
                raise ParseError(path, it.line, key, "maneuver keyword before MAN_EPOCH_IGNITION")
            if key in man:
                raise ParseError(path, it.line, key, f"repeated in the maneuver at line {man['MAN_EPOCH_IGNITION'].line}")
            man[key] = it
            continue
        if key.startswith("USER_DEFINED_"):
            msg.user_defined[key[len("USER_DEFINED_"):]] = it.value
            continue
        if key not in allowed:
            raise ParseError(path, it.line, key, "unknown OPM keyword")
        if key in seen:
            raise ParseError(path, it.line, key, f"repeated (first at line {seen[key]})")
        seen[key] = it.line
        values[key] = it
    last = items[-1].line
    for key in MANDATORY:
        if key not in values:
            raise ParseError(path, last, key, "mandatory keyword missing (truncated file?)")
    for key in HEADER:
        if key in values:
            msg.header[key] = values[key].value
    for key in META:
        if key in values:
            msg.metadata[key] = values[key].value
    parse_epoch(values["CREATION_DATE"].value, "UTC", path, values["CREATION_DATE"].line, "CREATION_DATE")
    ts = check_time_system(values["TIME_SYSTEM"].value, path, values["TIME_SYSTEM"].line)
    if "REF_FRAME_EPOCH" in values:
        v = values["REF_FRAME_EPOCH"]
        parse_epoch(v.value, ts, path, v.line, "REF_FRAME_EPOCH")
    num = {k: parse_float(v.value, path, v.line, k) for k, v in values.items()
           if k in STATE[1:] + KEPLER + SPACECRAFT + COVARIANCE}
    msg.epoch_tdb_s = parse_epoch(values["EPOCH"].value, ts, path, values["EPOCH"].line, "EPOCH")
    msg.state = np.array([num[k] for k in STATE[1:]])
    kep = [k for k in KEPLER if k in values]
    if kep:
        anomaly = [k for k in ("TRUE_ANOMALY", "MEAN_ANOMALY") if k in values]
        for key in ("SEMI_MAJOR_AXIS", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "GM"):
            if key not in values:
                raise ParseError(path, values[kep[0]].line, key, "Keplerian elements must be given all or none")
        if len(anomaly) != 1:
            raise ParseError(path, values[kep[0]].line, "TRUE_ANOMALY",
                             "Keplerian elements need exactly one of TRUE_ANOMALY or MEAN_ANOMALY")
        if num["ECCENTRICITY"] < 0 or num["GM"] <= 0:
            bad = "ECCENTRICITY" if num["ECCENTRICITY"] < 0 else "GM"
            raise ParseError(path, values[bad].line, bad, "must be positive")
        msg.keplerian = OpmKeplerian(num["SEMI_MAJOR_AXIS"], num["ECCENTRICITY"], num["INCLINATION"],
                                     num["RA_OF_ASC_NODE"], num["ARG_OF_PERICENTER"], num.get("TRUE_ANOMALY"),
                                     num.get("MEAN_ANOMALY"), num["GM"])
    msg.spacecraft = {k: num[k] for k in SPACECRAFT if k in num}
    for key in ("MASS", "SOLAR_RAD_AREA", "DRAG_AREA"):
        if key in num and num[key] < 0:
            raise ParseError(path, values[key].line, key, "must not be negative")
    cov = [k for k in COVARIANCE if k in values]
    if cov or "COV_REF_FRAME" in values:
        missing = [k for k in COVARIANCE if k not in values]
        if missing:
            anchor = values.get("COV_REF_FRAME") or values[cov[0]]
            raise ParseError(path, anchor.line, missing[0], "covariance terms must be given all 21 or none")
        m = np.zeros((6, 6))
        for k in COVARIANCE:
            i, j = _COV_INDEX[k]
            m[i, j] = m[j, i] = num[k]
        msg.covariance = m
        msg.covariance_frame = values["COV_REF_FRAME"].value if "COV_REF_FRAME" in values else None
    for block in mans:
        msg.maneuvers.append(_maneuver(block, ts, path))
    if mans and "MASS" not in values:
        raise ParseError(path, mans[0]["MAN_EPOCH_IGNITION"].line, "MASS", "MASS is required when maneuvers are given")
    return msg


def _check_unit(it: KvnLine, path) -> None:
    if it.unit is None:
        return
    want = UNITS.get(it.keyword)
    if want is not None and it.unit.replace(" ", "").lower() != want.lower():
        raise ParseError(path, it.line, it.keyword, f"unit [{it.unit}] where [{want}] is required")


def _maneuver(block: dict[str, KvnLine], ts: str, path) -> OpmManeuver:
    start = block["MAN_EPOCH_IGNITION"]
    for key in MANEUVER:
        if key not in block:
            raise ParseError(path, start.line, key, "maneuver block incomplete (all 7 MAN_* keywords are required)")
    f = {k: parse_float(block[k].value, path, block[k].line, k) for k in MANEUVER[1:] if k != "MAN_REF_FRAME"}
    if f["MAN_DURATION"] < 0:
        raise ParseError(path, block["MAN_DURATION"].line, "MAN_DURATION", "must not be negative")
    return OpmManeuver(start.value, parse_epoch(start.value, ts, path, start.line, "MAN_EPOCH_IGNITION"),
                       f["MAN_DURATION"], f["MAN_DELTA_MASS"], block["MAN_REF_FRAME"].value,
                       (f["MAN_DV_1"], f["MAN_DV_2"], f["MAN_DV_3"]), start.line)


# --- writing ---------------------------------------------------------------------------------------

def write_opm(path, message: OpmMessage) -> None:
    atomic_write_text(path, items_to_kvn(message.items))


def build_opm(object_name: str, object_id: str, epoch_text: str, state, *, time_system: str = "UTC",
              center_name: str = "MARS", ref_frame: str = "EME2000", originator: str = "MARSVIEW",
              creation_date: str | None = None, comments=(), keplerian: OpmKeplerian | None = None,
              spacecraft: dict | None = None, covariance=None, covariance_frame: str | None = None,
              maneuvers=(), version: str = "2.0") -> OpmMessage:
    """A new OPM from numbers (validated by the same parser as a file). Maneuvers: OpmManeuver objects."""
    created = creation_date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    it: list[KvnLine] = [KvnLine(0, "CCSDS_OPM_VERS", version)]
    it += [KvnLine(0, "COMMENT", c) for c in comments]
    it += [KvnLine(0, "CREATION_DATE", created), KvnLine(0, "ORIGINATOR", originator),
           KvnLine(0, "OBJECT_NAME", object_name), KvnLine(0, "OBJECT_ID", object_id),
           KvnLine(0, "CENTER_NAME", center_name), KvnLine(0, "REF_FRAME", ref_frame),
           KvnLine(0, "TIME_SYSTEM", time_system), KvnLine(0, "EPOCH", epoch_text)]
    it += [KvnLine(0, k, format_float(v), UNITS[k]) for k, v in zip(STATE[1:], np.asarray(state, float))]
    if keplerian is not None:
        k = keplerian
        pairs = [("SEMI_MAJOR_AXIS", k.a_km), ("ECCENTRICITY", k.e), ("INCLINATION", k.inc_deg),
                 ("RA_OF_ASC_NODE", k.raan_deg), ("ARG_OF_PERICENTER", k.argp_deg)]
        pairs.append(("TRUE_ANOMALY", k.true_anomaly_deg) if k.true_anomaly_deg is not None
                     else ("MEAN_ANOMALY", k.mean_anomaly_deg))
        pairs.append(("GM", k.gm_km3s2))
        it += [KvnLine(0, name, format_float(v), UNITS.get(name)) for name, v in pairs]
    for name in SPACECRAFT:
        if spacecraft and name in spacecraft:
            it.append(KvnLine(0, name, format_float(spacecraft[name]), UNITS.get(name)))
    if covariance is not None:
        c = np.asarray(covariance, float)
        if covariance_frame:
            it.append(KvnLine(0, "COV_REF_FRAME", covariance_frame))
        for i in range(6):
            for j in range(i + 1):
                name = f"C{_AXES[i]}_{_AXES[j]}"
                it.append(KvnLine(0, name, format_float(c[i, j]), UNITS[name]))
    for m in maneuvers:
        it += [KvnLine(0, "MAN_EPOCH_IGNITION", m.epoch_text),
               KvnLine(0, "MAN_DURATION", format_float(m.duration_s), "s"),
               KvnLine(0, "MAN_DELTA_MASS", format_float(m.delta_mass_kg), "kg"),
               KvnLine(0, "MAN_REF_FRAME", m.ref_frame)]
        it += [KvnLine(0, f"MAN_DV_{i + 1}", format_float(m.dv_kms[i]), "km/s") for i in range(3)]
    numbered = [KvnLine(i + 1, x.keyword, x.value, x.unit) for i, x in enumerate(it)]
    return parse_opm_items(numbered, "<new OPM>")


# --- NDM/XML ---------------------------------------------------------------------------------------

_XML_STATE = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
XML_STRUCTURE = {  # container -> allowed children (leaves are everything else)
    "opm": ("header", "body"), "header": ccsds_xml.HEADER_ELEMENTS, "body": ("segment",),
    "segment": ("metadata", "data"),
    "metadata": ("COMMENT", "OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "REF_FRAME_EPOCH",
                 "TIME_SYSTEM"),
    "data": ("COMMENT", "stateVector", "keplerianElements", "spacecraftParameters", "covarianceMatrix",
             "maneuverParameters", "userDefinedParameters"),
    "stateVector": ("COMMENT", "EPOCH") + _XML_STATE,
    "keplerianElements": ("COMMENT", "SEMI_MAJOR_AXIS", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
                          "ARG_OF_PERICENTER", "TRUE_ANOMALY", "MEAN_ANOMALY", "GM"),
    "spacecraftParameters": ("COMMENT", "MASS", "SOLAR_RAD_AREA", "SOLAR_RAD_COEFF", "DRAG_AREA", "DRAG_COEFF"),
    "covarianceMatrix": ("COMMENT", "COV_REF_FRAME")
    + tuple(f"C{a}_{b}" for i, a in enumerate(_XML_STATE) for b in _XML_STATE[: i + 1]),
    "maneuverParameters": ("COMMENT", "MAN_EPOCH_IGNITION", "MAN_DURATION", "MAN_DELTA_MASS", "MAN_REF_FRAME",
                           "MAN_DV_1", "MAN_DV_2", "MAN_DV_3"),
    "userDefinedParameters": ("COMMENT", "USER_DEFINED"),
}


def read_opm_xml(path) -> OpmMessage:
    """An OPM in NDM/XML, checked with the KVN rules (file:line: element: why)."""
    return parse_opm_items(ccsds_xml.read_ndm_items(path, "opm", XML_STRUCTURE), Path(path))


def opm_to_xml_bytes(message) -> bytes:
    container = ccsds_xml.container
    blocks = [("stateVector", STATE), ("keplerianElements", KEPLER), ("spacecraftParameters", SPACECRAFT),
              ("covarianceMatrix", ("COV_REF_FRAME",) + COVARIANCE)]

    def place(it, state, header, body):
        key = it.keyword
        if key in HEADER:
            return header
        seg = container(state, "segment", body, "segment")
        if key in META:
            return container(state, "metadata", seg, "metadata")
        data = container(state, "data", seg, "data")
        if key.startswith("USER_DEFINED_"):
            return container(state, "user", data, "userDefinedParameters")
        if key.startswith("MAN_"):
            if key == "MAN_EPOCH_IGNITION":
                state["containers"]["man"] = ET.SubElement(data, "maneuverParameters")
            return container(state, "man", data, "maneuverParameters")
        for tag, keys in blocks:
            if key in keys:
                return container(state, tag, data, tag)
        return data

    return ccsds_xml.items_to_xml_bytes("opm", message.items, place)


def write_opm_xml(path, message) -> None:
    atomic_write_bytes(path, opm_to_xml_bytes(message))
