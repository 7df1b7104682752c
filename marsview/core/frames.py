"""Reference frames: EME2000/ICRF <-> MCI <-> IAU_MARS, and the local RTN and VNB frames of a state.

- EME2000 and ICRF are treated as the same axes (the 17 mas frame bias is far below what matters here).
- MCI: Mars-centred, z along the IAU 2015 pole *of date* (periodic terms included), x along the ascending
  node of the Mars equator on the EME2000 equator (z_EME2000 x pole). This is Orekit's "inertially
  oriented" Mars frame; the pole moves by arcseconds per decade, so MCI is inertial for screening spans.
- IAU_MARS: MCI rotated about the pole by the prime-meridian angle W(t) (IAU 2015, as SPICE pck00011).

Every function is vectorized over epochs: tdb_s shape (N,), states (N, 6), matrices (N, 3, 3).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import constants as C
from .orbits import cross3
from .time import days_tdb, julian_centuries_tdb

INERTIAL_FRAMES = ("EME2000", "ICRF", "MCI")
FRAMES = INERTIAL_FRAMES + ("IAU_MARS",)


def _periodic(terms, T, func):
    """sum of amp * func(theta0 + rate * T) over the (amp, theta0 deg, rate deg/century) TERMS."""
    amp, theta0, rate = _term_columns(terms)
    return func(np.radians(theta0 + rate * T[..., None])) @ amp


@lru_cache(maxsize=8)
def _term_columns(terms):
    return tuple(np.array(col, dtype=np.float64) for col in zip(*terms))


def mars_pole_ra_dec_w_deg(tdb_s):
    """IAU 2015 pole right ascension, declination and prime meridian W (degrees) at TDB epochs."""
    t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
    T = julian_centuries_tdb(t)
    d = days_tdb(t)
    ra = C.POLE_RA_DEG[0] + C.POLE_RA_DEG[1] * T + _periodic(C.POLE_RA_PERIODIC, T, np.sin)
    dec = C.POLE_DEC_DEG[0] + C.POLE_DEC_DEG[1] * T + _periodic(C.POLE_DEC_PERIODIC, T, np.cos)
    w = C.PRIME_MERIDIAN_DEG[0] + C.PRIME_MERIDIAN_DEG[1] * d + _periodic(C.PRIME_MERIDIAN_PERIODIC, T, np.sin)
    return ra, dec, np.mod(w, 360.0)


def _rot_x(a):
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    m[..., 0, 0] = 1.0
    m[..., 1, 1], m[..., 1, 2], m[..., 2, 1], m[..., 2, 2] = c, s, -s, c
    return m


def _rot_z(a):
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    m[..., 2, 2] = 1.0
    m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1] = c, s, -s, c
    return m


def eme2000_to_mci_matrix(tdb_s):
    """(N,3,3) rotation taking EME2000 vectors to MCI vectors."""
    ra, dec, _ = mars_pole_ra_dec_w_deg(tdb_s)
    return _rot_x(np.radians(90.0 - dec)) @ _rot_z(np.radians(90.0 + ra))


def mars_pole_eme2000(tdb_s):
    """(N,3) unit vector of the IAU Mars pole of date in EME2000."""
    ra, dec, _ = mars_pole_ra_dec_w_deg(tdb_s)
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def eme2000_to_iau_mars_matrix(tdb_s):
    """(N,3,3) rotation EME2000 -> IAU_MARS (body-fixed)."""
    return eme2000_to_mci_and_iau_mars_matrices(tdb_s)[1]


def eme2000_to_mci_and_iau_mars_matrices(tdb_s):
    """((N,3,3) EME2000 -> MCI, (N,3,3) EME2000 -> IAU_MARS) from one evaluation of the IAU rotation model
    (the 3D view needs both every frame)."""
    ra, dec, w = mars_pole_ra_dec_w_deg(tdb_s)
    to_mci = _rot_x(np.radians(90.0 - dec)) @ _rot_z(np.radians(90.0 + ra))
    return to_mci, _rot_z(np.radians(w)) @ to_mci


def _angular_velocity_mci():
    # spin about the pole at the IAU W-dot; the pole's own drift (~1e-12 rad/s) is neglected
    return np.array([0.0, 0.0, C.ROTATION_RATE_RADS])


def _broadcast(states, tdb_s):
    s = np.atleast_2d(np.asarray(states, dtype=np.float64))
    t = np.broadcast_to(np.atleast_1d(np.asarray(tdb_s, dtype=np.float64)), (s.shape[0],))
    return s, t


def _apply(m, v):
    return np.einsum("nij,nj->ni", m, v)


def transform_states(states, tdb_s, from_frame: str, to_frame: str):
    """Transform Mars-centred (N,6) states [km, km/s] between EME2000/ICRF, MCI and IAU_MARS."""
    f, g = _canonical(from_frame), _canonical(to_frame)
    s, t = _broadcast(states, tdb_s)
    if f == g:
        return s.copy()
    eme = _to_eme2000(s, t, f)
    return _from_eme2000(eme, t, g)


def _canonical(frame: str) -> str:
    name = frame.strip().upper()
    if name == "ICRF":
        return "EME2000"
    if name == "J2000":
        return "EME2000"
    if name not in FRAMES:
        raise ValueError(f"unsupported frame {frame!r} (marsview handles {', '.join(FRAMES)})")
    return name


def _to_eme2000(s, t, frame):
    if frame == "EME2000":
        return s
    m = eme2000_to_mci_matrix(t)
    r, v = s[:, :3], s[:, 3:]
    if frame == "IAU_MARS":
        _, _, w = mars_pole_ra_dec_w_deg(t)
        rz = _rot_z(np.radians(w))
        omega = _angular_velocity_mci()
        r_mci = np.einsum("nji,nj->ni", rz, r)
        v_mci = np.einsum("nji,nj->ni", rz, v) + np.cross(omega, r_mci)
        r, v = r_mci, v_mci
    mt = np.swapaxes(m, 1, 2)
    return np.hstack([_apply(mt, r), _apply(mt, v)])


def _from_eme2000(s, t, frame):
    if frame == "EME2000":
        return s
    m = eme2000_to_mci_matrix(t)
    r, v = _apply(m, s[:, :3]), _apply(m, s[:, 3:])
    if frame == "IAU_MARS":
        _, _, w = mars_pole_ra_dec_w_deg(t)
        rz = _rot_z(np.radians(w))
        v = v - np.cross(_angular_velocity_mci(), r)
        r, v = _apply(rz, r), _apply(rz, v)
    return np.hstack([r, v])


# --- local orbital frames ----------------------------------------------------------------------------

def rtn_matrix(states):
    """(N,3,3) rows R, T, N of each state: R = r/|r|, N = r x v/|r x v|, T = N x R (CCSDS CDM convention).
    Multiply an inertial vector by it to get RTN components."""
    s = np.atleast_2d(np.asarray(states, dtype=np.float64))
    r, v = s[:, :3], s[:, 3:6]
    rhat = r / np.linalg.norm(r, axis=1, keepdims=True)
    h = cross3(r, v)
    nhat = h / np.linalg.norm(h, axis=1, keepdims=True)
    that = cross3(nhat, rhat)
    return np.stack([rhat, that, nhat], axis=1)


def vnb_matrix(states):
    """(N,3,3) rows V, N, B: V = v/|v|, N = r x v/|r x v| (orbit normal), B = V x N."""
    s = np.atleast_2d(np.asarray(states, dtype=np.float64))
    r, v = s[:, :3], s[:, 3:6]
    vhat = v / np.linalg.norm(v, axis=1, keepdims=True)
    h = cross3(r, v)
    nhat = h / np.linalg.norm(h, axis=1, keepdims=True)
    bhat = cross3(vhat, nhat)
    return np.stack([vhat, nhat, bhat], axis=1)


def local_axes(state, frame: str) -> np.ndarray:
    """(3,3) rows = the local axes (RTN, or VNB for any other name) of one STATE (6,) in its inertial frame:
    a dv given in the local frame is ``dv_local @ local_axes(state, frame)`` in inertial components."""
    m = rtn_matrix(state) if frame.upper() == "RTN" else vnb_matrix(state)
    return m[0]


def local_to_inertial(states, vectors, frame: str):
    """Vectors given in a state's RTN or VNB frame -> inertial components (same frame as the states)."""
    name = frame.upper()
    if name in ("RTN", "RIC", "RSW"):
        m = rtn_matrix(states)
    elif name == "VNB":
        m = vnb_matrix(states)
    else:
        raise ValueError(f"unknown local frame {frame!r} (RTN, RIC or VNB)")
    vec = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    return np.einsum("nji,nj->ni", m, np.broadcast_to(vec, (m.shape[0], 3)))


def inertial_to_local(states, vectors, frame: str):
    name = frame.upper()
    m = rtn_matrix(states) if name in ("RTN", "RIC", "RSW") else vnb_matrix(states)
    vec = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    return np.einsum("nij,nj->ni", m, np.broadcast_to(vec, (m.shape[0], 3)))
