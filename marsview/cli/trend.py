"""``marsview trend``: how each close approach moved from one delivery to the next.

    marsview trend DELIVERY DELIVERY [...] [--threshold-km KM] [--format table|json]

DELIVERY: a folder or scenario holding one delivery cycle (oldest first), or a watch history folder
(FOLDER/.marsview, written by ``marsview watch``), which stands for every delivery it recorded. Each folder
is loaded all-or-nothing and screened over its own window (scenario.toml's [window], else 7 days from the
latest coverage start). Objects are the same body across deliveries by NAIF ID, then COSPAR ID, then name;
an encounter is the same pair meeting within a quarter of the shorter orbital period of its previous TCA.
"""

from __future__ import annotations

import json
import sys

from .output import check_threshold_km


def register(subparsers) -> None:
    import argparse

    p = subparsers.add_parser("trend", help="follow each close approach across ephemeris deliveries",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("deliveries", nargs="+", metavar="DELIVERY",
                   help="delivery folders or scenarios, oldest first, or a watch history folder")
    p.add_argument("--threshold-km", metavar="KM", type=float, default=10.0,
                   help="report minima closer than this [km] (default 10; not applied to a watch history)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def collect_deliveries(paths, threshold_km: float, progress=None):
    """Delivery objects for PATHS in order (a watch history expands to its deliveries)."""
    from marsview.model.events import event_dict
    from marsview.model.deliveries import history_deliveries, is_history
    from marsview.model.trend import CanonicalNames, delivery_from_path

    canonical = CanonicalNames()
    out = []
    for path in paths:
        if is_history(path):
            out.extend(history_deliveries(path))
        else:
            out.append(delivery_from_path(path, threshold_km, event_dict, canonical, progress))
    return out


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def format_table(report: dict) -> str:
    names = [d["name"] for d in report["deliveries"]]
    lines = [f"{len(report['encounters'])} encounters across {len(names)} deliveries: " + ", ".join(
        f"{d['name']} ({d['received_utc']})" for d in report["deliveries"])]
    head = ("Delivery", "TCA (UTC)", "dTCA [s]", "Miss [km]", "R [km]", "T [km]", "N [km]", "Pc")
    for enc in report["encounters"]:
        rows = [head] + [(h["delivery"], h["tca_utc"], _fmt(h["tca_shift_s"], "+.3f"), _fmt(h["miss_km"], ".3f"),
                          _fmt(h["radial_km"], ".3f"), _fmt(h["in_track_km"], ".3f"),
                          _fmt(h["cross_track_km"], ".3f"), _fmt(h["pc"], ".2e")) for h in enc["history"]]
        present = {h["delivery"] for h in enc["history"]}
        missing = [n for n in names if n not in present]
        widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
        lines.append("")
        lines.append(f"{enc['object1']} / {enc['object2']}" + (
            f"   (absent from: {', '.join(missing)})" if missing else ""))
        for n, r in enumerate(rows):
            lines.append("  " + "  ".join(r[c].ljust(widths[c]) if c < 2 else r[c].rjust(widths[c])
                                          for c in range(len(head))).rstrip())
            if n == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
    if not report["encounters"]:
        lines.append("(no close approaches below the threshold in any delivery)")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    from marsview.cli.screen import Progress
    from marsview.model.trend import match_encounters, trend_report

    try:
        check_threshold_km(args.threshold_km)
    except ValueError as exc:
        print(f"marsview trend: {exc}", file=sys.stderr)
        return 2
    bar = Progress()
    try:
        deliveries = collect_deliveries(args.deliveries, args.threshold_km, bar)
    except (ValueError, OSError) as exc:  # ParseError is a ValueError: file:line: KEYWORD: message
        bar.close()
        print(f"marsview trend: {exc}", file=sys.stderr)
        return 2
    bar.close()
    if len(deliveries) < 2:
        print("marsview trend: a trend needs at least two deliveries", file=sys.stderr)
        return 2
    report = trend_report(deliveries, match_encounters(deliveries))
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if args.format == "json" else format_table(report))
    return 0
