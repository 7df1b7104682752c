"""Phobos and Deimos from JPL mean elements: precessing ellipses in their Laplace planes.

Source of the elements: JPL Solar System Dynamics, "Planetary Satellite Mean Elements"
(https://ssd.jpl.nasa.gov/sats/elem/), Mars table: solution MAR080, epoch 1950 Jan 1.00 TT, elements
referred to each moon's local Laplace plane, node measured from the Laplace plane's ascending node on
the ICRF equator. Columns used: a, e, w (argument of periapsis), M, i, node, n (deg/day), Papsis and
Pnode (years; periapsis advances, node regresses, as J2 makes them: J2 alone gives 1.13 yr and 2.26 yr
for Phobos), Laplace pole R.A./Dec. ``n`` is the rate of the mean *longitude* (node + w + M); taking it
as the rate of M puts Phobos 9000 km off within a year of mar022 (checked), so M-dot = n - w-dot - node-dot.

Phobos' tidal acceleration: JPL's mean elements are a uniformly moving fit and leave Phobos' secular
acceleration s = n-dot/2 = 1.258e-3 deg/yr^2 (MAR099, Jacobson & Brozovic, JPL doi:10.48577/jpl.D099KH)
out. A linear fit of s T^2 over a span T = -H..H absorbs all but s (T^2 - H^2/3); with T in years from
J2000 and H = 50 yr this residual matches the pattern of the errors below (1.1 deg of mean longitude at
J2000), so it is added back. The span 1950-2050 is inferred from that pattern, not published.

Accuracy (position error, measured by tests/core/test_moons.py):
- Phobos: <= 8.2 km over 1971-10..1972-10 vs JPL SPK MAR022; <= 10.4 km at J2000 vs Lainey's
  MarsSatV1_0 sample states (IMCCE); 4.8 km on 2024-11-28 vs JPL Horizons osculating elements.
- Deimos: <= 33 km over 1971-72 vs MAR022 (a ~1-yr periodic solar term of 15-30 km that mean elements
  cannot carry); 65 km on 2024-11-28 vs Horizons.
Good enough to find encounters with the 30 km Phobos keep-out sphere and to draw the moons; for
operational assessment load a moon SPK (mar097) instead.

States are Mars-centred EME2000 (= ICRF axes), km and km/s; velocities are the exact time derivative of
the modelled positions (mean motion plus apsidal and nodal precession).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .ephemeris import Ephemeris
from .orbits import cross3, elements_to_cartesian, mean_to_true

_DAY_S = 86400.0
_YEAR_D = 365.25
# 1950 Jan 1.00 TT as TDB seconds past J2000 (TDB - TT < 2 ms, below the model's accuracy by far)
_EPOCH_1950_TDB_S = (2433282.5 - 2451545.0) * _DAY_S


@functools.lru_cache(maxsize=32)
def _angle_at_j2000(angle_at_epoch_deg: float, rate_deg_per_s: float, epoch_tdb_s: float) -> float:
    """angle0 - rate * epoch, mod 360, computed exactly in rationals (once per element set)."""
    return float((Fraction(angle_at_epoch_deg) - Fraction(rate_deg_per_s) * Fraction(epoch_tdb_s)) % 360)


def _two_product(a: float, b: np.ndarray):
    """a*b = p + err exactly (Dekker 1971 splitting; numpy has no fused multiply-add)."""
    split = 134217729.0  # 2^27 + 1
    p = a * b
    ca = split * a
    ah = ca - (ca - a)
    al = a - ah
    cb = split * b
    bh = cb - (cb - b)
    bl = b - bh
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, err


@dataclass(frozen=True)
class MeanElements:
    """Mean elements of a moon in its Laplace plane with uniform apsidal and nodal precession."""

    name: str
    naif_id: int
    epoch_tdb_s: float
    a_km: float
    e: float
    argp_deg: float
    mean_anomaly_deg: float
    inc_deg: float
    node_deg: float
    mean_longitude_rate_deg_per_day: float
    apsis_period_yr: float
    node_period_yr: float
    laplace_pole_ra_deg: float
    laplace_pole_dec_deg: float
    tidal_accel_deg_per_yr2: float = 0.0
    tidal_fit_half_span_yr: float = 50.0

    @property
    def argp_rate_deg_per_day(self) -> float:
        return 360.0 / (self.apsis_period_yr * _YEAR_D)

    @property
    def node_rate_deg_per_day(self) -> float:
        return -360.0 / (self.node_period_yr * _YEAR_D)  # regression

    @property
    def mean_anomaly_rate_deg_per_day(self) -> float:
        return self.mean_longitude_rate_deg_per_day - self.argp_rate_deg_per_day - self.node_rate_deg_per_day

    def laplace_to_eme2000(self) -> np.ndarray:
        """(3,3) matrix with the Laplace frame's axes as columns: x = the plane's ascending node on the
        ICRF equator, z = the Laplace pole."""
        ra, dec = np.radians(self.laplace_pole_ra_deg), np.radians(self.laplace_pole_dec_deg)
        z = np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
        x = np.array([-np.sin(ra), np.cos(ra), 0.0])
        return np.stack([x, np.cross(z, x), z], axis=1)

    def _angle_deg(self, angle_at_epoch_deg: float, rate_deg_per_day: float, t: np.ndarray) -> np.ndarray:
        """angle0 + rate (t - epoch) mod 360, without rounding jitter: the angle is re-referred to J2000
        exactly (fractions) and rate * t is an exact two-term product reduced by an exact fmod.
        A plain float product at 1e7 deg would jitter by 1e-8 deg (0.6 m for Phobos, epoch to epoch)."""
        rate_s = rate_deg_per_day / _DAY_S
        at_j2000 = _angle_at_j2000(angle_at_epoch_deg, rate_s, self.epoch_tdb_s)
        p, err = _two_product(rate_s, t)
        return np.fmod(p, 360.0) + err + at_j2000

    def state(self, tdb_s) -> np.ndarray:
        """(N,6) Mars-centred EME2000 states [km, km/s] at TDB epochs (no coverage limits)."""
        t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
        years_j2000 = t / (_DAY_S * _YEAR_D)
        s = self.tidal_accel_deg_per_yr2
        mean = (self._angle_deg(self.mean_anomaly_deg, self.mean_anomaly_rate_deg_per_day, t)
                + s * (years_j2000 ** 2 - self.tidal_fit_half_span_yr ** 2 / 3.0))
        mdot_deg_day = self.mean_anomaly_rate_deg_per_day + 2.0 * s * years_j2000 / _YEAR_D
        argp = np.radians(self._angle_deg(self.argp_deg, self.argp_rate_deg_per_day, t))
        node = np.radians(self._angle_deg(self.node_deg, self.node_rate_deg_per_day, t))
        inc = np.radians(self.inc_deg)
        nu = mean_to_true(np.radians(mean), self.e)
        mdot = np.radians(mdot_deg_day) / _DAY_S
        # with GM_eff = Mdot^2 a^3 the Keplerian velocity is exactly d(position)/dt along the ellipse
        st = elements_to_cartesian(self.a_km, self.e, inc, node, argp, nu, gm_km3s2=1.0,
                                   p_km=self.a_km * (1.0 - self.e ** 2))
        r = st[:, :3]
        v = st[:, 3:] * (mdot * np.sqrt(self.a_km ** 3))[:, None]
        # plus the rotation of the ellipse: periapsis about the orbit normal, node about the pole
        h = np.stack([np.sin(inc) * np.sin(node), -np.sin(inc) * np.cos(node),
                      np.full_like(node, np.cos(inc))], axis=1)
        wdot = np.radians(self.argp_rate_deg_per_day) / _DAY_S
        odot = np.radians(self.node_rate_deg_per_day) / _DAY_S
        z_cross_r = np.stack([-r[:, 1], r[:, 0], np.zeros(len(r))], axis=1)  # Laplace pole x r
        v = v + wdot * cross3(h, r) + odot * z_cross_r
        m = self.laplace_to_eme2000()
        return np.hstack([r @ m.T, v @ m.T])


# JPL SSD mean elements, MAR080, epoch 1950 Jan 1.00 TT (see module docstring)
PHOBOS_MEAN_ELEMENTS = MeanElements(
    name="Phobos", naif_id=401, epoch_tdb_s=_EPOCH_1950_TDB_S, a_km=9376.0, e=0.0151, argp_deg=150.057,
    mean_anomaly_deg=91.059, inc_deg=1.075, node_deg=207.784, mean_longitude_rate_deg_per_day=1128.8447569,
    apsis_period_yr=1.1316, node_period_yr=2.2617, laplace_pole_ra_deg=317.671, laplace_pole_dec_deg=52.893,
    tidal_accel_deg_per_yr2=1.258e-3)
DEIMOS_MEAN_ELEMENTS = MeanElements(
    name="Deimos", naif_id=402, epoch_tdb_s=_EPOCH_1950_TDB_S, a_km=23458.0, e=0.0002, argp_deg=260.729,
    mean_anomaly_deg=325.329, inc_deg=1.788, node_deg=24.525, mean_longitude_rate_deg_per_day=285.1618790,
    apsis_period_yr=27.3703, node_period_yr=54.5367, laplace_pole_ra_deg=316.657, laplace_pole_dec_deg=53.529)


class MeanElementsEphemeris(Ephemeris):
    """A moon from :class:`MeanElements` over a stated coverage (Mars-centred EME2000)."""

    def __init__(self, elements: MeanElements, start_tdb_s: float, stop_tdb_s: float, name: str | None = None):
        if not stop_tdb_s >= start_tdb_s:
            from .time import utc_label

            raise ValueError(f"{elements.name}: stop {utc_label(stop_tdb_s)} is before start {utc_label(start_tdb_s)}")
        self.elements = elements
        self.name = name or elements.name
        self.frame = "EME2000"
        self.naif_id = elements.naif_id
        self.source = f"{elements.name} JPL mean elements (MAR080, Laplace plane, precessing)"
        self._coverage = (float(start_tdb_s), float(stop_tdb_s))

    @property
    def coverage(self) -> tuple[float, float]:
        return self._coverage

    def _state(self, tdb_s: np.ndarray) -> np.ndarray:
        return self.elements.state(tdb_s)


def phobos_ephemeris(start_tdb_s: float, stop_tdb_s: float) -> MeanElementsEphemeris:
    return MeanElementsEphemeris(PHOBOS_MEAN_ELEMENTS, start_tdb_s, stop_tdb_s)


def deimos_ephemeris(start_tdb_s: float, stop_tdb_s: float) -> MeanElementsEphemeris:
    return MeanElementsEphemeris(DEIMOS_MEAN_ELEMENTS, start_tdb_s, stop_tdb_s)
