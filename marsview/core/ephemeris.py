"""The one ephemeris interface every source implements (tabulated files, propagated orbits, moons).

An ephemeris gives Mars-centred states in a stated inertial frame (EME2000 unless it says otherwise),
km and km/s, at TDB seconds past J2000, vectorized over epochs, and refuses to extrapolate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class CoverageError(ValueError):
    """An epoch outside an ephemeris' coverage was asked for."""


class Ephemeris(ABC):
    name: str
    frame: str = "EME2000"

    @property
    @abstractmethod
    def coverage(self) -> tuple[float, float]:
        """(start_tdb_s, stop_tdb_s), inclusive."""

    @abstractmethod
    def _state(self, tdb_s: np.ndarray) -> np.ndarray:
        """(N,6) states for epochs already checked to lie inside the coverage."""

    def state(self, tdb_s) -> np.ndarray:
        """(N,6) Mars-centred states [km, km/s] in ``self.frame`` at TDB epochs (seconds past J2000)."""
        t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
        start, stop = self.coverage
        outside = (t < start) | (t > stop) | ~np.isfinite(t)
        if np.any(outside):
            bad = t[outside][0]
            from .time import utc_label, utc_span

            raise CoverageError(f"{self.name}: epoch {utc_label(bad)} is outside coverage {utc_span(start, stop)}")
        return self._state(t)

    def segment_boundaries(self) -> np.ndarray:
        """TDB epochs where the trajectory may be discontinuous (segment joins, maneuvers)."""
        return np.empty(0)

    def source_at(self, tdb_s: float) -> str:
        """Which file/segment supplies the state at an epoch (for reports)."""
        return getattr(self, "source", self.name)

    def covers(self, tdb_s) -> np.ndarray:
        t = np.asarray(tdb_s, dtype=np.float64)
        start, stop = self.coverage
        return (t >= start) & (t <= stop)
