"""Export a maneuver plan for partner agencies: the planned trajectory as CCSDS OEM (the burn is a segment
boundary, described in a COMMENT) and as SPICE SPK type 13 (a segment per piece, split at the burn), and the
maneuver itself as an OPM with its MAN_* block (state just before the burn).

What a partner needs to re-run its own screening: Mars-centred EME2000 states, the burn epoch exactly at a
boundary (no interpolation across the velocity jump), the dv and its frame, and the propellant used.
"""

from __future__ import annotations

import math

import numpy as np

from marsview.core.ephemeris import Ephemeris
from marsview.core.maneuvers import propellant_kg
from marsview.core.time import format_epoch

from .oem import write_oem
from .oem_convert import ephemeris_to_oem
from .opm import OpmManeuver, build_opm, write_opm
from .spk import write_spk

DEFAULT_ISP_S = 220.0


def _burn_comment(burn) -> str:
    utc = format_epoch(burn.epoch_tdb_s, "UTC", digits=6)
    dv = ", ".join(f"{x:.6f}" for x in burn.dv_mps)
    if burn.is_finite:
        return (f"MANEUVER finite burn start {utc} UTC duration {burn.duration_s:.3f} s direction {burn.frame} "
                f"({dv}) total dv {burn.dv_magnitude_mps:.6f} m/s")
    return f"MANEUVER impulsive dv {burn.frame} = ({dv}) m/s at {utc} UTC (TDB {burn.epoch_tdb_s:.6f} s past J2000)"


class _Window(Ephemeris):
    """An ephemeris clipped to [start, stop] (writers sample the whole coverage). With LEFT, the state at STOP
    is the limit from the left (the pre-burn state on a burn epoch), for a piece that ends at a burn."""

    def __init__(self, eph: Ephemeris, start: float, stop: float, left: bool = False):
        self.eph, self.name, self.frame, self.left = eph, eph.name, eph.frame, left
        c0, c1 = eph.coverage
        self._cov = (max(c0, start), min(c1, stop))
        if self._cov[1] <= self._cov[0]:
            raise ValueError(f"{eph.name}: nothing to export in the requested window")

    @property
    def coverage(self):
        return self._cov

    def _state(self, t):
        out = self.eph.state(t)
        if self.left and hasattr(self.eph, "left_state"):
            at_stop = t == self._cov[1]
            if at_stop.any():
                out[at_stop] = self.eph.left_state(self._cov[1])
        return out

    def segment_boundaries(self):
        b = np.asarray(self.eph.segment_boundaries(), float).reshape(-1)
        return b[(b > self._cov[0]) & (b < self._cov[1])]

    def source_at(self, tdb_s):
        return self.eph.source_at(tdb_s)


def write_planned_oem(path, planned: Ephemeris, start_tdb_s: float, stop_tdb_s: float, burns=(),
                      step_s: float = 60.0, object_id: str | None = None, force_model: str = "",
                      method: str | None = None) -> None:
    """PLANNED (Mars-centred EME2000) to an OEM over [start, stop], split at every burn (model.plan.PlannedBurn;
    a finite burn at its start and end), with a COMMENT naming each burn on the segment that starts there.
    METHOD (default: the planned ephemeris' own ``method``) is stated in the header COMMENT."""
    eph = _Window(planned, start_tdb_s, stop_tdb_s)
    epochs = sorted({e for b in burns for e in ((b.epoch_tdb_s, b.epoch_tdb_s + b.duration_s) if b.is_finite
                                                   else (b.epoch_tdb_s,))})
    a, b = eph.coverage
    cuts = np.unique(np.concatenate([eph.segment_boundaries(), np.asarray(epochs, float)]))
    cuts = cuts[(cuts > a) & (cuts < b)]
    seg_comments: dict = {}
    for burn in burns:
        if a < burn.epoch_tdb_s < b:
            k = int(np.searchsorted(cuts, burn.epoch_tdb_s) + 1)  # the piece that starts at the burn
            seg_comments.setdefault((eph.name, k), []).append(_burn_comment(burn))
    method = method or getattr(planned, "method", "absolute")
    force_model = force_model or getattr(planned, "force_model_name", "")
    with_fm = f" with the {force_model} force model" if force_model else ""
    comments = ["PLANNED trajectory (a maneuver plan, NOT a delivered ephemeris), written by marsview."]
    if method == "differential":
        comments.append("The delivered ephemeris up to the first burn; after it, the delivered ephemeris plus the "
                        f"burn's effect (our propagation{with_fm} with the burn minus without it, both from the "
                        "delivered state at the burn).")
        mismatch = getattr(planned, "model_mismatch_km", None)
        if mismatch is not None:
            comments.append(f"Correction for the delivered-vs-our-dynamics difference: {mismatch:.3f} km at the "
                            "end of the plan.")
    else:
        comments.append(f"The spacecraft's ephemeris up to the first burn, then propagated{with_fm} (absolute).")
    comments.append("Each burn epoch is a segment boundary: the previous segment stops 1 microsecond before it.")
    comments += [_burn_comment(x) for x in burns]
    msg = ephemeris_to_oem(eph, a, b, step_s, boundaries=cuts, comments=comments, segment_comments=seg_comments,
                           object_ids={eph.name: object_id} if object_id else None)
    write_oem(path, msg)


