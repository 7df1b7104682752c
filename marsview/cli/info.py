"""``marsview info FILE...``: what an ephemeris file holds, without loading it into a scenario.

For each file: its format, objects, frames, centres, time systems, coverage (UTC), segment count, and any
warnings (gaps, non-Mars centres, what marsview will do about them). SPK files are summarised from their
segment directory (no states are sampled); OEM/OPM/CDM files are parsed fully, so a bad file reports
``file:line: keyword: what is wrong``.

Usability: a state about Earth, the Moon, the Earth-Moon barycentre, the Sun or the solar-system barycentre
is described with a warning that it cannot join a Mars scenario. A file marsview cannot use at all -- a
centre it does not know (PLUTO, a typo), or Mars-centred states in a frame it cannot convert (BANANA,
EME2OOO) -- gets a ``file:line: KEYWORD: marsview cannot use this file: ...`` line on stderr.
Exit status: 0 all files readable and usable, 1 some file readable but unusable, 2 some file unreadable.
"""

from __future__ import annotations

import argparse
import sys

from marsview.io.safe_text import printable


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
            lines, unusable = describe_usability(path)
        except (ValueError, OSError) as exc:
            text = str(exc)   # a ParseError already starts with the path: never print it twice
            text = text if text.startswith(str(path)) else f"{path}: {text}"
            print(printable(f"marsview info: error: {text}"), file=sys.stderr)  # control characters escaped
            status = 2
            continue
        for line in lines:
            print(printable(line))  # names from partner files: control characters escaped
        for problem in unusable:
            print(printable(f"marsview info: warning: {problem}"), file=sys.stderr)
        if unusable:
            status = max(status, 1)
    return status


def describe(path) -> list[str]:
    """The description lines of one file (see the module doc)."""
    return describe_usability(path)[0]


def describe_usability(path) -> tuple[list[str], list[str]]:
    """(description lines, reasons marsview cannot use the file as 'file:line: KEYWORD: ...'; empty if usable)."""
    from marsview.io.formats import detect_format, format_of

    kind, encoding = detect_format(path)
    lines = [f"{path}: {kind} ({encoding})"]
    unusable: list[str] = []
    describer = _DESCRIBERS.get(kind)
    if describer is None:  # a format registered in marsview.io.formats without a summary here: read it fully
        format_of(kind, encoding).read(path)
        lines.append("  read without error")
    else:
        lines += describer(path, unusable)
    return lines, unusable


# Centres marsview recognises but cannot put in a Mars scenario: partner files about the Earth side
# (Orekit's Earth, Moon and barycentre states). Any other non-Mars centre is unknown to marsview.
KNOWN_OTHER_CENTRES = ("EARTH", "MOON", "EARTH BARYCENTER", "EARTH-MOON BARYCENTER", "EARTH MOON BARYCENTER",
                       "EMB", "SUN", "SSB", "SOLAR SYSTEM BARYCENTER")


def _usability(path, line_of, centre: str, frame: str, unusable: list, what: str) -> list[str]:
    """Warnings for one object's CENTER_NAME/REF_FRAME; appends blocking problems to UNUSABLE."""
    from marsview.io.frames_io import FRAME_ALIASES, INPUT_FRAMES, MARS_CENTRES, normalize, normalize_frame

    c = normalize(centre)
    if c not in MARS_CENTRES:
        if c in KNOWN_OTHER_CENTRES:
            return [f"{what}: CENTER_NAME = {centre}: not Mars-centred; marsview describes it but cannot load it "
                    "into a Mars scenario (line {})".format(line_of("CENTER_NAME"))]
        unusable.append(f"{path}:{line_of('CENTER_NAME')}: CENTER_NAME: marsview cannot use this file: centre "
                        f"{centre!r} is unknown to marsview (it needs MARS or MARS BARYCENTER)")
        return []
    if normalize_frame(frame) not in INPUT_FRAMES:
        known = ", ".join(INPUT_FRAMES + tuple(FRAME_ALIASES))
        unusable.append(f"{path}:{line_of('REF_FRAME')}: REF_FRAME: marsview cannot use this file: frame "
                        f"{frame!r} cannot be converted for Mars-centred states (marsview reads {known})")
    return []


