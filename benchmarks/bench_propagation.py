"""Numerical propagation speed: 10 fleet-like Mars orbits, 14 days, 60 s output, zonal J2-J4. Prints JSON.

    .venv/bin/python benchmarks/bench_propagation.py [--days 14] [--separate] [--numpy]

Target (issue 2): <= 1 s on 2 cores. Reported: wall and CPU time of one stacked solve (all 10 orbits in
one DOP853 integration, core.dynamics.propagate_many; compiled numba kernels, core.kernels) at the default
tolerance (rtol 1e-12) and at rtol 1e-10 with its position error against the default run; the default
run's error with the point-mass model against the analytic two-body orbits (core.twobody); integrator
steps, right-hand-side evaluations and the time one compiled evaluation takes.
Start-up: the first propagation in a fresh process (numba import + compile on a cold cache, or + loading
the cached machine code), measured in child processes with their own empty NUMBA_CACHE_DIR.
--separate also times the 10 orbits one by one. --numpy also times the numpy/scipy reference path
(MARSVIEW_NO_JIT=1, scipy solve_ivp with the numpy right-hand side: the pre-numba code) and gives the
largest difference between the two.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marsview.core import constants as C  # noqa: E402
from marsview.core.dynamics import Accelerations, ForceModel, integrate_arcs, propagate, propagate_many  # noqa: E402
from marsview.core.twobody import propagate_twobody  # noqa: E402

# periapsis alt, apoapsis alt [km], inclination [deg] (mars_facts.md section 4, rounded), node, periapsis arg
FLEET = [
    ("MRO", 255, 320, 92.6, 0, 270), ("ODY", 400, 410, 93.1, 40, 0), ("MAVEN", 150, 4500, 75.0, 80, 30),
    ("MEX", 300, 10300, 86.3, 120, 60), ("TGO", 400, 400, 74.0, 160, 0), ("EMM", 20000, 43000, 25.0, 200, 90),
    ("TW1", 265, 10700, 86.0, 240, 120), ("MOM", 420, 76994, 150.0, 280, 150), ("MGS", 370, 440, 93.0, 320, 0),
    ("X1", 500, 600, 60.0, 10, 45),
]
EPOCH_TDB_S = 7.6e8  # 2024-01-30


def fleet_states() -> np.ndarray:
    out = []
    for _, hp, ha, inc, raan, argp in FLEET:
        rp, ra = C.RADIUS_EQUATORIAL_KM + hp, C.RADIUS_EQUATORIAL_KM + ha
        a = 0.5 * (rp + ra)
        vp = math.sqrt(C.GM_MARS_KM3S2 * (2 / rp - 1 / a))
        i, o, w = (math.radians(x) for x in (inc, raan, argp))
        # periapsis direction and velocity direction from the node/inclination/argument rotations
        p = np.array([math.cos(o) * math.cos(w) - math.sin(o) * math.sin(w) * math.cos(i),
                      math.sin(o) * math.cos(w) + math.cos(o) * math.sin(w) * math.cos(i), math.sin(w) * math.sin(i)])
        q = np.array([-math.cos(o) * math.sin(w) - math.sin(o) * math.cos(w) * math.cos(i),
                      -math.sin(o) * math.sin(w) + math.cos(o) * math.cos(w) * math.cos(i), math.cos(w) * math.sin(i)])
        out.append(np.hstack([rp * p, vp * q]))
    return np.array(out)


def timed(func):
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def cpu_timed(func):
    """(wall s, CPU s of this process, value): on a shared machine the CPU time is the fairer figure."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    value = func()
    return time.perf_counter() - wall0, time.process_time() - cpu0, value


FIRST_CALL = """
import json, sys, time
w0, c0 = time.perf_counter(), time.process_time()
sys.path.insert(0, {root!r})
import numpy as np
from marsview.core.dynamics import ForceModel, propagate_many
w1, c1 = time.perf_counter(), time.process_time()
propagate_many(np.array({state!r}), 0.0, np.arange(0.0, 601.0, 60.0), ForceModel.zonal())
w2, c2 = time.perf_counter(), time.process_time()
print(json.dumps([w1 - w0, c1 - c0, w2 - w1, c2 - c1]))
"""


