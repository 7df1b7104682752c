"""Mars constants for flight dynamics, each with its source (see ../shared/reference/mars_facts.md).

Values are plain floats in km, km^3/s^2, degrees or seconds as their names say. Force models take
these as defaults and let a caller override them.
"""

from __future__ import annotations

import math

# --- gravity -------------------------------------------------------------------------------------
GM_MARS_KM3S2 = 42828.37362069909
"""Mars planet GM. Source: NAIF gm_de440.tpc BODY499_GM (DE440)."""

GM_MARS_SYSTEM_KM3S2 = 42828.375815756102
"""Mars + Phobos + Deimos (barycentre). Source: gm_de440.tpc BODY4_GM."""

GM_PHOBOS_KM3S2 = 7.087546e-4
"""Source: gm_de440.tpc BODY401_GM."""

GM_DEIMOS_KM3S2 = 9.615570e-5
"""Source: gm_de440.tpc BODY402_GM."""

GM_SUN_KM3S2 = 132712440041.279419
"""Source: gm_de440.tpc BODY10_GM."""

GRAVITY_REF_RADIUS_KM = 3396.0
"""Reference radius of the MRO120F / GMM-3 fields (PDS SHADR labels)."""

# Unnormalized zonals J_n = -sqrt(2n+1) * C̄_n0, from MRO120F (jgmro_120f_sha.tab, Konopliv et al. 2020).
J2_MARS = 1.956609e-3
J3_MARS = 3.147612e-5
J4_MARS = -1.538765e-5
C22_MARS = -5.463026e-5
S22_MARS = 3.159048e-5

# --- shape ----------------------------------------------------------------------------------------
RADIUS_EQUATORIAL_KM = 3396.19
"""Source: NAIF pck00010/00011 BODY499_RADII (IAU 2015)."""
RADIUS_POLAR_KM = 3376.20
RADIUS_MEAN_KM = 3389.5
"""Mean radius, MOLA (Horizons Mars header; pyshtools constants/Mars.py)."""

# --- rotation: IAU 2015 (Archinal et al. 2018) as carried in NAIF pck00011 ------------------------
# alpha0 = POLE_RA[0] + POLE_RA[1]*T + sum RA_k sin(theta_k); delta0 likewise with cos; W with d in days.
POLE_RA_DEG = (317.269202, -0.10927547)
POLE_DEC_DEG = (54.432516, -0.05827105)
PRIME_MERIDIAN_DEG = (176.049863, 350.891982443297)
# (amplitude deg, theta0 deg, theta rate deg/century) -- BODY499_NUT_PREC_* against BODY4_NUT_PREC_ANGLES
POLE_RA_PERIODIC = (
    (0.000068, 198.991226, 19139.4819985),
    (0.000238, 226.292679, 38280.8511281),
    (0.000052, 249.663391, 57420.7251593),
    (0.000009, 266.183510, 76560.6367950),
    (0.419057, 79.398797, 0.5042615),
)
POLE_DEC_PERIODIC = (
    (0.000051, 122.433576, 19139.9407476),
    (0.000141, 43.058401, 38280.8753272),
    (0.000031, 57.663379, 57420.7517205),
    (0.000005, 79.476401, 76560.6495004),
    (1.591274, 166.325722, 0.5042615),
)
PRIME_MERIDIAN_PERIODIC = (
    (0.000145, 129.071773, 19140.0328244),
    (0.000157, 36.352167, 38281.0473591),
    (0.000040, 56.668646, 57420.9295360),
    (0.000001, 67.364003, 76560.2552215),
    (0.000001, 104.792680, 95700.4387578),
    (0.584542, 95.391654, 0.5042615),
)
ROTATION_RATE_RADS = math.radians(PRIME_MERIDIAN_DEG[1]) / 86400.0
"""7.088218e-5 rad/s, from the IAU 2015 W-dot."""
SIDEREAL_DAY_S = 360.0 / PRIME_MERIDIAN_DEG[1] * 86400.0

# --- atmosphere (exponential model for low orbiters) -----------------------------------------------
# Anchored on the log-polynomial fit quoted in mars_facts.md section 2 (3.4e-10 kg/m^3 at 150 km,
# 3.8e-12 at 200 km): scale height from those two points. Real variability is factors of several.
ATMOSPHERE_REF_ALT_KM = 150.0
ATMOSPHERE_REF_DENSITY_KGM3 = 3.4e-10
ATMOSPHERE_SCALE_HEIGHT_KM = 50.0 / math.log(3.4e-10 / 3.8e-12)  # ~11.1 km
MARS_ROTATION_FOR_DRAG = True

# --- Mars heliocentric orbit (for the Sun third-body term) -----------------------------------------
# Mean J2000 elements (Standish, "Keplerian Elements for Approximate Positions of the Major Planets",
# JPL SSD, table 1, 1800-2050). Position error of Mars vs DE ephemerides < ~2e-3 deg in longitude...
# at Mars the resulting Sun-direction error is <0.1 deg, i.e. third-body acceleration error < 0.2 %.
MARS_HELIO_A_AU = 1.52371034
MARS_HELIO_E = 0.09339410
MARS_HELIO_I_DEG = 1.84969142
MARS_HELIO_L_DEG = -4.55343205
MARS_HELIO_LONG_PERI_DEG = -23.94362959
MARS_HELIO_LONG_NODE_DEG = 49.55953891
MARS_HELIO_L_RATE_DEG_PER_CENTURY = 19140.30268499
MARS_HELIO_LONG_PERI_RATE = 0.44441088
MARS_HELIO_LONG_NODE_RATE = -0.29257343
MARS_HELIO_A_RATE = 0.00001847
MARS_HELIO_E_RATE = 0.00007882
MARS_HELIO_I_RATE = -0.00813131
AU_KM = 149597870.7
OBLIQUITY_J2000_DEG = 23.43928
"""Mean obliquity of the ecliptic at J2000 (IAU 2006: 84381.406 arcsec)."""

# --- moons ----------------------------------------------------------------------------------------
PHOBOS_RADII_KM = (13.0, 11.4, 9.1)
DEIMOS_RADII_KM = (7.8, 6.0, 5.1)
PHOBOS_KEEP_OUT_RADIUS_KM = 15.0
"""Phobos screened as a 30 km (diameter) sphere, i.e. 15 km radius, as JPL did for MAVEN in 2017
(mars_fleet.json moons[Phobos].conjunction_model; mars_facts.md section 5)."""

# --- uncertainty defaults (mars_facts.md section 5) -------------------------------------------------
# "a few days ahead is more than 2 km", "weeks ahead ... dozens of km" (JPL 2015); Odyssey 25 s at 60 days.
DEFAULT_ALONG_TRACK_SIGMA0_KM = 0.5
DEFAULT_ALONG_TRACK_GROWTH_KM_PER_DAY = 0.7
DEFAULT_RADIAL_SIGMA_KM = 0.1
DEFAULT_CROSS_TRACK_SIGMA_KM = 0.2
