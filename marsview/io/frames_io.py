"""Which centres, frames and time systems a CCSDS message may use for marsview, and the conversion of its
states to the Mars-centred EME2000 frame every marsview ephemeris uses.

Centres: MARS and MARS BARYCENTER are treated as the same point. The barycentre of the Mars system sits
off Mars' centre by the moons' mass-weighted positions: Phobos (GM 7.09e-4 km^3/s^2, a = 9376 km) moves it
by 0.155 m and Deimos (GM 9.62e-5, a = 23458 km) by 0.053 m, so at most 0.21 m when both line up
(``barycentre_offset_bound_m``). That is far below the metres that ephemeris predictions carry, so no
correction is applied, and the choice is stated in the README.

Frames: EME2000, ICRF (= EME2000 axes; the 17 mas frame bias is negligible here), MCI and IAU_MARS; the
conversion goes through ``marsview.core.frames``; J2000 is read as EME2000 (``FRAME_ALIASES``). Time systems:
UTC, TAI, TT, TDB, GPS, TCB (``marsview.core.time``).
"""

from __future__ import annotations

import numpy as np

from ..core import constants as C
from ..core import frames as cframes
from ..core import time as mtime
from .errors import ParseError

MARS_CENTRES = ("MARS", "MARS BARYCENTER")
INPUT_FRAMES = ("EME2000", "ICRF", "MCI", "IAU_MARS")
# Other names of the same frames: J2000 is SPICE's (and many partners') name of EME2000; Orekit maps it too.
FRAME_ALIASES = {"J2000": "EME2000"}
TIME_SYSTEMS = tuple(mtime.TIME_SYSTEMS)

# semi-major axes used only for the barycentre bound above (mars_facts.md)
_PHOBOS_A_KM = 9376.0
_DEIMOS_A_KM = 23458.0


def barycentre_offset_bound_m() -> float:
    """Largest distance between Mars' centre and the Mars-system barycentre (both moons aligned), metres."""
    gm_total = C.GM_MARS_KM3S2 + C.GM_PHOBOS_KM3S2 + C.GM_DEIMOS_KM3S2
    offset_km = (C.GM_PHOBOS_KM3S2 * _PHOBOS_A_KM + C.GM_DEIMOS_KM3S2 * _DEIMOS_A_KM) / gm_total
    return offset_km * 1000.0


def normalize(text: str) -> str:
    """Upper case with runs of blanks collapsed ('Mars  barycenter' -> 'MARS BARYCENTER')."""
    return " ".join(text.split()).upper()


def normalize_frame(text: str) -> str:
    """A frame name in marsview's spelling: normalized, with aliases resolved ('j2000' -> 'EME2000')."""
    frame = normalize(text)
    return FRAME_ALIASES.get(frame, frame)


def check_time_system(value: str, path, line: int, keyword: str = "TIME_SYSTEM") -> str:
    ts = normalize(value)
    if ts not in TIME_SYSTEMS:
        raise ParseError(path, line, keyword,
                         f"time system {value!r} is not supported (marsview reads {', '.join(TIME_SYSTEMS)})")
    return ts


def check_mars_centre(value: str, path, line: int, keyword: str = "CENTER_NAME") -> str:
    centre = normalize(value)
    if centre not in MARS_CENTRES:
        raise ParseError(path, line, keyword,
                         f"centre {value!r} cannot be used: marsview needs Mars-centred states "
                         f"({' or '.join(MARS_CENTRES)})")
    return centre


def check_frame(value: str, path, line: int, keyword: str = "REF_FRAME") -> str:
    frame = normalize_frame(value)
    if frame not in INPUT_FRAMES:
        raise ParseError(path, line, keyword,
                         f"frame {value!r} cannot be used (marsview converts {', '.join(INPUT_FRAMES)})")
    return frame


def to_eme2000(states, tdb_s, frame: str):
    """(N,6) Mars-centred states in FRAME at TDB epochs -> EME2000 (a copy)."""
    frame = normalize_frame(frame)
    s = np.asarray(states, dtype=np.float64)
    if frame in ("EME2000", "ICRF"):
        return s.copy()
    return cframes.transform_states(s, tdb_s, frame, "EME2000")


def rotation_to_eme2000(tdb_s, frame: str) -> np.ndarray:
    """(N,6,6) matrices taking a covariance's state axes in an inertial FRAME to EME2000 (rotation only;
    IAU_MARS covariances get the rotation without the transport term, the usual approximation)."""
    t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
    frame = normalize_frame(frame)
    if frame in ("EME2000", "ICRF"):
        m = np.broadcast_to(np.eye(3), (t.size, 3, 3))
    elif frame == "MCI":
        m = np.swapaxes(cframes.eme2000_to_mci_matrix(t), 1, 2)
    elif frame == "IAU_MARS":
        m = np.swapaxes(cframes.eme2000_to_iau_mars_matrix(t), 1, 2)
    else:
        raise ValueError(f"unsupported covariance frame {frame!r}")
    out = np.zeros((t.size, 6, 6))
    out[:, :3, :3] = m
    out[:, 3:, 3:] = m
    return out
