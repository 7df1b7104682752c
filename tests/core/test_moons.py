"""Phobos and Deimos from mean elements, checked against three independent ephemerides.

Bounds are the measured errors (see marsview/core/moons.py) plus a small margin, so a regression in the
elements, the precession rates, the Laplace-plane frame or the tidal term fails here.
"""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core import orbits as O
from marsview.core.ephemeris import CoverageError
from marsview.core.moons import DEIMOS_MEAN_ELEMENTS, PHOBOS_MEAN_ELEMENTS, deimos_ephemeris, phobos_ephemeris
from marsview.core.time import calendar_to_tdb_s


def test_against_jpl_spk_mar022_1971_72(reference_dir):
    sp = pytest.importorskip("spiceypy")
    spk = str(reference_dir / "data" / "mar022-1.bsp")
    sp.kclear()
    try:
        sp.furnsh(spk)  # the SPK's old frame (id 4) is converted to J2000 by SPICE itself
        cover = sp.spkcov(spk, 401)
        t = np.linspace(cover[0] + 60.0, cover[1] - 60.0, 600)
        for eph, naif, pos_km, vel_kms in ((phobos_ephemeris(t[0], t[-1]), "401", 9.0, 2.5e-3),
                                           (deimos_ephemeris(t[0], t[-1]), "402", 36.0, 2.2e-3)):
            ref = np.array([sp.spkezr(naif, et, "J2000", "NONE", "499")[0] for et in t])
            got = eph.state(t)
            dpos = np.linalg.norm(got[:, :3] - ref[:, :3], axis=1)
            dvel = np.linalg.norm(got[:, 3:] - ref[:, 3:], axis=1)
            # measured: Phobos 8.2 km / 2.2 m/s, Deimos 33.3 km / 1.8 m/s
            assert dpos.max() < pos_km, (eph.name, dpos.max())
            assert dvel.max() < vel_kms, (eph.name, dvel.max())
    finally:
        sp.kclear()


def test_phobos_against_lainey_marssat_j2000_sample():
    """Sample output published with MarsSatV1_0 (V. Lainey, IMCCE, ftp.imcce.fr/pub/ephem/satel/martian):
    Mars-centred EME2000 positions in au at JD 2451545.0, +10 d, +20 d TDB (1 au = 149597870.691 km)."""
    au = 149597870.691
    ref = np.array([[-0.000013308157, -0.000058444725, -0.000021266023],
                    [0.000050907508, 0.000033574979, -0.000011296402],
                    [-0.000051052809, 0.000012426617, 0.000033811410]]) * au
    t = np.array([0.0, 10.0, 20.0]) * 86400.0
    err = np.linalg.norm(phobos_ephemeris(0.0, t[-1]).state(t)[:, :3] - ref, axis=1)
    assert err.max() < 12.0  # measured 10.4 km; without the tidal term it is 180 km


def _horizons_osculating_position(a_km, e, inc_deg, node_deg, argp_deg, nu_deg):
    """Horizons osculating elements (Mars-centred, ecliptic and mean equinox of J2000) -> EME2000 position."""
    r_ecl = O.elements_to_cartesian(a_km, e, np.radians(inc_deg), np.radians(node_deg), np.radians(argp_deg),
                                    np.radians(nu_deg))[:3]
    eps = np.radians(84381.448 / 3600.0)  # Horizons' J2000 obliquity
    c, s = np.cos(eps), np.sin(eps)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]]) @ r_ecl


def test_against_horizons_2024_osculating_elements():
    """JPL Horizons osculating elements at 2024-11-28 00:00 TDB (as published in the public repository
    TU-Dublin-Computer-Science/Solar-XR, content/data/DataSources.md). Osculating and mean elements differ
    by J2 short-period terms of a few km, so this bounds the model's error in the 2020s."""
    t = calendar_to_tdb_s(2024, 11, 28, 0, 0, 0.0, "TDB")
    phobos = _horizons_osculating_position(9.378884043199467e03, 1.488911986011352e-02, 2.612626927005928e01,
                                           8.486814910358899e01, 3.438114266487729e02, 1.359108130946083e02)
    deimos = _horizons_osculating_position(2.345826597234712e04, 3.081896334520172e-04, 2.427418930612024e01,
                                           8.069489330791494e01, 1.422288176795356e01, 3.058346499290049e02)
    assert np.linalg.norm(phobos_ephemeris(t, t).state([t])[0, :3] - phobos) < 7.0  # measured 4.8 km
    assert np.linalg.norm(deimos_ephemeris(t, t).state([t])[0, :3] - deimos) < 75.0  # measured 65 km


def test_velocity_is_the_derivative_of_position_and_orbit_shape_is_right():
    t0 = calendar_to_tdb_s(2024, 1, 1, 0, 0, 0.0, "TDB")
    for el in (PHOBOS_MEAN_ELEMENTS, DEIMOS_MEAN_ELEMENTS):
        t = t0 + np.linspace(0.0, 5 * 86400.0, 200)
        s = el.state(t)
        fd = (el.state(t + 0.5)[:, :3] - el.state(t - 0.5)[:, :3]) / 1.0
        assert np.abs(fd - s[:, 3:]).max() < 1e-8  # km/s (central-difference truncation ~4e-9)
        r = np.linalg.norm(s[:, :3], axis=1)
        assert r.min() >= el.a_km * (1 - el.e) - 1e-6 and r.max() <= el.a_km * (1 + el.e) + 1e-6
        # the orbit plane is within ~i of the Laplace plane (near the Mars equator)
        pole = el.laplace_to_eme2000()[:, 2]
        h = np.cross(s[:, :3], s[:, 3:])
        tilt = np.degrees(np.arccos(h @ pole / np.linalg.norm(h, axis=1)))
        assert np.allclose(tilt, el.inc_deg, atol=0.01)


def test_phobos_period_and_nodal_regression():
    t0 = calendar_to_tdb_s(2024, 1, 1, 0, 0, 0.0, "TDB")
    el = PHOBOS_MEAN_ELEMENTS
    # sidereal period ~ 0.31891 d = 7.654 h (mars_facts.md)
    assert 360.0 / el.mean_longitude_rate_deg_per_day == pytest.approx(0.31891, abs=1e-4)
    # the node on the Laplace plane regresses by 360 deg / 2.2617 yr: check it from states a year apart
    m = el.laplace_to_eme2000()

    def node_deg(t):
        s = el.state([t])[0]
        h = m.T @ np.cross(s[:3], s[3:])
        return np.degrees(np.arctan2(h[0], -h[1]))

    drift = (node_deg(t0 + 100 * 86400.0) - node_deg(t0) + 180.0) % 360.0 - 180.0
    assert drift == pytest.approx(-360.0 / (2.2617 * 365.25) * 100, abs=0.05)


def test_moon_ephemerides_have_coverage():
    eph = phobos_ephemeris(0.0, 86400.0)
    assert eph.name == "Phobos" and eph.naif_id == 401 and eph.frame == "EME2000"
    with pytest.raises(CoverageError):
        eph.state([86401.0])
    with pytest.raises(ValueError):
        deimos_ephemeris(10.0, 0.0)
