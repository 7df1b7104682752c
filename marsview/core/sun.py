"""The Sun as seen from Mars: an analytic heliocentric orbit of Mars for the third-body term.

Mars' heliocentric orbit comes from JPL's "Keplerian Elements for Approximate Positions of the Major
Planets" (Standish, table 1, valid 1800-2050; constants in ``core.constants``): mean J2000 ecliptic
elements with linear rates, a Kepler solve, then a rotation by the J2000 obliquity to EME2000 axes.

Accuracy (checked in tests/core/test_dynamics.py against DE-based mar022-1.bsp through SPICE): the
Sun direction from Mars is right to ~0.01 deg (table 1 quotes heliocentric longitude errors of tens of
arcseconds for Mars) and the Sun distance to ~1e-4 relative. The third-body acceleration is ~2e-9 km/s^2
at MRO altitude and scales with distance, so this error (<1e-3 of the term) is far below any other
uncertainty for orbiters within the Deimos orbit. The Mars barycentre vs planet centre offset (~20 cm) and
the Sun's motion about the solar-system barycentre (through Jupiter, ~1e6 km) do not enter: the elements
describe the Sun-Mars relative orbit directly.
"""

from __future__ import annotations

import numpy as np

from . import constants as C

SECONDS_PER_JULIAN_CENTURY = 36525.0 * 86400.0


def _kepler_elliptic(mean_anomaly_rad, e):
    """Eccentric anomaly for e < 0.2 (Mars' orbit): Newton from E = M converges in 4-5 iterations."""
    ecc = mean_anomaly_rad.copy()
    for _ in range(8):
        f = ecc - e * np.sin(ecc) - mean_anomaly_rad
        ecc = ecc - f / (1.0 - e * np.cos(ecc))
    return ecc


def mars_heliocentric_state(tdb_s, gm_sun_km3s2: float = C.GM_SUN_KM3S2) -> np.ndarray:
    """(N,6) state of Mars relative to the Sun in EME2000 axes [km, km/s] at TDB epochs.

    Velocity is the Keplerian velocity of the osculating ellipse through the mean elements (the
    element rates contribute < 1e-6 of it)."""
    t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
    T = t / SECONDS_PER_JULIAN_CENTURY
    a_km = (C.MARS_HELIO_A_AU + C.MARS_HELIO_A_RATE * T) * C.AU_KM
    e = C.MARS_HELIO_E + C.MARS_HELIO_E_RATE * T
    inc = np.radians(C.MARS_HELIO_I_DEG + C.MARS_HELIO_I_RATE * T)
    mean_long = C.MARS_HELIO_L_DEG + C.MARS_HELIO_L_RATE_DEG_PER_CENTURY * T
    long_peri = C.MARS_HELIO_LONG_PERI_DEG + C.MARS_HELIO_LONG_PERI_RATE * T
    node = np.radians(C.MARS_HELIO_LONG_NODE_DEG + C.MARS_HELIO_LONG_NODE_RATE * T)
    argp = np.radians(long_peri) - node
    mean_anom = np.radians(np.mod(mean_long - long_peri + 180.0, 360.0) - 180.0)
    ecc_anom = _kepler_elliptic(mean_anom, e)

    cos_e, sin_e = np.cos(ecc_anom), np.sin(ecc_anom)
    root = np.sqrt(1.0 - e * e)
    # perifocal position and velocity
    xp = a_km * (cos_e - e)
    yp = a_km * root * sin_e
    n = np.sqrt(gm_sun_km3s2 / a_km**3)
    edot = n / (1.0 - e * cos_e)
    vxp = -a_km * sin_e * edot
    vyp = a_km * root * cos_e * edot

    co, so = np.cos(argp), np.sin(argp)
    cn, sn = np.cos(node), np.sin(node)
    ci, si = np.cos(inc), np.sin(inc)
    # perifocal -> ecliptic J2000 (rows of R3(-node) R1(-inc) R3(-argp) applied to (x, y, 0))
    px, py, pz = cn * co - sn * so * ci, sn * co + cn * so * ci, so * si
    qx, qy, qz = -cn * so - sn * co * ci, -sn * so + cn * co * ci, co * si
    r_ecl = np.stack([px * xp + qx * yp, py * xp + qy * yp, pz * xp + qz * yp], axis=-1)
    v_ecl = np.stack([px * vxp + qx * vyp, py * vxp + qy * vyp, pz * vxp + qz * vyp], axis=-1)
    return np.hstack([_ecliptic_to_eme2000(r_ecl), _ecliptic_to_eme2000(v_ecl)])


