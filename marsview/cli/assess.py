"""``marsview assess``: collision probability of each CDM, next to the probability the CDM states.

    marsview assess CDM ... [--hbr-m M] [--method NAME] [--format table|json]

The combined hard-body radius is --hbr-m, else the CDM's "COMMENT HBR = X [m]" line (an operational
convention), else the CDM is refused. Methods: FOSTER-2D (default: exact integral of the 2D Gaussian over
the disk, miss vector at the true TCA, i.e. relative states moved linearly to where relative velocity is
perpendicular to relative position), CHAN (series; flagged CHAN-POOR where known to be poor), MAX-PC
(largest value over the covariance's scale, Alfano 2005), MONTE-CARLO (two-body sampling with a 95%
Clopper-Pearson interval; --samples, --seed). Each object's 6x6 RTN covariance (m^2) is rotated into the
CDM's inertial REF_FRAME. Flags: EXTENDED-ENCOUNTER / OFFSET-FROM-TCA (CARA's 2D usage violations: use
MONTE-CARLO), NPD-COVARIANCE, NPD-REPAIRED (eigenvalues clipped), CHAN-POOR, INCONSISTENT-CDM (the two
states' closest approach differs from MISS_DISTANCE by more than 10 m and 5 %: the file's states are not
those of its conjunction; a warning on stderr says by how much), PC-DIFFERS-FROM-CDM (FOSTER-2D differs from
the file's COLLISION_PROBABILITY by more than 2 %; JSON hbr_m_matching_cdm_pc gives the combined HBR that
would reproduce it). JSON also gives pc_max_geometry: the largest probability any covariance could give for
the miss distance and HBR, and state_separation_km (|r2 - r1| of the file's states).
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np

from marsview.core.pc_methods import PC_METHODS

METHOD_CHOICES = tuple(PC_METHODS)  # core.pc_methods' table: a method added there is a --method choice here
# GM of the centre a CDM's states refer to (ORBIT_CENTER, EARTH when absent as CCSDS 508.0 says).
GM_EARTH_KM3S2 = 398600.4418   # WGS-84 / EGM-96 (the models CARA's CDMs name)


def register(subparsers) -> None:
    import argparse

    p = subparsers.add_parser("assess", help="collision probability of CCSDS CDMs",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cdms", nargs="+", metavar="CDM", help="CCSDS CDM files (KVN or XML)")
    p.add_argument("--hbr-m", type=float, metavar="M", help="combined hard-body radius [m] (overrides the CDM)")
    p.add_argument("--method", default="FOSTER-2D", type=str.upper, choices=METHOD_CHOICES,
                   help="probability method (default FOSTER-2D)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--samples", type=int, default=100_000, help="Monte Carlo samples (default 100000)")
    p.add_argument("--seed", type=int, default=None, help="Monte Carlo random seed")
    p.set_defaults(func=run)


def _gm_for(msg):
    from marsview.core.constants import GM_MARS_KM3S2

    centre = (msg.objects[0].values.get("ORBIT_CENTER") or "EARTH").strip().upper()
    if centre in ("MARS", "MARS BARYCENTER"):
        return GM_MARS_KM3S2
    if centre == "EARTH":
        return GM_EARTH_KM3S2
    raise ValueError(f"ORBIT_CENTER {centre!r} is not supported (MARS or EARTH)")


def assess_cdm(path, hbr_m=None, method="FOSTER-2D", samples=100_000, seed=None) -> dict:
    """One CDM -> the JSON record (see module doc). Raises ParseError/ValueError with the file named."""
    from marsview.core.probability import cdm_covariance_to_inertial_km2, collision_probability
    from marsview.core.probability_2d import pc_max_geometry
    from marsview.core.time import tdb_s_to_utc
    from marsview.io.cdm import hbr_m_from_comment, read_cdm
    from marsview.io.cdm_conjunction import miss_is_consistent
    from marsview.io.errors import ParseError

    msg = read_cdm(path)
    o1, o2 = msg.objects
    if o1.ref_frame == "ITRF":
        raise ParseError(path, o1.lines["REF_FRAME"], "REF_FRAME",
                         "ITRF (Earth-fixed) states are not supported: need an inertial frame (EME2000, GCRF)")
    if hbr_m is None:
        hbr_m = hbr_m_from_comment(msg)
        if hbr_m is None:
            raise ParseError(path, 0, "HBR", "no hard-body radius: give --hbr-m or a 'COMMENT HBR = X [m]' line")
    if not hbr_m > 0:
        raise ValueError(f"{path}: hard-body radius must be > 0 m, got {hbr_m}")
    try:
        gm = _gm_for(msg)
    except ValueError as exc:
        raise ParseError(path, o1.lines.get("ORBIT_CENTER", 0), "ORBIT_CENTER", str(exc)) from None
    c1 = cdm_covariance_to_inertial_km2(o1.state, o1.covariance)
    c2 = cdm_covariance_to_inertial_km2(o2.state, o2.covariance)
    res = collision_probability(o1.state, c1, o2.state, c2, hbr_m / 1000.0, method=method,
                                covariance_source="CDM", gm_km3s2=gm, mc_samples=samples, mc_seed=seed)
    rec = {
        "file": str(path), "object1": o1.name, "object2": o2.name,
        "tca_utc": tdb_s_to_utc(msg.tca_tdb_s, 3), "miss_km": res.miss_km, "pc": res.pc,
        "method": res.method, "hbr_m": float(hbr_m), "covariance_source": res.covariance_source,
        "pc_method": res.pc_method, "flags": list(res.flags),
        "relative_speed_kms": res.relative_speed_kms,
        "sigma_x_km": res.sigma_xy_km[0], "sigma_y_km": res.sigma_xy_km[1],
        "usage_extended": res.usage.extended if res.usage else None,
        "usage_offset": res.usage.offset if res.usage else None,
        "cdm_miss_km": msg.miss_distance_m / 1000.0,
        # the largest Pc any covariance could give for this miss and HBR (Alfano 2005 / Frisbee)
        "pc_max_geometry": float(pc_max_geometry(res.miss_km, hbr_m / 1000.0)[0]),
    }
    if res.ci_low is not None:
        rec.update(ci_low=res.ci_low, ci_high=res.ci_high, samples=res.samples, hits=res.hits)
    state_miss_km = float(np.linalg.norm(np.asarray(o2.state[:3]) - np.asarray(o1.state[:3])))
    rec["state_separation_km"] = state_miss_km
    if not miss_is_consistent(state_miss_km, rec["miss_km"], rec["cdm_miss_km"]):
        # the states and MISS_DISTANCE describe different encounters: the Pc above is of the states
        rec["flags"].append("INCONSISTENT-CDM")
        rec["inconsistency"] = (f"the two states are {rec['miss_km']:.6g} km apart at closest approach but "
                                f"MISS_DISTANCE = {msg.miss_distance_m:g} m")
    if msg.collision_probability is not None:
        rec["cdm_pc"] = msg.collision_probability
        if msg.collision_probability_method:
            rec["cdm_pc_method"] = msg.collision_probability_method
        if (method == "FOSTER-2D" and msg.collision_probability > 0 and rec["pc"] is not None
                and not math.isclose(rec["pc"], msg.collision_probability, rel_tol=PC_MATCH_REL)):
            rec["flags"].append("PC-DIFFERS-FROM-CDM")
            # the combined HBR for which the recomputed Pc equals the file's (a CDM rarely states its HBR)
            rec["hbr_m_matching_cdm_pc"] = _hbr_m_matching(o1.state, c1, o2.state, c2, hbr_m / 1000.0,
                                                           msg.collision_probability)
    return rec


# The file's COLLISION_PROBABILITY is given to ~4 digits, and FOSTER-1992 implementations differ in where the
# miss vector is taken (CDM TCA vs true TCA): 2 % covers both (CARA's operational CDM agrees to 1e-4).
PC_MATCH_REL = 0.02


def _hbr_m_matching(state1, cov1_km2, state2, cov2_km2, hbr_km, target_pc):
    """Combined hard-body radius [m] at which the exact 2D Pc of this encounter equals target_pc (None when
    no radius up to 100 km reaches it). Pc grows monotonically with the radius."""
    from scipy.optimize import brentq

    from marsview.core.probability import encounter_plane
    from marsview.core.probability_2d import log_pc_circle

    enc = encounter_plane(np.asarray(state1, float), np.asarray(state2, float), cov1_km2, cov2_km2, hbr_km)
    (mx, my), (sx, sy) = enc.miss_xy_km, enc.sigma_xy_km
    log_target = math.log(target_pc)

    def f(log_r_km):
        return float(np.ravel(log_pc_circle(mx, my, sx, sy, math.exp(log_r_km))[0])[0]) - log_target

    lo, hi = math.log(1e-9), math.log(100.0)
    if not (f(lo) < 0 < f(hi)):
        return None
    return 1000.0 * math.exp(brentq(f, lo, hi, xtol=1e-10))


def _fmt_pc(p):
    return "-" if p is None else ("0" if p == 0 else f"{p:.4e}")


def format_table(records) -> str:
    head = ["file", "object1", "object2", "TCA (UTC)", "miss km", "Pc", "method", "HBR m", "CDM Pc", "flags"]
    rows = [[r["file"].rsplit("/", 1)[-1], r["object1"], r["object2"], r["tca_utc"], f"{r['miss_km']:.4f}",
             _fmt_pc(r["pc"]) + (f" [{_fmt_pc(r['ci_low'])}, {_fmt_pc(r['ci_high'])}]" if "ci_low" in r else ""),
             r["method"], f"{r['hbr_m']:g}", _fmt_pc(r.get("cdm_pc")), ",".join(r["flags"]) or "-"]
            for r in records]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in [head] + rows]
    return "\n".join(lines) + "\n"


def run(args) -> int:
    records, failed = [], 0
    for path in args.cdms:
        try:
            records.append(assess_cdm(path, args.hbr_m, args.method, args.samples, args.seed))
            if "inconsistency" in records[-1]:
                print(f"marsview assess: warning: {path}: INCONSISTENT-CDM: {records[-1]['inconsistency']}",
                      file=sys.stderr)
        except (ValueError, OSError) as exc:   # ParseError is a ValueError and names file, line, keyword
            text = str(exc)
            print(f"marsview assess: {text if str(path) in text else f'{path}: {text}'}", file=sys.stderr)
            failed += 1
    if args.format == "json":
        clean = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                 for r in records]
        sys.stdout.write(json.dumps(clean, indent=2) + "\n")
    elif records:
        from marsview.io.safe_text import printable

        sys.stdout.write("".join(printable(line) + "\n" for line in format_table(records).splitlines()))
    return 1 if failed else 0
