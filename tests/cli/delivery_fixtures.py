"""Delivery folders for the trend/watch tests: OEMs written with marsview's own writer from two-body orbits.

ALPHA (equatorial) and BRAVO (60 deg inclined) fly circular orbits of one radius that cross at both nodes;
BRAVO passes each node ``lag_s`` after ALPHA, so every half period they meet with a miss that the straight-
line model puts at v * lag * cos(30 deg) (v: the common speed), the TCA half-way between the two passages.
A delivery nudges BRAVO along-track by changing ``lag_s``. CHARLIE is far away (no events).
"""

from __future__ import annotations

import math

import numpy as np

from marsview.core.constants import GM_MARS_KM3S2
from marsview.core.time import utc_to_tdb_s
from marsview.core.twobody import TwoBodyEphemeris
from marsview.io.oem import write_oem
from marsview.io.oem_convert import ephemeris_to_oem

T0 = utc_to_tdb_s("2025-03-01T00:00:00")
RADIUS_KM = 3790.0
SPEED_KMS = math.sqrt(GM_MARS_KM3S2 / RADIUS_KM)
PERIOD_S = 2 * math.pi * math.sqrt(RADIUS_KM**3 / GM_MARS_KM3S2)
NODE_EPOCH = T0 + 600.0  # ALPHA at the ascending node


def circular(name, inc_deg, node_epoch, start, stop, radius_km=RADIUS_KM):
    v = math.sqrt(GM_MARS_KM3S2 / radius_km)
    i = math.radians(inc_deg)
    state = np.array([radius_km, 0.0, 0.0, 0.0, v * math.cos(i), v * math.sin(i)])
    return TwoBodyEphemeris(name, state, node_epoch, start, stop)


def write_object(folder, eph, start, stop, object_id):
    path = folder / f"{eph.name.lower()}.oem"
    write_oem(path, ephemeris_to_oem([eph], start, stop, step_s=30.0, object_ids={eph.name: object_id}))
    return path


def expected_miss_km(lag_s: float) -> float:
    return SPEED_KMS * abs(lag_s) * math.cos(math.radians(30.0))


def true_minimum(lag_s: float, near_tdb_s: float):
    """(TCA, miss) of the exact two-body orbits near NEAR_TDB_S (dense search + bounded minimisation)."""
    from scipy.optimize import minimize_scalar

    a = circular("A", 0.0, NODE_EPOCH, T0 - 1e5, T0 + 1e5)
    b = circular("B", 60.0, NODE_EPOCH + lag_s, T0 - 1e5, T0 + 1e5)

    def dist(u):  # u: seconds from NEAR_TDB_S (Brent's tolerance is relative to |x|: keep x small)
        t = np.array([near_tdb_s + u])
        return float(np.linalg.norm(a.state(t)[0, :3] - b.state(t)[0, :3]))

    res = minimize_scalar(dist, bounds=(-60.0, 60.0), method="bounded", options={"xatol": 1e-7})
    return near_tdb_s + res.x, res.fun
