"""scenario.toml, the file (its form is described in marsview/io/scenario.py): reading it with line numbers
(``read_scenario_toml``, ``ScenarioDoc``, the typed key getter ``get_value``), writing it (``save_scenario``,
atomic) and the housekeeping of a scenario folder (versioned data folders, stale temporaries, file hashes).
Building a Scenario from it is marsview.model.loading."""

from __future__ import annotations

import datetime
import os
import re
import tomllib
from pathlib import Path

import numpy as np

from marsview.core.time import format_epoch, parse_duration_s, utc_to_tdb_s
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


def read_toml_file(path: Path, what: str) -> tuple[str, dict]:
    """(text, data) of a TOML file marsview reads (WHAT, e.g. "a scenario", names it in messages); ParseError
    ``file:line: toml: why`` when it is not readable TOML (bad syntax, not UTF-8, absurdly deep nesting)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ParseError(path, 0, "file", f"not UTF-8 text: not {what}") from None
    except OSError as exc:
        raise ParseError(path, 0, "file", f"cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ParseError(path, int(m.group(1)) if m else 0, "toml", str(exc)) from None
    except RecursionError:
        raise ParseError(path, 0, "toml", f"nested too deeply to be {what}") from None
    return text, data


def read_scenario_toml(path: Path) -> tuple[ScenarioDoc, dict]:
    """The parsed TOML of a scenario.toml and its line index; ParseError ``file:line: toml: why`` when it is not
    readable TOML."""
    text, data = read_toml_file(path, "a scenario")
    return ScenarioDoc(path, text), data


SCENARIO_FORMAT = "marsview-scenario 1"


# --- saving -----------------------------------------------------------------------------------------
def _maneuver_table(obj_name, burn) -> dict:
    from marsview.core.maneuvers import ImpulsiveBurn

    if isinstance(burn, ImpulsiveBurn):
        d = {"object": obj_name, "epoch_utc": format_epoch(burn.epoch_tdb_s, "UTC", 6),
             "dv_mps": list(burn.dv_mps), "frame": burn.frame}
    else:
        d = {"object": obj_name, "start_utc": format_epoch(burn.start_tdb_s, "UTC", 6),
             "duration_s": burn.duration_s, "direction": list(burn.direction), "frame": burn.frame}
        for k in ("accel_mps2", "thrust_n", "isp_s", "mass_kg"):
            if getattr(burn, k) is not None:
                d[k] = getattr(burn, k)
    if burn.name:
        d["name"] = burn.name
    return d


DATA_PREFIX = "data-v"  # each save's ephemeris files live in FOLDER/data-vN/ (N grows): never overwritten


def save_scenario(scenario, folder) -> Path:
    """Write SCENARIO as FOLDER/scenario.toml plus the files it needs, atomically as a whole.

    Every object is saved as the data on screen: the file its current ephemeris was read from (copied; a newer
    delivery dropped in replaces the older file), its elements / OPM / moon definition, or, for an ephemeris
    with neither (built in the GUI), an OEM written from it. The files go into a new version folder
    ``data-vN`` (staged as ``.data-vN.tmp``, fsynced, renamed), each under a unique name with its SHA-256 in
    scenario.toml (checked on load); scenario.toml is then replaced in one rename. A crash at any point leaves
    either the previous scenario.toml with its untouched files, or the new one with all of its files; older
    version folders and temporary leftovers are removed afterwards (and on the next load or save)."""
    import tomli_w

    from marsview.io.atomic import atomic_write_text, fsync_folder

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(folder)
    version = 1 + max([_data_version(p.name) for p in folder.iterdir()] + [0])
    stage = folder / f".{DATA_PREFIX}{version}.tmp"
    data_dir = folder / f"{DATA_PREFIX}{version}"
    stage.mkdir()
    copied: dict[str, str] = {}  # resolved source path -> name in the version folder
    used: set[str] = set()
    objects = []
    moved = []  # (ephemeris, its origin as saved): updated once the save is complete
    for obj in scenario.objects:
        d = {"name": obj.name, "kind": obj.kind, "hbr_m": obj.hbr_m, "color": obj.color,
             "sigma0_km": obj.sigma0_km, "sigma_growth_km_per_day": obj.sigma_growth_km_per_day,
             "radial_sigma_km": obj.radial_sigma_km, "cross_track_sigma_km": obj.cross_track_sigma_km}
        for key in ("threshold_km", "mass_kg", "drag_area_m2", "drag_coeff", "naif_id"):
            if getattr(obj, key) is not None:
                d[key] = getattr(obj, key)
        if not obj.visible:
            d["visible"] = False
        spec = dict(getattr(obj.ephemeris, "origin_spec", None) or {})  # what the shown ephemeris came from
        if spec.get("source") in ("file", "opm"):
            src = Path(spec["path"]).resolve()
            if str(src) not in copied:
                name = _unique_name(src.name, used)
                _copy_or_link(src, stage / name)
                copied[str(src)] = name
            spec["path"] = f"{data_dir.name}/{copied[str(src)]}"
            spec["sha256"] = file_sha256(stage / copied[str(src)])
            moved.append((obj.ephemeris, {**spec, "path": str((folder / spec["path"]).resolve())}))
        elif not spec:
            name = _unique_name(_safe_name(obj.name) + ".oem", used)
            spec = _write_object_oem(obj, stage / name)
            spec["path"] = f"{data_dir.name}/{name}"
            spec["sha256"] = file_sha256(stage / name)
            moved.append((obj.ephemeris, {**spec, "path": str((folder / spec["path"]).resolve())}))
        d["orbit"] = spec
        objects.append(d)
    data = {"format": SCENARIO_FORMAT, "name": scenario.name}
    if scenario.description:
        data["description"] = scenario.description
    if getattr(scenario, "disclaimer", ""):
        data["disclaimer"] = scenario.disclaimer
    window = {"start_utc": format_epoch(scenario.window_start_tdb_s, "UTC", 6),
              "duration": f"{scenario.window_duration_s:.6f}s", "threshold_km": scenario.threshold_km}
    if getattr(scenario, "coverage_s", None):
        window["coverage"] = f"{scenario.coverage_s:.6f}s"
    data["window"] = window
    data["objects"] = objects
    burns = [_maneuver_table(name, b) for name, items in scenario.maneuvers.items() for b in items]
    if burns:
        data["maneuvers"] = burns
    text = tomli_w.dumps(data)
    fsync_folder(stage)
    if used:
        os.replace(stage, data_dir)
        fsync_folder(folder)
    else:
        stage.rmdir()
    atomic_write_text(folder / "scenario.toml", text)  # the switch: one rename
    for eph, origin in moved:  # the shown data now lives in the new version (the old one is removed next)
        origin.pop("sha256", None)
        eph.origin_spec = origin
    clean_stale_temporaries(folder, keep=data_dir.name if used else None)
    return folder / "scenario.toml"


# only names marsview's own writers make: io.atomic (".NAME.XXXXXXXX.tmp", mkstemp's 8 random characters) and
# the staging folder of a save (".data-vN.tmp"); a user's own ".notes.tmp" is left alone
_MARSVIEW_TMP = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp|\." + DATA_PREFIX + r"\d+\.tmp")


def _data_version(name: str) -> int:
    m = re.fullmatch(r"\.?" + DATA_PREFIX + r"(\d+)(\.tmp)?", name)
    return int(m.group(1)) if m else 0


def clean_stale_temporaries(folder, keep: str | None = None) -> list[str]:
    """Remove what an interrupted save left in FOLDER: ``.*.tmp`` files and staging folders, and, when KEEP
    names the version folder scenario.toml uses, every other ``data-vN`` folder. Best effort (a read-only
    folder is left alone). Returns the names removed."""
    import shutil

    folder = Path(folder)
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    if keep is None:
        keep = _referenced_version(folder)
    for p in entries:
        stale_tmp = bool(_MARSVIEW_TMP.fullmatch(p.name))
        old_version = keep is not None and _data_version(p.name) and not p.name.startswith(".") and p.name != keep
        if not (stale_tmp or old_version):
            continue
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p.name)
        except OSError:
            pass
    return removed


def _referenced_version(folder: Path) -> str | None:
    """The data-vN folder the current scenario.toml uses (None: none, or unreadable: remove no version)."""
    import tomllib

    try:
        data = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    for od in data.get("objects", []) if isinstance(data.get("objects"), list) else []:
        path = od.get("orbit", {}).get("path", "") if isinstance(od, dict) and isinstance(od.get("orbit"), dict) else ""
        head = str(path).split("/", 1)[0]
        if _data_version(head) and not head.startswith("."):
            return head
    return None


def _unique_name(name: str, used: set) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    candidate, k = name, 1
    while candidate.lower() in used:
        k += 1
        candidate = f"{stem}-{k}{dot}{ext}"
    used.add(candidate.lower())
    return candidate


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:100] or "object"


def _copy_or_link(src: Path, dest: Path) -> None:
    """A hard link when possible (files are never modified in place: every write is a rename), else a copy."""
    import shutil

    if _data_version(src.parent.name) and not src.parent.name.startswith("."):  # our own, never edited in place
        try:
            os.link(src, dest)
            return
        except OSError:
            pass
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())


def file_sha256(path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_object_oem(obj, path: Path) -> dict:
    from marsview.io.oem import write_oem
    from marsview.io.oem_convert import ephemeris_to_oem

    msg = ephemeris_to_oem([obj.ephemeris], step_s=60.0)
    write_oem(path, msg)
    return {"source": "file", "path": path.name, "object": obj.ephemeris.name}
