"""``python -m marsview.core.precompile``: compile (or load from numba's cache) every kernel of core.kernels
now, e.g. after installing or in a packaging step, so the first propagation does not pay numba's ~10-20 s
compile on a cold cache. It runs the real entry points (``propagate_many``, ``propagate_twobody``,
``screen`` on tabulated ephemerides) rather than the kernels directly, so the cached signatures are exactly
the ones propagation and screening use."""

from __future__ import annotations

import numpy as np

from .dynamics import ForceModel, propagate_many
from .twobody import propagate_twobody


def precompile_screening() -> None:
    """Screen two short tabulated orbits that pass 1 km apart: the screening's kernels (Lagrange sampling, pair
    filter) loaded and its collision-probability path imported, as after an application's first screening."""
    from .screening import ScreeningSettings, ScreeningTarget, screen
    from .tabulated import TabulatedEphemeris, TabulatedSegment

    t = np.arange(0.0, 3660.0, 60.0)
    a = propagate_twobody(np.array([3650.0, 0.0, 0.0, 0.0, 3.45, 0.3]), 0.0, t)
    r, v = a[30, :3], a[30, 3:]  # at t = 1800 s; B crosses there 1 km off, 20 degrees apart
    turn = np.cos(0.35) * v + np.sin(0.35) * np.cross(r / np.linalg.norm(r), v)
    b = propagate_twobody(np.concatenate([r + [1.0, 0.0, 0.0], turn]), 1800.0, t)
    targets = [ScreeningTarget(name, TabulatedEphemeris(name, [TabulatedSegment(t, states)]))
               for name, states in (("A", a), ("B", b))]
    screen(targets, t[0], t[-1], ScreeningSettings())


def precompile() -> None:
    """Run one short propagation through each compiled path (a no-op apart from numpy when JIT is off)."""
    state = np.array([[3650.0, 0.0, 0.0, 0.0, 3.45, 0.3]])
    propagate_many(state, 0.0, np.array([0.0, 60.0, 120.0]), ForceModel.full())
    propagate_twobody(state[0], 0.0, np.linspace(0.0, 6000.0, 300))
    precompile_screening()
    from .time import tdb_minus_tt_s

    tdb_minus_tt_s(np.arange(0.0, 6000.0, 60.0))  # the compiled TDB-TT spline of every ephemeris file read


if __name__ == "__main__":
    precompile()
