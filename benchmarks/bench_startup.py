"""Benchmark: time from starting ``marsview`` (a fresh Python process) to the first drawn frame of the 3D
view, and to the first screening result shown. Needs a display (Xvfb is fine). Prints JSON; never pass/fail.

    .venv/bin/python benchmarks/bench_startup.py [--runs 3] [PATHS ...]

The child process is the GUI entry point with a hook on the globe canvas' draw event; the clock starts in
the parent just before the process is spawned, so interpreter start-up and imports are included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import sys, time
from marsview.gui import ensure_app, launch
app = ensure_app()
window = launch(sys.argv[1:] or None, show=True)
marks = {}
def drawn(_e=None):
    marks.setdefault("first_frame", time.time())
def screened():
    marks.setdefault("first_screening", time.time())
    app.quit()
window.globe.canvas.events.draw.connect(drawn)
window.screeningFinished.connect(screened)
from PySide6.QtCore import QTimer
window.controller.loadFailed.connect(lambda m, d: (marks.setdefault("error", m), QTimer.singleShot(1000, app.quit)))
QTimer.singleShot(120000, app.quit)
app.exec()
window.close()
print("MARKS", {k: v for k, v in marks.items()})
"""


def one_run(paths):
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", CHILD, *paths], capture_output=True, text=True, timeout=300)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("MARKS ")), None)
    if line is None:
        raise RuntimeError(f"child failed (rc {proc.returncode}): {proc.stderr[-2000:]}")
    marks = eval(line[6:], {})  # our own child's dict of floats/strings
    return {k: (v - t0 if isinstance(v, float) else v) for k, v in marks.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("paths", nargs="*")
    args = p.parse_args()
    runs = [one_run(args.paths) for _ in range(args.runs)]
    ff = [r["first_frame"] for r in runs if "first_frame" in r]
    fs = [r["first_screening"] for r in runs if "first_screening" in r]
    errors = sorted({r["error"] for r in runs if "error" in r})
    print(json.dumps(dict(benchmark="startup_to_first_frame", runs=args.runs, scenario=args.paths or "default",
                          first_frame_s=ff, first_frame_median_s=statistics.median(ff) if ff else None,
                          first_screening_s=fs, first_screening_median_s=statistics.median(fs) if fs else None,
                          target_first_frame_s=3.0, load_errors=errors, cpu_count=os.cpu_count(),
                          display=os.environ.get("DISPLAY")), indent=1))


if __name__ == "__main__":
    main()