def write_planned_spk(path, planned: Ephemeris, start_tdb_s: float, stop_tdb_s: float, naif_id: int | None,
                      burns=(), tol_km: float = 0.5e-6) -> dict:
    """PLANNED as SPK type 13 (centre Mars 499, J2000), one segment per piece split at the burns; returns the
    verified max interpolation error per NAIF id [km] (io.spk.write_spk)."""
    eph = _Window(planned, start_tdb_s, stop_tdb_s)
    a, b = eph.coverage
    edges = [a, *eph.segment_boundaries(), b]
    # one piece per segment, each ending on its left limit: io.spk samples a piece's end with state(), which
    # on a burn epoch is the post-burn state and would bend the last Hermite interval of the previous piece
    pieces = [(_Window(planned, p, q, left=True), naif_id) for p, q in zip(edges[:-1], edges[1:]) if q > p]
    comment = "\n".join(["PLANNED trajectory (a marsview maneuver plan, not a delivered ephemeris)."]
                        + [_burn_comment(b) for b in burns])
    return write_spk(path, pieces, tol_km=tol_km, comment=comment)


def write_maneuver_opm(path, name: str, planned: Ephemeris, burns, mass_kg: float | None = None,
                       isp_s: float = DEFAULT_ISP_S, object_id: str | None = None) -> None:
    """An OPM: the state just before the first burn (Mars-centred EME2000, UTC) and one MAN_* block per burn
    (dv in km/s; RTN as RTN; VNB written as TNW = (V, -B, N); MAN_DELTA_MASS from the rocket equation with
    MASS_KG, which CCSDS requires with maneuvers)."""
    burns = sorted(burns, key=lambda b: b.epoch_tdb_s)
    if not burns:
        raise ValueError(f"{name}: the plan has no burn to export")
    if not mass_kg:
        raise ValueError(f"{name}: an OPM with maneuvers needs the spacecraft MASS (set mass_kg in the scenario)")
    t0 = burns[0].epoch_tdb_s
    base = getattr(planned, "base", planned)  # the state just before the burn, not after it
    state = base.state(t0)[0]
    mans = []
    mass = mass_kg
    for b in burns:
        if b.frame == "VNB":
            v, n, bn = b.dv_mps
            frame, dv = "TNW", (v, -bn, n)
        else:
            frame, dv = "RTN", b.dv_mps
        if b.is_finite:
            dv_dir = np.asarray(b.dv_mps) / np.linalg.norm(b.dv_mps) * b.dv_magnitude_mps
            dv = tuple(dv_dir) if frame == "RTN" else (dv_dir[0], -dv_dir[2], dv_dir[1])
        total = math.sqrt(sum(x * x for x in dv))
        dm = -propellant_kg(total, mass, b.isp_s or isp_s)
        mass += dm
        mans.append(OpmManeuver(format_epoch(b.epoch_tdb_s, "UTC", digits=6), b.epoch_tdb_s,
                                float(b.duration_s), dm, frame, tuple(x / 1000.0 for x in dv)))
    msg = build_opm(name, object_id or "UNKNOWN", format_epoch(t0, "UTC", digits=6), state,
                    comments=["PLANNED maneuver(s), planned with marsview; the state is the delivered one just "
                              "before the first."],
                    spacecraft={"MASS": mass_kg}, maneuvers=mans)
    write_opm(path, msg)
