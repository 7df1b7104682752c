"""``marsview plan``: what one impulsive burn does to every close approach, from the command line.

    marsview plan [PATH ...] --object NAME --burn-utc UTC --dv A,B,C [--frame RTN|VNB] [--force-model M]
                  [--method differential|absolute] [--start UTC] [--duration DUR] [--threshold-km KM]
                  [--format table|json] [-o OEM]

The inputs and the window are those of ``marsview screen`` (same defaults). The planned trajectory follows the
planning rule of the GUI (core.planning): the delivered ephemeris + (our propagation with the burn - without
it), both from the delivered state at the burn with the chosen force model (default zonal = J2-J4);
``--method absolute`` uses our propagation alone after the burn. --dv gives the components along the frame's
axes in m/s: RTN = (R, T, N), VNB = (V, N, B). The maneuvered object's pairs are re-screened (the same
core.planning / core.screening calls as the GUI's exact check) and compared with the unplanned screening:
matched events, NEW ones (only with the burn) and REMOVED ones (only without). -o writes the planned
trajectory over the window as an OEM, the burn epoch a segment boundary described in a COMMENT.
"""

from __future__ import annotations

import json
import math
import sys

from marsview.model.events import event_dict
from marsview.model.options import IMMOBILE_KINDS

from .output import check_threshold_km
from .screen import DEFAULT_DURATION, DEFAULT_THRESHOLD_KM, Progress, load_targets, window


def register(subparsers) -> None:
    p = subparsers.add_parser("plan", help="the effect of a planned burn on every close approach",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="scenario folder or ephemeris files (OEM, SPK)")
    p.add_argument("--object", required=True, metavar="NAME", help="the maneuvered object")
    p.add_argument("--burn-utc", required=True, metavar="UTC", help="burn epoch, UTC (impulsive)")
    p.add_argument("--dv", required=True, metavar="A,B,C", help="dv components in m/s along the frame's axes")
    p.add_argument("--frame", choices=("RTN", "VNB"), default="RTN", type=str.upper,
                   help="local frame of --dv: RTN (R,T,N) or VNB (V,N,B) (default RTN)")
    p.add_argument("--force-model", default="zonal", metavar="M",
                   help="two-body, j2, zonal (J2-J4) or full (default zonal)")
    p.add_argument("--method", choices=("differential", "absolute"), default="differential",
                   help="differential: delivered + burn effect (default); absolute: our propagation alone")
    p.add_argument("--start", metavar="UTC", help="window start, UTC (default: latest start of the inputs)")
    p.add_argument("--duration", metavar="DUR", default=DEFAULT_DURATION, help="window length (default 7d)")
    p.add_argument("--threshold-km", metavar="KM", type=float, default=DEFAULT_THRESHOLD_KM,
                   help="report minima closer than this [km] (default 10)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("-o", "--output", metavar="OEM", help="write the planned trajectory as a CCSDS OEM here")
    p.set_defaults(func=run)


def parse_dv(text: str) -> tuple[float, float, float]:
    parts = [p.strip() for p in text.split(",")]
    try:
        dv = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"--dv: expected three numbers in m/s separated by commas, got {text!r}") from None
    if len(dv) != 3 or not all(math.isfinite(x) for x in dv):
        raise ValueError(f"--dv: expected three finite numbers in m/s separated by commas, got {text!r}")
    return dv


