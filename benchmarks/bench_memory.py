"""Benchmark: resident memory while the main window animates the default scenario at x1000. Prints JSON.

    .venv/bin/python benchmarks/bench_memory.py [--minutes 10] [--warp 1000]

Runs the real window (needs a display; Xvfb is fine), plays at the chosen warp and samples RSS from
/proc/self/status every few seconds. Reports the RSS after warm-up (the first 20 % of the run), at the end,
and the least-squares slope in MB per minute over the rest: ~0 means no growth. Never pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--warp", type=float, default=1000.0)
    p.add_argument("--sample-s", type=float, default=5.0)
    p.add_argument("paths", nargs="*")
    args = p.parse_args()
    from PySide6.QtCore import QTimer

    from marsview.gui import ensure_app, launch

    app = ensure_app()
    w = launch(args.paths or None, show=True)
    ready = []
    w.screeningFinished.connect(lambda: ready.append(True))
    w.controller.loadFailed.connect(lambda m, d: (print(m, file=sys.stderr), app.quit()))
    t_end = time.time() + 120
    while not ready and time.time() < t_end:
        app.processEvents()
    if not ready:
        print("no screening result within 120 s", file=sys.stderr)
        return 1
    w.timebar.timeWarp.setCurrentIndex(w.timebar.timeWarp.findData(float(args.warp)))
    samples = []
    frames0 = w.globe.frames_drawn
    wall0 = time.time()

    def sample():
        samples.append((time.time() - wall0, rss_mb(), w.globe.frames_drawn - frames0))
        if not w.clock.playing:  # reached the end of the window: loop, as a briefing screen would
            w.clock.set_time(w.clock.start_tdb_s)
            w.clock.play()
        if time.time() - wall0 > args.minutes * 60:
            app.quit()

    timer = QTimer()
    timer.timeout.connect(sample)
    timer.start(int(args.sample_s * 1000))
    w.clock.play()
    sample()
    app.exec()
    from marsview.gui import shutdown_window

    shutdown_window(w)
    t, mb, frames = (np.array(x) for x in zip(*samples))
    keep = t >= 0.2 * t[-1]
    slope = float(np.polyfit(t[keep] / 60.0, mb[keep], 1)[0]) if keep.sum() >= 3 else float("nan")
    print(json.dumps(dict(benchmark="memory_animation", minutes=args.minutes, warp=args.warp,
                          rss_start_mb=float(mb[0]), rss_after_warmup_mb=float(mb[keep][0]),
                          rss_end_mb=float(mb[-1]), rss_max_mb=float(mb.max()),
                          growth_after_warmup_mb=float(mb[-1] - mb[keep][0]), slope_mb_per_min=slope,
                          frames=int(frames[-1]), mean_fps=float(frames[-1] / t[-1]) if t[-1] > 0 else None,
                          samples=len(samples), cpu_count=os.cpu_count()), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
