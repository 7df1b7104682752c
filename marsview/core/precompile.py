"""``python -m marsview.core.precompile``: compile (or load from numba's cache) every kernel of core.kernels
now, e.g. after installing or in a packaging step, so the first propagation does not pay numba's ~10-20 s
compile on a cold cache. It runs the real entry points (``propagate_many``, ``propagate_twobody``) rather than
the kernels directly, so the cached signatures are exactly the ones propagation uses."""

from __future__ import annotations

import numpy as np

from .dynamics import ForceModel, propagate_many
from .twobody import propagate_twobody


def precompile() -> None:
    """Run one short propagation through each compiled path (a no-op apart from numpy when JIT is off)."""
    state = np.array([[3650.0, 0.0, 0.0, 0.0, 3.45, 0.3]])
    propagate_many(state, 0.0, np.array([0.0, 60.0, 120.0]), ForceModel.full())
    propagate_twobody(state[0], 0.0, np.linspace(0.0, 6000.0, 300))


if __name__ == "__main__":
    precompile()
