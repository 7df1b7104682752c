"""``marsview screen``: every close approach among the inputs' objects over a window.

    marsview screen [PATH ...] [--start UTC] [--duration DUR] [--threshold-km KM]
                    [--format table|csv|json] [-o FILE] [--cdm-dir DIR]

PATH: a scenario folder or ephemeris files (no PATH: the built-in default scenario). The window starts at
--start (default: the latest start of the inputs' coverage) and lasts --duration (default 7d), clipped to
the span every object covers. Every interior local minimum of centre-to-centre distance below the
threshold (widened by per-object thresholds and hard-body radii, see core.screening) is an event.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time

from marsview.io.safe_text import printable, spreadsheet_safe
from marsview.model.events import event_dict

from .output import check_threshold_km

DEFAULT_DURATION = "7d"
DEFAULT_THRESHOLD_KM = 10.0


def register(subparsers) -> None:
    p = subparsers.add_parser("screen", help="find every close approach among Mars orbiters and moons",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="scenario folder or ephemeris files (OEM, SPK)")
    p.add_argument("--start", metavar="UTC", help="window start, UTC (default: latest start of the inputs)")
    p.add_argument("--duration", metavar="DUR", default=DEFAULT_DURATION,
                   help="window length: 7d, 36h, 90m, 600s (default 7d)")
    p.add_argument("--threshold-km", metavar="KM", type=float, default=DEFAULT_THRESHOLD_KM,
                   help="report minima closer than this [km] (default 10)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--cdm-dir", metavar="DIR", help="also write one CCSDS CDM per event into DIR")
    p.add_argument("--allow-outside-paths", action="store_true",
                   help="let scenario.toml name files outside its folder (refused by default)")
    p.set_defaults(func=run)


# --- inputs -------------------------------------------------------------------------------------------

def load_inputs(paths, allow_outside_paths: bool = False):
    """(targets, warnings, CDM conjunctions): load_targets plus the close approaches of CDM inputs."""
    from marsview.model.loading import load_scenario

    scenario = load_scenario(list(paths) or None, allow_outside_paths=allow_outside_paths)
    return (_targets_of(scenario), list(scenario.warnings or []), list(getattr(scenario, "cdm_conjunctions", [])))


def _targets_of(scenario):
    from marsview.model.scenario import screening_targets

    objects = scenario.screened_objects() if hasattr(scenario, "screened_objects") else scenario.objects
    return screening_targets(objects)


def load_targets(paths, allow_outside_paths: bool = False, kinds: dict | None = None):
    """ScreeningTargets from a scenario (folder/files/default) via model.loading, else from OEM files. KINDS, a
    dict, receives each object's kind by name ("spacecraft", "moon", "inactive")."""
    from marsview.core.screening import ScreeningTarget

    try:
        from marsview.model.loading import load_scenario
    except ImportError:
        load_scenario = None
    if load_scenario is not None:
        scenario = load_scenario(list(paths) or None, allow_outside_paths=allow_outside_paths)
        targets = _targets_of(scenario)
        if kinds is not None:
            kinds.update({o.name: getattr(o, "kind", "spacecraft") for o in scenario.objects})
        return targets, list(getattr(scenario, "warnings", []) or [])
    if not paths:
        raise SystemExit("marsview screen: no PATH given and no built-in scenario is available")
    from marsview.io.formats import detect_format, read_any
    from marsview.io.oem_convert import oem_to_ephemerides

    targets = []
    for path in paths:
        kind, _encoding = detect_format(path)
        if kind != "OEM":
            raise ValueError(f"{path}: a {kind} file; marsview screen reads OEM ephemerides (KVN or XML)")
        for eph in oem_to_ephemerides(read_any(path)):
            targets.append(ScreeningTarget(name=eph.name, ephemeris=eph, source=str(path)))
    names = [t.name for t in targets]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"objects appear in more than one file: {', '.join(dupes)}")
    return targets, []


def window(targets, start_text, duration_text):
    """(start, stop) TDB s: from --start (default latest coverage start) for DUR, clipped to the common span."""
    start, stop, _skipped = screening_window(targets, start_text, duration_text)
    return start, stop


