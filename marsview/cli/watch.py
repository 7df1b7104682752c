"""``marsview watch``: re-screen every time a team delivers an ephemeris into a folder.

    marsview watch FOLDER [--threshold-km KM] [--duration DUR] [--history DIR] [--once]

A new file (OEM, OPM, SPK...) or sub-folder in FOLDER counts once its size and mtime have not changed for 2 s.
All items that became ready together form one delivery: each is loaded all-or-nothing and replaces the
previous ephemeris of the same object (NAIF ID, then COSPAR ID, then name); then every pair is screened over
[latest coverage start, + DUR] and compared with the previous delivery. One line per change on stdout:

    DELIVERY  name, arrival time (UTC), items, number of close approaches
    NEW       a close approach that was not there before
    GONE      one that is no longer below the threshold (an event that left the window is not GONE)
    CHANGED   miss moved by more than max(0.1 km, 5 %), TCA by more than 1 s, or Pc by more than a factor 2
              (Pc below 1e-10 counts as 1e-10); WORSE when the miss shrank or Pc grew beyond that
    REJECTED  a bad item, with its file:line: KEYWORD: error; it is set aside (not retried until it changes)
              and nothing else changes

The history (FOLDER/.marsview/history.json, or --history DIR) records items, SHA-256 hashes, arrival times
and events, so a restart continues where it stopped. --once processes what is there and exits: 0 when no
close approach is new or worse, 3 when one is.
"""

from __future__ import annotations

import sys
import time

POLL_S = 1.0
ONCE_MAX_WAIT_S = 60.0
EXIT_NEW_OR_WORSE = 3


def register(subparsers) -> None:
    import argparse

    p = subparsers.add_parser("watch", help="re-screen whenever a new ephemeris arrives in a folder",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", metavar="FOLDER", help="the delivery folder to watch")
    p.add_argument("--threshold-km", metavar="KM", type=float, default=10.0,
                   help="report minima closer than this [km] (default 10)")
    p.add_argument("--duration", metavar="DUR", default="7d", help="screening window length (default 7d)")
    p.add_argument("--history", metavar="DIR", help="history folder (default FOLDER/.marsview)")
    p.add_argument("--once", action="store_true", help="process what is there and exit (0, or 3: new or worse)")
    p.set_defaults(func=run, stable_s=None)


def _emit(outcome) -> None:
    for line in outcome.lines():
        sys.stdout.write(line + "\n")
    for r in outcome.rejected:
        print(f"marsview watch: {r['error']} ({r['path']} set aside)", file=sys.stderr)
    sys.stdout.flush()


def run(args) -> int:
    from marsview.model.events import event_dict
    from marsview.core.time import parse_duration_s
    from marsview.model.deliveries import STABLE_S, DeliveryWatcher

    try:
        duration_s = parse_duration_s(args.duration)
        watcher = DeliveryWatcher(args.folder, event_dict, args.threshold_km, duration_s, args.history,
                                  STABLE_S if args.stable_s is None else args.stable_s)
    except (ValueError, OSError) as exc:
        print(f"marsview watch: {exc}", file=sys.stderr)
        return 2
    worse = False
    if args.once:
        waited = 0.0
        while True:
            ready, waiting = watcher.scan()
            if not waiting or waited >= ONCE_MAX_WAIT_S:
                break
            time.sleep(0.5)  # something is still being written: let it settle
            waited += 0.5
        for path in waiting:
            print(f"marsview watch: {path.name} still changing; left for the next run", file=sys.stderr)
        if ready:
            outcome = _process(watcher, ready)
            if outcome is None:
                return 2
            worse = outcome.worse
        for w in watcher.restore_warnings:
            print(f"marsview watch: warning: {w}", file=sys.stderr)
        return EXIT_NEW_OR_WORSE if worse else 0
    print(f"marsview watch: watching {watcher.folder} (history {watcher.history_dir}); Ctrl-C stops",
          file=sys.stderr)
    while True:
        ready, _waiting = watcher.scan()
        if ready:
            _process(watcher, ready)
        time.sleep(POLL_S)


def _process(watcher, ready):
    from marsview.cli.screen import Progress

    bar = Progress()
    try:
        outcome = watcher.process(ready, progress=bar)
    except ValueError as exc:  # e.g. the delivered objects share no coverage: nothing recorded
        bar.close()
        print(f"marsview watch: {exc}", file=sys.stderr)
        return None
    bar.close()
    _emit(outcome)
    return outcome
