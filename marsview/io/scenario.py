"""Scenario files: a folder with ``scenario.toml`` and the ephemeris files it names, or a bare folder / list of
OEM, OPM and SPK files. Loading is all-or-nothing: every file is parsed and every orbit built before the
``Scenario`` (marsview.model.scenario) is returned; any problem raises ParseError ``file:line: key: why``.

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

SCENARIO_FILE = "scenario.toml"
FILE_EXTENSIONS = (".oem", ".opm", ".bsp", ".xml", ".txt", ".kvn", ".cdm")
DEFAULT_HBR_M = 5.0
_OBJECT_KEYS = {"name", "kind", "hbr_m", "color", "threshold_km", "sigma0_km", "sigma_growth_km_per_day",
                "radial_sigma_km", "cross_track_sigma_km", "mass_kg", "drag_area_m2", "drag_coeff", "naif_id",
                "visible", "orbit", "notes"}
_TOP_KEYS = {"format", "name", "description", "disclaimer", "window", "objects", "maneuvers"}


def default_scenario_path() -> Path:
    """The built-in April 2024 Mars fleet scenario folder."""
    from marsview.resources import resource_path

    return resource_path("default_scenario")


# --- locating keys in the TOML text (tomllib gives no line numbers for values) ------------------------

_AOT = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\-]+)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


class _Doc:
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


def _table_name(table: tuple) -> str:
    return ".".join(str(p) for p in table if isinstance(p, str)) or "top level"


def _get(doc: _Doc, table: tuple, data: dict, key: str, kind, default=None, required=False):
    if key not in data:
        if required:
            raise ParseError(doc.path, doc.line(table, None), key, f"missing mandatory key in [{_table_name(table)}]")
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


# --- loading ----------------------------------------------------------------------------------------

def load_scenario(paths=None, use_cache: bool = True, allow_outside_paths: bool = False):
    """Scenario from None/[] (the built-in default), a folder (with or without scenario.toml), a
    scenario.toml, or ephemeris files (OEM/OPM/SPK). Raises ParseError; never returns a partial scenario.
    A scenario.toml may name files outside its folder only with ALLOW_OUTSIDE_PATHS (partner files are
    untrusted: ``path = "/etc/passwd"`` must not be read by accident)."""
    if isinstance(paths, str) and not paths.strip() or (
            isinstance(paths, (list, tuple)) and any(isinstance(p, str) and not p.strip() for p in paths)):
        raise ParseError("''", 0, "file", "empty path (give a scenario folder or ephemeris files)")
    if not paths:
        paths = [default_scenario_path()]
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if len(paths) == 1 and paths[0].is_dir() and (paths[0] / SCENARIO_FILE).is_file():
        return _load_toml(paths[0] / SCENARIO_FILE, use_cache, allow_outside_paths)
    if len(paths) == 1 and paths[0].name == SCENARIO_FILE:
        return _load_toml(paths[0], use_cache, allow_outside_paths)
    files: list[tuple[Path, bool]] = []
    warnings: list[str] = []
    for p in paths:
        if p.is_dir():
            if (p / SCENARIO_FILE).is_file():
                raise ParseError(p / SCENARIO_FILE, 0, "paths", "a scenario folder must be opened on its own")
            for f in sorted(p.iterdir()):
                if f.is_file() and not f.name.startswith("."):
                    if f.suffix.lower() in FILE_EXTENSIONS:
                        files.append((f, False))
                    else:
                        warnings.append(f"{f}: ignored (not an .oem/.opm/.cdm/.bsp/.xml/.txt/.kvn file)")
        elif p.exists():
            files.append((p, True))
        else:
            raise ParseError(p, 0, "file", "no such file or folder")
    if not files:
        raise ParseError(paths[0], 0, "file", "no ephemeris files (OEM, OPM or SPK) found")
    return _load_files(files, warnings, use_cache, paths[0] if len(paths) == 1 else None)


def _load_files(files, warnings, use_cache, folder):
    from marsview.io.formats import detect_format

    built, conjunctions, cdm_objects = [], [], []
    for path, explicit in files:
        kind, _enc = detect_format(path) if explicit else _detect_lenient(path, warnings)
        if kind is None:
            continue
        if kind == "CDM":
            conjunctions.append(_cdm_conjunction(path, cdm_objects, warnings))
            continue
        for entry in _file_objects(path, kind, None, None, None, use_cache, warnings):
            _add_unique(built, entry, warnings)
    built += cdm_objects   # CDM arcs are markers of the CDM's states: never merged with a trajectory
    if not built and not conjunctions:
        raise ParseError(files[0][0], 0, "file", "no trajectories found in the given files")
    if built:
        start = max(e.coverage[0] for _n, e, *_ in built)
        stop = min(e.coverage[1] for _n, e, *_ in built)
        if stop <= start:
            start, stop = min(e.coverage[0] for _n, e, *_ in built), max(e.coverage[1] for _n, e, *_ in built)
            warnings.append("the files share no common time span; the window spans all of them")
    else:   # CDMs only: a day either side of the first TCA
        start, stop = conjunctions[0].tca_tdb_s - 86400.0, conjunctions[0].tca_tdb_s + 86400.0
    window = (start, min(stop - start, 7 * 86400.0))
    name = folder.name if folder is not None else ", ".join(sorted({str(p.name) for p, _ in files}))
    objects = []
    for i, (obj_name, eph, kind, naif, srcs, extra) in enumerate(built):
        extra = dict(extra)
        hbr = extra.pop("hbr_m", None)
        objects.append(_make_object({"name": obj_name, "kind": kind, "naif_id": naif, "source_files": srcs,
                                     "hbr_m": hbr if hbr is not None else _known_hbr(obj_name, naif, warnings),
                                     **extra}, eph, i))
    return _make_scenario(name, objects, window, 10.0, {}, [str(p) for p, _ in files], warnings,
                          str(folder) if folder else None, "", [("cdm_conjunctions", conjunctions)])


def _cdm_conjunction(path, cdm_objects, warnings):
    """A CDM file -> its CdmConjunction (a close-approach row); a Mars-centred one also appends its two
    objects' two-body arcs through TCA to CDM_OBJECTS (see marsview.io.cdm_conjunction)."""
    from marsview.io.cdm_conjunction import conjunction_arcs, read_cdm_conjunction
    from marsview.io.default_fleet import known_hbr_m, object_kind_for

    conj = read_cdm_conjunction(path)
    warnings.extend(f"{path}: {note}" for note in conj.notes)
    arcs = conjunction_arcs(conj)
    if not arcs:
        warnings.append(f"{path}: CDM {conj.object1} vs {conj.object2} is {conj.centre}-centred: shown as a "
                        "close approach only (its objects are not drawn around Mars)")
    for (label, eph, naif), name in zip(arcs, (conj.object1, conj.object2)):
        hbr = known_hbr_m(name, naif)
        cdm_objects.append((label, eph, object_kind_for(name, naif), naif, (str(path),),
                            {"hbr_m": hbr if hbr is not None else conj.hbr_m / 2.0}))
    return conj


