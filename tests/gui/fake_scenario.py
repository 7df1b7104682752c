"""A small scenario built from two-body orbits, with one designed close approach (tests only).

ALPHA circles Mars in the EME2000 equator, BRAVO over the poles 2 km higher; both reach +x at TCA_TDB_S, so
the miss is 2 km there, the relative speed is sqrt(2) * v_circ, and the geometry is known in closed form.
"""

from __future__ import annotations

import numpy as np

from marsview.core.constants import GM_MARS_KM3S2
from marsview.core.twobody import TwoBodyEphemeris
from marsview.model.scenario import Scenario, ScenarioObject

T0_TDB_S = 8.0e8  # 2025-05-08
TCA_TDB_S = T0_TDB_S + 3.0 * 3600.0
R_KM = 3396.19 + 400.0
MISS_KM = 2.0


def _circular(name, r_km, normal_axis, t_at_x):
    v = np.sqrt(GM_MARS_KM3S2 / r_km)
    state = np.array([r_km, 0.0, 0.0, 0.0, 0.0, 0.0])
    state[3 + normal_axis] = v  # moving along +y (equatorial) or +z (polar) when at +x
    return TwoBodyEphemeris(name, state, t_at_x, T0_TDB_S, T0_TDB_S + 86400.0)


def make_scenario(name="test fleet") -> Scenario:
    alpha = _circular("ALPHA", R_KM, 1, TCA_TDB_S)
    bravo = _circular("BRAVO", R_KM + MISS_KM, 2, TCA_TDB_S)
    # CHARLIE: a higher orbit that never comes near the others
    charlie = _circular("CHARLIE", 9000.0, 1, TCA_TDB_S + 1000.0)
    objs = [ScenarioObject("ALPHA", "spacecraft", alpha, 5.0, color="#E69F00"),
            ScenarioObject("BRAVO", "spacecraft", bravo, 5.0, color="#56B4E9"),
            ScenarioObject("CHARLIE", "spacecraft", charlie, 5.0, color="#009E73")]
    return Scenario(name, objs, window_start_tdb_s=T0_TDB_S, window_duration_s=86400.0, threshold_km=10.0)


def fake_loader(paths):
    """No paths: the test scenario. Paths: the real loader (io.scenario when present, else the format
    readers), so a broken file fails exactly as it does in the application."""
    if not paths:
        return make_scenario()
    try:
        from marsview.model.loading import load_scenario
    except ImportError:
        from marsview.io.formats import read_any

        for p in paths:
            read_any(p)
        raise ValueError("io.scenario is not available to turn these files into objects")
    return load_scenario(list(paths))
