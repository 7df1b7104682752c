"""Scenario files -> the live ``Scenario`` (marsview.model.scenario): the loader.

``load_scenario`` takes a scenario folder (``scenario.toml``, its form described in marsview/io/scenario.py), or a
bare folder / list of OEM, OPM, CDM and SPK files. Loading is all-or-nothing: every file is parsed and every orbit
built before the Scenario is returned; any problem raises ParseError ``file:line: key: why``. It lives in model
because it builds model objects; the file readers it calls are io's (io never imports model).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from marsview.io.errors import ParseError
from marsview.io.scenario_toml import (DEFAULT_HBR_M, FILE_EXTENSIONS, OBJECT_KEYS, SCENARIO_FILE, TOP_KEYS,
                                       clean_stale_temporaries, default_scenario_path, file_sha256, get_value,
                                       read_scenario_toml)
from marsview.model.scenario import Scenario, ScenarioObject, palette_color

ORBIT_SOURCES = ("elements", "file", "opm", "moon")
MAX_SPAN_DAYS = 366


# --- files and folders ----------------------------------------------------------------------------------------

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
                        warnings.append(f"{f}: ignored (not an {'/'.join(FILE_EXTENSIONS)} file)")
        elif p.exists():
            files.append((p, True))
        else:
            raise ParseError(p, 0, "file", "no such file or folder")
    if not files:
        raise ParseError(paths[0], 0, "file", "no ephemeris files (OEM, OPM or SPK) found")
    return _load_files(files, warnings, use_cache, paths[0] if len(paths) == 1 else None)


def _load_files(files, warnings, use_cache, folder):
    from marsview.io.formats import detect_format, read_in_order

    detected = []  # (path, kind, encoding): every format first, so that the OEMs can be read ahead
    for path, explicit in files:
        kind, encoding = detect_format(path) if explicit else _detect_lenient(path, warnings)
        if kind is not None:
            detected.append((path, kind, encoding))
    oems = read_in_order([d for d in detected if d[1] == "OEM"])  # several at once; errors in file order
    built, conjunctions, cdm_objects = [], [], []
    for path, kind, _encoding in detected:
        if kind == "CDM":
            conjunctions.append(_cdm_conjunction(path, cdm_objects, warnings))
            continue
        message = next(oems) if kind == "OEM" else None
        for entry in _file_objects(path, kind, None, None, None, use_cache, warnings, message):
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


def _file_objects(path: Path, kind: str, select, span, force_model, use_cache, warnings, message=None):
    """[(name, ephemeris, kind, naif_id, source_files, extra attrs)] for the trajectories in one file (an OEM's
    MESSAGE when it has been read already)."""
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
        from marsview.io.formats import read_any
        from marsview.io.oem_convert import oem_to_ephemerides

        # an OEM (KVN/XML) or any registered format read into an OemMessage (STK .e)
        msg = message if message is not None else read_any(path)
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
    from marsview.io.orbit_cache import OrbitRequest, propagate_cached

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
    clean_stale_temporaries(path.parent)  # leftovers of an interrupted save (best effort)
    doc, data = read_scenario_toml(path)
    return build_from_toml(path, doc, data, use_cache, allow_outside_paths)


def build_from_toml(path: Path, doc, data: dict, use_cache: bool, allow_outside_paths: bool = False):

    for key in data:
        if key not in TOP_KEYS:
            raise doc.error((), key, f"unknown key (scenario.toml knows {', '.join(sorted(TOP_KEYS))})")
    window = data.get("window", {})
    if not isinstance(window, dict):
        raise doc.error((), "window", "must be a table")
    wt = ("window",)
    start = get_value(doc, wt, window, "start_utc", "epoch", required=True)
    duration = get_value(doc, wt, window, "duration", "duration", 7 * 86400.0)
    coverage = get_value(doc, wt, window, "coverage", "duration", max(14 * 86400.0, duration))
    threshold = get_value(doc, wt, window, "threshold_km", float, 10.0)
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
            if key not in OBJECT_KEYS:
                raise doc.error(table, key, f"unknown key (objects know {', '.join(sorted(OBJECT_KEYS))})")
        attrs = {"name": get_value(doc, table, od, "name", str, required=True),
                 "kind": get_value(doc, table, od, "kind", str, "spacecraft")}
        for key in ("hbr_m", "threshold_km", "sigma0_km", "sigma_growth_km_per_day", "radial_sigma_km",
                    "cross_track_sigma_km", "mass_kg", "drag_area_m2", "drag_coeff"):
            if key in od:
                attrs[key] = get_value(doc, table, od, key, float)
        for key, kind in (("color", str), ("naif_id", int)):
            if key in od:
                attrs[key] = get_value(doc, table, od, key, kind)
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
        source = get_value(doc, otable, orbit, "source", str, required=True)
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
        from marsview.io.orbit_cache import propagate_cached

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
    from marsview.io.orbit_cache import OrbitRequest

    known = {"source", "epoch_utc", "frame", "periapsis_alt_km", "apoapsis_alt_km", "a_km", "e", "inc_deg",
             "raan_deg", "argp_deg", "true_anomaly_deg", "force_model", "notes"}
    for key in orbit:
        if key not in known:
            raise doc.error(table, key, f"unknown key for elements (known: {', '.join(sorted(known))})")
    epoch = get_value(doc, table, orbit, "epoch_utc", "epoch", start)
    frame = get_value(doc, table, orbit, "frame", str, "MCI").upper()
    frame = {"J2000": "EME2000"}.get(frame, frame)   # SPICE's name of EME2000
    if frame not in ("MCI", "EME2000", "ICRF"):
        raise doc.error(table, "frame", f"elements frame must be MCI or EME2000, got {frame!r}")
    angles = [get_value(doc, table, orbit, k, float, required=True)
              for k in ("inc_deg", "raan_deg", "argp_deg", "true_anomaly_deg")]
    try:
        if "a_km" in orbit:
            a, e = get_value(doc, table, orbit, "a_km", float), get_value(doc, table, orbit, "e", float, required=True)
            state = elements_to_cartesian(a, e, *np.radians(angles)).reshape(6)
        else:
            state = state_from_peri_apo(get_value(doc, table, orbit, "periapsis_alt_km", float, required=True),
                                        get_value(doc, table, orbit, "apoapsis_alt_km", float, required=True),
                                        *angles)
    except ValueError as exc:
        raise doc.error(table, "a_km" if "a_km" in orbit else "periapsis_alt_km", str(exc)) from None
    state = transform_states(np.asarray(state).reshape(1, 6), epoch, frame, "EME2000")[0]
    try:
        fm = ForceModel.from_name(get_value(doc, table, orbit, "force_model", str, "j2"))
    except ValueError as exc:
        raise doc.error(table, "force_model", str(exc)) from None
    lo, hi = min(span[0], epoch), max(span[1], epoch)
    return OrbitRequest(name, tuple(float(x) for x in state), epoch, lo, hi, fm, f"{path}: {name} elements")


def _moon(doc, table, orbit, span):
    from marsview.core.moons import deimos_ephemeris, phobos_ephemeris

    body = get_value(doc, table, orbit, "body", str, required=True).strip().lower()
    makers = {"phobos": phobos_ephemeris, "deimos": deimos_ephemeris}
    if body not in makers:
        raise doc.error(table, "body", f"must be Phobos or Deimos, got {body!r}")
    return makers[body](*span)


def _file_source(doc, table, orbit, source, path, span, use_cache, warnings, allow_outside_paths=False):
    from marsview.io.formats import detect_format

    rel = get_value(doc, table, orbit, "path", str, required=True)
    target = (path.parent / rel).resolve()  # symlinks followed: a link to /etc/shadow is outside too
    if not allow_outside_paths and not target.is_relative_to(path.parent.resolve()):
        raise doc.error(table, "path", f"{_short(rel)} is outside the scenario folder (refused unless allowed: "
                        "marsview --allow-outside-paths, or confirm in the GUI)")
    if not target.is_file():
        raise doc.error(table, "path", f"no such file: {_short(rel)}")
    expected = get_value(doc, table, orbit, "sha256", str)
    if expected is not None and file_sha256(target).lower() != expected.strip().lower():
        raise doc.error(table, "sha256", f"{_short(rel)} is not the file this scenario was saved with (its SHA-256 "
                        "differs: an incomplete copy, or the file was replaced; delete the sha256 line to accept it)")
    kind, _ = detect_format(target)
    if source == "opm" and kind != "OPM":
        raise doc.error(table, "path", f"{rel} is a {kind} file, not an OPM")
    if source == "file" and kind not in ("OEM", "SPK"):
        raise doc.error(table, "path", f"{rel} is a {kind} file; source = 'file' takes an OEM or SPK")
    select = get_value(doc, table, orbit, "object", str)
    fm = None
    if "force_model" in orbit:
        from marsview.core.dynamics import ForceModel

        fm = ForceModel.from_name(get_value(doc, table, orbit, "force_model", str))
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

    if not isinstance(items, list):
        raise doc.error((), "maneuvers", "must be an array of tables [[maneuvers]]")
    out: dict[str, list] = {}
    for i, m in enumerate(items):
        table = ("maneuvers", i)
        obj = get_value(doc, table, m, "object", str, required=True)
        if obj not in names:
            raise doc.error(table, "object", f"no object named {obj!r} in this scenario")
        try:
            if "epoch_utc" in m:
                burn = ImpulsiveBurn(get_value(doc, table, m, "epoch_utc", "epoch"),
                                     get_value(doc, table, m, "dv_mps", "vec3", required=True),
                                     get_value(doc, table, m, "frame", str, "RTN"), str(m.get("name", "")))
            else:
                kw = {k: get_value(doc, table, m, k, float) for k in ("accel_mps2", "thrust_n", "isp_s", "mass_kg")
                      if k in m}
                burn = FiniteBurn(get_value(doc, table, m, "start_utc", "epoch", required=True),
                                  get_value(doc, table, m, "duration_s", float, required=True),
                                  get_value(doc, table, m, "direction", "vec3", (0.0, 1.0, 0.0)),
                                  get_value(doc, table, m, "frame", str, "RTN"), name=str(m.get("name", "")), **kw)
        except ParseError:
            raise
        except ValueError as exc:
            raise doc.error(table, None, str(exc)) from None
        out.setdefault(obj, []).append(burn)
    return out


def _make_object(attrs: dict, eph, index: int):
    attrs = dict(attrs)
    attrs.setdefault("color", palette_color(index))
    spec = attrs.pop("spec", None)
    cospar = attrs.pop("cospar_id", None)
    obj = ScenarioObject(ephemeris=eph, **attrs)
    obj.spec = spec
    obj.cospar_id = cospar   # international designator from the file's OBJECT_ID (matching duplicates)
    return obj


def _make_scenario(name, objects, window, threshold_km, maneuvers, files, warnings, path, description, extra):
    sc = Scenario(name, objects, window[0], window[1], threshold_km, maneuvers, files, warnings, path,
                  description)
    for key, value in extra:
        setattr(sc, key, value)
    return sc
