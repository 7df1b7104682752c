"""Encounter geometry in the operator's frame: the relative path of object 2 about object 1 near a close
approach, the miss vector at TCA, the current separation, object 1's RTN axes, and -- in the encounter plane
(normal to the relative velocity at TCA, as conjunction tools draw it) -- the combined 1-sigma and 3-sigma
position-uncertainty ellipses about object 2's TCA position and the hard-body circle about object 1.

The covariance is the one the screening used for the event (``marsview.core.screening.event_covariances_km2``:
each object's OEM covariance near TCA, else its along-track timing model), projected on the encounter plane by
``marsview.core.probability.encounter_plane`` -- the projection the Pc comes from -- so the ellipse and the
table's Pc describe the same numbers.

All differences are taken in float64 between Mars-centred states (|r| ~ 1e4 km, so ~1e-9 km resolution)
and cast to float32 only after the focus is subtracted. Lines go into the scene's shared ``LineBatch``
(group "encounter"); labels are returned as ``LabelRequest``s for the scene's screen-space layout.
"""

from __future__ import annotations

import numpy as np

from marsview.core.frames import rtn_matrix
from marsview.core.probability import encounter_plane

from .labels import PRIORITY_ENCOUNTER, LabelRequest
from .tracks import states_eme2000

PATH_RGBA = (1.0, 1.0, 1.0, 0.85)
MISS_RGBA = (1.0, 0.3, 0.3, 1.0)
NOW_RGBA = (0.95, 0.95, 0.35, 0.95)
SIGMA1_RGBA = (1.0, 0.75, 0.2, 1.0)
SIGMA3_RGBA = (1.0, 0.75, 0.2, 0.55)
HBR_RGBA = (0.3, 0.9, 1.0, 1.0)
AXIS_RGBA = {"R": (1.0, 0.35, 0.35, 1.0), "T": (0.35, 1.0, 0.45, 1.0), "N": (0.45, 0.6, 1.0, 1.0)}
ELLIPSE_POINTS = 97


def format_distance(km: float) -> str:
    """Human scale: metres below 1 km, else km with 3 decimals."""
    if not np.isfinite(km):
        return "--"
    return f"{km * 1000.0:.1f} m" if abs(km) < 1.0 else f"{km:.3f} km"


def nice_length_km(target_km: float) -> float:
    """The largest 1, 2 or 5 x 10^k km not above TARGET_KM (a scale bar's length)."""
    if not (np.isfinite(target_km) and target_km > 0):
        return 1.0
    exp = np.floor(np.log10(target_km))
    for m in (5.0, 2.0, 1.0):
        if m * 10**exp <= target_km:
            return float(m * 10**exp)
    return float(10**exp)


def ellipse_points(centre, basis, cov_plane_km2, k_sigma: float, n: int = ELLIPSE_POINTS) -> np.ndarray:
    """(n,3) points of the K_SIGMA ellipse of the 2x2 COV_PLANE_KM2 in the plane spanned by BASIS rows."""
    w, vec = np.linalg.eigh(np.asarray(cov_plane_km2, float))
    a = np.linspace(0.0, 2.0 * np.pi, n)
    xy = (vec * (k_sigma * np.sqrt(np.maximum(w, 0.0)))) @ np.stack([np.cos(a), np.sin(a)])  # (2, n)
    return np.asarray(centre, float) + xy.T @ np.asarray(basis, float)


