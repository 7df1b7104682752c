"""CCSDS Conjunction Data Message 1.0 (508.0-B-1), KVN: reader and exact writer.

Like the OPM, the message keeps its lines (``items``) for an exact write-back, and exposes a checked view:
TCA, miss distance, relative state in RTN, probability, and per object its metadata, state [km, km/s] in
REF_FRAME, the 6x6 RTN covariance [m**2, m**2/s, m**2/s**2] and, when present, the full matrix with the
CDRG/CSRP/CTHR rows. Tolerant where operational CDMs are messy (COMMENT lines anywhere, lower case in
text values, keyword order within a section), strict on numbers, units and mandatory keywords.
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import ccsds_xml
from .atomic import atomic_write_bytes, atomic_write_text
from .errors import ParseError
from .kvn import KvnLine, format_float, items_to_kvn, parse_epoch, parse_float, read_kvn_lines

HEADER = ("CCSDS_CDM_VERS", "CREATION_DATE", "ORIGINATOR", "MESSAGE_FOR", "MESSAGE_ID")
RELATIVE = ("TCA", "MISS_DISTANCE", "RELATIVE_SPEED", "RELATIVE_POSITION_R", "RELATIVE_POSITION_T",
            "RELATIVE_POSITION_N", "RELATIVE_VELOCITY_R", "RELATIVE_VELOCITY_T", "RELATIVE_VELOCITY_N",
            "START_SCREEN_PERIOD", "STOP_SCREEN_PERIOD", "SCREEN_VOLUME_FRAME", "SCREEN_VOLUME_SHAPE",
            "SCREEN_VOLUME_X", "SCREEN_VOLUME_Y", "SCREEN_VOLUME_Z", "SCREEN_ENTRY_TIME", "SCREEN_EXIT_TIME",
            "COLLISION_PROBABILITY", "COLLISION_PROBABILITY_METHOD")
OBJ_META = ("OBJECT", "OBJECT_DESIGNATOR", "CATALOG_NAME", "OBJECT_NAME", "INTERNATIONAL_DESIGNATOR", "OBJECT_TYPE",
            "OPERATOR_CONTACT_POSITION", "OPERATOR_ORGANIZATION", "OPERATOR_PHONE", "OPERATOR_EMAIL",
            "EPHEMERIS_NAME", "COVARIANCE_METHOD", "MANEUVERABLE", "ORBIT_CENTER", "REF_FRAME", "GRAVITY_MODEL",
            "ATMOSPHERIC_MODEL", "N_BODY_PERTURBATIONS", "SOLAR_RAD_PRESSURE", "EARTH_TIDES", "INTRACK_THRUST")
OBJ_OD = ("TIME_LASTOB_START", "TIME_LASTOB_END", "RECOMMENDED_OD_SPAN", "ACTUAL_OD_SPAN", "OBS_AVAILABLE",
          "OBS_USED", "TRACKS_AVAILABLE", "TRACKS_USED", "RESIDUALS_ACCEPTED", "WEIGHTED_RMS")
OBJ_ADD = ("AREA_PC", "AREA_DRG", "AREA_SRP", "MASS", "CD_AREA_OVER_MASS", "CR_AREA_OVER_MASS",
           "THRUST_ACCELERATION", "SEDR")
STATE = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
COV_AXES = ("R", "T", "N", "RDOT", "TDOT", "NDOT", "DRG", "SRP", "THR")
_COV_INDEX = {f"C{COV_AXES[i]}_{COV_AXES[j]}": (i, j) for i in range(9) for j in range(i + 1)}
COV6 = tuple(k for k, (i, j) in _COV_INDEX.items() if i < 6)
COV_EXTRA = tuple(k for k, (i, j) in _COV_INDEX.items() if i >= 6)
OBJ_KEYS = OBJ_META + OBJ_OD + OBJ_ADD + STATE + COV6 + COV_EXTRA
MANDATORY_HEADER = ("CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
MANDATORY_OBJ = ("OBJECT", "OBJECT_DESIGNATOR", "CATALOG_NAME", "OBJECT_NAME", "INTERNATIONAL_DESIGNATOR",
                 "EPHEMERIS_NAME", "COVARIANCE_METHOD", "MANEUVERABLE", "REF_FRAME") + STATE + COV6
_MANDATORY_ANY = frozenset(MANDATORY_HEADER + ("TCA", "MISS_DISTANCE") + MANDATORY_OBJ)
NUMERIC = {"MISS_DISTANCE", "RELATIVE_SPEED", "SCREEN_VOLUME_X", "SCREEN_VOLUME_Y", "SCREEN_VOLUME_Z",
           "COLLISION_PROBABILITY", "RECOMMENDED_OD_SPAN", "ACTUAL_OD_SPAN", "OBS_AVAILABLE", "OBS_USED",
           "TRACKS_AVAILABLE", "TRACKS_USED", "RESIDUALS_ACCEPTED", "WEIGHTED_RMS"} | set(RELATIVE[3:9]) \
    | set(OBJ_ADD) | set(STATE) | set(_COV_INDEX)
EPOCHS = {"TCA", "START_SCREEN_PERIOD", "STOP_SCREEN_PERIOD", "SCREEN_ENTRY_TIME", "SCREEN_EXIT_TIME",
          "TIME_LASTOB_START", "TIME_LASTOB_END", "CREATION_DATE"}
UNITS = {"MISS_DISTANCE": "m", "RELATIVE_SPEED": "m/s", "SCREEN_VOLUME_X": "m", "SCREEN_VOLUME_Y": "m",
         "SCREEN_VOLUME_Z": "m", "RECOMMENDED_OD_SPAN": "d", "ACTUAL_OD_SPAN": "d", "RESIDUALS_ACCEPTED": "%",
         "AREA_PC": "m**2", "AREA_DRG": "m**2", "AREA_SRP": "m**2", "MASS": "kg", "CD_AREA_OVER_MASS": "m**2/kg",
         "CR_AREA_OVER_MASS": "m**2/kg", "THRUST_ACCELERATION": "m/s**2", "SEDR": "W/kg",
         **{k: "m" for k in RELATIVE[3:6]}, **{k: "m/s" for k in RELATIVE[6:9]},
         **{k: "km" for k in STATE[:3]}, **{k: "km/s" for k in STATE[3:]}}
for _k, (_i, _j) in _COV_INDEX.items():
    if _i < 6:
        UNITS[_k] = ("m**2", "m**2/s", "m**2/s**2")[(_i >= 3) + (_j >= 3)]
CHOICES = {"COVARIANCE_METHOD": ("CALCULATED", "DEFAULT"), "MANEUVERABLE": ("YES", "NO", "N/A"),
           "REF_FRAME": ("GCRF", "EME2000", "ITRF", "J2000"), "SCREEN_VOLUME_FRAME": ("RTN", "TVN"),
           "SCREEN_VOLUME_SHAPE": ("ELLIPSOID", "BOX"), "OBJECT": ("OBJECT1", "OBJECT2")}


@dataclass
class CdmObject:
    values: dict[str, str]
    lines: dict[str, int]
    state: np.ndarray  # (6,) km, km/s in ref_frame
    covariance: np.ndarray  # (n,n) n = 6..9, RTN(+DRG, SRP, THR); m**2, m**2/s, m**2/s**2, ...
    comments: list[str] = field(default_factory=list)

    name = property(lambda self: self.values["OBJECT_NAME"])
    designator = property(lambda self: self.values["OBJECT_DESIGNATOR"])
    # J2000 (SPICE's name, common in partner files) is EME2000
    ref_frame = property(lambda self: {"J2000": "EME2000"}.get(self.values["REF_FRAME"].upper(),
                                                               self.values["REF_FRAME"].upper()))

    @property
    def covariance_rtn(self) -> np.ndarray:
        """(6,6) position/velocity covariance in the object's RTN frame [m**2, m**2/s, m**2/s**2]."""
        return self.covariance[:6, :6]

    def number(self, key: str) -> float | None:
        return float(self.values[key]) if key in self.values else None


