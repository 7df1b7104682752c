"""Collision-probability speed and accuracy figures; prints one JSON object (never pass/fail).

    python benchmarks/bench_probability.py [--n 20000]

- exact_2d_evals_per_s: vectorized exact 2D integral (core.probability_2d.pc_circle) over N encounter
  planes drawn like Mars screening events (sigmas 10 m - 10 km, aspect 1-300, HBR 1-30 m, miss 0-5 km),
  and over a much wider "stress" distribution (sigmas 1 mm - 1000 km, aspect up to 1e4, HBR >> sigma, tiny Pc).
- quad_evals_per_s: the scipy.integrate.quad reference, per case.
- max_rel_diff_vs_quad: worst relative difference of the vectorized value to quad on a random subset.
- chan_evals_per_s, monte_carlo_samples_per_s (two-body, 41+21 epochs per sample).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def _cases(rng, n, kind):
    ang = rng.uniform(0, 2 * np.pi, n)
    if kind == "mars":
        sx = 10 ** rng.uniform(-2, 1, n)
        sy = sx * 10 ** rng.uniform(0, 2.5, n)
        r = 10 ** rng.uniform(-3, np.log10(0.03), n)
        d = rng.uniform(0, 5, n)
    else:
        sx = 10 ** rng.uniform(-3, 3, n)
        sy = sx * 10 ** rng.uniform(0, 4, n)
        r = 10 ** rng.uniform(-2, 3, n)
        d = 10 ** rng.uniform(-3, 4.5, n)
    return d * np.cos(ang), d * np.sin(ang), sx, sy, r


def _rate(func, n, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t)
    return n / best


def main() -> None:
    from marsview.core.probability_2d import pc_chan, pc_circle, pc_circle_quad
    from marsview.core.probability_montecarlo import monte_carlo_pc

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n
    rng = np.random.default_rng(2026)
    out = {"n": n, "load_average_1min": os.getloadavg()[0], "cpu_count": os.cpu_count()}
    for kind in ("mars", "stress"):
        c = _cases(rng, n, kind)
        out[f"exact_2d_evals_per_s_{kind}"] = round(_rate(lambda: pc_circle(*c), n))
        idx = rng.choice(n, 200, replace=False)
        t = time.perf_counter()
        q = np.array([pc_circle_quad(*(v[i] for v in c)) for i in idx])
        out[f"quad_evals_per_s_{kind}"] = round(len(idx) / (time.perf_counter() - t))
        p = pc_circle(*(v[idx] for v in c))
        keep = q > 1e-290
        out[f"max_rel_diff_vs_quad_{kind}"] = float(np.max(np.abs(p[keep] / q[keep] - 1)))
        if kind == "mars":
            out["chan_evals_per_s_mars"] = round(_rate(lambda: pc_chan(*c), n))
    s1 = np.array([3796.19, 0.0, 0.0, 0.0, 0.0, 3.3588])
    s2 = np.array([3796.19, 0.0, 0.03, 0.0, 3.3588, 0.0])
    cov = np.diag([0.02, 0.05, 0.03]) ** 2
    m = 20000
    out["monte_carlo_samples_per_s"] = round(_rate(lambda: monte_carlo_pc(s1, cov, s2, cov, 0.02, samples=m,
                                                                          chunk=5000, seed=1), m, repeat=1))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