class EncounterAdapter:
    def __init__(self, lines):
        self.lines = lines  # the scene's LineBatch
        self.event = None
        self.label_requests: list[LabelRequest] = []
        self.axis_length_km = 0.0
        self.miss_points_f32 = np.zeros((2, 3), np.float32)

    def set_event(self, eph1, eph2, tca_tdb_s: float, miss_km: float, relative_speed_kms: float,
                  combined_cov_km2=None, hbr_km: float = 0.0) -> None:
        """Sample the relative path over a window that spans ~40 miss distances of relative motion; with
        COMBINED_COV_KM2 (3x3, EME2000, the screening's) also the encounter-plane ellipses."""
        half_s = float(np.clip(20.0 * max(miss_km, 0.01) / max(relative_speed_kms, 1e-6), 30.0, 3600.0))
        start = max(eph1.coverage[0], eph2.coverage[0], tca_tdb_s - half_s)
        stop = min(eph1.coverage[1], eph2.coverage[1], tca_tdb_s + half_s)
        epochs = np.linspace(start, stop, 401)
        rel_eme = states_eme2000(eph2, epochs)[:, :3] - states_eme2000(eph1, epochs)[:, :3]
        s1 = states_eme2000(eph1, np.array([tca_tdb_s]))[0]
        s2 = states_eme2000(eph2, np.array([tca_tdb_s]))[0]
        plane = None
        if combined_cov_km2 is not None and np.all(np.isfinite(combined_cov_km2)):
            try:
                plane = encounter_plane(s1, s2, np.asarray(combined_cov_km2, float)[:3, :3], np.zeros((3, 3)),
                                        max(float(hbr_km), 1e-6), at_true_tca=False)
            except ValueError:
                plane = None
        self.event = dict(eph1=eph1, eph2=eph2, tca=tca_tdb_s, miss_km=miss_km, rel_path_eme=rel_eme,
                          rel_tca_eme=(s2 - s1)[:3], epochs=epochs, rtn_eme=rtn_matrix(s1)[0], plane=plane,
                          hbr_km=float(hbr_km), relative_speed_kms=relative_speed_kms,
                          combined_cov_km2=None if combined_cov_km2 is None else np.asarray(combined_cov_km2, float),
                          rel_velocity_eme=(s2 - s1)[3:6])
        # axes long enough to read next to the miss and the 3-sigma ellipse, short enough to stay in view
        extent = max(miss_km, 3.0 * float(np.max(plane.sigma_xy_km)) if plane is not None else 0.0, 0.01)
        self.axis_length_km = 0.5 * min(extent, 3.0 * max(miss_km, 0.01))

    def clear(self) -> None:
        self.event = None
        self.label_requests = []
        self.lines.remove_group("encounter")

    def focus_eme(self, tdb_s: float):
        """Midpoint of the two objects now (EME2000 km), the encounter view's focus; None if uncovered."""
        if self.event is None:
            return None
        e1, e2 = self.event["eph1"], self.event["eph2"]
        if not (e1.covers(tdb_s) and e2.covers(tdb_s)):
            return None
        t = np.array([tdb_s])
        return 0.5 * (states_eme2000(e1, t)[0, :3] + states_eme2000(e2, t)[0, :3])

    def view_direction_eme(self) -> np.ndarray | None:
        """Unit vector to look from so the encounter plane faces the viewer: along the relative velocity."""
        if self.event is None:
            return None
        v = self.event["rel_velocity_eme"]
        n = np.linalg.norm(v)
        return None if n == 0 else v / n

    def update(self, tdb_s: float, eme_to_display: np.ndarray, focus_display_km) -> str:
        """Redraw about the focus; returns the caption (miss at TCA and the current separation)."""
        self.label_requests = []
        if self.event is None:
            return ""
        ev = self.event
        t = np.array([tdb_s])
        if not (ev["eph1"].covers(tdb_s) and ev["eph2"].covers(tdb_s)):
            self.lines.remove_group("encounter")
            return ""
        p1 = states_eme2000(ev["eph1"], t)[0, :3]
        p2 = states_eme2000(ev["eph2"], t)[0, :3]
        m = eme_to_display
        anchor = m @ p1 - focus_display_km  # object 1, display frame, relative to the focus (float64)
        tip = anchor + m @ ev["rel_tca_eme"]  # object 2 at TCA, about object 1 now
        self.miss_points_f32 = np.vstack([anchor, tip]).astype(np.float32)  # what the GPU gets (tests)
        strips = [(anchor + ev["rel_path_eme"] @ m.T, PATH_RGBA), (np.vstack([anchor, tip]), MISS_RGBA),
                  (np.vstack([anchor, m @ p2 - focus_display_km]), NOW_RGBA)]
        length = self.axis_length_km
        for axis, row in zip("RTN", ev["rtn_eme"]):
            end = anchor + length * (m @ row)
            strips.append((np.vstack([anchor, end]), AXIS_RGBA[axis]))
            self.label_requests.append(LabelRequest(axis, end, PRIORITY_ENCOUNTER))
        plane = ev["plane"]
        if plane is not None:
            basis_display = plane.basis @ m.T
            strips.append((ellipse_points(tip, basis_display, plane.cov_plane_km2, 1.0), SIGMA1_RGBA))
            strips.append((ellipse_points(tip, basis_display, plane.cov_plane_km2, 3.0), SIGMA3_RGBA))
            sigma3 = ellipse_points(tip, basis_display, plane.cov_plane_km2, 3.0)
            top = sigma3[int(np.argmax(sigma3 @ basis_display[1]))]
            self.label_requests.append(LabelRequest("3σ", top, PRIORITY_ENCOUNTER + 1))
        if ev["hbr_km"] > 0 and plane is not None:
            circle = ellipse_points(anchor, plane.basis @ m.T, np.eye(2) * ev["hbr_km"] ** 2, 1.0)
            strips.append((circle, HBR_RGBA))
        self.lines.set_group("encounter", strips)
        self.label_requests.insert(0, LabelRequest("miss " + format_distance(ev["miss_km"]), 0.5 * (anchor + tip),
                                                  PRIORITY_ENCOUNTER, marker_radius_px=4.0))  # beside the line
        separation_km = float(np.linalg.norm(p2 - p1))
        caption = f"miss {format_distance(ev['miss_km'])} at TCA · now {format_distance(separation_km)}"
        if plane is not None:
            s = plane.sigma_xy_km
            caption += (f" · 1σ ellipse {format_distance(float(np.max(s)))} × {format_distance(float(np.min(s)))}"
                        f" · HBR {format_distance(ev['hbr_km'])}")
        return caption
