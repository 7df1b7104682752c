"""scenario.toml -> Scenario (validate everything, then build), and Scenario -> scenario.toml (atomic save).

Split from marsview/io/scenario.py (the entry points ``load_scenario``/``save_scenario`` live there)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from marsview.core.time import format_epoch
from marsview.io.errors import ParseError

ORBIT_SOURCES = ("elements", "file", "opm", "moon")
SCENARIO_FORMAT = "marsview-scenario 1"


def build_from_toml(path: Path, doc, data: dict, use_cache: bool):
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
            attrs["visible"] = bool(od["visible"])
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
            ephemerides[i], extra = _file_source(doc, otable, orbit, source, path, span, use_cache, warnings)
            for key, value in extra.items():
                attrs.setdefault(key, value)
        if "hbr_m" not in attrs:
            raise ParseError(path, doc.line(table, None), "hbr_m", "missing mandatory key in [[objects]]")
    if element_reqs:
        from marsview.model.orbit_cache import propagate_cached

        for (i, _), eph in zip(element_reqs, propagate_cached([r for _, r in element_reqs], use_cache)):
            ephemerides[i] = eph
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


def _file_source(doc, table, orbit, source, path, span, use_cache, warnings):
    from marsview.io.formats import detect_format
    from marsview.io.scenario import _file_objects, _get

    rel = _get(doc, table, orbit, "path", str, required=True)
    target = (path.parent / rel).resolve()
    if not target.is_file():
        raise doc.error(table, "path", f"no such file: {target}")
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


def save_scenario(scenario, folder) -> Path:
    """Write SCENARIO as FOLDER/scenario.toml plus the files it needs. Element, OPM and moon objects keep
    their definitions; file-based objects get their source file copied beside the TOML; objects with
    neither (e.g. built in the GUI) are written as an OEM. Every file is written atomically and
    scenario.toml last, so an interrupted save leaves the previous scenario loadable."""
    import tomli_w

    from marsview.io.atomic import atomic_write_bytes, atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    objects = []
    for obj in scenario.objects:
        d = {"name": obj.name, "kind": obj.kind, "hbr_m": obj.hbr_m, "color": obj.color,
             "sigma0_km": obj.sigma0_km, "sigma_growth_km_per_day": obj.sigma_growth_km_per_day,
             "radial_sigma_km": obj.radial_sigma_km, "cross_track_sigma_km": obj.cross_track_sigma_km}
        for key in ("threshold_km", "mass_kg", "drag_area_m2", "drag_coeff", "naif_id"):
            if getattr(obj, key) is not None:
                d[key] = getattr(obj, key)
        if not obj.visible:
            d["visible"] = False
        spec = dict(getattr(obj, "spec", None) or {})
        if spec.get("source") in ("file", "opm"):
            src = Path(scenario.path or ".") / spec["path"]
            dest = folder / Path(spec["path"]).name
            if src.resolve() != dest.resolve():
                atomic_write_bytes(dest, src.read_bytes())
            spec["path"] = dest.name
        elif not spec:
            spec = _write_object_oem(obj, folder)
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
    atomic_write_text(folder / "scenario.toml", tomli_w.dumps(data))
    return folder / "scenario.toml"


def _write_object_oem(obj, folder: Path) -> dict:
    from marsview.io.oem import ephemeris_to_oem, write_oem

    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in obj.name) + ".oem"
    msg = ephemeris_to_oem([obj.ephemeris], step_s=60.0)
    write_oem(folder / name, msg)
    return {"source": "file", "path": name, "object": obj.ephemeris.name}

