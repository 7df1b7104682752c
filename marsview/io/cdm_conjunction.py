"""A CDM received from a partner as a close approach: the row the GUI table and `marsview screen` show
(source "CDM"), with the Pc recomputed from the CDM's own states and covariances beside the file's Pc, and,
for a Mars-centred CDM, its two objects as short two-body arcs through their states at TCA.

Choices (stated in the README):
- Pc: exact 2D (FOSTER-2D) at the true TCA of the CDM states with both RTN covariances, as `marsview
  assess` computes it; HBR from the CDM's ``COMMENT HBR = X [m]``, else the known fleet radii of the two
  objects summed, else 2 x 5 m (then ``hbr_source`` says "assumed").
- R/T/N: the CDM's RELATIVE_POSITION_R/T/N when given, else object 2 - object 1 in object 1's RTN frame.
- Objects at TCA (Mars-centred CDMs only; ORBIT_CENTER MARS/MARS BARYCENTER): each a Keplerian arc (Mars
  GM) from its CDM state over TCA +/- ``ARC_HALF_SPAN_S`` (or half an orbital period, whichever is shorter),
  named "<OBJECT_NAME> [CDM]" so it never replaces a trajectory of the same spacecraft. REF_FRAME EME2000,
  J2000 and GCRF are taken as EME2000 axes (GCRF differs by the 17 mas frame bias).
- An Earth-centred CDM (the CCSDS default) gives the row only: its objects are not drawn around Mars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ParseError

ARC_HALF_SPAN_S = 3 * 3600.0
DEFAULT_HBR_M = 5.0
GM_EARTH_KM3S2 = 398600.4418   # WGS-84 / EGM-96 (the models CARA's CDMs name)
MARS_CENTRES = ("MARS", "MARS BARYCENTER")


def miss_is_consistent(state_separation_km, miss_km, cdm_miss_km) -> bool:
    """True when the states' closest approach agrees with MISS_DISTANCE: within 10 m or 5 %. CDMs round the
    miss to the metre and their states to ~1e-6 km; a disagreement beyond that means the two states are not
    the ones the conjunction was computed from (e.g. CCSDS's CDMExample3: 55,000 km vs 105 m)."""
    tol_km = max(0.010, 0.05 * cdm_miss_km)
    return abs(miss_km - cdm_miss_km) <= tol_km or abs(state_separation_km - cdm_miss_km) <= tol_km


@dataclass
class CdmConjunction:
    """Duck-types core.screening.CloseApproach for the table and reports (object1, tca_tdb_s, miss_km, ...)."""
    path: str
    object1: str
    object2: str
    tca_tdb_s: float
    miss_km: float               # recomputed from the CDM states (at their true closest approach)
    cdm_miss_km: float           # MISS_DISTANCE as the file states it
    relative_speed_kms: float
    radial_km: float
    in_track_km: float
    cross_track_km: float
    pc: float | None
    pc_method: str
    hbr_m: float
    hbr_source: str
    cdm_pc: float | None = None
    cdm_pc_method: str | None = None
    flags: tuple = ()
    centre: str = "EARTH"
    states: tuple = ()           # (state1, state2) at TCA [km, km/s] in the CDM frame
    naif_ids: tuple = (None, None)
    miss_sigma: float = float("nan")
    sigma_km: float = float("nan")
    threshold_km: float = 0.0
    crossing_dt_s: float = float("nan")
    source: str = "CDM"
    notes: list = field(default_factory=list)

    @property
    def source1(self) -> str:
        return f"CDM {self.path}"

    @property
    def source2(self) -> str:
        return f"CDM {self.path}"

    @property
    def hbr1_km(self) -> float:
        return self.hbr_m / 2000.0

    @property
    def hbr2_km(self) -> float:
        return self.hbr_m / 2000.0

    @property
    def mars_centred(self) -> bool:
        return self.centre in MARS_CENTRES

    @property
    def object_labels(self) -> tuple:
        """Names of the two scenario objects drawn for this CDM (Mars-centred CDMs; see conjunction_arcs)."""
        return (arc_label(self.object1), arc_label(self.object2))


def arc_label(name: str) -> str:
    return f"{name} [CDM]"


def _hbr_m(msg, names, naifs):
    from .cdm import hbr_m_from_comment
    from .default_fleet import known_hbr_m

    hbr = hbr_m_from_comment(msg)
    if hbr is not None:
        return hbr, "the CDM's HBR comment"
    radii = [known_hbr_m(n, i) for n, i in zip(names, naifs)]
    if all(r is not None for r in radii):
        return float(sum(radii)), "marsview's fleet radii (no HBR in the CDM)"
    return float(sum(r if r is not None else DEFAULT_HBR_M for r in radii)), (
        f"assumed ({DEFAULT_HBR_M:g} m for each object without a known radius; no HBR in the CDM)")


def read_cdm_conjunction(path) -> CdmConjunction:
    """One CDM file -> CdmConjunction. ParseError (file:line: keyword) for a file marsview cannot use."""
    from marsview.core.frames import rtn_matrix
    from marsview.core.probability import cdm_covariance_to_inertial_km2, collision_probability

    from .cdm import read_cdm
    from .frames_io import normalize

    msg = read_cdm(path)
    o1, o2 = msg.objects
    if o1.ref_frame == "ITRF":
        raise ParseError(path, o1.lines["REF_FRAME"], "REF_FRAME",
                         "ITRF (Earth-fixed) states are not supported: need an inertial frame (EME2000, GCRF)")
    centre = normalize(o1.values.get("ORBIT_CENTER") or "EARTH")   # CCSDS 508.0: EARTH when absent
    if centre in MARS_CENTRES:
        from marsview.core.constants import GM_MARS_KM3S2 as gm
    elif centre == "EARTH":
        gm = GM_EARTH_KM3S2
    else:
        raise ParseError(path, o1.lines.get("ORBIT_CENTER", o1.lines["OBJECT"]), "ORBIT_CENTER",
                         f"centre {centre!r} is not supported (MARS or EARTH)")
    names = (o1.name, o2.name)
    naifs = tuple(_naif(o.values.get("OBJECT_DESIGNATOR")) for o in (o1, o2))
    hbr_m, hbr_source = _hbr_m(msg, names, naifs)
    c1 = cdm_covariance_to_inertial_km2(o1.state, o1.covariance)
    c2 = cdm_covariance_to_inertial_km2(o2.state, o2.covariance)
    flags, notes = [], []
    try:
        res = collision_probability(o1.state, c1, o2.state, c2, hbr_m / 1000.0, covariance_source="CDM",
                                    gm_km3s2=gm)
        pc, method, miss_km, speed = res.pc, res.pc_method, res.miss_km, res.relative_speed_kms
        flags += list(res.flags)
    except ValueError as exc:      # e.g. a covariance that cannot be repaired
        pc, method = None, "FOSTER-2D/CDM [UNDEFINED]"
        rel = np.asarray(o2.state) - np.asarray(o1.state)
        miss_km, speed = float(np.linalg.norm(rel[:3])), float(np.linalg.norm(rel[3:]))
        notes.append(f"Pc not computed: {exc}")
    rel_pos = msg.relative_position_rtn_m
    if rel_pos is not None:
        radial, in_track, cross = (float(x) / 1000.0 for x in rel_pos)
    else:
        m = rtn_matrix(np.asarray(o1.state)[None])[0]
        radial, in_track, cross = (float(x) for x in m @ (np.asarray(o2.state[:3]) - np.asarray(o1.state[:3])))
    separation = float(np.linalg.norm(np.asarray(o2.state[:3]) - np.asarray(o1.state[:3])))
    cdm_miss_km = msg.miss_distance_m / 1000.0
    if not miss_is_consistent(separation, miss_km, cdm_miss_km):
        flags.append("INCONSISTENT-CDM")
        notes.append(f"the two states are {miss_km:.6g} km apart at closest approach but MISS_DISTANCE = "
                     f"{msg.miss_distance_m:g} m")
    cdm_pc = msg.collision_probability
    if cdm_pc is not None and cdm_pc > 0 and pc is not None and not math.isclose(pc, cdm_pc, rel_tol=0.02):
        flags.append("PC-DIFFERS-FROM-CDM")
    return CdmConjunction(
        path=str(path), object1=o1.name, object2=o2.name, tca_tdb_s=msg.tca_tdb_s, miss_km=miss_km,
        cdm_miss_km=cdm_miss_km, relative_speed_kms=speed, radial_km=radial, in_track_km=in_track,
        cross_track_km=cross, pc=pc, pc_method=method, hbr_m=hbr_m, hbr_source=hbr_source, cdm_pc=cdm_pc,
        cdm_pc_method=msg.collision_probability_method, flags=tuple(flags), centre=centre,
        states=(np.asarray(o1.state, float), np.asarray(o2.state, float)), naif_ids=naifs, notes=notes)


def _naif(text):
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if value < 0 or 100 <= value <= 999 else None   # catalogue numbers are not NAIF ids


def conjunction_arcs(conj: CdmConjunction):
    """[(name, TwoBodyEphemeris, naif_id)] for the two objects of a Mars-centred CDM (see module doc)."""
    from marsview.core.constants import GM_MARS_KM3S2
    from marsview.core.twobody import TwoBodyEphemeris

    if not conj.mars_centred:
        return []
    out = []
    for name, state, naif in zip((conj.object1, conj.object2), conj.states, conj.naif_ids):
        r, v2 = float(np.linalg.norm(state[:3])), float(state[3:] @ state[3:])
        energy = 0.5 * v2 - GM_MARS_KM3S2 / r
        # half an orbit when bound (a = -mu / 2E), so the arc never wraps onto itself
        half = ARC_HALF_SPAN_S
        if energy < 0:
            half = min(half, math.pi * math.sqrt((-GM_MARS_KM3S2 / (2 * energy)) ** 3 / GM_MARS_KM3S2))
        label = arc_label(name)
        eph = TwoBodyEphemeris(label, state, conj.tca_tdb_s, conj.tca_tdb_s - half, conj.tca_tdb_s + half,
                               source=f"CDM {Path(conj.path).name}")
        eph.cdm_marker = True   # model.scenario.is_cdm_marker: drawn, not screened
        out.append((label, eph, naif))
    return out