@dataclass
class CdmMessage:
    items: list[KvnLine]
    path: str = ""
    header: dict[str, str] = field(default_factory=dict)
    relative: dict[str, str] = field(default_factory=dict)
    relative_lines: dict[str, int] = field(default_factory=dict)
    objects: list[CdmObject] = field(default_factory=list)
    tca_tdb_s: float = 0.0

    miss_distance_m = property(lambda self: float(self.relative["MISS_DISTANCE"]))
    message_id = property(lambda self: self.header["MESSAGE_ID"])

    def _num(self, key):
        return float(self.relative[key]) if key in self.relative else None

    relative_speed_mps = property(lambda self: self._num("RELATIVE_SPEED"))
    collision_probability = property(lambda self: self._num("COLLISION_PROBABILITY"))
    collision_probability_method = property(lambda self: self.relative.get("COLLISION_PROBABILITY_METHOD"))

    @property
    def relative_position_rtn_m(self) -> np.ndarray | None:
        keys = RELATIVE[3:6]
        return np.array([float(self.relative[k]) for k in keys]) if all(k in self.relative for k in keys) else None

    @property
    def relative_velocity_rtn_mps(self) -> np.ndarray | None:
        keys = RELATIVE[6:9]
        return np.array([float(self.relative[k]) for k in keys]) if all(k in self.relative for k in keys) else None

    def comments(self) -> list[str]:
        return [it.value for it in self.items if it.keyword == "COMMENT"]


