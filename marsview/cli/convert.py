"""``marsview convert``: between OEM KVN, OEM XML and SPICE SPK, the format taken from each file's extension.

    marsview convert IN OUT [--step DUR] [--object NAME ...]

Extensions: .oem/.txt/.kvn = OEM KVN, .xml = OEM XML, .bsp = SPK. OEM -> OEM rewrites the message as it is (every
segment, comment and covariance), optionally keeping only --object. SPK -> OEM writes one segment per
spacecraft or moon (planets and barycentres only when named with --object) and per coverage window (split
where the SPK has gaps), Mars-centred (CENTER_NAME = MARS), REF_FRAME = EME2000, TIME_SYSTEM = UTC, a state
every --step (default 60s) from the start of each window, plus its end. OEM -> SPK writes the OEM's own
tables (type 9 for LAGRANGE, 13 for HERMITE; resampled as type 13 if that fails), centre Mars, frame J2000,
verified to match the OEM's interpolation to < 1 mm at every mid-point; the NAIF id comes
from OBJECT_ID when it is an integer, else from the known Mars fleet (MRO -74, ...). An OPM holds a single
state: turn it into an OEM with `marsview propagate OPM -o OUT.oem`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _convertible() -> dict[str, str]:
    """Extension -> KVN | XML | SPK for what convert handles (OEM and SPK, from marsview.io.formats.FORMATS)."""
    from marsview.io.formats import FORMATS as REGISTRY, file_extensions

    by_ext = {}
    for fmt in REGISTRY:
        if fmt.kind in ("OEM", "SPK"):
            for ext in fmt.extensions:
                by_ext.setdefault(ext, "SPK" if fmt.kind == "SPK" else fmt.encoding)
    return {ext: by_ext[ext] for ext in file_extensions(("OEM", "SPK"))}


FORMATS = _convertible()


def register(subparsers) -> None:
    p = subparsers.add_parser("convert", help="convert between OEM (KVN/XML) and SPICE SPK",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN", help="input file (.oem/.txt, .xml or .bsp)")
    p.add_argument("output", metavar="OUT", help="output file (.oem/.txt, .xml or .bsp), written atomically")
    p.add_argument("--step", metavar="DUR", default=None,
                   help="state spacing when sampling an SPK (default 60s); e.g. 30s, 5m")
    p.add_argument("--object", metavar="NAME", action="append", default=[],
                   help="only this object (name or NAIF id; repeatable)")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        return _run(args)
    except (ValueError, OSError) as exc:  # ParseError is a ValueError: file:line: keyword: message
        print(f"marsview convert: {exc}", file=sys.stderr)
        return 2


def _format(path: Path, role: str) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: cannot tell the {role} format from the extension "
                         f"(use {', '.join(FORMATS)})")
    return fmt


def _run(args) -> int:
    from marsview.core.time import parse_duration_s
    from marsview.io.formats import detect_format

    from marsview.cli.output import check_output_file

    src, dst = Path(args.input), Path(args.output)
    out_fmt = _format(dst, "output")
    check_output_file(dst, "OUT")
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():  # the atomic rename would replace IN
        raise ValueError(f"{dst}: OUT is the input file; write the conversion to another file")
    kind, _encoding = detect_format(src)
    if kind == "OPM":
        raise ValueError(f"{src}: an OPM holds one state, not a trajectory: use "
                         f"`marsview propagate {src} -o {dst.with_suffix('.oem')}` (then convert that OEM)")
    if kind == "CDM":
        raise ValueError(f"{src}: a CDM holds no trajectory to convert")
    step_s = parse_duration_s(args.step) if args.step else 60.0
    if not step_s > 0:
        raise ValueError("--step must be positive")
    if kind == "SPK":
        if out_fmt == "SPK":
            raise ValueError(f"{src} is already an SPK")
        return _spk_to_oem(src, dst, out_fmt, step_s, args.object)
    if out_fmt == "SPK":
        return _oem_to_spk(src, dst, args.object)
    return _oem_to_oem(src, dst, out_fmt, args.object)


def _oem_to_oem(src, dst, out_fmt, objects) -> int:
    from marsview.io.formats import read_any, write_any

    msg = read_any(src)
    if objects:
        wanted = {o.upper() for o in objects}
        msg.segments = [s for s in msg.segments if s.object_name.upper() in wanted]
        if not msg.segments:
            raise ValueError(f"{src}: no segment for {', '.join(objects)}")
    write_any(dst, msg, out_fmt)
    print(f"wrote {dst}: {len(msg.segments)} segment(s)")
    return 0


def _oem_to_spk(src, dst, objects) -> int:
    from marsview.io.default_fleet import FLEET
    from marsview.io.formats import read_any
    from marsview.io.oem_convert import oem_to_ephemerides
    from marsview.io.spk import write_spk

    msg = read_any(src)
    ids = {s.object_name: s.metadata.get("OBJECT_ID", "") for s in msg.segments}
    items = []
    for eph in oem_to_ephemerides(msg):
        if objects and eph.name.upper() not in {o.upper() for o in objects}:
            continue
        text = str(ids.get(eph.name, "")).strip()
        try:
            naif = int(text)
        except ValueError:
            known = FLEET.get(eph.name.strip().upper())
            if known is None:
                raise ValueError(f"{src}: OBJECT_ID {text!r} of {eph.name} is not a NAIF id and the name is not "
                                 "a known Mars spacecraft: write OBJECT_ID as the NAIF integer (e.g. -74)") from None
            naif = known[0]
        items.append((eph, naif))
    if not items:
        raise ValueError(f"{src}: no object {', '.join(objects)} in this OEM")
    from marsview.io.spk import read_spk_summary

    errors = write_spk(dst, items, comment=f"Converted from {Path(src).name} by marsview convert.")
    worst_mm = max(errors.values()) * 1e6
    types = "/".join(str(t) for t in sorted({s.data_type for s in read_spk_summary(dst).segments}))
    print(f"wrote {dst}: {len(items)} object(s), SPK type {types}, max read-back error {worst_mm:.4f} mm")
    return 0


def _spk_to_oem(src, dst, out_fmt, step_s, objects) -> int:
    from marsview.core.ephemeris import Ephemeris
    from marsview.io.formats import write_any
    from marsview.io.oem import OemMessage
    from marsview.io.oem_convert import ephemeris_to_oem
    from marsview.io.spk import read_spk

    class Window(Ephemeris):
        """One SPK coverage window as a gap-free ephemeris (OEM segments split only at SPK gaps)."""

        def __init__(self, eph, a, b):
            self.name, self.frame, self._eph, self._cov = eph.name, "EME2000", eph, (a, b)

        @property
        def coverage(self):
            return self._cov

        def _state(self, t):
            return self._eph.state(t)

    from marsview.cli.output import check_sample_count

    trajs = read_spk(src, objects or None)
    check_sample_count(sum(b - a for tr in trajs for a, b in tr.windows), step_s)  # before sampling
    header, segments = None, []
    for tr in trajs:
        for warning in tr.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for a, b in tr.windows:
            msg = ephemeris_to_oem([Window(tr.ephemeris, a, b)], step_s=step_s,
                                   object_ids={tr.name: str(tr.naif_id)},
                                   comments=[f"Converted from SPK {Path(src).name} by marsview convert"])
            header = header or (msg.header, msg.comments)
            segments.extend(msg.segments)
    if not segments:
        raise ValueError(f"{src}: no spacecraft or moon to convert (name planets or barycentres with --object)")
    write_any(dst, OemMessage(header[0], segments, header[1]), out_fmt)
    print(f"wrote {dst}: {len(trajs)} object(s), {len(segments)} segment(s), step {step_s:g} s")
    return 0
