"""Benchmark: two-body analytic propagation of 10 fleet-like orbits x 1e5 epochs (target <= 50 ms),
plus the interpolation rate of a tabulated (OEM-like) ephemeris. Prints JSON; never pass/fail.

    .venv/bin/python benchmarks/bench_twobody.py [--repeat 5]

The elliptic fast path runs as a numba kernel (core.kernels.kepler_table_states). Also reported: the same
call through the numpy loop (MARSVIEW_NO_JIT=1) and their largest difference, and the first call in a
fresh process (numba import + compile on a cold cache, or + loading the cached code).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from marsview.core import orbits as O
from marsview.core.constants import GM_MARS_KM3S2
from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment
from marsview.core.twobody import propagate_twobody

# periapsis alt, apoapsis alt [km], inclination [deg] (mars_facts.md section 4, roughly)
FLEET = {
    "MRO": (255, 320, 92.6), "ODY": (400, 400, 93.06), "MAVEN": (150, 4500, 75), "MEX": (350, 10300, 86.3),
    "TGO": (400, 400, 74), "EMM": (20000, 43000, 25), "TW1": (265, 10700, 86), "MOM": (421.7, 76993.6, 150),
    "MGS": (370, 440, 93), "PHOBOS-LIKE": (5980, 5980, 1.1),
}


def _timed(func, repeat):
    """(best wall s, median wall s, best CPU s): CPU time stays meaningful on a shared, loaded machine."""
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        func()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(times), float(np.median(times)), min(cpu)


FIRST_CALL = """
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np
from marsview.core.twobody import propagate_twobody
w0, c0 = time.perf_counter(), time.process_time()
propagate_twobody(np.array([3650.0, 0.0, 0.0, 0.0, 3.45, 0.3]), 0.0, np.linspace(0.0, 86400.0, 1000))
print(json.dumps([time.perf_counter() - w0, time.process_time() - c0]))
"""


def first_call_costs() -> dict:
    code = FIRST_CALL.format(root=str(Path(__file__).resolve().parents[1]))
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold_cache", "warm_cache"):
            run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            wall, cpu = json.loads(run.stdout)
            out[f"first_call_wall_s_{label}"] = round(wall, 3)
            out[f"first_call_cpu_s_{label}"] = round(cpu, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=100_000)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    states = np.stack([O.state_from_peri_apo(hp, ha, inc, *rng.uniform(0, 360, 3)) for hp, ha, inc in FLEET.values()])
    t = np.linspace(0.0, 14 * 86400.0, args.epochs)
    propagate_twobody(states, 0.0, t[:1000])  # warm-up
    best, median, cpu = _timed(lambda: propagate_twobody(states, 0.0, t), args.repeat)
    out = propagate_twobody(states, 0.0, t)
    r = np.linalg.norm(out[..., :3], axis=-1)
    energy = 0.5 * np.sum(out[..., 3:] ** 2, axis=-1) - GM_MARS_KM3S2 / r
    rel_energy = np.abs(energy / energy[:, :1] - 1.0).max()
    os.environ["MARSVIEW_NO_JIT"] = "1"  # the numpy loop, for comparison
    try:
        np_best, np_median, np_cpu = _timed(lambda: propagate_twobody(states, 0.0, t), args.repeat)
        out_np = propagate_twobody(states, 0.0, t)
    finally:
        del os.environ["MARSVIEW_NO_JIT"]
    jit_vs_numpy_km = float(np.abs(out[..., :3] - out_np[..., :3]).max())
    start_up = first_call_costs()

    # interpolation: one day of 60 s MRO states, Hermite degree 7, 1e5 random epochs
    tab_t = np.arange(0.0, 86400.0 + 1, 60.0)
    tab = TabulatedEphemeris("MRO", [TabulatedSegment(tab_t, propagate_twobody(states[0], 0.0, tab_t), "HERMITE", 7)])
    q = rng.uniform(0.0, 86400.0, 100_000)
    tab_best, tab_median, tab_cpu = _timed(lambda: tab.state(q), args.repeat)
    interp_err_km = np.abs(tab.state(q)[:, :3] - propagate_twobody(states[0], 0.0, q)[:, :3]).max()

    print(json.dumps({
        "benchmark": "twobody",
        "objects": len(FLEET),
        "epochs_per_object": args.epochs,
        "twobody_wall_s_best": round(best, 4),
        "twobody_wall_s_median": round(median, 4),
        "twobody_cpu_s_best": round(cpu, 4),
        "twobody_ns_per_state": round(best / out[..., 0].size * 1e9, 1),
        "twobody_target_s": 0.050,
        **start_up,
        "numpy_loop_wall_s_best": round(np_best, 4),
        "numpy_loop_wall_s_median": round(np_median, 4),
        "numpy_loop_cpu_s_best": round(np_cpu, 4),
        "max_position_difference_km_numba_vs_numpy": float(f"{jit_vs_numpy_km:.3e}"),
        "max_relative_energy_error": float(f"{rel_energy:.3e}"),
        "hermite7_interp_1e5_epochs_wall_s_best": round(tab_best, 4),
        "hermite7_interp_1e5_epochs_wall_s_median": round(tab_median, 4),
        "hermite7_interp_1e5_epochs_cpu_s_best": round(tab_cpu, 4),
        "hermite7_60s_table_max_pos_error_km": float(f"{interp_err_km:.3e}"),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "machine": platform.processor() or platform.machine(),
        "numpy": np.__version__,
    }, indent=2))


if __name__ == "__main__":
    main()
