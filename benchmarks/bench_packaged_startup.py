"""Benchmark: time from starting the packaged app (PyInstaller one-folder, packaging/build.sh) to its first
frame of the globe on screen, seen from outside: the benchmark grabs the X screen until the Mars disc
appears. Also the same for the venv's ``python -m marsview`` and the packaged ``snapshot`` wall time.
Needs a display (``xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/bench_packaged_startup.py``).
Prints JSON; never pass/fail.

    bench_packaged_startup.py [--app dist/marsview/marsview] [--build] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def mars_pixels(app) -> int:
    """Count of Mars-coloured pixels on the whole screen (red dominant, bright enough)."""
    from marsview.gui.globe_view import qimage_to_rgb

    img = app.primaryScreen().grabWindow(0).toImage()
    rgb = qimage_to_rgb(img)[::2, ::2].astype(np.int16)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int(np.count_nonzero((r > 60) & (r > 1.3 * g) & (g >= b)))


def time_to_globe(app, cmd, timeout_s=120.0, min_pixels=1500):
    """Seconds from spawning CMD to a Mars disc on screen (None if it never shows)."""
    baseline = mars_pixels(app)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tempfile.gettempdir())
    try:
        while time.perf_counter() - t0 < timeout_s:
            if proc.poll() is not None:
                return None, f"exited with {proc.returncode}: {proc.stderr.read()[-500:].decode(errors='replace')}"
            if mars_pixels(app) - baseline >= min_pixels:
                return time.perf_counter() - t0, None
            time.sleep(0.02)
        return None, "timed out"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--app", default=str(ROOT / "dist" / "marsview" / "marsview"), help="packaged executable")
    p.add_argument("--build", action="store_true", help="build it first (packaging/build.sh into a temp folder)")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.exit("needs a display: run under xvfb-run")
    build_s = None
    app_path = Path(args.app)
    if args.build:
        tmp = Path(tempfile.mkdtemp(prefix="marsview-build-"))
        env = dict(os.environ, DISTPATH=str(tmp / "dist"), WORKPATH=str(tmp / "work"))
        t = time.perf_counter()
        subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], env=env, check=True, capture_output=True)
        build_s = time.perf_counter() - t
        app_path = tmp / "dist" / "marsview" / "marsview"
    if not app_path.is_file():
        sys.exit(f"{app_path}: no packaged app (build it with packaging/build.sh, or pass --build)")
    from PySide6.QtWidgets import QApplication

    qt = QApplication.instance() or QApplication(["bench"])
    packaged, venv, errors = [], [], []
    for _ in range(args.runs):
        for cmd, sink in (([str(app_path)], packaged), ([sys.executable, "-m", "marsview"], venv)):
            s, err = time_to_globe(qt, cmd)
            (sink.append(s) if s is not None else errors.append(f"{cmd[0]}: {err}"))
    out = Path(tempfile.mkdtemp()) / "snap.png"
    t = time.perf_counter()
    snap = subprocess.run([str(app_path), "snapshot", "--size", "1920x1080", "-o", str(out)], capture_output=True)
    snapshot_s = time.perf_counter() - t
    size_mb = sum(f.stat().st_size for f in app_path.parent.rglob("*") if f.is_file()) / 1e6
    print(json.dumps({
        "benchmark": "packaged_startup",
        "app": str(app_path),
        "runs": args.runs,
        "packaged_first_globe_frame_s": {"median": statistics.median(packaged) if packaged else None,
                                         "all": [round(x, 3) for x in packaged]},
        "venv_first_globe_frame_s": {"median": statistics.median(venv) if venv else None,
                                     "all": [round(x, 3) for x in venv]},
        "packaged_snapshot_1920x1080_wall_s": round(snapshot_s, 3) if snap.returncode == 0 else None,
        "bundle_size_mb": round(size_mb, 1),
        "build_s": None if build_s is None else round(build_s, 1),
        "cpu_count": os.cpu_count(),
        "errors": errors,
        "method": "time from spawn to >= 1500 new Mars-coloured pixels in a grab of the X screen (20 ms poll)",
    }, indent=2))


if __name__ == "__main__":
    main()