def first_call_costs() -> dict:
    """Import and first (10-minute) propagation in fresh processes: cold numba cache, then warm cache."""
    root = str(Path(__file__).resolve().parents[1])
    code = FIRST_CALL.format(root=root, state=fleet_states()[:1].tolist())
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold_cache", "warm_cache"):
            run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            w_imp, c_imp, w_first, c_first = json.loads(run.stdout)
            out[f"first_propagation_wall_s_{label}"] = round(w_first, 3)
            out[f"first_propagation_cpu_s_{label}"] = round(c_first, 3)
        out["import_marsview_dynamics_wall_s"] = round(w_imp, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=14.0)
    parser.add_argument("--separate", action="store_true")
    parser.add_argument("--numpy", action="store_true")
    args = parser.parse_args()
    states = fleet_states()
    fm = ForceModel.zonal()
    t = EPOCH_TDB_S + np.arange(0.0, args.days * 86400.0 + 1.0, 60.0)
    start_up = first_call_costs()
    propagate_many(states, EPOCH_TDB_S, t[:10], fm)  # compile (or load) the kernels before timing

    wall_default, cpu_default, ref = cpu_timed(lambda: propagate_many(states, EPOCH_TDB_S, t, fm))
    wall_loose, cpu_loose, loose = cpu_timed(lambda: propagate_many(states, EPOCH_TDB_S, t, fm, rtol=1e-10))
    err_loose_m = float(np.max(np.linalg.norm(loose[:, :, :3] - ref[:, :, :3], axis=2)) * 1000.0)

    # anatomy of the default run: steps and right-hand-side evaluations, and what one compiled
    # evaluation costs called from Python (an upper bound: in the integrator there is no call overhead)
    wall_anatomy, arcs = timed(lambda: integrate_arcs(states, EPOCH_TDB_S, t[-1], fm))
    sol = arcs[0].sol
    steps = int(len(sol.ts) - 1)
    from marsview.core import kernels

    acc = Accelerations(fm, EPOCH_TDB_S, count=len(states), span_tdb_s=(EPOCH_TDB_S, t[-1]))
    fa, y, out = acc.jit_args(), states.reshape(-1).copy(), np.empty(states.size)
    calls = 20000
    rhs_s, _ = timed(lambda: [kernels.accel_into(EPOCH_TDB_S, y, out, fa) for _ in range(calls)])
    # accuracy: the same stacked solve with the point-mass model against the analytic two-body orbits
    coarse = t[::10]
    numeric = propagate_many(states, EPOCH_TDB_S, coarse, ForceModel.two_body())
    exact = np.array([propagate_twobody(s, EPOCH_TDB_S, coarse) for s in states])
    err_two_body_m = np.linalg.norm(numeric[:, :, :3] - exact[:, :, :3], axis=2).max(axis=1) * 1000.0
    result = {
        "benchmark": "propagation_zonal_fleet",
        "objects": len(states), "days": args.days, "output_step_s": 60.0, "output_epochs": int(t.size),
        "force_model": "zonal J2-J4 about the IAU 2015 pole of date",
        "engine": "numba-compiled DOP853 (scipy's steps and dense output) + compiled force model",
        "wall_s_stacked_rtol_1e-12": round(wall_default, 3),
        "wall_s_stacked_rtol_1e-10": round(wall_loose, 3),
        "cpu_s_stacked_rtol_1e-12": round(cpu_default, 3),
        "cpu_s_stacked_rtol_1e-10": round(cpu_loose, 3),
        **start_up,
        "max_position_error_m_rtol_1e-10_vs_1e-12": round(err_loose_m, 4),
        "two_body_error_m_after_days_rtol_1e-12": {name: round(float(e), 4)
                                                    for (name, *_), e in zip(FLEET, err_two_body_m)},
        "target_s": 1.0,
        "integrator_steps_rtol_1e-12": steps,
        "rhs_evaluations": int(sol.evaluations),
        "rhs_us_per_evaluation_10_objects_from_python": round(rhs_s / calls * 1e6, 2),
        "wall_s_integration_only_rtol_1e-12": round(wall_anatomy, 3),
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if args.separate:
        wall_sep, cpu_sep, _ = cpu_timed(lambda: [propagate(s, EPOCH_TDB_S, t, fm) for s in states])
        result["wall_s_separate_rtol_1e-12"] = round(wall_sep, 3)
        result["cpu_s_separate_rtol_1e-12"] = round(cpu_sep, 3)
    if args.numpy:
        os.environ["MARSVIEW_NO_JIT"] = "1"
        try:
            wall_np, cpu_np, ref_np = cpu_timed(lambda: propagate_many(states, EPOCH_TDB_S, t, fm))
        finally:
            del os.environ["MARSVIEW_NO_JIT"]
        result["numpy_reference_wall_s_stacked_rtol_1e-12"] = round(wall_np, 3)
        result["numpy_reference_cpu_s_stacked_rtol_1e-12"] = round(cpu_np, 3)
        result["max_position_difference_m_numba_vs_numpy"] = round(
            float(np.max(np.linalg.norm(ref[:, :, :3] - ref_np[:, :, :3], axis=2)) * 1000.0), 6)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
