"""Maneuvers: impulsive burns and finite (constant-thrust) burns, steered in a local orbital frame.

- ``ImpulsiveBurn``: a velocity change dv [m/s] at one TDB epoch, components in RTN (radial, transverse,
  normal, CCSDS CDM convention) or VNB (velocity, orbit normal, binormal) of the state just before it.
- ``FiniteBurn``: constant thrust (thrust_n, isp_s, mass_kg: acceleration grows as propellant burns, mass
  flow = thrust / (Isp g0)) or a constant acceleration (accel_mps2), along a direction held fixed in the
  local RTN/VNB frame (so it turns with the orbit), integrated as an extra acceleration by core.dynamics.

When impulsive is wrong: an impulse at the burn midpoint misplaces the dv along the arc the real burn
spans, an error that grows with the burn arc measured in orbit angle. Measured by
tests/core/test_maneuvers.py on MRO (112 min orbit), 1 m/s along-track steered in RTN, against an impulse
of the same dv at the burn midpoint, two-body:
- 60 s burn (0.9 % of the orbit): 0.3 m apart one orbit later, 1.3 m after 7 days;
- 20 min burn (18 % of the orbit): 145 m one orbit later, 400 m after 7 days (the semi-major axis
  differs by 0.6 m, which drifts ~6 m per orbit), against the ~1800 km the burn itself moves MRO in a week.
Rule of thumb: impulsive is fine for burns under ~2 % of the period (a couple of minutes at MRO, ODY,
TGO); beyond ~5 % use a FiniteBurn whenever the next encounter needs metres or better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .frames import local_to_inertial

G0_MPS2 = 9.80665
LOCAL_FRAMES = ("RTN", "VNB")


def _check_frame(frame: str) -> str:
    name = str(frame).strip().upper()
    if name in ("RIC", "RSW"):
        name = "RTN"
    if name not in LOCAL_FRAMES:
        raise ValueError(f"maneuver frame {frame!r} is not RTN or VNB")
    return name


def _vec3(values, what: str) -> tuple[float, float, float]:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be 3 finite numbers, got {values!r}")
    return (float(arr[0]), float(arr[1]), float(arr[2]))


@dataclass(frozen=True)
class ImpulsiveBurn:
    """A velocity change dv_mps [m/s] (local-frame components) at epoch_tdb_s (TDB s past J2000)."""

    epoch_tdb_s: float
    dv_mps: tuple[float, float, float]
    frame: str = "RTN"
    name: str = ""

    def __post_init__(self):
        object.__setattr__(self, "epoch_tdb_s", float(self.epoch_tdb_s))
        object.__setattr__(self, "dv_mps", _vec3(self.dv_mps, "dv_mps"))
        object.__setattr__(self, "frame", _check_frame(self.frame))
        if not math.isfinite(self.epoch_tdb_s):
            raise ValueError("burn epoch must be finite")

    @property
    def total_dv_mps(self) -> float:
        return float(np.linalg.norm(self.dv_mps))

    @property
    def boundaries_tdb_s(self) -> tuple[float, ...]:
        return (self.epoch_tdb_s,)

    @property
    def start_tdb_s(self) -> float:
        return self.epoch_tdb_s

    def dv_inertial_kms(self, state) -> np.ndarray:
        """(N,3) dv in the inertial frame of ``state`` [km/s]."""
        return local_to_inertial(state, np.asarray(self.dv_mps) / 1000.0, self.frame)


@dataclass(frozen=True)
class FiniteBurn:
    """Constant thrust along a local-frame direction from start_tdb_s for duration_s.

    Give either ``accel_mps2`` (constant acceleration) or ``thrust_n`` + ``isp_s`` + ``mass_kg`` (mass at
    ignition; acceleration thrust/m(t) with m(t) = mass_kg - thrust/(isp g0) (t - start))."""

    start_tdb_s: float
    duration_s: float
    direction: tuple[float, float, float] = (0.0, 1.0, 0.0)
    frame: str = "RTN"
    accel_mps2: float | None = None
    thrust_n: float | None = None
    isp_s: float | None = None
    mass_kg: float | None = None
    name: str = field(default="")

    def __post_init__(self):
        object.__setattr__(self, "start_tdb_s", float(self.start_tdb_s))
        object.__setattr__(self, "duration_s", float(self.duration_s))
        object.__setattr__(self, "frame", _check_frame(self.frame))
        d = np.asarray(_vec3(self.direction, "direction"))
        norm = np.linalg.norm(d)
        if norm == 0.0:
            raise ValueError("finite burn direction is the zero vector")
        object.__setattr__(self, "direction", tuple(float(x) for x in d / norm))
        if not (math.isfinite(self.duration_s) and self.duration_s > 0.0):
            raise ValueError(f"finite burn duration must be > 0 s, got {self.duration_s}")
        if self.accel_mps2 is not None:
            if self.thrust_n is not None:
                raise ValueError("give accel_mps2 or thrust_n/isp_s/mass_kg, not both")
            if not (math.isfinite(self.accel_mps2) and self.accel_mps2 >= 0.0):
                raise ValueError(f"accel_mps2 must be >= 0, got {self.accel_mps2}")
        else:
            for key in ("thrust_n", "isp_s", "mass_kg"):
                value = getattr(self, key)
                if value is None or not (math.isfinite(value) and value > 0.0):
                    raise ValueError(f"finite burn needs accel_mps2 or positive {key} (got {value!r})")
            if self.final_mass_kg <= 0.0:
                raise ValueError("finite burn consumes more than the spacecraft mass")

    @property
    def stop_tdb_s(self) -> float:
        return self.start_tdb_s + self.duration_s

    @property
    def boundaries_tdb_s(self) -> tuple[float, ...]:
        return (self.start_tdb_s, self.stop_tdb_s)

    @property
    def mass_flow_kgps(self) -> float:
        if self.accel_mps2 is not None:
            return 0.0
        return self.thrust_n / (self.isp_s * G0_MPS2)

    @property
    def final_mass_kg(self) -> float | None:
        if self.mass_kg is None:
            return None
        return self.mass_kg - self.mass_flow_kgps * self.duration_s

    @property
    def total_dv_mps(self) -> float:
        if self.accel_mps2 is not None:
            return self.accel_mps2 * self.duration_s
        return self.isp_s * G0_MPS2 * math.log(self.mass_kg / self.final_mass_kg)

    def accel_mps2_at(self, tdb_s) -> np.ndarray:
        """Acceleration magnitude [m/s^2] at epochs inside the burn (no check of the interval)."""
        t = np.asarray(tdb_s, dtype=np.float64)
        if self.accel_mps2 is not None:
            return np.full_like(t, self.accel_mps2)
        mass = self.mass_kg - self.mass_flow_kgps * (t - self.start_tdb_s)
        return self.thrust_n / mass

    def accel_inertial_kms2(self, tdb_s: float, states) -> np.ndarray:
        """(M,3) thrust acceleration [km/s^2] in the inertial frame of ``states`` (M,6) at one epoch."""
        mag_kms2 = float(self.accel_mps2_at(tdb_s)) / 1000.0
        return local_to_inertial(states, np.asarray(self.direction) * mag_kms2, self.frame)


Maneuver = ImpulsiveBurn | FiniteBurn


def apply_impulse(state, burn: ImpulsiveBurn) -> np.ndarray:
    """State(s) (6,) or (N,6) [km, km/s] just after ``burn``; a zero burn returns an identical copy."""
    s = np.asarray(state, dtype=np.float64)
    out = np.array(s, dtype=np.float64, copy=True)
    if not any(burn.dv_mps):
        return out
    flat = np.atleast_2d(out)
    flat[:, 3:6] += burn.dv_inertial_kms(flat)
    return flat.reshape(s.shape)


def propellant_kg(dv_mps: float, mass_kg: float, isp_s: float) -> float:
    """Propellant used for dv_mps by a spacecraft of initial mass mass_kg (rocket equation)."""
    return mass_kg * (1.0 - math.exp(-abs(dv_mps) / (isp_s * G0_MPS2)))


def sort_maneuvers(maneuvers) -> list:
    """Maneuvers sorted by start epoch; overlapping finite burns are refused (ambiguous thrust)."""
    items = sorted(maneuvers, key=lambda m: m.start_tdb_s)
    finite = [m for m in items if isinstance(m, FiniteBurn)]
    for a, b in zip(finite, finite[1:]):
        if b.start_tdb_s < a.stop_tdb_s:
            from .time import utc_label

            raise ValueError(f"finite burns overlap: {utc_label(a.start_tdb_s)} + {a.duration_s} s and "
                             f"{utc_label(b.start_tdb_s)}")
    for m in items:
        if not isinstance(m, (ImpulsiveBurn, FiniteBurn)):
            raise TypeError(f"not a maneuver: {m!r}")
    return items
