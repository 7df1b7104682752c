"""``marsview options``: who moves? Both objects' smallest-dv avoidance options for one close approach.

    marsview options [PATH ...] --encounter OBJ1/OBJ2 [--tca UTC] [--target-miss-km KM | --target-pc PC]
                     [--burn-utc UTC] [--force-model M] [--start UTC] [--duration DUR] [--threshold-km KM]
                     [--format table|json]

The inputs and the window are those of ``marsview screen`` (same defaults). The encounter is the pair's close
approach in the screening (the one nearest --tca when the pair has several, else the closest). Each object is
tried alone as the one that moves: a moon or an inactive orbiter cannot ("cannot maneuver"); a spacecraft gets
the smallest impulsive dv (any direction, RTN) that reaches the target, from the solver of ``marsview plan``'s
planning rule (delivered ephemeris + burn effect, --force-model, default zonal = J2-J4), then confirmed by the
exact re-screen of its pairs: miss_after_km and pc_after are the re-screen's, "new" the close approaches the
burn creates. Default target: the encounter's screening threshold (the close approach leaves the screening).
Default burn epoch: two orbital periods of the spacecraft before the TCA (no earlier than the window start).
"""

from __future__ import annotations

import argparse
import json
import sys

from marsview.model.events import event_dict

from .output import check_threshold_km
from .screen import DEFAULT_DURATION, DEFAULT_THRESHOLD_KM, Progress


