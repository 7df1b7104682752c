"""``marsview propagate``: propagate a Mars-centred OPM numerically and write the trajectory as an OEM.

    marsview propagate OPM [--duration DUR] [--step DUR] [--force-model two-body|j2|zonal|full]
                           [--gm KM3S2] [--j2 X] [--ref-radius-km R] -o OEM

States are written at EPOCH + k*STEP for k = 0..floor(DURATION/STEP), in the OPM's REF_FRAME (EME2000, ICRF,
MCI or IAU_MARS) and TIME_SYSTEM (UTC, TAI, TT, TDB); the grid is uniform in that scale's seconds (a UTC grid
runs in SI seconds, so across a leap second its labels shift by one second). Defaults: 1d, 60s, j2.
Force models: two-body (point mass), j2 (point mass + J2 about the IAU 2015 pole of date), zonal (J2-J4),
full (zonal + exponential-atmosphere drag with the OPM's MASS, DRAG_AREA, DRAG_COEFF + the Sun).
OPM maneuvers (MAN_* blocks) are applied: MAN_DURATION 0 as an impulse, otherwise as a finite burn of
constant thrust that delivers MAN_DV in MAN_DURATION with the MAN_DELTA_MASS mass flow. Each maneuver
starts a new OEM segment at its epoch (post-burn state); the previous segment ends 1 microsecond before
it (pre-burn state), so interpolation never straddles a burn.
"""

from __future__ import annotations

import argparse
import math
import sys

DEFAULT_DURATION = "1d"
DEFAULT_STEP = "60s"
DEFAULT_MODEL = "j2"
EPOCH_DIGITS = 6