_HBR_RE = re.compile(r"\bHBR\s*[=:]\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?:\[\s*(m|km)\s*\]|(m|km)\b)?",
                     re.IGNORECASE)


def hbr_m_from_comment(source) -> float | None:
    """Hard-body radius [m] from a comment such as "HBR = 15 [m]" (a CdmMessage, or an iterable of comment
    strings); km is converted; None when no comment gives one."""
    texts = source.comments() if hasattr(source, "comments") else [source] if isinstance(source, str) else source
    for text in texts:
        m = _HBR_RE.search(text)
        if m:
            unit = (m.group(2) or m.group(3) or "m").lower()
            return float(m.group(1)) * (1000.0 if unit == "km" else 1.0)
    return None


def read_cdm(path) -> CdmMessage:
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            xml = fh.read(512).lstrip().startswith(b"<")
    except OSError as exc:
        raise ParseError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from None
    if xml:
        return read_cdm_xml(path)
    return parse_cdm_items(read_kvn_lines(path), path)


def parse_cdm_items(items: list[KvnLine], path) -> CdmMessage:
    msg = CdmMessage(items=list(items), path=str(path))
    first = next((it for it in items if it.keyword != "COMMENT"), None)
    if first is None or first.keyword != "CCSDS_CDM_VERS":
        raise ParseError(path, first.line if first else 0, (first.keyword if first else "") or "CCSDS_CDM_VERS",
                         "a CDM must start with CCSDS_CDM_VERS (is this a CDM?)")
    if first.value != "1.0":
        raise ParseError(path, first.line, "CCSDS_CDM_VERS", f"unsupported version {first.value!r} (1.0)")
    section, sec_values, sec_lines = "header", msg.header, {}
    objects: list[tuple[dict, dict, list]] = []
    pending: list[str] = []
    for it in items:
        key = it.keyword
        if key == "COMMENT":
            pending.append(it.value)
            continue
        if key == "":
            raise ParseError(path, it.line, "(no keyword)", f"expected KEYWORD = value: {it.value[:40]!r}")
        if key == "OBJECT":
            if len(objects) == 2:
                raise ParseError(path, it.line, "OBJECT", "a CDM has exactly two objects")
            want = f"OBJECT{len(objects) + 1}"
            if it.value.upper() != want:
                raise ParseError(path, it.line, "OBJECT", f"expected {want}, found {it.value!r}")
            section, sec_values, sec_lines = "object", {}, {}
            objects.append((sec_values, sec_lines, pending))
            pending = []
        elif section == "header" and key in RELATIVE:
            section, sec_values, sec_lines = "relative", msg.relative, msg.relative_lines
        allowed = {"header": HEADER, "relative": RELATIVE, "object": OBJ_KEYS}[section]
        if key not in allowed:
            where = "the header" if section == "header" else (
                "the relative metadata" if section == "relative" else f"OBJECT{len(objects)}")
            raise ParseError(path, it.line, key, f"unknown or misplaced keyword in {where}")
        if key in sec_values:
            raise ParseError(path, it.line, key, f"repeated (first at line {sec_lines[key]})")
        if it.value == "":
            if key in _MANDATORY_ANY or key == "OBJECT":
                raise ParseError(path, it.line, key, "empty value (a mandatory keyword)")
            # an optional keyword written empty (XML <X/> or <X nil="true"/>, as operational CDMs do) is absent
            continue
        _check_value(it, path)
        sec_values[key] = it.value
        sec_lines[key] = it.line
        if section == "object":
            objects[-1][2].extend(pending)
            pending = []
    last = items[-1].line
    for key in MANDATORY_HEADER:
        if key not in msg.header:
            raise ParseError(path, last, key, "mandatory header keyword missing")
    for key in ("TCA", "MISS_DISTANCE"):
        if key not in msg.relative:
            raise ParseError(path, last, key, "mandatory keyword missing (truncated file?)")
    if len(objects) != 2:
        raise ParseError(path, last, "OBJECT", f"a CDM needs OBJECT1 and OBJECT2; found {len(objects)} (truncated?)")
    msg.tca_tdb_s = parse_epoch(msg.relative["TCA"], "UTC", path, msg.relative_lines["TCA"], "TCA")
    for values, lines, comments in objects:
        for key in MANDATORY_OBJ:
            if key not in values:
                raise ParseError(path, last if values is objects[-1][0] else lines["OBJECT"], key,
                                 f"mandatory keyword missing for {values['OBJECT']}")
        msg.objects.append(_object(values, lines, comments, path))
    if msg.objects[0].ref_frame != msg.objects[1].ref_frame:
        raise ParseError(path, msg.objects[1].lines["REF_FRAME"], "REF_FRAME", "both objects must use the same frame")
    return msg


