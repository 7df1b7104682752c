"""``marsview info FILE...``: what an ephemeris file holds, without loading it into a scenario.

For each file: its format, objects, frames, centres, time systems, coverage (UTC), segment count, and any
warnings (gaps, non-Mars centres, what marsview will do about them). SPK files are summarised from their
segment directory (no states are sampled); OEM/OPM/CDM files are parsed fully, so a bad file reports
``file:line: keyword: what is wrong``. Exit status 2 if any file could not be read.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="describe OEM/OPM/CDM/SPK files",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", metavar="FILE", nargs="+", help="ephemeris files (OEM, OPM, CDM; KVN or XML; SPK)")
    p.set_defaults(func=run)


def _utc(tdb_s) -> str:
    from marsview.core.time import format_epoch

    return format_epoch(float(tdb_s), "UTC", 3) + " UTC"


def run(args) -> int:
    status = 0
    for i, path in enumerate(args.files):
        if i:
            print()
        try:
            for line in describe(path):
                print(line)
        except (ValueError, OSError) as exc:
            print(f"{path}: error: {exc}", file=sys.stderr)
            status = 2
    return status


def describe(path) -> list[str]:
    from marsview.io.formats import detect_format

    kind, encoding = detect_format(path)
    lines = [f"{path}: {kind} ({encoding})"]
    if kind == "SPK":
        lines += _spk(path)
    elif kind == "OEM":
        lines += _oem(path)
    elif kind == "OPM":
        lines += _opm(path)
    else:
        lines += _cdm(path)
    return lines


def _spk(path) -> list[str]:
    from marsview.io.spk import MARS_BARYCENTER_ID, MARS_ID, _path_bodies, read_spk_summary

    info = read_spk_summary(path)
    out = [f"  segments: {len(info.segments)}; time system TDB (SPICE ET)"]
    warnings = []
    for body in info.bodies.values():
        centres = sorted({s.center for s in body.segments})
        frames = sorted({s.frame for s in body.segments})
        types = sorted({s.data_type for s in body.segments})
        out.append(f"  {body.name} (NAIF {body.naif_id}, {body.kind}): {len(body.segments)} segment(s), "
                   f"type {'/'.join(map(str, types))}, centre {'/'.join(map(str, centres))}, "
                   f"frame {'/'.join(frames)}")
        for a, b in body.coverage:
            out.append(f"    coverage {_utc(a)} .. {_utc(b)}")
        if len(body.coverage) > 1:
            warnings.append(f"{body.name}: {len(body.coverage) - 1} gap(s) in coverage")
        if body.kind in ("spacecraft", "moon") and _path_bodies(info, body.naif_id, MARS_ID) is None:
            if _path_bodies(info, body.naif_id, MARS_BARYCENTER_ID) is not None:
                warnings.append(f"{body.name}: no path to Mars (499); marsview uses the Mars barycentre (< 0.25 m away)")
            else:
                warnings.append(f"{body.name}: no path to Mars in this file; other kernels would be needed")
    out += [f"  warning: {w}" for w in warnings + info.warnings]
    return out


def _oem(path) -> list[str]:
    from marsview.io.oem import read_oem

    msg = read_oem(path)
    out = [f"  CCSDS_OEM_VERS {msg.version}; {len(msg.segments)} segment(s); "
           f"originator {msg.header.get('ORIGINATOR', '?')}"]
    by_object: dict[str, list] = {}
    for seg in msg.segments:
        by_object.setdefault(seg.object_name, []).append(seg)
    warnings = []
    for name, segs in by_object.items():
        frames = sorted({s.ref_frame for s in segs})
        centres = sorted({s.center_name for s in segs})
        systems = sorted({s.time_system for s in segs})
        states = sum(len(s.epochs_tdb_s) for s in segs)
        covs = sum(len(s.covariances) for s in segs)
        out.append(f"  {name} ({segs[0].object_id}): {len(segs)} segment(s), {states} states, "
                   f"{covs} covariance(s), frame {'/'.join(frames)}, centre {'/'.join(centres)}, "
                   f"time system {'/'.join(systems)}")
        for s in segs:
            out.append(f"    {_utc(s.epochs_tdb_s[0])} .. {_utc(s.epochs_tdb_s[-1])}"
                       f"  {s.interpolation or 'no interpolation given'} {s.interpolation_degree or ''}".rstrip())
        for prev, nxt in zip(segs[:-1], segs[1:]):
            if nxt.epochs_tdb_s[0] > prev.epochs_tdb_s[-1]:
                warnings.append(f"{name}: gap of {nxt.epochs_tdb_s[0] - prev.epochs_tdb_s[-1]:.3f} s "
                                f"after {_utc(prev.epochs_tdb_s[-1])}")
        if "MARS BARYCENTER" in {c.upper() for c in centres}:
            warnings.append(f"{name}: centre MARS BARYCENTER is treated as Mars (they differ by < 0.25 m)")
    out += [f"  warning: {w}" for w in warnings + msg.warnings]
    return out


def _opm(path) -> list[str]:
    from marsview.io.opm import read_opm

    msg = read_opm(path)
    return [f"  {msg.object_name} ({msg.metadata.get('OBJECT_ID', '?')}): state at {_utc(msg.epoch_tdb_s)}, "
            f"frame {msg.ref_frame}, centre {msg.center_name}, time system {msg.time_system}, "
            f"{len(msg.maneuvers)} maneuver(s)",
            "  note: an OPM is one state; `marsview propagate` turns it into an OEM"]


def _cdm(path) -> list[str]:
    from marsview.io.cdm import read_cdm

    msg = read_cdm(path)
    names = " vs ".join(o.values.get("OBJECT_NAME", "?") for o in msg.objects) if msg.objects else "?"
    return [f"  {names}: TCA {_utc(msg.tca_tdb_s)}, miss {msg.miss_distance_m:.1f} m"]
