"""The live scenario: the one source of truth the GUI shows and the CLI screens. Qt-free.

Changes are announced through plain callbacks: ``unsubscribe = scenario.subscribe(callback)``; a callback
receives a ``Change`` (what changed, which object, which attribute). The GUI wraps this in a queued Qt signal;
the CLI and tests use it directly. Callbacks run synchronously on the thread that made the change.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from marsview.core.constants import (
    DEFAULT_ALONG_TRACK_GROWTH_KM_PER_DAY,
    DEFAULT_CROSS_TRACK_SIGMA_KM,
    DEFAULT_RADIAL_SIGMA_KM,
)
from marsview.core.ephemeris import Ephemeris

KINDS = ("spacecraft", "moon", "inactive")


def is_cdm_marker(obj) -> bool:
    """True for an object drawn from a CDM's state at TCA (marsview.io.cdm_conjunction.conjunction_arcs)."""
    return bool(getattr(obj.ephemeris, "cdm_marker", False))

_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")

# Okabe & Ito (2008) colour-blind-safe palette, black dropped (invisible on a dark globe view)
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#BBBBBB")
# Paul Tol's "muted" scheme for scenarios with more objects than Okabe-Ito has colours
TOL_MUTED = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499")


def palette_color(index: int) -> str:
    colors = OKABE_ITO + TOL_MUTED
    return colors[index % len(colors)]


@dataclass(frozen=True)
class Change:
    """What changed: kind in {"object_added", "object_removed", "object_changed", "scenario_changed"}."""

    kind: str
    object_name: str | None = None
    attribute: str | None = None