def _check_value(it: KvnLine, path) -> None:
    key = it.keyword
    if it.unit is not None and key in UNITS and it.unit.replace(" ", "").lower() != UNITS[key].lower():
        raise ParseError(path, it.line, key, f"unit [{it.unit}] where [{UNITS[key]}] is required")
    if key in NUMERIC:
        parse_float(it.value, path, it.line, key)
    elif key in EPOCHS:
        parse_epoch(it.value, "UTC", path, it.line, key)
    elif key in CHOICES and it.value.upper() not in CHOICES[key]:
        raise ParseError(path, it.line, key, f"{it.value!r} is not one of {', '.join(CHOICES[key])}")


def _object(values, lines, comments, path) -> CdmObject:
    state = np.array([float(values[k]) for k in STATE])
    n = 6
    for size, axis in ((7, "DRG"), (8, "SRP"), (9, "THR")):
        if any(k.startswith(f"C{axis}_") for k in values):
            n = size
    cov = np.zeros((n, n))
    for key, (i, j) in _COV_INDEX.items():
        if i >= n:
            continue
        if key not in values:
            if i >= 6:
                raise ParseError(path, lines.get(f"C{COV_AXES[i]}_R", lines["OBJECT"]), key,
                                 f"covariance row C{COV_AXES[i]}_* is incomplete")
            continue
        cov[i, j] = cov[j, i] = float(values[key])
    if np.any(np.diag(cov)[:6] < 0):
        k = int(np.argmax(np.diag(cov)[:6] < 0))
        key = f"C{COV_AXES[k]}_{COV_AXES[k]}"
        raise ParseError(path, lines[key], key, "a variance must not be negative")
    return CdmObject(values, lines, state, cov, comments)


def write_cdm(path, message: CdmMessage) -> None:
    atomic_write_text(path, items_to_kvn(message.items))


