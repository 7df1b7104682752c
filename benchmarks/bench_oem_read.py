"""Read time and peak memory of a 1e6-line OEM (KVN), write time, and an XML OEM read. Prints JSON.

    .venv/bin/python benchmarks/bench_oem_read.py [--lines 1000000]

The file is a Mars orbiter on a 60 s grid (Keplerian motion written with 10 significant decimals, the
way partners write them), in 2 segments. Peak memory is measured twice: Python/numpy allocations with
tracemalloc, and the growth of the resident set's high-water mark (VmHWM in /proc/self/status, not
ru_maxrss, which Linux carries over from the forking parent) in a fresh interpreter that only reads
(after importing numba with the bulk scan kernel and scipy.interpolate, fixed costs reported as
imports_rss_mb).
The file written back by marsview (shortest round-trip numbers, up to 17 digits) is read again: its read
time, and whether every state and epoch text is identical (round_trip_identical).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marsview.io.oem import read_oem, write_oem  # noqa: E402


def make_file(path: Path, n_lines: int) -> None:
    gm = 42828.37
    a = 3396.19 + 300.0
    n = np.sqrt(gm / a**3)
    half = n_lines // 2
    with open(path, "w") as fh:
        fh.write("CCSDS_OEM_VERS = 2.0\nCREATION_DATE = 2024-04-01T00:00:00\nORIGINATOR = BENCH\n")
        t0 = 0
        for seg in range(2):
            count = half if seg == 0 else n_lines - half
            start, stop = t0, t0 + (count - 1) * 60
            fh.write(
                "\nMETA_START\nOBJECT_NAME = BENCHSAT\nOBJECT_ID = 2024-000A\nCENTER_NAME = MARS\n"
                "REF_FRAME = EME2000\nTIME_SYSTEM = UTC\n"
                f"START_TIME = {_utc(start)}\nSTOP_TIME = {_utc(stop)}\n"
                "INTERPOLATION = LAGRANGE\nINTERPOLATION_DEGREE = 7\nMETA_STOP\n\n"
            )
            for k0 in range(0, count, 100_000):
                k = np.arange(k0, min(count, k0 + 100_000))
                t = start + 60.0 * k
                th = n * t
                x, y = a * np.cos(th), a * np.sin(th)
                vx, vy = -a * n * np.sin(th), a * n * np.cos(th)
                epochs = np.datetime_as_string(np.datetime64("2024-04-01T00:00:00", "ms")
                                               + (t * 1000).astype("m8[ms]"), unit="ms")
                fh.write("".join(
                    f"{e} {xx:.10f} {yy:.10f} 0.0000000000 {ux:.10f} {uy:.10f} 0.0000000000\n"
                    for e, xx, yy, ux, uy in zip(epochs, x, y, vx, vy)))
            t0 = stop + 60


def _utc(seconds: float) -> str:
    return str(np.datetime64("2024-04-01T00:00:00", "ms") + np.timedelta64(int(seconds * 1000), "ms"))


def rss_child(path: Path) -> dict:
    code = (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from marsview.io.oem import read_oem\n"
        "from marsview.io import oem_scan\n"
        "import numpy\n"
        "def kb(key):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(key): return int(line.split()[1])\n"
        "before_imports = kb('VmRSS')\n"
        "oem_scan.warm_up()  # numba's import and the cached kernel: a fixed cost, reported apart\n"
        "import scipy.interpolate  # (TDB-TT spline) likewise: imported by the first conversion\n"
        "base = kb('VmRSS')\n"
        "t = time.perf_counter(); m = read_oem(%r); dt = time.perf_counter() - t\n"
        "peak = kb('VmHWM')\n"
        "print(base, peak, dt, before_imports)\n"
    ) % (str(Path(__file__).resolve().parents[1]), str(path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    base_kb, peak_kb, dt, before_kb = int(out[0]), int(out[1]), float(out[2]), int(out[3])
    return {"rss_growth_mb": (peak_kb - base_kb) / 1024.0, "read_s_fresh_process": dt,
            "imports_rss_mb": (base_kb - before_kb) / 1024.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--xml-states", type=int, default=100_000, help="states in the XML OEM read (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.oem"
        make_file(path, args.lines)
        size_mb = os.path.getsize(path) / 1e6
        read_oem(path)  # warm imports and caches
        t, c = time.perf_counter(), time.process_time()
        msg = read_oem(path)
        read_s, read_cpu_s = time.perf_counter() - t, time.process_time() - c
        n = sum(len(s.states) for s in msg.segments)
        states_mb = sum(s.states.nbytes + s.epochs_tdb_s.nbytes for s in msg.segments) / 1e6
        states_only_mb = sum(s.states.nbytes for s in msg.segments) / 1e6
        del msg
        tracemalloc.start()
        msg = read_oem(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out = Path(tmp) / "out.oem"
        t, c = time.perf_counter(), time.process_time()
        write_oem(out, msg)
        write_s, write_cpu_s = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        again = read_oem(out)
        reread_s, reread_cpu_s = time.perf_counter() - t, time.process_time() - c
        identical = all(
            np.array_equal(a.states, b.states) and np.array_equal(a.epochs_tdb_s, b.epochs_tdb_s)
            and a.epochs.format() == b.epochs.format() for a, b in zip(msg.segments, again.segments))
        del msg, again
        rss = rss_child(path)
        xml = {}
        if args.xml_states:
            from marsview.io.oem_xml import write_oem_xml

            small = Path(tmp) / "small.oem"
            make_file(small, args.xml_states)
            xml_path = Path(tmp) / "small.xml"
            write_oem_xml(xml_path, read_oem(small))
            t, c = time.perf_counter(), time.process_time()
            read_oem(xml_path)
            xml = {"xml_states": args.xml_states, "xml_mb": round(os.path.getsize(xml_path) / 1e6, 1),
                   "xml_read_s": round(time.perf_counter() - t, 3), "xml_read_cpu_s": round(time.process_time() - c, 3)}
            tracemalloc.start()  # separately: tracemalloc slows callback-heavy code several times
            read_oem(xml_path)
            xml["xml_peak_traced_mb"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
            tracemalloc.stop()
    print(json.dumps({
        "benchmark": "oem_read",
        "data_lines": n,
        "file_mb": round(size_mb, 1),
        "read_s": round(read_s, 3),
        "read_cpu_s": round(read_cpu_s, 3),
        "cpu_count": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "lines_per_s": round(n / read_s),
        "peak_traced_mb": round(peak / 1e6, 1),
        "result_arrays_mb": round(states_mb, 1),
        "states_mb": round(states_only_mb, 1),
        "peak_traced_over_states": round(peak / 1e6 / states_only_mb, 2),
        "rss_growth_mb": round(rss["rss_growth_mb"], 1),
        "rss_growth_over_states": round(rss["rss_growth_mb"] * 1.048576 / states_only_mb, 2),
        "imports_rss_mb": round(rss["imports_rss_mb"], 1),
        "read_s_fresh_process": round(rss["read_s_fresh_process"], 3),
        "write_s": round(write_s, 3),
        "write_cpu_s": round(write_cpu_s, 3),
        "reread_written_s": round(reread_s, 3),
        "reread_written_cpu_s": round(reread_cpu_s, 3),
        "round_trip_identical": identical,
        **xml,
    }, indent=2))


if __name__ == "__main__":
    main()
