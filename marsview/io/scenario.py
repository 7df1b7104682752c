"""Scenario files: a folder with ``scenario.toml`` and the ephemeris files it names, or a bare folder / list of
OEM, OPM and SPK files. Loading is all-or-nothing: every file is parsed and every orbit built before the
``Scenario`` (marsview.model.scenario) is returned; any problem raises ParseError ``file:line: key: why``.
This module holds the file's form (keys, the TOML reader with line numbers, the typed key getter) and the save entry
point; building a Scenario from it is marsview.model.loading (``load_scenario``), saving is marsview.io.scenario_toml.

scenario.toml (all epochs UTC, CCSDS form; durations like "7d", "36h"; see resources/default_scenario)::

    name = "..."; description = "..."; disclaimer = "..."
    [window]   start_utc, duration ("7d"), threshold_km (10), coverage ("14d": span built for element/OPM/moon
               objects, from start_utc)
    [[objects]] name, kind (spacecraft|moon|inactive), hbr_m, color "#rrggbb", threshold_km, sigma0_km,
               sigma_growth_km_per_day, radial_sigma_km, cross_track_sigma_km, mass_kg, drag_area_m2,
               drag_coeff, naif_id, visible
      [objects.orbit] source = "elements": epoch_utc, frame (MCI|EME2000), periapsis_alt_km + apoapsis_alt_km
                                or a_km + e, inc_deg, raan_deg, argp_deg, true_anomaly_deg, force_model (j2)
                      source = "file": path (OEM or SPK, relative to the folder), object (name in the file)
                      source = "opm": path, force_model
                      source = "moon": body (Phobos|Deimos)
    [[maneuvers]] object, epoch_utc, dv_mps [R,T,N], frame (RTN|VNB)   -- impulsive
                  object, start_utc, duration_s, direction, frame, accel_mps2 | thrust_n+isp_s+mass_kg -- finite

Object ephemerides are the nominal (unmaneuvered) trajectories; ``Scenario.maneuvers`` holds the planned
burns (core.maneuvers objects) that the planner applies on top.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from pathlib import Path

import numpy as np

from marsview.core.time import parse_duration_s, utc_to_tdb_s
from marsview.io.errors import ParseError
from marsview.io.formats import file_extensions

SCENARIO_FILE = "scenario.toml"
FILE_EXTENSIONS = file_extensions()   # what a bare folder is scanned for (every registered format)
DEFAULT_HBR_M = 5.0
OBJECT_KEYS = {"name", "kind", "hbr_m", "color", "threshold_km", "sigma0_km", "sigma_growth_km_per_day",
                "radial_sigma_km", "cross_track_sigma_km", "mass_kg", "drag_area_m2", "drag_coeff", "naif_id",
                "visible", "orbit", "notes"}
TOP_KEYS = {"format", "name", "description", "disclaimer", "window", "objects", "maneuvers"}


def default_scenario_path() -> Path:
    """The built-in April 2024 Mars fleet scenario folder."""
    from marsview.resources import resource_path

    return resource_path("default_scenario")


# --- locating keys in the TOML text (tomllib gives no line numbers for values) ------------------------

_AOT = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\-]+)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


class ScenarioDoc:
    """Line numbers of the tables and keys of a scenario.toml (tomllib gives none), for ``file:line: key:``
    errors."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.keys: dict[tuple, int] = {}
        self.tables: dict[tuple, int] = {(): 1}
        counters: dict[str, int] = {}
        current: tuple = ()
        for n, line in enumerate(text.splitlines(), 1):
            if m := _AOT.match(line):
                name = m.group(1)
                counters[name] = counters.get(name, -1) + 1
                current = (name, counters[name])
                self.tables[current] = n
            elif m := _TABLE.match(line):
                parts = m.group(1).split(".")
                if parts[0] in counters and len(parts) > 1:
                    current = (parts[0], counters[parts[0]], *parts[1:])
                else:
                    current = tuple(parts)
                self.tables[current] = n
            elif m := _KEY.match(line):
                self.keys.setdefault((current, m.group(1)), n)

    def line(self, table: tuple, key: str | None) -> int:
        t = tuple(table)
        while True:
            if key is not None and (t, key) in self.keys:
                return self.keys[(t, key)]
            if t in self.tables and key is None:
                return self.tables[t]
            if not t:
                return 1
            key = t[-1] if isinstance(t[-1], str) else None
            t = t[:-1]

    def error(self, table: tuple, key: str | None, message: str) -> ParseError:
        return ParseError(self.path, self.line(table, key), key or ".".join(map(str, table)) or "scenario", message)


def table_name(table: tuple) -> str:
    return ".".join(str(p) for p in table if isinstance(p, str)) or "top level"


def get_value(doc: ScenarioDoc, table: tuple, data: dict, key: str, kind, default=None, required=False):
    """DATA[KEY] checked as KIND (float, int, str, "epoch" -> TDB s, "duration" -> s, "vec3"), or DEFAULT;
    a ParseError naming the key's line when it is missing (REQUIRED) or of the wrong kind."""
    if key not in data:
        if required:
            raise ParseError(doc.path, doc.line(table, None), key, f"missing mandatory key in [{table_name(table)}]")
        return default
    value = data[key]
    try:
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError
            value = float(value)
            if not np.isfinite(value):
                raise ValueError
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError
        elif kind is str and not isinstance(value, str):
            raise TypeError
        elif kind == "epoch":
            if isinstance(value, (datetime.datetime, datetime.date)):  # an unquoted TOML date-time
                value = value.isoformat()
            value = utc_to_tdb_s(str(value))
        elif kind == "duration":
            value = float(value) if isinstance(value, (int, float)) else parse_duration_s(str(value))
        elif kind == "vec3":
            arr = np.asarray(value, dtype=float)
            if arr.shape != (3,) or not np.all(np.isfinite(arr)):
                raise ValueError
            value = tuple(arr.tolist())
    except (TypeError, ValueError) as exc:
        what = {float: "a number", int: "an integer", str: "a string", "epoch": "a UTC epoch "
                "(YYYY-MM-DDThh:mm:ss)", "duration": "a duration (7d, 36h, 90m, 600s)",
                "vec3": "three numbers"}.get(kind, str(kind))
        detail = f" ({exc})" if str(exc) else ""
        raise doc.error(table, key, f"must be {what}, got {value!r}{detail}") from None
    return value


def read_scenario_toml(path: Path) -> tuple[ScenarioDoc, dict]:
    """The parsed TOML of a scenario.toml and its line index; ParseError ``file:line: toml: why`` when it is not
    readable TOML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(path, 0, "file", f"cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ParseError(path, int(m.group(1)) if m else 0, "toml", str(exc)) from None
    except RecursionError:
        raise ParseError(path, 0, "toml", "nested too deeply to be a scenario") from None
    return ScenarioDoc(path, text), data


# --- entry points ----------------------------------------------------------------------------------

def load_scenario(paths=None, use_cache: bool = True, allow_outside_paths: bool = False):
    """Kept importable here for tools written against the first public API (``marsview.io.scenario.load_scenario``);
    the loader is marsview.model.loading.load_scenario (it builds model objects, so it lives in model). Known
    layer exception: a function-local import, so importing io never imports model."""
    from marsview.model.loading import load_scenario as load

    return load(paths, use_cache, allow_outside_paths)


def save_scenario(scenario, folder) -> Path:
    """Atomic save of SCENARIO into FOLDER (see marsview.io.scenario_toml.save_scenario)."""
    from marsview.io.scenario_toml import save_scenario as save

    return save(scenario, folder)