def build_cdm(*, tca_text: str, miss_distance_m: float, objects: list[dict], message_id: str,
              originator: str = "MARSVIEW", message_for: str | None = None, creation_date: str | None = None,
              relative: dict | None = None, comments=()) -> CdmMessage:
    """A new CDM from numbers, checked by the same parser as a file.

    ``objects``: two dicts with the OBJ_META keywords as text (OBJECT_DESIGNATOR, CATALOG_NAME, OBJECT_NAME,
    INTERNATIONAL_DESIGNATOR, EPHEMERIS_NAME, COVARIANCE_METHOD, MANEUVERABLE, REF_FRAME, ...), plus
    ``state`` (6,) km, km/s, ``covariance_rtn`` (6,6) m**2..., optional ``comments`` and OD/additional
    parameters as numbers. ``relative``: optional RELATIVE keywords (numbers in the CDM's units, or text).
    ``comments`` go after MESSAGE_ID (e.g. "HBR = 15 [m]").
    """
    created = creation_date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    it = [KvnLine(0, "CCSDS_CDM_VERS", "1.0"), KvnLine(0, "CREATION_DATE", created),
          KvnLine(0, "ORIGINATOR", originator)]
    if message_for:
        it.append(KvnLine(0, "MESSAGE_FOR", message_for))
    it.append(KvnLine(0, "MESSAGE_ID", message_id))
    it += [KvnLine(0, "COMMENT", c) for c in comments]
    rel = {"TCA": tca_text, "MISS_DISTANCE": miss_distance_m, **(relative or {})}
    it += [_item(k, rel[k]) for k in RELATIVE if k in rel]
    for n, obj in enumerate(objects, 1):
        obj = dict(obj)
        obj["OBJECT"] = f"OBJECT{n}"
        it += [KvnLine(0, "COMMENT", c) for c in obj.get("comments", ())]
        it += [_item(k, obj[k]) for k in OBJ_META + OBJ_OD + OBJ_ADD if k in obj]
        it += [_item(k, v) for k, v in zip(STATE, np.asarray(obj["state"], float))]
        cov = np.asarray(obj["covariance_rtn"], float)
        it += [_item(k, cov[i, j]) for k, (i, j) in _COV_INDEX.items() if i < min(cov.shape[0], 9)]
    numbered = [KvnLine(i + 1, x.keyword, x.value, x.unit) for i, x in enumerate(it)]
    return parse_cdm_items(numbered, "<new CDM>")


def _item(key, value) -> KvnLine:
    text = value if isinstance(value, str) else format_float(value)
    if key in ("OBS_AVAILABLE", "OBS_USED", "TRACKS_AVAILABLE", "TRACKS_USED") and not isinstance(value, str):
        text = str(int(value))
    return KvnLine(0, key, text, UNITS.get(key))


# --- NDM/XML ---------------------------------------------------------------------------------------

_REL_SV = RELATIVE[3:9]
XML_STRUCTURE = {  # container -> allowed children (leaves are everything else)
    "cdm": ("header", "body"), "header": ccsds_xml.HEADER_ELEMENTS, "body": ("relativeMetadataData", "segment"),
    "relativeMetadataData": ("COMMENT", "relativeStateVector") + tuple(k for k in RELATIVE if k not in _REL_SV),
    "relativeStateVector": _REL_SV, "segment": ("metadata", "data"),
    "metadata": ("COMMENT",) + OBJ_META,
    "data": ("COMMENT", "odParameters", "additionalParameters", "stateVector", "covarianceMatrix"),
    "odParameters": ("COMMENT",) + OBJ_OD, "additionalParameters": ("COMMENT",) + OBJ_ADD,
    "stateVector": ("COMMENT",) + STATE, "covarianceMatrix": ("COMMENT",) + COV6 + COV_EXTRA,
}


def read_cdm_xml(path) -> CdmMessage:
    """A CDM in NDM/XML, checked with the KVN rules (file:line: element: why)."""
    return parse_cdm_items(ccsds_xml.read_ndm_items(path, "cdm", XML_STRUCTURE), Path(path))


def cdm_to_xml_bytes(message) -> bytes:
    container = ccsds_xml.container

    def place(it, state, header, body):
        key = it.keyword
        if key in HEADER:
            return header
        if key == "OBJECT":
            seg = ET.SubElement(body, "segment")
            state["containers"] = {"rel": state["containers"].get("rel"), "segment": seg}
        if "segment" not in state["containers"]:
            rel = container(state, "rel", body, "relativeMetadataData")
            if key in _REL_SV:
                return container(state, "relsv", rel, "relativeStateVector")
            return rel
        seg = state["containers"]["segment"]
        if key in OBJ_META:
            return container(state, "metadata", seg, "metadata")
        data = container(state, "data", seg, "data")
        for tag, keys in (("odParameters", OBJ_OD), ("additionalParameters", OBJ_ADD),
                          ("stateVector", STATE), ("covarianceMatrix", COV6 + COV_EXTRA)):
            if key in keys:
                return container(state, tag, data, tag)
        return data

    return ccsds_xml.items_to_xml_bytes("cdm", message.items, place)


def write_cdm_xml(path, message) -> None:
    atomic_write_bytes(path, cdm_to_xml_bytes(message))
