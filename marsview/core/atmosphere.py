"""Exponential Mars upper-atmosphere density for drag on low orbiters.

rho(h) = rho_ref * exp(-(h - h_ref) / H), anchored at 150 km (3.4e-10 kg/m^3) with H ~ 11.1 km from the
150/200 km points of the log-polynomial fit quoted in mars_facts.md section 2 (constants in core.constants).
This is an order-of-magnitude model: the real density varies by factors of several with season, dust and
solar EUV, and the fit runs 2-3x above MAVEN's measured corridors. It is meant to show *that* drag lowers
a low periapsis, and to give timing-error scales; it is not a density predictor.

Altitude is taken above the IAU 2015 ellipsoid (3396.19 x 3376.20 km) along the geocentric radius: the
~20 km equator-to-pole difference is almost two scale heights, so a sphere would be wrong by ~6x in density
over the poles where MRO and MAVEN have their periapses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import constants as C


@dataclass(frozen=True)
class ExponentialAtmosphere:
    ref_alt_km: float = C.ATMOSPHERE_REF_ALT_KM
    ref_density_kgm3: float = C.ATMOSPHERE_REF_DENSITY_KGM3
    scale_height_km: float = C.ATMOSPHERE_SCALE_HEIGHT_KM
    equatorial_radius_km: float = C.RADIUS_EQUATORIAL_KM
    polar_radius_km: float = C.RADIUS_POLAR_KM
    ceiling_alt_km: float = 1000.0
    """Above this the density is taken as zero (below 1e-40 kg/m^3 anyway); avoids useless work."""

    def surface_radius_km(self, sin_lat):
        """Ellipsoid radius along a direction of geocentric latitude (given as its sine)."""
        a, b = self.equatorial_radius_km, self.polar_radius_km
        cos2 = 1.0 - sin_lat * sin_lat
        return a * b / np.sqrt((b * b) * cos2 + (a * a) * sin_lat * sin_lat)

    def altitude_km(self, r_km, sin_lat):
        return r_km - self.surface_radius_km(sin_lat)

    def density_kgm3(self, alt_km):
        """Density [kg/m^3] at altitude(s) above the ellipsoid [km]."""
        h = np.asarray(alt_km, dtype=np.float64)
        rho = self.ref_density_kgm3 * np.exp(-(h - self.ref_alt_km) / self.scale_height_km)
        return np.where(h > self.ceiling_alt_km, 0.0, rho)
