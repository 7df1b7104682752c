"""scenario.toml -> Scenario (validate everything, then build), and Scenario -> scenario.toml (atomic save).

Split from marsview/io/scenario.py (the entry points ``load_scenario``/``save_scenario`` live there)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from marsview.core.time import format_epoch
from marsview.io.errors import ParseError

ORBIT_SOURCES = ("elements", "file", "opm", "moon")
SCENARIO_FORMAT = "marsview-scenario 1"
MAX_SPAN_DAYS = 366


def build_from_toml(path: Path, doc, data: dict, use_cache: bool, allow_outside_paths: bool = False):
    from marsview.io.scenario import _OBJECT_KEYS, _TOP_KEYS, _get, _make_object, _make_scenario

    for key in data:
        if key not in _TOP_KEYS:
            raise doc.error((), key, f"unknown key (scenario.toml knows {', '.join(sorted(_TOP_KEYS))})")
    window = data.get("window", {})
    if not isinstance(window, dict):
        raise doc.error((), "window", "must be a table")
    wt = ("window",)
    start = _get(doc, wt, window, "start_utc", "epoch", required=True)
    duration = _get(doc, wt, window, "duration", "duration", 7 * 86400.0)
    coverage = _get(doc, wt, window, "coverage", "duration", max(14 * 86400.0, duration))
    threshold = _get(doc, wt, window, "threshold_km", float, 10.0)
    if not duration > 0 or not threshold > 0 or coverage < duration:
        raise doc.error(wt, "duration", "need duration > 0, threshold_km > 0 and coverage >= duration")
    for key, value in (("duration", duration), ("coverage", coverage)):
        if value > MAX_SPAN_DAYS * 86400.0:  # states every 60 s for years would not fit in memory
            raise doc.error(wt, key, f"{value / 86400.0:.6g} days is longer than the {MAX_SPAN_DAYS} days a "
                            "scenario may span (screen longer periods in pieces)")
    for key in window:
        if key not in ("start_utc", "duration", "coverage", "threshold_km"):
            raise doc.error(wt, key, "unknown key in [window]")
    span = (start, start + coverage)
    objects_data = data.get("objects", [])
    if not isinstance(objects_data, list) or not objects_data:
        raise doc.error((), "objects", "a scenario needs at least one [[objects]] entry")
    warnings: list[str] = []
    specs, element_reqs = [], []
    for i, od in enumerate(objects_data):
        table = ("objects", i)
        for key in od:
            if key not in _OBJECT_KEYS:
                raise doc.error(table, key, f"unknown key (objects know {', '.join(sorted(_OBJECT_KEYS))})")
        attrs = {"name": _get(doc, table, od, "name", str, required=True),
                 "kind": _get(doc, table, od, "kind", str, "spacecraft")}
        for key in ("hbr_m", "threshold_km", "sigma0_km", "sigma_growth_km_per_day", "radial_sigma_km",
                    "cross_track_sigma_km", "mass_kg", "drag_area_m2", "drag_coeff"):
            if key in od:
                attrs[key] = _get(doc, table, od, key, float)
        for key, kind in (("color", str), ("naif_id", int)):
            if key in od:
                attrs[key] = _get(doc, table, od, key, kind)
        if "visible" in od:
            if not isinstance(od["visible"], bool):  # "false" is a string, and a non-empty string is truthy
                raise doc.error(table, "visible", f"must be true or false (a TOML boolean, unquoted), "
                                f"got {od['visible']!r}")
            attrs["visible"] = od["visible"]
        if attrs["name"] in [s[1]["name"] for s in specs]:
            raise doc.error(table, "name", f"duplicate object name {attrs['name']!r}")
        orbit = od.get("orbit")
        if not isinstance(orbit, dict):
            raise doc.error(table, "orbit", "missing [objects.orbit] table (source = elements|file|opm|moon)")
        specs.append((table, attrs, orbit))
    # build every orbit before any object: all-or-nothing
    ephemerides: dict[int, object] = {}
    for i, (table, attrs, orbit) in enumerate(specs):
        otable = (*table, "orbit")
        source = _get(doc, otable, orbit, "source", str, required=True)
        if source not in ORBIT_SOURCES:
            raise doc.error(otable, "source", f"must be one of {', '.join(ORBIT_SOURCES)}, got {source!r}")
        if source == "elements":
            element_reqs.append((i, _element_request(doc, otable, orbit, attrs["name"], start, span, path)))
        elif source == "moon":
            ephemerides[i] = _moon(doc, otable, orbit, span)
        else:
            ephemerides[i], extra = _file_source(doc, otable, orbit, source, path, span, use_cache, warnings,
                                                 allow_outside_paths)
            for key, value in extra.items():
                attrs.setdefault(key, value)
        if "hbr_m" not in attrs:
            raise ParseError(path, doc.line(table, None), "hbr_m", "missing mandatory key in [[objects]]")
    if element_reqs:
        from marsview.model.orbit_cache import propagate_cached

        for (i, _), eph in zip(element_reqs, propagate_cached([r for _, r in element_reqs], use_cache)):
            ephemerides[i] = eph
    for i, (table, attrs, orbit) in enumerate(specs):  # what each shown ephemeris came from (for saving)
        origin = {k: v for k, v in orbit.items() if k != "sha256"}
        if origin.get("source") in ("file", "opm"):
            origin["path"] = str((path.parent / str(origin["path"])).resolve())
        ephemerides[i].origin_spec = origin
    maneuvers = _maneuvers(doc, data.get("maneuvers", []), {a["name"] for _, a, _ in specs})
    objects = []
    for i, (table, attrs, orbit) in enumerate(specs):
        try:
            objects.append(_make_object({**attrs, "spec": dict(orbit)}, ephemerides[i], i))
        except ValueError as exc:
            key = next((k for k in attrs if k in str(exc)), None)
            raise doc.error(table, key, str(exc)) from None
    extra = [("disclaimer", str(data.get("disclaimer", ""))), ("coverage_s", coverage),
             ("toml_data", data)]
    sc = _make_scenario(str(data.get("name", path.parent.name)), objects, (start, duration), threshold,
                        maneuvers, [str(path)], warnings, str(path.parent), str(data.get("description", "")),
                        extra)
    return sc


def _element_request(doc, table, orbit, name, start, span, path):
    from marsview.core.dynamics import ForceModel
    from marsview.core.frames import transform_states
    from marsview.core.orbits import elements_to_cartesian, state_from_peri_apo
    from marsview.io.scenario import _get
    from marsview.model.orbit_cache import OrbitRequest

    known = {"source", "epoch_utc", "frame", "periapsis_alt_km", "apoapsis_alt_km", "a_km", "e", "inc_deg",
             "raan_deg", "argp_deg", "true_anomaly_deg", "force_model", "notes"}
    for key in orbit:
        if key not in known:
            raise doc.error(table, key, f"unknown key for elements (known: {', '.join(sorted(known))})")
    epoch = _get(doc, table, orbit, "epoch_utc", "epoch", start)
    frame = _get(doc, table, orbit, "frame", str, "MCI").upper()
    frame = {"J2000": "EME2000"}.get(frame, frame)   # SPICE's name of EME2000
    if frame not in ("MCI", "EME2000", "ICRF"):
        raise doc.error(table, "frame", f"elements frame must be MCI or EME2000, got {frame!r}")
    angles = [_get(doc, table, orbit, k, float, required=True)
              for k in ("inc_deg", "raan_deg", "argp_deg", "true_anomaly_deg")]
    try:
        if "a_km" in orbit:
            a, e = _get(doc, table, orbit, "a_km", float), _get(doc, table, orbit, "e", float, required=True)
            state = elements_to_cartesian(a, e, *np.radians(angles)).reshape(6)
        else:
            state = state_from_peri_apo(_get(doc, table, orbit, "periapsis_alt_km", float, required=True),
                                        _get(doc, table, orbit, "apoapsis_alt_km", float, required=True),
                                        *angles)
    except ValueError as exc:
        raise doc.error(table, "a_km" if "a_km" in orbit else "periapsis_alt_km", str(exc)) from None
    state = transform_states(np.asarray(state).reshape(1, 6), epoch, frame, "EME2000")[0]
    try:
        fm = ForceModel.from_name(_get(doc, table, orbit, "force_model", str, "j2"))
    except ValueError as exc:
        raise doc.error(table, "force_model", str(exc)) from None
    lo, hi = min(span[0], epoch), max(span[1], epoch)
    return OrbitRequest(name, tuple(float(x) for x in state), epoch, lo, hi, fm, f"{path}: {name} elements")


def _moon(doc, table, orbit, span):
    from marsview.core.moons import deimos_ephemeris, phobos_ephemeris
    from marsview.io.scenario import _get

    body = _get(doc, table, orbit, "body", str, required=True).strip().lower()
    makers = {"phobos": phobos_ephemeris, "deimos": deimos_ephemeris}
    if body not in makers:
        raise doc.error(table, "body", f"must be Phobos or Deimos, got {body!r}")
    return makers[body](*span)


def _file_source(doc, table, orbit, source, path, span, use_cache, warnings, allow_outside_paths=False):
    from marsview.io.formats import detect_format
    from marsview.io.scenario import _file_objects, _get

    rel = _get(doc, table, orbit, "path", str, required=True)
    target = (path.parent / rel).resolve()  # symlinks followed: a link to /etc/shadow is outside too
    if not allow_outside_paths and not target.is_relative_to(path.parent.resolve()):
        raise doc.error(table, "path", f"{_short(rel)} is outside the scenario folder (refused unless allowed: "
                        "marsview --allow-outside-paths, or confirm in the GUI)")
    if not target.is_file():
        raise doc.error(table, "path", f"no such file: {_short(rel)}")
    expected = _get(doc, table, orbit, "sha256", str)
    if expected is not None and file_sha256(target).lower() != expected.strip().lower():
        raise doc.error(table, "sha256", f"{_short(rel)} is not the file this scenario was saved with (its SHA-256 "
                        "differs: an incomplete copy, or the file was replaced; delete the sha256 line to accept it)")
    kind, _ = detect_format(target)
    if source == "opm" and kind != "OPM":
        raise doc.error(table, "path", f"{rel} is a {kind} file, not an OPM")
    if source == "file" and kind not in ("OEM", "SPK"):
        raise doc.error(table, "path", f"{rel} is a {kind} file; source = 'file' takes an OEM or SPK")
    select = _get(doc, table, orbit, "object", str)
    fm = None
    if "force_model" in orbit:
        from marsview.core.dynamics import ForceModel

        fm = ForceModel.from_name(_get(doc, table, orbit, "force_model", str))
    found = _file_objects(target, kind, select, span if kind != "OEM" else None, fm, use_cache, warnings)
    if len(found) != 1:
        names = ", ".join(f[0] for f in found)
        raise doc.error(table, "object", f"{rel} holds {len(found)} objects ({names}): say which with object = ")
    _name, eph, _kind, naif, srcs, extra = found[0]
    return eph, {"naif_id": naif, "source_files": srcs, **extra}


def _short(text, limit: int = 120) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _maneuvers(doc, items, names):
    from marsview.core.maneuvers import FiniteBurn, ImpulsiveBurn
    from marsview.io.scenario import _get

    if not isinstance(items, list):
        raise doc.error((), "maneuvers", "must be an array of tables [[maneuvers]]")
    out: dict[str, list] = {}
    for i, m in enumerate(items):
        table = ("maneuvers", i)
        obj = _get(doc, table, m, "object", str, required=True)
        if obj not in names:
            raise doc.error(table, "object", f"no object named {obj!r} in this scenario")
        try:
            if "epoch_utc" in m:
                burn = ImpulsiveBurn(_get(doc, table, m, "epoch_utc", "epoch"),
                                     _get(doc, table, m, "dv_mps", "vec3", required=True),
                                     _get(doc, table, m, "frame", str, "RTN"), str(m.get("name", "")))
            else:
                kw = {k: _get(doc, table, m, k, float) for k in ("accel_mps2", "thrust_n", "isp_s", "mass_kg")
                      if k in m}
                burn = FiniteBurn(_get(doc, table, m, "start_utc", "epoch", required=True),
                                  _get(doc, table, m, "duration_s", float, required=True),
                                  _get(doc, table, m, "direction", "vec3", (0.0, 1.0, 0.0)),
                                  _get(doc, table, m, "frame", str, "RTN"), name=str(m.get("name", "")), **kw)
        except ParseError:
            raise
        except ValueError as exc:
            raise doc.error(table, None, str(exc)) from None
        out.setdefault(obj, []).append(burn)
    return out


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
    from marsview.io.oem import ephemeris_to_oem, write_oem

    msg = ephemeris_to_oem([obj.ephemeris], step_s=60.0)
    write_oem(path, msg)
    return {"source": "file", "path": path.name, "object": obj.ephemeris.name}