def _spk(path, unusable) -> list[str]:
    from marsview.io.spk import MARS_BARYCENTER_ID, MARS_ID, path_bodies, read_spk_summary

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
        if body.kind in ("spacecraft", "moon") and path_bodies(info, body.naif_id, MARS_ID) is None:
            if path_bodies(info, body.naif_id, MARS_BARYCENTER_ID) is not None:
                warnings.append(f"{body.name}: no path to Mars (499); marsview uses the Mars barycentre (< 0.25 m away)")
            else:
                warnings.append(f"{body.name}: no path to Mars in this file; other kernels would be needed")
    out += [f"  warning: {w}" for w in warnings + info.warnings]
    return out


def _oem(path, unusable) -> list[str]:
    from marsview.io.errors import ParseError
    from marsview.io.formats import read_any
    from marsview.io.frames_io import MARS_CENTRES, normalize

    msg = read_any(path)   # OEM KVN/XML, or a registered format read into an OemMessage (STK .e)
    version = f"CCSDS_OEM_VERS {msg.version}; " if "CCSDS_OEM_VERS" in msg.header else ""
    out = [f"  {version}{len(msg.segments)} segment(s); originator {msg.header.get('ORIGINATOR', '?')}"]
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
        for s in segs:
            lines = s.metadata_lines
            found = _usability(path, lambda k, lines=lines, s=s: lines.get(k, s.start_line), s.center_name,
                               s.ref_frame, unusable, name)
            warnings += [w for w in found if w not in warnings]
    if not unusable and all(normalize(s.center_name) in MARS_CENTRES for s in msg.segments):
        from marsview.io.oem_convert import oem_to_ephemerides

        built: list = []
        try:  # what screen, convert and the GUI build from it, and what they will say about it
            oem_to_ephemerides(msg, warnings=built)
            warnings += [w for w in built if w not in warnings]
        except ValueError as exc:
            unusable.append(f"{exc.path}:{exc.line}: {exc.keyword}: marsview cannot use this file: {exc.message}"
                            if isinstance(exc, ParseError) else f"{path}: marsview cannot use this file: {exc}")
    out += [f"  warning: {w}" for w in warnings + msg.warnings]
    return out


def _opm(path, unusable) -> list[str]:
    from marsview.io.opm import read_opm

    msg = read_opm(path)

    def line_of(keyword):
        return next((it.line for it in msg.items if it.keyword == keyword), 0)

    warnings = _usability(path, line_of, msg.center_name, msg.ref_frame, unusable, msg.object_name)
    return [f"  {msg.object_name} ({msg.metadata.get('OBJECT_ID', '?')}): state at {_utc(msg.epoch_tdb_s)}, "
            f"frame {msg.ref_frame}, centre {msg.center_name}, time system {msg.time_system}, "
            f"{len(msg.maneuvers)} maneuver(s)",
            "  note: an OPM is one state; `marsview propagate` turns it into an OEM"] + [
        f"  warning: {w}" for w in warnings]


def _cdm(path, unusable) -> list[str]:
    from marsview.io.cdm import read_cdm
    from marsview.io.frames_io import MARS_CENTRES, normalize

    msg = read_cdm(path)
    names = " vs ".join(o.values.get("OBJECT_NAME", "?") for o in msg.objects) if msg.objects else "?"
    out = [f"  {names}: TCA {_utc(msg.tca_tdb_s)}, miss {msg.miss_distance_m:.1f} m"]
    for o in msg.objects:
        centre = normalize(o.values.get("ORBIT_CENTER") or "EARTH")   # CCSDS 508.0: EARTH when absent
        if centre not in MARS_CENTRES + ("EARTH",):
            unusable.append(f"{path}:{o.lines.get('ORBIT_CENTER', o.lines['OBJECT'])}: ORBIT_CENTER: marsview "
                            f"cannot use this file: centre {centre!r} (assess handles MARS and EARTH)")
        if o.ref_frame == "ITRF":
            out.append(f"  warning: {o.values['OBJECT']}: REF_FRAME = ITRF (Earth-fixed, line "
                       f"{o.lines['REF_FRAME']}): `marsview assess` needs inertial states")
    return out


# per kind of marsview.io.formats.FORMATS: the summary lines of one file (a kind without one is read and reported)
_DESCRIBERS = {"SPK": _spk, "OEM": _oem, "OPM": _opm, "CDM": _cdm}