def screening_window(targets, start_text, duration_text):
    """(start, stop, skipped): the window from --start (default: the latest coverage start) lasting DUR,
    clipped to the span the screened objects cover together. Objects whose coverage misses the requested
    window entirely are left out: SKIPPED is [(target, reason)] for a warning each. ValueError when fewer
    than two objects remain."""
    from marsview.core.time import parse_duration_s, utc_span, utc_to_tdb_s

    starts = [t.ephemeris.coverage[0] for t in targets]
    stops = [t.ephemeris.coverage[1] for t in targets]
    start = utc_to_tdb_s(start_text) if start_text else max(starts)
    duration = parse_duration_s(duration_text)
    if duration <= 0:
        raise ValueError(f"--duration must be positive, got {duration_text!r}")
    want_lo, want_hi = start, start + duration
    kept, skipped = [], []
    for t, a, b in zip(targets, starts, stops):
        if b < want_lo or a > want_hi:
            where = f" ({t.source})" if t.source else ""
            skipped.append((t, f"{t.name}{where}: not screened: its coverage {utc_span(a, b, 0)} misses the "
                               f"screening window {utc_span(want_lo, want_hi, 0)}"))
        else:
            kept.append((t, a, b))
    if len(kept) < 2:
        raise ValueError("the inputs have no common coverage: " + ", ".join(
            f"{t.name} {utc_span(a, b, 0)}" for t, a, b in zip(targets, starts, stops)))
    common_start, common_stop = max(a for _t, a, _b in kept), min(b for _t, _a, b in kept)
    lo, hi = max(want_lo, common_start), min(want_hi, common_stop)
    if hi <= lo:
        raise ValueError(f"the window [{start_text or utc_span(want_lo, want_hi, 0)}, +{duration_text}] lies "
                         "outside the inputs' common coverage: " + ", ".join(
                             f"{t.name} {utc_span(a, b, 0)}" for t, a, b in kept))
    if start_text and (lo > want_lo or hi < want_hi):
        limit = min(kept, key=lambda k: k[2]) if hi < want_hi else max(kept, key=lambda k: k[1])
        skipped.append((None, f"the window is shortened to {utc_span(lo, hi, 0)}: {limit[0].name} covers only "
                              f"{utc_span(limit[1], limit[2], 0)}"))
    return lo, hi, skipped


# --- outputs ------------------------------------------------------------------------------------------

def cdm_event_dict(c) -> dict:
    """A CDM's close approach (marsview.io.cdm_conjunction) as a report event: "source" "CDM", the Pc
    recomputed from the CDM (pc) and the file's own (cdm_pc)."""
    d = event_dict(c)
    d.update(source="CDM", cdm_file=c.path, cdm_pc=c.cdm_pc, cdm_pc_method=c.cdm_pc_method,
             cdm_miss_km=c.cdm_miss_km, flags=list(c.flags), hbr_source=c.hbr_source)
    return d


def report_dict(result, conjunctions=()) -> dict:
    from marsview.core.time import format_epoch

    events = [event_dict(e) for e in result.events]
    events += [cdm_event_dict(c) for c in conjunctions]
    events.sort(key=lambda ev: ev["tca_tdb_s"])
    return {
        "start_utc": format_epoch(result.start_tdb_s, "UTC", 6), "stop_utc": format_epoch(result.stop_tdb_s, "UTC", 6),
        "threshold_km": result.threshold_km, "objects": list(result.objects),
        "pairs_screened": result.pairs_screened, "step_s": result.step_s,
        "events": events,
    }


COLUMNS = (  # (header, key, format)
    ("TCA (UTC)", "tca_utc", "{}"), ("Object 1", "object1", "{}"), ("Object 2", "object2", "{}"),
    ("Miss [km]", "miss_km", "{:.3f}"), ("Speed [km/s]", "relative_speed_kms", "{:.3f}"),
    ("R [km]", "radial_km", "{:.3f}"), ("T [km]", "in_track_km", "{:.3f}"), ("N [km]", "cross_track_km", "{:.3f}"),
    ("Cross dt [s]", "crossing_dt_s", "{:.1f}"), ("Miss [sigma]", "miss_sigma", "{:.2f}"), ("Pc", "pc", "{:.2e}"),
    ("Source", "source", "{}"), ("CDM Pc", "cdm_pc", "{:.2e}"),
)