def register(subparsers) -> None:
    p = subparsers.add_parser("propagate", help="propagate a Mars-centred OPM and write an OEM",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("opm", metavar="OPM", help="CCSDS OPM (KVN or XML) with a Mars-centred state")
    p.add_argument("--duration", metavar="DUR", default=DEFAULT_DURATION,
                   help="how long to propagate: 7d, 36h, 90m, 600s (default 1d)")
    p.add_argument("--step", metavar="DUR", default=DEFAULT_STEP, help="output step (default 60s)")
    p.add_argument("--force-model", choices=("two-body", "j2", "zonal", "full"), default=DEFAULT_MODEL,
                   help="dynamics (default j2)")
    p.add_argument("--gm", metavar="KM3S2", type=float, help="Mars GM [km^3/s^2] (default DE440 42828.3736)")
    p.add_argument("--j2", metavar="X", type=float, help="J2, unnormalized (default MRO120F 1.956609e-3)")
    p.add_argument("--ref-radius-km", metavar="R", type=float, help="gravity reference radius (default 3396)")
    p.add_argument("-o", "--output", metavar="OEM", required=True, help="OEM file to write (atomically)")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        return _run(args)
    except (ValueError, OSError) as exc:  # ParseError is a ValueError: file:line: keyword: message
        print(f"marsview propagate: {exc}", file=sys.stderr)
        return 2


def _line(msg, keyword: str) -> int:
    return next((it.line for it in msg.items if it.keyword == keyword), 0)


def _force_model(args, msg):
    from marsview.core.dynamics import ForceModel

    overrides = {}
    for key, option, value in (("gm_km3s2", "--gm", args.gm), ("j2", "--j2", args.j2),
                               ("ref_radius_km", "--ref-radius-km", args.ref_radius_km)):
        if value is not None:
            if not math.isfinite(value) or (key != "j2" and value <= 0):
                raise ValueError(f"{option}: must be a finite{' positive' if key != 'j2' else ''} number, "
                                 f"got {value}")
            overrides[key] = value
    notes = []
    if args.force_model == "full":
        spacecraft = {"mass_kg": msg.mass_kg, "area_m2": msg.drag_area_m2, "cd": msg.drag_coeff}
        missing = [k for k, v in spacecraft.items() if v is None]
        if missing:
            notes.append(f"the OPM gives no {', '.join(missing)}: drag uses the defaults "
                         f"(mass 1000 kg, area 10 m^2, Cd 2.2)")
        overrides.update({k: v for k, v in spacecraft.items() if v is not None})
    return ForceModel.from_name(args.force_model, **overrides), notes


def _maneuvers(msg, path, state0_eme, t0, fm):
    """OPM MAN_* blocks -> core maneuvers. Inertial-frame dv is turned into RTN components at the burn
    (exact for an impulse; a finite burn then holds that RTN direction)."""
    import numpy as np

    from marsview.core.dynamics import propagate
    from marsview.core.frames import inertial_to_local
    from marsview.core.maneuvers import FiniteBurn, ImpulsiveBurn
    from marsview.io.errors import ParseError
    from marsview.io.frames_io import normalize_frame, to_eme2000

    burns, notes = [], []
    mass_kg = msg.mass_kg
    for man in sorted(msg.maneuvers, key=lambda m: m.epoch_tdb_s):
        if man.epoch_tdb_s < t0:
            raise ParseError(path, man.line, "MAN_EPOCH_IGNITION", "maneuver before the OPM EPOCH")
        frame, dv = man.local_dv_mps()
        if frame not in ("RTN", "VNB"):
            if normalize_frame(frame) not in ("EME2000", "ICRF", "MCI"):
                raise ParseError(path, man.line, "MAN_REF_FRAME",
                                 f"maneuver frame {man.ref_frame!r} is not RTN/RSW/RIC, TNW, VNB or inertial")
            at = propagate(state0_eme, t0, np.array([man.epoch_tdb_s]), fm, burns)[0]
            dv_eme = to_eme2000(np.hstack([0.0, 0.0, 0.0, dv])[None, :], man.epoch_tdb_s, frame)[0, 3:]
            frame, dv = "RTN", inertial_to_local(at, dv_eme, "RTN")[0]
        if man.duration_s == 0.0:
            burns.append(ImpulsiveBurn(man.epoch_tdb_s, dv, frame))
        else:
            dv_mps = float(np.linalg.norm(dv))
            if dv_mps == 0.0:
                continue
            direction = np.asarray(dv) / dv_mps
            m_end = mass_kg + man.delta_mass_kg if mass_kg is not None else None
            if mass_kg is not None and man.delta_mass_kg < 0 and m_end > 0:
                exhaust_mps = dv_mps / math.log(mass_kg / m_end)  # Isp g0 that gives MAN_DV with this mass
                thrust_n = -man.delta_mass_kg / man.duration_s * exhaust_mps
                burns.append(FiniteBurn(man.epoch_tdb_s, man.duration_s, direction, frame, thrust_n=thrust_n,
                                        isp_s=exhaust_mps / 9.80665, mass_kg=mass_kg))
            else:
                notes.append(f"line {man.line}: no mass flow given, finite burn at constant acceleration")
                burns.append(FiniteBurn(man.epoch_tdb_s, man.duration_s, direction, frame,
                                        accel_mps2=dv_mps / man.duration_s))
        if mass_kg is not None:
            mass_kg = mass_kg + man.delta_mass_kg
    return burns, notes


def _run(args) -> int:
    import numpy as np

    from marsview.core.dynamics import PropagatedEphemeris
    from marsview.core.time import from_tdb_s, parse_duration_s, to_tdb_s
    from marsview.core.frames import transform_states
    from marsview.io.frames_io import check_frame, check_mars_centre, to_eme2000
    from marsview.io.kvn import EpochArray
    from marsview.io.oem import OemMessage, OemSegment, write_oem
    from marsview.io.oem_convert import DEFAULT_DEGREE
    from marsview.io.opm import read_opm

    from marsview.cli.output import check_output_file, check_sample_count

    duration_s, step_s = parse_duration_s(args.duration), parse_duration_s(args.step)
    if not (duration_s >= 0 and step_s > 0):
        raise ValueError(f"--duration must be >= 0 and --step > 0 (got {args.duration!r}, {args.step!r})")
    check_sample_count(duration_s, step_s)  # before allocating the grid
    check_output_file(args.output)
    msg = read_opm(args.opm)
    path = msg.path
    check_mars_centre(msg.center_name, path, _line(msg, "CENTER_NAME"))
    frame = check_frame(msg.ref_frame, path, _line(msg, "REF_FRAME"))
    ts = msg.time_system
    t0 = msg.epoch_tdb_s
    fm, notes = _force_model(args, msg)
    state0 = to_eme2000(msg.state[None, :], t0, frame)[0]
    burns, more = _maneuvers(msg, path, state0, t0, fm)
    notes += more

    # the grid: uniform in the file's time scale (UTC: in TAI, i.e. SI seconds)
    count = int(math.floor(duration_s / step_s + 1e-9))
    scale = "TAI" if ts == "UTC" else ts
    grid = to_tdb_s(from_tdb_s(t0, scale) + step_s * np.arange(count + 1), scale)
    stop = float(grid[-1])
    late = [b for b in burns if b.start_tdb_s > stop]
    if late:
        notes.append(f"{len(late)} maneuver(s) after the end of the output span are not applied")
        burns = [b for b in burns if b.start_tdb_s <= stop]
    eph = PropagatedEphemeris(msg.object_name, state0, t0, stop, fm, burns)
    bounds = [b for b in eph.segment_boundaries() if t0 < b <= stop]

    segments = []
    edges = [t0, *bounds, None]
    unit = 10.0 ** -EPOCH_DIGITS
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        inside = grid[(grid >= lo) & ((grid < hi) if hi is not None else True)]
        t = np.unique(np.concatenate([[lo], inside] + ([[hi - unit]] if hi is not None else [])))
        # round to the digits written and propagate to exactly the epoch the text says
        epochs = EpochArray.from_tdb_s(t, ts, EPOCH_DIGITS)
        t_exact = np.clip(epochs.to_tdb_s(ts), t0, stop)
        states = eph.state(t_exact)
        if frame not in ("EME2000", "ICRF"):
            states = transform_states(states, t_exact, "EME2000", frame)
        texts = epochs.take([0, -1]).format()
        meta = {"OBJECT_NAME": msg.object_name, "OBJECT_ID": msg.metadata.get("OBJECT_ID", "UNKNOWN"),
                "CENTER_NAME": msg.center_name, "REF_FRAME": msg.ref_frame, "TIME_SYSTEM": ts,
                "START_TIME": texts[0], "STOP_TIME": texts[1], "INTERPOLATION": "LAGRANGE",
                "INTERPOLATION_DEGREE": str(min(DEFAULT_DEGREE, max(len(t) - 1, 1)))}
        comments = [] if k == 0 else [f"after the maneuver at {texts[0]} {ts}"]
        segments.append(OemSegment(metadata=meta, epochs=epochs, epochs_tdb_s=t_exact, states=states,
                                   comments=comments))
    model = (f"force model {fm.name}: GM {fm.gm_km3s2!r} km^3/s^2"
             + (f", zonals to degree {fm.zonal_degree} (J2 {fm.j2!r}, R {fm.ref_radius_km!r} km) about the "
                "IAU 2015 pole of date" if fm.zonal_degree else "")
             + (f", drag (Cd {fm.cd!r}, area {fm.area_m2!r} m^2, mass {fm.mass_kg!r} kg)" if fm.drag else "")
             + (", Sun third body" if fm.sun else ""))
    header = {"CCSDS_OEM_VERS": "2.0", "ORIGINATOR": "MARSVIEW"}
    comments = [f"propagated by marsview propagate from {args.opm}", model,
                f"{len(burns)} maneuver(s) applied, DOP853 rtol 1e-12"]
    write_oem(args.output, OemMessage(header, segments, comments))
    for note in notes:
        print(f"marsview propagate: note: {note}", file=sys.stderr)
    print(f"marsview propagate: wrote {sum(len(s.epochs_tdb_s) for s in segments)} states in "
          f"{len(segments)} segment(s) to {args.output}", file=sys.stderr)
    return 0