class _Observable:
    def __init__(self):
        self._callbacks: list[Callable[[Change], None]] = []
        self._cb_lock = threading.Lock()

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call CALLBACK(change) after every change; returns a function that unsubscribes it."""
        with self._cb_lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._cb_lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def _emit(self, change: Change) -> None:
        with self._cb_lock:
            callbacks = list(self._callbacks)
        for cb in callbacks:
            cb(change)


_OBJECT_FIELDS = (
    "name", "kind", "ephemeris", "hbr_m", "color", "threshold_km", "sigma0_km", "sigma_growth_km_per_day",
    "radial_sigma_km", "cross_track_sigma_km", "mass_kg", "drag_area_m2", "drag_coeff", "naif_id",
    "source_files", "visible",
)


class ScenarioObject:
    """One screened body: its ephemeris (Mars-centred EME2000), size, uncertainty model and display settings.

    Setting an attribute validates it and notifies the owning scenario's subscribers.
    """

    def __init__(self, name: str, kind: str, ephemeris: Ephemeris, hbr_m: float, color: str = "#BBBBBB",
                 threshold_km: float | None = None, sigma0_km: float = 0.0,
                 sigma_growth_km_per_day: float = DEFAULT_ALONG_TRACK_GROWTH_KM_PER_DAY,
                 radial_sigma_km: float = DEFAULT_RADIAL_SIGMA_KM,
                 cross_track_sigma_km: float = DEFAULT_CROSS_TRACK_SIGMA_KM, mass_kg: float | None = None,
                 drag_area_m2: float | None = None, drag_coeff: float | None = None, naif_id: int | None = None,
                 source_files: tuple[str, ...] = (), visible: bool = True):
        self._owner: Scenario | None = None
        values = dict(locals())
        for key in _OBJECT_FIELDS:
            object.__setattr__(self, "_" + key, _validate(key, values[key]))

    def __setattr__(self, key, value):
        if key in _OBJECT_FIELDS:
            value = _validate(key, value)
            if key == "name" and self._owner is not None and value != self._name:
                self._owner._rename(self._name, value)
            old_name = self._name
            object.__setattr__(self, "_" + key, value)
            if self._owner is not None:
                self._owner._emit(Change("object_changed", value if key == "name" else old_name, key))
        else:
            object.__setattr__(self, key, value)

    def __getattr__(self, key):
        if key in _OBJECT_FIELDS:
            return object.__getattribute__(self, "_" + key)
        raise AttributeError(key)

    @property
    def hbr_km(self) -> float:
        return self.hbr_m / 1000.0

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in _OBJECT_FIELDS}

    def __repr__(self) -> str:
        return f"ScenarioObject({self.name!r}, kind={self.kind!r}, hbr_m={self.hbr_m})"


def _positive_or_none(key, value, allow_none=True):
    if value is None and allow_none:
        return None
    v = float(value)
    if not v >= 0.0 or v != v or v == float("inf"):
        raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")
    return v


def _validate(key, value):
    if key == "name":
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"name must be a non-empty string, got {value!r}")
        return value.strip()
    if key == "kind":
        if value not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {value!r}")
        return value
    if key == "ephemeris":
        if not isinstance(value, Ephemeris):
            raise ValueError(f"ephemeris must be a marsview Ephemeris, got {type(value).__name__}")
        return value
    if key == "color":
        if not isinstance(value, str) or not _COLOR_RE.match(value):
            raise ValueError(f"color must be '#rrggbb', got {value!r}")
        return value.upper()
    if key in ("hbr_m", "sigma0_km", "sigma_growth_km_per_day", "radial_sigma_km", "cross_track_sigma_km"):
        return _positive_or_none(key, value, allow_none=False)
    if key == "threshold_km":
        v = _positive_or_none(key, value)
        if v is not None and v == 0.0:
            raise ValueError("threshold_km must be > 0")
        return v
    if key in ("mass_kg", "drag_area_m2", "drag_coeff"):
        return _positive_or_none(key, value)
    if key == "naif_id":
        return None if value is None else int(value)
    if key == "source_files":
        return tuple(str(p) for p in value)
    if key == "visible":
        return bool(value)
    raise KeyError(key)  # pragma: no cover


@dataclass
class Scenario(_Observable):
    """A named set of objects, a screening window (TDB s) and threshold, planned maneuvers per object."""

    name: str
    objects: list[ScenarioObject] = field(default_factory=list)
    window_start_tdb_s: float = 0.0
    window_duration_s: float = 7 * 86400.0
    threshold_km: float = 10.0
    maneuvers: dict[str, list] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    path: str | None = None
    description: str = ""
    disclaimer: str = ""  # e.g. "Approximate training scenario ..." for the GUI's about box and reports
    coverage_s: float | None = None  # span built for element/OPM/moon objects (scenario.toml [window])
    # close approaches received as CDM files (marsview.io.cdm_conjunction.CdmConjunction): table rows
    cdm_conjunctions: list = field(default_factory=list)

    def __post_init__(self):
        _Observable.__init__(self)
        self._lock = threading.RLock()
        objs, self.objects = list(self.objects), []
        for obj in objs:
            self._attach(obj)
            self.objects.append(obj)

    # --- objects ---------------------------------------------------------------------------------------
    def _attach(self, obj: ScenarioObject) -> None:
        if any(o.name == obj.name for o in self.objects):
            raise ValueError(f"an object named {obj.name!r} is already in the scenario")
        if obj._owner is not None and obj._owner is not self:
            raise ValueError(f"{obj.name!r} already belongs to another scenario")
        object.__setattr__(obj, "_owner", self)

    def _rename(self, old: str, new: str) -> None:
        if any(o.name == new for o in self.objects):
            raise ValueError(f"an object named {new!r} is already in the scenario")
        if old in self.maneuvers:
            self.maneuvers[new] = self.maneuvers.pop(old)

    def object(self, name: str) -> ScenarioObject:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(f"no object named {name!r} in scenario {self.name!r} "
                       f"(objects: {', '.join(o.name for o in self.objects)})")

    def names(self) -> list[str]:
        return [o.name for o in self.objects]

    def unused_color(self) -> str:
        """The first palette colour no object of the scenario has (cycling once all are taken)."""
        taken = {str(o.color).upper() for o in self.objects if getattr(o, "color", None)}
        count = len(OKABE_ITO) + len(TOL_MUTED)
        return next((palette_color(k) for k in range(count) if palette_color(k).upper() not in taken),
                    palette_color(len(self.objects)))

    def add_object(self, obj: ScenarioObject) -> None:
        with self._lock:
            self._attach(obj)
            self.objects.append(obj)
        self._emit(Change("object_added", obj.name))

    def remove_object(self, name: str) -> ScenarioObject:
        with self._lock:
            obj = self.object(name)
            self.objects.remove(obj)
            self.maneuvers.pop(name, None)
            object.__setattr__(obj, "_owner", None)
        self._emit(Change("object_removed", name))
        return obj

    def replace_ephemeris(self, name: str, ephemeris: Ephemeris) -> None:
        self.object(name).ephemeris = ephemeris

    def set_maneuvers(self, name: str, maneuvers: list) -> None:
        self.object(name)  # raises if unknown
        with self._lock:
            self.maneuvers[name] = list(maneuvers)
        self._emit(Change("object_changed", name, "maneuvers"))

    def set_window(self, start_tdb_s: float | None = None, duration_s: float | None = None,
                   threshold_km: float | None = None) -> None:
        if duration_s is not None and not float(duration_s) > 0:
            raise ValueError(f"window duration must be > 0 s, got {duration_s!r}")
        if threshold_km is not None and not float(threshold_km) > 0:
            raise ValueError(f"threshold_km must be > 0, got {threshold_km!r}")
        with self._lock:
            if start_tdb_s is not None:
                self.window_start_tdb_s = float(start_tdb_s)
            if duration_s is not None:
                self.window_duration_s = float(duration_s)
            if threshold_km is not None:
                self.threshold_km = float(threshold_km)
        self._emit(Change("scenario_changed", None, "window"))

    # --- queries ---------------------------------------------------------------------------------------
    @property
    def window_stop_tdb_s(self) -> float:
        return self.window_start_tdb_s + self.window_duration_s

    def coverage(self) -> tuple[float, float]:
        """The span every screened object covers (TDB s): max of starts, min of stops (CDM markers, a few hours
        around their TCA, do not narrow it). ValueError if they don't overlap."""
        objects = self.screened_objects()
        if not objects:
            raise ValueError(f"scenario {self.name!r} has no objects")
        starts, stops = zip(*(o.ephemeris.coverage for o in objects))
        start, stop = max(starts), min(stops)
        if stop < start:
            raise ValueError(f"the objects of {self.name!r} have no common coverage")
        return float(start), float(stop)

    def full_coverage(self) -> tuple[float, float]:
        """The span any object covers (min of starts, max of stops)."""
        starts, stops = zip(*(o.ephemeris.coverage for o in self.objects))
        return float(min(starts)), float(max(stops))

    def screened_objects(self) -> list[ScenarioObject]:
        """The objects screening takes: all but the markers of CDM states (a CDM's close approach is its own
        table row; screening its two-body arcs against the fleet would list the same encounter again)."""
        return [o for o in self.objects if not is_cdm_marker(o)]

    def coverage_notes(self, start_tdb_s: float, stop_tdb_s: float) -> dict[str, str]:
        """{object name: why it is not (fully) screened over [start, stop]} for objects whose ephemeris does not
        cover the window: "not screened" when it misses it entirely, "screened only over ..." when partly.
        Epochs in the notes are UTC; the note names the object's source file."""
        from marsview.core.time import utc_span

        notes = {}
        for o in self.screened_objects():
            a, b = o.ephemeris.coverage
            source = f" ({', '.join(map(str, o.source_files))})" if getattr(o, "source_files", None) else ""
            if b < start_tdb_s or a > stop_tdb_s:
                notes[o.name] = (f"not screened: its coverage {utc_span(a, b, 0)} misses the screening window "
                                 f"{utc_span(start_tdb_s, stop_tdb_s, 0)}{source}")
            elif a > start_tdb_s + 1e-3 or b < stop_tdb_s - 1e-3:   # epochs written to the microsecond
                notes[o.name] = (f"screened only over {utc_span(max(a, start_tdb_s), min(b, stop_tdb_s), 0)}: its "
                                 f"coverage {utc_span(a, b, 0)} does not span the window{source}")
        return notes

    def find_same_object(self, obj: ScenarioObject) -> ScenarioObject | None:
        """The object of this scenario that is the same spacecraft/moon as OBJ, matched by NAIF ID, then by
        COSPAR ID (OBJECT_ID such as 1996-062A, when both files give one), then by
        name (case, blanks and punctuation ignored: 'Phobos' = 'PHOBOS'), then through the known aliases of the
        default fleet (MGS = MARS GLOBAL SURVEYOR, MRO = MARS RECONNAISSANCE ORBITER ...); None if none."""
        from marsview.io.default_fleet import fleet_naif_id, same_object_key

        def naif_of(o):
            naif = getattr(o, "naif_id", None)
            return int(naif) if naif is not None else fleet_naif_id(o.name)

        naif = naif_of(obj)
        if naif is not None:
            for o in self.objects:
                if naif_of(o) == naif:
                    return o
        cospar = getattr(obj, "cospar_id", None)
        if cospar:
            for o in self.objects:
                if getattr(o, "cospar_id", None) == cospar:
                    return o
        key = same_object_key(obj.name)
        for o in self.objects:
            if same_object_key(o.name) == key:
                return o
        return None

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, {len(self.objects)} objects)"


def screening_targets(objects, names=None) -> list:
    """core ScreeningTargets for scenario OBJECTS (NAMES: the name each target gets; default their own): the one
    scenario -> screening mapping (GUI, ``marsview screen``, delivery trends). ``source`` is the object's source
    files ("a.oem, b.oem"; empty for an object built from elements or a moon model), as ``marsview screen``
    reports a skipped object."""
    from marsview.core.screening import ScreeningTarget

    names = names or [o.name for o in objects]
    return [ScreeningTarget(
        name=n, ephemeris=o.ephemeris, hbr_km=float(o.hbr_m) / 1000.0, threshold_km=o.threshold_km,
        sigma0_km=o.sigma0_km, sigma_growth_km_per_day=o.sigma_growth_km_per_day,
        radial_sigma_km=o.radial_sigma_km, cross_track_sigma_km=o.cross_track_sigma_km,
        source=", ".join(getattr(o, "source_files", ()) or ())) for n, o in zip(names, objects)]
