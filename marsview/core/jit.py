"""The switch between compiled (numba) and numpy propagation: numba-free, so any module may ask it.

The compiled kernels live in ``core.kernels`` (the one core module that imports numba); the numpy/scipy
references they repeat stay in their home modules (``core.dynamics``, ``core.twobody``). One switch for all
of them: ``MARSVIEW_NO_JIT=1`` (any value but empty or 0) selects the numpy path everywhere, as does a
missing or broken numba.
"""

from __future__ import annotations

import os
import sys

NO_JIT_ENV = "MARSVIEW_NO_JIT"


def jit_enabled() -> bool:
    """Whether propagation runs the compiled kernels of core.kernels (numba). MARSVIEW_NO_JIT=1 turns them
    off (the numpy right-hand side under scipy's solve_ivp: the same steps, ~30x slower)."""
    global _kernels_imported
    if os.environ.get(NO_JIT_ENV, "").strip() not in ("", "0"):
        return False
    if not _kernels_imported:  # asked per ephemeris sample: the import statement alone cost ~10 us a call
        try:
            from . import kernels  # noqa: F401  (numba is imported here, on first use, not with marsview.core)
        except ImportError:
            return False
        _kernels_imported = True
    return True


_kernels_imported = False


def kernels_loaded() -> bool:
    """``jit_enabled()`` where core.kernels is imported already: for code that gains too little from a kernel to
    pay numba's import for it (converting the epochs of a small file)."""
    return "marsview.core.kernels" in sys.modules and jit_enabled()