def _add_unique(built, entry, warnings) -> None:
    """Append ENTRY (see _file_objects) unless it is an object already built from an earlier file -- same NAIF
    id, or the same name up to case/blanks/fleet aliases (Phobos = PHOBOS, MGS = MARS GLOBAL SURVEYOR): then
    the later file's trajectory replaces the earlier one (its position in the list is kept), with a warning."""
    from marsview.io.default_fleet import fleet_naif_id, same_object_key

    def naif_of(e):
        return e[3] if e[3] is not None else fleet_naif_id(e[0])

    name, naif, key = entry[0], naif_of(entry), same_object_key(entry[0])
    cospar = entry[5].get("cospar_id")
    for i, old in enumerate(built):
        same_naif = naif is not None and naif_of(old) == naif
        same_cospar = cospar is not None and old[5].get("cospar_id") == cospar
        if same_naif or same_cospar or same_object_key(old[0]) == key:
            why = f"NAIF {naif}" if same_naif else f"COSPAR {cospar}" if same_cospar else "same name"
            warnings.append(f"{name} from {', '.join(entry[4])} replaces {old[0]} from {', '.join(old[4])} "
                            f"(the same object: {why}); the later file is kept")
            built[i] = entry
            return
    built.append(entry)


def _detect_lenient(path, warnings):
    from marsview.io.formats import detect_format

    try:
        return detect_format(path)
    except ParseError as exc:
        if path.suffix.lower() in (".txt", ".xml"):  # could be anything: skip with a note
            warnings.append(f"{path}: ignored ({exc.message})")
            return None, None
        raise


def _known_hbr(name, naif, warnings):
    from marsview.io.default_fleet import known_hbr_m

    hbr = known_hbr_m(name, naif)
    if hbr is None:
        warnings.append(f"{name}: no hard-body radius known; {DEFAULT_HBR_M} m assumed")
        return DEFAULT_HBR_M
    return hbr