def plan_report(targets, args):
    """(report dict, planned ephemeris, burn, (start, stop)) for parsed ARGS over TARGETS."""
    from marsview.core.dynamics import ForceModel
    from marsview.core.planning import planned_ephemeris, verify_plan
    from marsview.core.screening import ScreeningSettings, screen
    from marsview.core.time import format_epoch, utc_to_tdb_s
    from marsview.model.plan import PlannedBurn

    names = [t.name for t in targets]
    if args.object not in names:
        raise ValueError(f"--object: no object {args.object!r} in the inputs (have {', '.join(names)})")
    if len(targets) < 2:
        raise ValueError(f"planning against close approaches needs at least two objects, got {names}")
    check_threshold_km(args.threshold_km)
    dv = parse_dv(args.dv)
    force_model = ForceModel.from_name(args.force_model)
    start, stop = window(targets, args.start, args.duration)
    burn_tdb_s = utc_to_tdb_s(args.burn_utc)
    base = next(t.ephemeris for t in targets if t.name == args.object)
    lo, _hi = base.coverage
    if not lo <= burn_tdb_s < stop:
        raise ValueError(f"--burn-utc {args.burn_utc}: outside {args.object}'s coverage within the window "
                         f"({format_epoch(lo, 'UTC', 3)} .. {format_epoch(stop, 'UTC', 3)} UTC)")
    burn = PlannedBurn(burn_tdb_s, dv, args.frame)
    bar = Progress()
    try:
        before = screen(targets, start, stop, ScreeningSettings(threshold_km=args.threshold_km), progress=bar)
    finally:
        bar.close()
    planned = planned_ephemeris(base, [burn.to_core()], force_model, stop_tdb_s=stop, method=args.method)
    check = verify_plan(targets, args.object, planned, before)
    after = check.result
    report = {
        "object": args.object, "burn_utc": format_epoch(burn_tdb_s, "UTC", 6), "burn_tdb_s": burn_tdb_s,
        "dv_mps": list(dv), "frame": args.frame, "force_model": force_model.name, "method": args.method,
        "model_mismatch_km": getattr(planned, "model_mismatch_km", None),
        "start_utc": format_epoch(start, "UTC", 6), "stop_utc": format_epoch(stop, "UTC", 6),
        "threshold_km": args.threshold_km,
        "events_before": [event_dict(e) for e in before.events],
        "events_after": [event_dict(e) for e in after.events],
        "new": [event_dict(c.after) for c in check.changes if c.status == "new"],
        "removed": [event_dict(c.before) for c in check.changes if c.status == "gone"],
        "changes": [{"other": c.other, "status": {"gone": "removed"}.get(c.status, c.status),
                     "tca_utc": format_epoch((c.after or c.before).tca_tdb_s, "UTC", 6),
                     "miss_before_km": c.miss_before_km, "miss_after_km": c.miss_after_km,
                     "pc_before": c.before.pc if c.before is not None else None,
                     "pc_after": c.after.pc if c.after is not None else None}
                    for c in check.changes],
    }
    return report, planned, burn, (start, stop)


def format_table(report: dict) -> str:
    dv = ", ".join(f"{x:g}" for x in report["dv_mps"])
    lines = [f"PLANNED: {report['object']} burn at {report['burn_utc']} UTC, dv {report['frame']} = ({dv}) m/s, "
             f"{report['force_model']} force model, {report['method']}",
             f"Window {report['start_utc']} .. {report['stop_utc']} UTC, threshold {report['threshold_km']:g} km; "
             f"{len(report['events_before'])} close approaches without the burn, {len(report['events_after'])} "
             "with it"]
    if report.get("model_mismatch_km") is not None:
        lines.append(f"Correction (delivered vs our propagation at the window end): "
                     f"{report['model_mismatch_km']:.3f} km")
    rows = [["Other", "TCA (UTC)", "Miss before [km]", "Miss after [km]", ""]]
    for c in report["changes"]:
        rows.append([c["other"], c["tca_utc"], "-" if c["miss_before_km"] is None else f"{c['miss_before_km']:.3f}",
                     "-" if c["miss_after_km"] is None else f"{c['miss_after_km']:.3f}",
                     {"new": "NEW", "removed": "REMOVED"}.get(c["status"], "")])
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for n, r in enumerate(rows):
        lines.append("  ".join(r[i].ljust(widths[i]) if i < 2 else r[i].rjust(widths[i]) for i in range(5)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths).rstrip())
    if not report["changes"]:
        lines.append(f"({report['object']} has no close approach below the threshold, with or without the burn)")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    try:
        kinds = {}
        targets, warnings = load_targets(args.paths, kinds=kinds)
        for w in warnings:
            print(f"marsview plan: warning: {w}", file=sys.stderr)
        if kinds.get(args.object) in IMMOBILE_KINDS:  # as `marsview options` says of it
            raise ValueError(f"--object: {args.object} is {'a moon' if kinds[args.object] == 'moon' else 'inactive'}: "
                             "it cannot maneuver (plan the other object of the encounter)")
        report, planned, burn, (start, stop) = plan_report(targets, args)
    except (ValueError, OSError) as exc:  # ParseError is a ValueError: file:line: keyword: message
        print(f"marsview plan: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2) + "\n" if args.format == "json" else format_table(report)
    sys.stdout.write(text)
    if args.output:
        from marsview.io.plan_export import write_planned_oem

        try:
            write_planned_oem(args.output, planned, start, stop, burns=[burn], force_model=report["force_model"],
                              method=args.method)
        except (ValueError, OSError) as exc:
            print(f"marsview plan: {args.output}: {exc}", file=sys.stderr)
            return 2
        print(f"marsview plan: wrote the planned trajectory to {args.output}", file=sys.stderr)
    return 0
