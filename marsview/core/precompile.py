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
    """Screen two short tabulated orbits: the screening's kernels (Lagrange sampling, pair filter) loaded."""
    from .screening import ScreeningSettings, ScreeningTarget, screen
    from .tabulated import TabulatedEphemeris, TabulatedSegment

    t = np.arange(0.0, 3600.0, 60.0)
    state = np.array([[3650.0, 0.0, 0.0, 0.0, 3.45, 0.3]])
    targets = []
    for k, name in enumerate(("A", "B")):
        states = propagate_twobody(state[0] * (1.0 + 0.01 * k), 0.0, t)
        targets.append(ScreeningTarget(name, TabulatedEphemeris(name, [TabulatedSegment(t, states)])))
    screen(targets, t[0], t[-1], ScreeningSettings(compute_pc=False))


def precompile() -> None:
    """Run one short propagation through each compiled path (a no-op apart from numpy when JIT is off)."""
    state = np.array([[3650.0, 0.0, 0.0, 0.0, 3.45, 0.3]])
    propagate_many(state, 0.0, np.array([0.0, 60.0, 120.0]), ForceModel.full())
    propagate_twobody(state[0], 0.0, np.linspace(0.0, 6000.0, 300))
    precompile_screening()


if __name__ == "__main__":
    precompile()
