"""Load time of the built-in scenario: cold (empty orbit cache: J2 propagation of 8 orbits over 14 days)
and warm (cache hit), plus reading JPL's mar022 SPK (Phobos + Deimos, 3 days) into verified tabulated
ephemerides. Prints JSON; never pass/fail.

    .venv/bin/python benchmarks/bench_scenario_load.py [--skip-cold]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


def _timed(func, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    from marsview.model.loading import load_scenario
    from marsview.io import orbit_cache

    out = {"python": platform.python_version(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MARSVIEW_CACHE_DIR"] = tmp
        if "--skip-cold" not in sys.argv:
            out["default_scenario_cold_s"], sc = _timed(lambda: load_scenario(None))
        else:
            sc = load_scenario(None)
        out["default_scenario_warm_s"], sc = _timed(lambda: load_scenario(None), repeat=3)
        out["objects"] = len(sc.objects)
        out["cache_bytes"] = sum(p.stat().st_size for p in Path(tmp).glob("*.npz"))
        out["cache_dir_used"] = "temporary (MARSVIEW_CACHE_DIR); the app uses " + str(
            Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "marsview")
    del os.environ["MARSVIEW_CACHE_DIR"]
    _ = orbit_cache
    spk = Path(__file__).resolve().parents[2] / "shared" / "reference" / "data" / "mar022-1.bsp"
    if spk.is_file():
        from marsview.io.spk import read_spk, read_spk_summary

        start = read_spk_summary(spk).bodies[401].coverage[0][0]
        out["mar022_3day_read_s"], trajs = _timed(lambda: read_spk(spk, start_tdb_s=start,
                                                                   stop_tdb_s=start + 3 * 86400.0))
        out["mar022_max_interp_error_mm"] = max(t.max_interp_error_km for t in trajs) * 1e6
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
