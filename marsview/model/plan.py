"""The maneuver plan: burns per spacecraft, with Qt-free change callbacks and a TOML form for the scenario.

A burn is an impulse (epoch, dv in RTN or VNB, m/s) or a finite burn (start, duration, thrust + Isp + mass or a
constant acceleration, direction in RTN/VNB). Epochs are TDB seconds past J2000; the TOML form stores the float
itself (so a save/load round trip is bit-exact) and a UTC string for the human reader.

Where the plan is stored: in the scenario itself. ``Scenario.maneuvers`` (io.scenario's ``[[maneuvers]]``
tables of scenario.toml) holds core burn objects; ``plan_from_scenario``/``apply_to_scenario`` convert, and
io.scenario.save_scenario writes them atomically. The plan's own TOML form (``save_plan``/``load_plan``: epochs
as TDB floats, bit-exact) is used for the autosave copy (``autosave_path``) that keeps an unsaved plan when
the app is closed, and can hold a plan on its own (``plan.toml``).
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import tomli_w

from marsview.core.maneuvers import FiniteBurn, ImpulsiveBurn, propellant_kg  # noqa: F401 (re-exported)
from marsview.core.time import tdb_s_to_utc
from marsview.io.atomic import atomic_write_text

PLAN_FILE = "plan.toml"
LOCAL_FRAMES = ("RTN", "VNB")


@dataclass(frozen=True)
class PlannedBurn:
    """One burn of a plan. ``dv_mps`` for an impulse; for a finite burn (``duration_s`` > 0, starting at
    ``epoch_tdb_s``) the thrust direction is ``dv_mps`` normalised and what it delivers comes from
    ``accel_mps2`` or ``thrust_n``/``isp_s``/``mass_kg`` (by convention ``dv_mps`` is that delivered dv)."""

    epoch_tdb_s: float
    dv_mps: tuple[float, float, float]
    frame: str = "RTN"
    duration_s: float = 0.0
    thrust_n: float | None = None
    isp_s: float | None = None
    mass_kg: float | None = None
    accel_mps2: float | None = None
    label: str = ""

    def __post_init__(self):
        dv = tuple(float(x) for x in self.dv_mps)
        if len(dv) != 3 or not all(math.isfinite(x) for x in dv):
            raise ValueError(f"burn dv_mps must be 3 finite numbers, got {self.dv_mps!r}")
        object.__setattr__(self, "dv_mps", dv)
        if self.frame.upper() not in LOCAL_FRAMES:
            raise ValueError(f"burn frame must be RTN or VNB, got {self.frame!r}")
        object.__setattr__(self, "frame", self.frame.upper())
        if not math.isfinite(self.epoch_tdb_s):
            raise ValueError("burn epoch must be finite")
        if self.duration_s < 0:
            raise ValueError("burn duration_s must be >= 0")
        if self.is_finite:
            self.to_core()  # the core checks thrust/Isp/mass or acceleration and the direction

    @classmethod
    def from_core(cls, burn) -> "PlannedBurn":
        """From a core.maneuvers ImpulsiveBurn or FiniteBurn (e.g. a scenario's [[maneuvers]])."""
        if isinstance(burn, ImpulsiveBurn):
            return cls(burn.epoch_tdb_s, burn.dv_mps, burn.frame, label=burn.name)
        dv = tuple(x * burn.total_dv_mps for x in burn.direction)  # direction scaled to the dv it delivers
        return cls(burn.start_tdb_s, dv, burn.frame, duration_s=burn.duration_s,
                   thrust_n=burn.thrust_n, isp_s=burn.isp_s, mass_kg=burn.mass_kg, accel_mps2=burn.accel_mps2,
                   label=burn.name)

    @property
    def is_finite(self) -> bool:
        return self.duration_s > 0.0

    @property
    def dv_magnitude_mps(self) -> float:
        """Total dv: |dv| for an impulse; a*duration (constant acceleration) or Isp*g0*ln(m0/m1) for thrust."""
        if not self.is_finite:
            return math.sqrt(sum(x * x for x in self.dv_mps))
        return self.to_core().total_dv_mps

    def to_core(self):
        """The core dynamics' burn object (marsview.core.maneuvers.ImpulsiveBurn or FiniteBurn)."""
        if not self.is_finite:
            return ImpulsiveBurn(self.epoch_tdb_s, self.dv_mps, frame=self.frame, name=self.label)
        norm = math.sqrt(sum(x * x for x in self.dv_mps))
        if norm == 0.0:
            raise ValueError("a finite burn needs a non-zero direction")
        direction = tuple(x / norm for x in self.dv_mps)
        if self.accel_mps2 is not None:
            return FiniteBurn(self.epoch_tdb_s, self.duration_s, accel_mps2=self.accel_mps2,
                              direction=direction, frame=self.frame, name=self.label)
        if self.isp_s is None:
            raise ValueError("a thrust-driven finite burn needs isp_s")
        return FiniteBurn(self.epoch_tdb_s, self.duration_s, thrust_n=self.thrust_n, isp_s=self.isp_s,
                          mass_kg=self.mass_kg, direction=direction, frame=self.frame, name=self.label)


@dataclass
class ManeuverPlan:
    """Burns per spacecraft name (each list sorted by epoch) and which spacecraft is being planned.

    Listeners: ``subscribe(callback)``; callback(plan, spacecraft_name) after every change. ``dirty`` is True
    after a change until ``mark_saved``."""

    burns: dict[str, list[PlannedBurn]] = field(default_factory=dict)
    isp_s: float = 220.0  # typical monopropellant hydrazine thruster; the panel lets the user change it
    dirty: bool = False
    _listeners: list[Callable] = field(default_factory=list, repr=False, compare=False)

    def subscribe(self, callback: Callable) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _changed(self, name: str) -> None:
        self.dirty = True
        for cb in list(self._listeners):
            cb(self, name)

    def burns_for(self, name: str) -> list[PlannedBurn]:
        return list(self.burns.get(name, ()))

    def set_burns(self, name: str, burns) -> None:
        burns = sorted(burns, key=lambda b: b.epoch_tdb_s)
        if burns:
            if burns == self.burns.get(name):
                return
            self.burns[name] = burns
        elif name in self.burns:
            del self.burns[name]
        else:
            return
        self._changed(name)

    def add_burn(self, name: str, burn: PlannedBurn) -> None:
        self.set_burns(name, self.burns_for(name) + [burn])

    def replace_burn(self, name: str, index: int, burn: PlannedBurn) -> None:
        burns = self.burns_for(name)
        burns[index] = burn
        self.set_burns(name, burns)

    def clear(self, name: str | None = None) -> None:
        for n in [name] if name else list(self.burns):
            self.set_burns(n, [])

    def total_dv_mps(self, name: str) -> float:
        return sum(b.dv_magnitude_mps for b in self.burns.get(name, ()))

    def mark_saved(self) -> None:
        self.dirty = False

    def core_burns(self, name: str) -> list:
        """The spacecraft's burns as core.maneuvers objects (for core.planning / core.dynamics)."""
        return [b.to_core() for b in self.burns.get(name, ())]

    def copy(self) -> "ManeuverPlan":
        return ManeuverPlan(burns={k: list(v) for k, v in self.burns.items()}, isp_s=self.isp_s)


def plan_from_scenario(scenario) -> ManeuverPlan:
    """The plan held in SCENARIO.maneuvers (core burns per object name)."""
    plan = ManeuverPlan()
    for name, burns in (getattr(scenario, "maneuvers", None) or {}).items():
        if burns:
            plan.burns[name] = sorted((PlannedBurn.from_core(b) for b in burns), key=lambda b: b.epoch_tdb_s)
    return plan


def apply_to_scenario(plan: ManeuverPlan, scenario) -> None:
    """Put the plan into SCENARIO.maneuvers (objects the scenario does not have are skipped)."""
    names = set(scenario.names())
    for name in sorted((set(plan.burns) | set(scenario.maneuvers)) & names):
        core = plan.core_burns(name)
        if core != list(scenario.maneuvers.get(name, [])):
            scenario.set_maneuvers(name, core)


# --- TOML form -------------------------------------------------------------------------------------------------

def _burn_to_dict(b: PlannedBurn) -> dict:
    d = {"epoch_tdb_s": float(b.epoch_tdb_s), "epoch_utc": tdb_s_to_utc(b.epoch_tdb_s, digits=6),
         "frame": b.frame, "dv_mps": list(b.dv_mps)}
    for key in ("duration_s", "thrust_n", "isp_s", "mass_kg", "accel_mps2"):
        value = getattr(b, key)
        if value:
            d[key] = float(value)
    if b.label:
        d["label"] = b.label
    return d


def plan_to_toml_table(plan: ManeuverPlan) -> dict:
    """{"isp_s": ..., "<spacecraft>": [burn dicts]} — the scenario's [maneuvers] table."""
    table: dict = {"isp_s": float(plan.isp_s)}
    for name, burns in sorted(plan.burns.items()):
        table[name] = [_burn_to_dict(b) for b in burns]
    return table


def plan_from_toml_table(table: dict, source: str = "<maneuvers>") -> ManeuverPlan:
    """Inverse of ``plan_to_toml_table``; errors name SOURCE, the spacecraft and the burn index."""
    plan = ManeuverPlan()
    for name, value in table.items():
        if name == "isp_s":
            plan.isp_s = float(value)
            continue
        if not isinstance(value, list):
            raise ValueError(f"{source}: maneuvers.{name}: expected a list of burns")
        burns = []
        for i, d in enumerate(value):
            try:
                burns.append(PlannedBurn(
                    epoch_tdb_s=float(d["epoch_tdb_s"]), dv_mps=tuple(d["dv_mps"]), frame=d.get("frame", "RTN"),
                    duration_s=float(d.get("duration_s", 0.0)), thrust_n=d.get("thrust_n"),
                    isp_s=d.get("isp_s"), mass_kg=d.get("mass_kg"), accel_mps2=d.get("accel_mps2"),
                    label=d.get("label", "")))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{source}: maneuvers.{name}[{i}]: {exc}") from exc
        plan.burns[name] = sorted(burns, key=lambda b: b.epoch_tdb_s)
    return plan


def save_plan(plan: ManeuverPlan, path, mark_saved: bool = True) -> Path:
    """Write the plan as TOML (atomic). PATH is a file, or a scenario folder (-> folder/plan.toml)."""
    path = Path(path)
    if path.is_dir():
        path = path / PLAN_FILE
    text = "# marsview maneuver plan; epochs are TDB seconds past J2000 (epoch_utc is for reading only)\n"
    text += tomli_w.dumps({"maneuvers": plan_to_toml_table(plan)})
    atomic_write_text(path, text)
    if mark_saved:
        plan.mark_saved()
    return path


def load_plan(path) -> ManeuverPlan:
    """Read a plan written by ``save_plan``; a folder without plan.toml gives an empty plan."""
    path = Path(path)
    if path.is_dir():
        path = path / PLAN_FILE
        if not path.exists():
            return ManeuverPlan()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return plan_from_toml_table(data.get("maneuvers", {}), source=str(path))


def autosave_path(scenario_path=None, key: str | None = None) -> Path:
    """Where an unsaved plan is kept when the app closes: beside the scenario when it is a writable folder,
    else in the user's state folder ($XDG_STATE_HOME/marsview or ~/.local/state/marsview), one file per
    ``scenario_key`` there (plans of different data never share a file)."""
    if scenario_path:
        folder = Path(scenario_path)
        folder = folder if folder.is_dir() else folder.parent
        if os.access(folder, os.W_OK):
            return folder / ".plan.autosave.toml"
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "marsview"
    base.mkdir(parents=True, exist_ok=True)
    return base / (f"plan.autosave.{key[:16]}.toml" if key else "plan.autosave.toml")


def scenario_key(scenario) -> str:
    """What an autosaved plan was made on: the scenario (its folder, else its name), and each object's name,
    source files and coverage. An autosave is applied only to data with the same key."""
    import hashlib

    h = hashlib.sha256()
    path = getattr(scenario, "path", None)
    h.update(str(Path(path).resolve() if path else getattr(scenario, "name", "")).encode())
    for o in sorted(scenario.objects, key=lambda o: o.name):
        h.update(b"\0" + o.name.encode())
        for f in sorted(getattr(o, "source_files", ()) or ()):
            h.update(b"\1" + str(Path(f).resolve()).encode())
        try:
            a, b = o.ephemeris.coverage
            h.update(f"\2{a:.3f},{b:.3f}".encode())
        except (AttributeError, TypeError, ValueError):
            pass
    return h.hexdigest()


def save_autosave(plan: ManeuverPlan, path, scenario) -> Path:
    """``save_plan`` plus what the plan was made on ([autosave] key, scenario name, objects): see
    ``read_autosave``. The plan stays dirty (it is not saved in the scenario)."""
    path = Path(path)
    text = ("# marsview: an unsaved maneuver plan, kept when the app closed; epochs are TDB seconds past J2000\n"
            + tomli_w.dumps({"autosave": {"key": scenario_key(scenario), "scenario": str(scenario.name),
                                          "objects": sorted(o.name for o in scenario.objects)},
                             "maneuvers": plan_to_toml_table(plan)}))
    atomic_write_text(path, text)
    return path


def read_autosave(path, scenario) -> ManeuverPlan | None:
    """The autosaved plan at PATH if it was made on SCENARIO's data (same ``scenario_key`` and every planned
    spacecraft present), else None: a plan is never applied to different data."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    meta = data.get("autosave")
    if not isinstance(meta, dict) or meta.get("key") != scenario_key(scenario):
        return None
    plan = plan_from_toml_table(data.get("maneuvers", {}), source=str(path))
    if not plan.burns or not set(plan.burns) <= set(scenario.names()):
        return None
    return plan


def with_dv(burn: PlannedBurn, dv_mps) -> PlannedBurn:
    return replace(burn, dv_mps=tuple(float(x) for x in dv_mps))