def _ecliptic_to_eme2000(vec: np.ndarray) -> np.ndarray:
    eps = np.radians(C.OBLIQUITY_J2000_DEG)
    ce, se = np.cos(eps), np.sin(eps)
    x, y, z = vec[:, 0], vec[:, 1], vec[:, 2]
    return np.stack([x, ce * y - se * z, se * y + ce * z], axis=-1)


def sun_position_mars_centred_km(tdb_s) -> np.ndarray:
    """(N,3) position of the Sun relative to Mars in EME2000 [km] (analytic, see module docstring)."""
    return -mars_heliocentric_state(tdb_s)[:, :3]


def mars_mean_motion_deg_per_day() -> float:
    """Mars' mean heliocentric motion (mean-longitude rate of the JPL elements) = the node rate a
    sun-synchronous Mars orbit needs: 0.52403 deg/day."""
    return C.MARS_HELIO_L_RATE_DEG_PER_CENTURY / 36525.0


class SunTable:
    """Sun position from Mars at any epoch in [start, stop], by cubic Hermite interpolation of the
    analytic orbit on a 6-hour grid (error ~1e-12 relative: Mars turns 0.13 deg in 6 h). Scalar and
    cheap, for the integrator's right-hand side where the full Kepler solve per call would dominate."""

    def __init__(self, start_tdb_s: float, stop_tdb_s: float, step_s: float = 21600.0):
        lo, hi = min(start_tdb_s, stop_tdb_s) - step_s, max(start_tdb_s, stop_tdb_s) + step_s
        count = max(int(np.ceil((hi - lo) / step_s)), 1) + 1
        self.start = lo
        self.step = step_s
        self.count = count
        nodes = lo + step_s * np.arange(count)
        delta = 60.0
        # tangents: the derivative of the analytic positions themselves (the osculating Kepler velocity
        # differs from it by ~1e-4 because the mean-element rates are not Keplerian)
        ahead, behind = sun_position_mars_centred_km(nodes + delta), sun_position_mars_centred_km(nodes - delta)
        self._r = sun_position_mars_centred_km(nodes).tolist()
        self._v = ((ahead - behind) * (step_s / (2.0 * delta))).tolist()  # scaled to the unit interval

    def hermite_nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """The table itself: positions (K,3) [km] at the grid epochs start + k step, and tangents (K,3) [km per
        grid step] (the compiled force model of core.kernels interpolates the same nodes)."""
        return np.array(self._r, dtype=np.float64), np.array(self._v, dtype=np.float64)

    def position_km(self, tdb_s: float) -> tuple[float, float, float]:
        x = (tdb_s - self.start) / self.step
        k = min(max(int(x), 0), self.count - 2)
        s = x - k
        s2, s3 = s * s, s * s * s
        h00, h10, h01, h11 = 2 * s3 - 3 * s2 + 1, s3 - 2 * s2 + s, -2 * s3 + 3 * s2, s3 - s2
        r0, r1, v0, v1 = self._r[k], self._r[k + 1], self._v[k], self._v[k + 1]
        return tuple(h00 * r0[i] + h10 * v0[i] + h01 * r1[i] + h11 * v1[i] for i in range(3))