def _file_objects(path: Path, kind: str, select, span, force_model, use_cache, warnings):
    """[(name, ephemeris, kind, naif_id, source_files, extra attrs)] for the trajectories in one file."""
    from marsview.io.default_fleet import object_kind_for

    out = []
    if kind == "SPK":
        from marsview.io.spk import read_spk

        lo, hi = span if span else (None, None)
        for tr in read_spk(path, [select] if select else None, lo, hi):
            warnings.extend(tr.warnings)
            tr.ephemeris.origin_spec = {"source": "file", "path": str(path.resolve()), "object": tr.name}
            out.append((tr.name, tr.ephemeris, object_kind_for(tr.name, tr.naif_id), tr.naif_id, (str(path),), {}))
    elif kind == "OEM":
        from marsview.io.oem import oem_to_ephemerides, read_oem

        msg = read_oem(path)
        warnings.extend(msg.warnings)
        ids = {seg.object_name: seg.metadata.get("OBJECT_ID") for seg in msg.segments}
        for eph in oem_to_ephemerides(msg, warnings):
            if select and eph.name.upper() != str(select).upper():
                continue
            naif = _naif_from_text(ids.get(eph.name))
            eph.origin_spec = {"source": "file", "path": str(path.resolve()), "object": eph.name}
            out.append((eph.name, eph, object_kind_for(eph.name, naif), naif, (str(path),),
                        _cospar_extra(ids.get(eph.name))))
        if select and not out:
            raise ParseError(path, 0, "OBJECT_NAME", f"no object {select!r} in this OEM (it holds: "
                             f"{', '.join(ids)})")
    elif kind == "OPM":
        out.append(_opm_object(path, span, force_model, use_cache))
    else:
        raise ParseError(path, 0, "file", f"a {kind} file holds no trajectory")
    return out


_COSPAR = re.compile(r"^\d{4}-\d{3}[A-Z]{1,3}$")


def _cospar_extra(text) -> dict:
    """{"cospar_id": "1996-062A"} when an OBJECT_ID is an international designator, else {}."""
    value = str(text or "").strip().upper()
    return {"cospar_id": value} if _COSPAR.match(value) else {}


def _naif_from_text(text):
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def _opm_object(path: Path, span, force_model, use_cache):
    from marsview.core.dynamics import ForceModel
    from marsview.io.default_fleet import object_kind_for
    from marsview.io.frames_io import check_frame, check_mars_centre, to_eme2000
    from marsview.io.opm import read_opm
    from marsview.model.orbit_cache import OrbitRequest, propagate_cached

    msg = read_opm(path)
    # the centre first: an Earth/SSB state is never a Mars orbiter, whatever its frame
    check_mars_centre(msg.center_name, path, _opm_line(msg, "CENTER_NAME"))
    frame = check_frame(msg.ref_frame, path, _opm_line(msg, "REF_FRAME"))
    state = to_eme2000(np.asarray(msg.state, dtype=float).reshape(1, 6), msg.epoch_tdb_s, frame)[0]
    lo, hi = span if span else (msg.epoch_tdb_s, msg.epoch_tdb_s + 7 * 86400.0)
    fm = force_model or ForceModel.j2()
    (eph,) = propagate_cached([OrbitRequest(msg.object_name, tuple(state), msg.epoch_tdb_s, min(lo, msg.epoch_tdb_s),
                                            hi, fm, str(path))], use_cache)
    eph.origin_spec = {"source": "opm", "path": str(path.resolve())}
    extra = {k: v for k, v in (("mass_kg", msg.mass_kg), ("drag_area_m2", msg.drag_area_m2),
                               ("drag_coeff", msg.drag_coeff)) if v is not None}
    naif = _naif_from_text(msg.metadata.get("OBJECT_ID"))
    extra.update(_cospar_extra(msg.metadata.get("OBJECT_ID")))
    return (msg.object_name, eph, object_kind_for(msg.object_name, naif), naif, (str(path),), extra)


def _opm_line(msg, keyword: str) -> int:
    """Line of KEYWORD in an OPM (KVN line, or the XML element's line)."""
    return next((it.line for it in msg.items if it.keyword == keyword), 0)


def _load_toml(path: Path, use_cache: bool, allow_outside_paths: bool = False):
    from marsview.io.scenario_toml import build_from_toml, clean_stale_temporaries

    clean_stale_temporaries(path.parent)  # leftovers of an interrupted save (best effort)
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
    return build_from_toml(path, _Doc(path, text), data, use_cache, allow_outside_paths)


def save_scenario(scenario, folder) -> Path:
    """Atomic save of SCENARIO into FOLDER (see marsview.io.scenario_toml.save_scenario)."""
    from marsview.io.scenario_toml import save_scenario as _save

    return _save(scenario, folder)


def _make_object(attrs: dict, eph, index: int):
    from marsview.model.scenario import palette_color
    from marsview.model.scenario import ScenarioObject

    attrs = dict(attrs)
    attrs.setdefault("color", palette_color(index))
    spec = attrs.pop("spec", None)
    cospar = attrs.pop("cospar_id", None)
    obj = ScenarioObject(ephemeris=eph, **attrs)
    obj.spec = spec
    obj.cospar_id = cospar   # international designator from the file's OBJECT_ID (matching duplicates)
    return obj


def _make_scenario(name, objects, window, threshold_km, maneuvers, files, warnings, path, description, extra):
    from marsview.model.scenario import Scenario

    sc = Scenario(name, objects, window[0], window[1], threshold_km, maneuvers, files, warnings, path,
                  description)
    for key, value in extra:
        setattr(sc, key, value)
    return sc