def register(subparsers) -> None:
    p = subparsers.add_parser("options", help="who moves: both objects' avoidance options for one close approach",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="scenario folder or ephemeris files (OEM, SPK)")
    p.add_argument("--encounter", required=True, metavar="OBJ1/OBJ2", help="the pair of the close approach")
    p.add_argument("--tca", metavar="UTC", help="pick the pair's close approach nearest this epoch, UTC")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--target-miss-km", metavar="KM", type=float,
                        help="miss distance to reach [km] (default: the encounter's screening threshold)")
    target.add_argument("--target-pc", metavar="PC", type=float, help="collision probability to get below")
    p.add_argument("--burn-utc", metavar="UTC",
                   help="burn epoch, UTC, for both options (default: 2 orbital periods before the TCA)")
    p.add_argument("--force-model", default="zonal", metavar="M",
                   help="two-body, j2, zonal (J2-J4) or full (default zonal)")
    p.add_argument("--start", metavar="UTC", help="window start, UTC (default: latest start of the inputs)")
    p.add_argument("--duration", metavar="DUR", default=DEFAULT_DURATION, help="window length (default 7d)")
    p.add_argument("--threshold-km", metavar="KM", type=float, default=DEFAULT_THRESHOLD_KM,
                   help="report minima closer than this [km] (default 10)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def option_dict(opt) -> dict:
    """An option in the JSON shape of README ("cannot maneuver" objects: object and reason only)."""
    from marsview.core.time import format_epoch

    if opt.reason is not None:
        return {"object": opt.object, "reason": opt.reason}
    return {
        "object": opt.object, "burn_utc": format_epoch(opt.burn_tdb_s, "UTC", 6), "burn_tdb_s": opt.burn_tdb_s,
        "frame": "RTN", "dv_mps": list(opt.dv_mps), "total_dv_mps": opt.total_dv_mps,
        "propellant_kg": opt.propellant_kg, "miss_after_km": opt.miss_after_km, "pc_after": opt.pc_after,
        "tca_after_utc": format_epoch(opt.tca_after_tdb_s, "UTC", 6),
        "predicted_miss_km": opt.predicted_miss_km, "predicted_pc": opt.predicted_pc,
        "new": [event_dict(e) for e in opt.new_events],
    }


def options_report(args) -> dict:
    """The report dict for parsed ARGS (ValueError/OSError with a one-line message on bad input)."""
    from marsview.core.dynamics import ForceModel
    from marsview.core.screening import ScreeningSettings, screen
    from marsview.core.time import format_epoch, utc_to_tdb_s
    from marsview.model.loading import load_scenario
    from marsview.model.options import find_encounter, who_moves
    from marsview.model.trend import screening_targets

    from .screen import window

    pair = [s.strip() for s in args.encounter.split("/")]
    if len(pair) != 2 or not all(pair) or pair[0] == pair[1]:
        raise ValueError(f"--encounter: expected two different object names as OBJ1/OBJ2, got {args.encounter!r}")
    check_threshold_km(args.threshold_km)
    if args.target_miss_km is not None and not args.target_miss_km > 0:
        raise ValueError(f"--target-miss-km must be positive, got {args.target_miss_km}")
    if args.target_pc is not None and not 0 < args.target_pc < 1:
        raise ValueError(f"--target-pc must lie between 0 and 1, got {args.target_pc}")
    scenario = load_scenario(list(args.paths) or None)
    for w in getattr(scenario, "warnings", None) or []:
        print(f"marsview options: warning: {w}", file=sys.stderr)
    objects = scenario.screened_objects() if hasattr(scenario, "screened_objects") else scenario.objects
    names = [o.name for o in objects]
    for n in pair:
        if n not in names:
            raise ValueError(f"--encounter: no object {n!r} in the inputs (have {', '.join(names)})")
    targets = screening_targets(objects)
    force_model = ForceModel.from_name(args.force_model)
    start, stop = window(targets, args.start, args.duration)
    bar = Progress()
    try:
        baseline = screen(targets, start, stop, ScreeningSettings(threshold_km=args.threshold_km), progress=bar)
    finally:
        bar.close()
    event = find_encounter(baseline.events, pair[0], pair[1], utc_to_tdb_s(args.tca) if args.tca else None)
    opts = who_moves(objects, targets, baseline, event, stop_tdb_s=stop, window_start_tdb_s=start,
                     force_model=force_model, target_miss_km=args.target_miss_km, target_pc=args.target_pc,
                     burn_tdb_s=utc_to_tdb_s(args.burn_utc) if args.burn_utc else None)
    return {
        "encounter": event_dict(event),
        "target_miss_km": args.target_miss_km if args.target_pc is not None or args.target_miss_km is not None
        else event.threshold_km,
        "target_pc": args.target_pc, "force_model": force_model.name,
        "start_utc": format_epoch(start, "UTC", 6), "stop_utc": format_epoch(stop, "UTC", 6),
        "threshold_km": args.threshold_km,
        "options": [option_dict(o) for o in opts],
    }


def format_table(report: dict) -> str:
    e = report["encounter"]
    pc = "-" if e["pc"] is None else f"{e['pc']:.2e}"
    goal = (f"Pc <= {report['target_pc']:.1e}" if report["target_pc"] is not None
            else f"miss >= {report['target_miss_km']:g} km")
    lines = [f"ENCOUNTER: {e['object1']} / {e['object2']} at {e['tca_utc']} UTC, miss {e['miss_km']:.3f} km, "
             f"Pc {pc}; target {goal}, {report['force_model']} force model"]
    for o in report["options"]:
        if "reason" in o:
            lines.append(f"  {o['object']}: {o['reason']}")
            continue
        dv = ", ".join(f"{x:.4f}" for x in o["dv_mps"])
        prop = "-" if o["propellant_kg"] is None else f"{o['propellant_kg']:.3f} kg"
        pca = "-" if o["pc_after"] is None else f"{o['pc_after']:.2e}"
        lines.append(f"  {o['object']} moves: burn {o['burn_utc']} UTC, dv RTN ({dv}) m/s = "
                     f"{o['total_dv_mps']:.4f} m/s, propellant {prop}; exact re-screen: miss "
                     f"{o['miss_after_km']:.3f} km, Pc {pca}, {len(o['new'])} new close approach(es)")
        for n in o["new"]:
            lines.append(f"      NEW {n['object1']} / {n['object2']} at {n['tca_utc']} UTC, "
                         f"miss {n['miss_km']:.3f} km")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    try:
        report = options_report(args)
    except (ValueError, OSError) as exc:  # ParseError is a ValueError: file:line: keyword: message
        print(f"marsview options: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if args.format == "json" else format_table(report))
    return 0