def format_table(report: dict) -> str:
    head = (f"Close approaches {report['start_utc']} .. {report['stop_utc']} UTC, threshold "
            f"{report['threshold_km']:g} km, {len(report['objects'])} objects, {len(report['events'])} events")
    rows = [[h for h, _, _ in COLUMNS]]
    for ev in report["events"]:
        rows.append(["-" if ev.get(k) is None else printable(f.format(ev[k])) for _, k, f in COLUMNS])
    widths = [max(len(r[c]) for r in rows) for c in range(len(COLUMNS))]
    lines = [head]
    for n, r in enumerate(rows):
        cells = [r[c].ljust(widths[c]) if c < 3 else r[c].rjust(widths[c]) for c in range(len(COLUMNS))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if not report["events"]:
        lines.append("(no close approaches below the threshold)")
    return "\n".join(lines) + "\n"


CSV_KEYS = ("object1", "object2", "tca_utc", "tca_tdb_s", "miss_km", "relative_speed_kms", "radial_km",
            "in_track_km", "cross_track_km", "crossing_dt_s", "miss_sigma", "sigma_km", "threshold_km", "hbr_m",
            "hbr1_m", "hbr2_m", "sources", "pc", "pc_method", "source", "cdm_pc")


def format_csv(report: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_KEYS)
    for ev in report["events"]:
        w.writerow(["" if ev.get(k) is None else spreadsheet_safe(";".join(ev[k]) if isinstance(ev[k], list) else ev[k])
                    for k in CSV_KEYS])
    return buf.getvalue()


# --- CDMs ---------------------------------------------------------------------------------------------

def _oem_covariance_rtn_m2(eph, tdb_s, state):
    """The ephemeris' own covariance brought to TCA (core.uncertainty rule), rotated to RTN, in m^2; else None."""
    import numpy as np

    from marsview.core.frames import rtn_matrix
    from marsview.core.uncertainty import ephemeris_covariance_km2

    given = ephemeris_covariance_km2(eph, tdb_s, state[0])
    if given is None:
        return None
    cov = given[0]
    m = rtn_matrix(state)[0]
    big = np.zeros((6, 6))
    big[:3, :3] = big[3:, 3:] = m
    return big @ np.asarray(cov) @ big.T * 1e6


def write_event_cdms(result, targets, folder) -> list:
    """One CDM per event in FOLDER: states at TCA (EME2000, Mars-centred), RTN covariances [m^2], HBR comment.

    Covariance: the input OEM's own covariance when it carries one near TCA, else the along-track model's
    diagonal position covariance (velocity terms zero), which the COMMENT lines say.
    """
    from pathlib import Path

    import numpy as np

    from marsview.core.frames import rtn_matrix
    from marsview.core.time import format_epoch
    from marsview.io.cdm import build_cdm, write_cdm

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    by_name = {t.name: t for t in targets}
    written = []
    for n, e in enumerate(result.events, 1):
        m1 = rtn_matrix(e.state1)[0]
        rel = e.state2 - e.state1
        objects, notes = [], []
        for state, name, source in ((e.state1, e.object1, e.source1), (e.state2, e.object2, e.source2)):
            target = by_name[name]
            cov = _oem_covariance_rtn_m2(target.ephemeris, e.tca_tdb_s, state[None])
            method = "CALCULATED"
            if cov is None:
                cov = np.zeros((6, 6))
                cov[:3, :3] = target.uncertainty().rtn_covariance_km2(e.tca_tdb_s)[0] * 1e6
                method = "DEFAULT"
                notes.append(f"{name}: covariance from the marsview along-track model sigma_T = "
                             f"{target.sigma0_km:g} km + {target.sigma_growth_km_per_day:g} km/day * span")
            objects.append({"OBJECT_DESIGNATOR": name, "CATALOG_NAME": "MARSVIEW", "OBJECT_NAME": name,
                            "INTERNATIONAL_DESIGNATOR": "UNKNOWN", "EPHEMERIS_NAME": source or "NONE",
                            "COVARIANCE_METHOD": method, "MANEUVERABLE": "N/A", "ORBIT_CENTER": "MARS",
                            "REF_FRAME": "EME2000", "state": state, "covariance_rtn": cov})
        relative = {
            "RELATIVE_SPEED": e.relative_speed_kms * 1e3,
            "RELATIVE_POSITION_R": e.radial_km * 1e3, "RELATIVE_POSITION_T": e.in_track_km * 1e3,
            "RELATIVE_POSITION_N": e.cross_track_km * 1e3,
            "RELATIVE_VELOCITY_R": float(m1[0] @ rel[3:]) * 1e3, "RELATIVE_VELOCITY_T": float(m1[1] @ rel[3:]) * 1e3,
            "RELATIVE_VELOCITY_N": float(m1[2] @ rel[3:]) * 1e3,
            "START_SCREEN_PERIOD": format_epoch(result.start_tdb_s, "UTC", 6),
            "STOP_SCREEN_PERIOD": format_epoch(result.stop_tdb_s, "UTC", 6),
        }
        if e.pc is not None:
            relative["COLLISION_PROBABILITY"] = e.pc
            relative["COLLISION_PROBABILITY_METHOD"] = "FOSTER-1992" if "2D" in (e.pc_method or "") else "UNKNOWN"
        comments = [f"HBR = {(e.hbr1_km + e.hbr2_km) * 1e3:.3f} [m]",
                    "Mars-centred states; screened by marsview (core.screening)"] + notes
        if e.crossing_dt_s == e.crossing_dt_s:
            comments.append(f"orbit-crossing time difference = {e.crossing_dt_s:.3f} [s]")
        tca_text = format_epoch(e.tca_tdb_s, "UTC", 6)
        msg = build_cdm(tca_text=tca_text, miss_distance_m=e.miss_km * 1e3, objects=objects,
                        message_id=f"MARSVIEW_{tca_text[:19].replace(':', '')}_{n:03d}", relative=relative,
                        comments=comments)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{e.object1}_{e.object2}")
        path = out / f"{n:03d}_{safe}_{tca_text[:19].replace(':', '')}.cdm"
        write_cdm(path, msg)
        written.append(path)
    return written


class Progress:
    """A one-line progress bar on stderr, shown only once the run has taken more than a second."""

    def __init__(self, stream=None, delay_s=1.0):
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.delay_s = delay_s
        self.shown = False

    def __call__(self, fraction: float) -> None:
        if time.perf_counter() - self.t0 < self.delay_s:
            return
        self.shown = True
        n = int(round(30 * min(max(fraction, 0.0), 1.0)))
        self.stream.write(f"\rscreening [{'#' * n}{' ' * (30 - n)}] {100 * fraction:5.1f}%")
        self.stream.flush()

    def close(self):
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def run(args) -> int:
    from marsview.cli.output import check_output_file, check_output_folder
    from marsview.core.screening import ScreeningSettings, screen

    try:
        check_output_file(args.output)
        if args.cdm_dir is not None:
            check_output_folder(args.cdm_dir, "--cdm-dir")
        targets, warnings, conjunctions = load_inputs(args.paths, getattr(args, "allow_outside_paths", False))
        if len(targets) < 2 and conjunctions:   # CDMs only (or one trajectory): report the CDMs' rows
            return _report_cdms_only(args, conjunctions, warnings)
        if len(targets) < 2:
            raise ValueError(f"screening needs at least two objects, got {[t.name for t in targets]}")
        start, stop, skipped = screening_window(targets, args.start, args.duration)
        if skipped:
            left_out = {id(t) for t, _why in skipped if t is not None}
            targets = [t for t in targets if id(t) not in left_out]
            warnings = warnings + [why for _t, why in skipped]
        check_threshold_km(args.threshold_km)
    except (ValueError, OSError) as exc:  # ParseError is a ValueError: file:line: keyword: message
        print(f"marsview screen: {exc}", file=sys.stderr)
        return 2
    for w in warnings:
        print(f"marsview screen: warning: {printable(w)}", file=sys.stderr)
    bar = Progress()
    try:
        result = screen(targets, start, stop, ScreeningSettings(threshold_km=args.threshold_km), progress=bar)
    finally:
        bar.close()
    report = report_dict(result, conjunctions)
    return _write_report(args, report, result, targets)


def _report_cdms_only(args, conjunctions, warnings) -> int:
    """`marsview screen FILE.cdm ...` with nothing to screen: the CDMs' close approaches as the report."""
    from types import SimpleNamespace

    for w in warnings:
        print(f"marsview screen: warning: {printable(w)}", file=sys.stderr)
    tcas = [c.tca_tdb_s for c in conjunctions]
    empty = SimpleNamespace(events=(), start_tdb_s=min(tcas), stop_tdb_s=max(tcas), threshold_km=args.threshold_km,
                            objects=(), pairs_screened=0, step_s=0.0)
    return _write_report(args, report_dict(empty, conjunctions), None, [])


def _write_report(args, report, result, targets) -> int:
    from marsview.cli.output import write_text_output

    text = {"json": lambda r: json.dumps(r, indent=2) + "\n", "csv": format_csv, "table": format_table}[args.format](report)
    write_text_output(args.output, text)
    if args.cdm_dir and result is not None:
        paths = write_event_cdms(result, targets, args.cdm_dir)
        print(f"marsview screen: wrote {len(paths)} CDM(s) to {args.cdm_dir}", file=sys.stderr)
    return 0
