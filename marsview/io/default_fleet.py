"""What marsview knows about the Mars fleet without a file: hard-body radii and NAIF ids (from
../shared/reference/mars_fleet.json, with its derivations), used when a bare OEM/SPK names a known object.

The built-in scenario itself is resources/default_scenario/scenario.toml; ``design_default_fleet()`` in
marsview/io/default_fleet_design.py documents how its angles were chosen.
"""

from __future__ import annotations

# name aliases (upper case) -> (NAIF id, hard-body radius m, derivation)
FLEET = {
    "MRO": (-74, 7.5, "circumscribing sphere of 13.6 m array span x 6.5 m height"),
    "MARS RECON ORBITER": (-74, 7.5, "as MRO"),
    "MARS RECONNAISSANCE ORBITER": (-74, 7.5, "as MRO"),
    "ODY": (-53, 7.0, "6 m GRS boom + half bus"),
    "MARS ODYSSEY": (-53, 7.0, "as ODY"),
    "MARS SURVEYOR 01 ORBITER": (-53, 7.0, "as ODY"),
    "MAVEN": (-202, 5.7, "half the 11.4 m wing span"),
    "MEX": (-41, 6.0, "half the 12 m array span (20 m with the MARSIS dipole)"),
    "MARS EXPRESS": (-41, 6.0, "as MEX"),
    "TGO": (-143, 9.0, "2 x 7.92 m arrays + 2 m bus"),
    "EXOMARS 2016 TGO": (-143, 9.0, "as TGO"),
    "EMM": (-62, 4.0, "estimate: ~8 m span"),
    "HOPE": (-62, 4.0, "as EMM"),
    "EMIRATES MARS MISSION": (-62, 4.0, "as EMM"),
    "TIANWEN-1": (-9901491, 8.0, "estimate: ~15 m wing span"),
    "TW1": (-9901491, 8.0, "as Tianwen-1"),
    "MGS": (-94, 6.0, "estimate: ~12 m array span"),
    "MARS GLOBAL SURVEYOR": (-94, 6.0, "as MGS"),
    "PHOBOS": (401, 15000.0, "30 km keep-out sphere (15 km radius), as JPL screened MAVEN in 2017"),
    "DEIMOS": (402, 7800.0, "largest triaxial radius 7.8 km"),
}
_BY_ID = {}
for _name, (_id, _hbr, _why) in FLEET.items():
    _BY_ID.setdefault(_id, _hbr)


def known_hbr_m(name: str, naif_id: int | None = None) -> float | None:
    if naif_id is not None and int(naif_id) in _BY_ID:
        return _BY_ID[int(naif_id)]
    entry = FLEET.get(str(name).strip().upper())
    return entry[1] if entry else None


def fleet_naif_id(name: str) -> int | None:
    """The NAIF id of a known fleet object from any of its names ('MGS', 'Mars Global Surveyor'), else None."""
    entry = FLEET.get(" ".join(str(name).split()).upper())
    return entry[0] if entry else None


def same_object_key(name: str) -> str:
    """A key equal for two names of the same object: 'NAIF <id>' for a known fleet name (so MGS and MARS
    GLOBAL SURVEYOR match), else the name upper-cased without blanks or punctuation ('Phobos' = 'PHOBOS')."""
    naif = fleet_naif_id(name)
    if naif is not None:
        return f"NAIF {naif}"
    return "".join(ch for ch in str(name).upper() if ch.isalnum())


def object_kind_for(name: str, naif_id: int | None) -> str:
    """'moon' for natural satellites (NAIF 100-998 not ending in 99, or named Phobos/Deimos), 'inactive'
    for MGS, else 'spacecraft'."""
    if naif_id is not None and 100 <= int(naif_id) <= 999 and int(naif_id) % 100 != 99:
        return "moon"
    if str(name).strip().upper() in ("PHOBOS", "DEIMOS"):
        return "moon"
    if naif_id == -94 or str(name).strip().upper() in ("MGS", "MARS GLOBAL SURVEYOR"):
        return "inactive"
    return "spacecraft"


# --- the built-in scenario's design ---------------------------------------------------------------------
# Run ``python -m marsview.io.default_fleet`` to regenerate resources/default_scenario/scenario.toml.
# Orbit sizes and inclinations are the published ones (mars_fleet.json). Node, argument of periapsis and
# phase are not published; they were chosen here, three of them so that the 7-day window holds designed
# training encounters (each designed object's orbit is solved at the encounter epoch to pass MISS_KM from
# its partner, then propagated back with the J2 model to the scenario epoch).

EPOCH_UTC = "2024-04-15T00:00:00"
COVERAGE_S = 14 * 86400.0

# (short name, long name, NAIF, peri alt km, apo alt km, inc deg, raan, argp, nu (deg, chosen), hbr m, kind)
BASE_ORBITS = [
    ("MRO", "Mars Reconnaissance Orbiter", -74, 255.0, 320.0, 92.6, 40.0, 270.0, 10.0, 7.5, "spacecraft"),
    ("ODY", "2001 Mars Odyssey", -53, 400.0, 400.0, 93.064, 150.0, 270.0, 200.0, 7.0, "spacecraft"),
    ("EMM", "Emirates Mars Mission (Hope)", -62, 20000.0, 43000.0, 25.0, 60.0, 10.0, 300.0, 4.0, "spacecraft"),
    ("TGO", "ExoMars Trace Gas Orbiter", -143, 400.0, 400.0, 74.0, 100.0, 0.0, 250.0, 9.0, "spacecraft"),
    ("MGS", "Mars Global Surveyor (inactive)", -94, 370.0, 435.0, 92.9, 320.0, 270.0, 45.0, 6.0, "inactive"),
]
# (designed, partner, days after epoch, miss km, branch flags) -- the designed object's peri/apo/inc:
DESIGNED = [
    ("MEX", "Mars Express", -41, 350.0, 10300.0, 86.3, 6.0, "spacecraft", "Phobos", 1.6, 14.0),
    ("MAVEN", "MAVEN", -202, 150.0, 4500.0, 75.0, 5.7, "spacecraft", "MRO", 3.3, 2.5),
    ("TW1", "Tianwen-1 orbiter", -9901491, 265.0, 10700.0, 86.0, 8.0, "spacecraft", "TGO", 5.2, 4.0),
]


def _design_state(partner_state, miss_km, peri_alt, apo_alt, inc_deg, t_e):
    """MCI-designed state (EME2000 out) of an orbit with the given size/inclination passing MISS_KM from the
    partner at t_e, the offset perpendicular to the relative velocity."""
    import numpy as np

    from marsview.core.constants import RADIUS_EQUATORIAL_KM
    from marsview.core.frames import transform_states
    from marsview.core.orbits import elements_to_cartesian

    rp, ra = RADIUS_EQUATORIAL_KM + peri_alt, RADIUS_EQUATORIAL_KM + apo_alt
    a, e = 0.5 * (rp + ra), (ra - rp) / (ra + rp)
    inc = np.radians(inc_deg)
    partner_mci = transform_states(partner_state.reshape(1, 6), t_e, "EME2000", "MCI")[0]
    offset = np.zeros(3)
    for _ in range(4):
        p = partner_mci[:3] + offset
        r = np.linalg.norm(p)
        if e < 1e-6:  # circular: the orbit's radius is the encounter radius
            a = r
        nu = np.arccos(np.clip((a * (1 - e * e) / r - 1) / e, -1, 1)) if e > 1e-9 else 0.3
        lat = np.arcsin(p[2] / r)
        u = np.arcsin(np.clip(np.sin(lat) / np.sin(inc), -1, 1))
        raan = np.arctan2(p[1], p[0]) - np.arctan2(np.cos(inc) * np.sin(u), np.cos(u))
        state = elements_to_cartesian(a, e, inc, raan, u - nu, nu).reshape(6)
        rel_v = state[3:] - partner_mci[3:]
        n = np.cross(rel_v, partner_mci[:3])
        offset = miss_km * n / np.linalg.norm(n)
    return transform_states(state.reshape(1, 6), t_e, "MCI", "EME2000")[0]


def design_default_fleet() -> list[dict]:
    """The object tables of the default scenario (osculating MCI elements at the epoch)."""
    import numpy as np

    from marsview.core.dynamics import ForceModel, propagate
    from marsview.core.frames import transform_states
    from marsview.core.moons import phobos_ephemeris
    from marsview.core.orbits import cartesian_to_elements, state_from_peri_apo
    from marsview.core.time import utc_to_tdb_s

    t0 = utc_to_tdb_s(EPOCH_UTC)
    fm = ForceModel.j2()
    states0, rows = {}, []
    for short, long, naif, pa, aa, inc, raan, argp, nu, hbr, kind in BASE_ORBITS:
        s = state_from_peri_apo(pa, aa, inc, raan, argp, nu)
        states0[short] = transform_states(np.asarray(s).reshape(1, 6), t0, "MCI", "EME2000")[0]
        rows.append({"short": short, "long": long, "naif": naif, "hbr": hbr, "kind": kind,
                     "orbit": {"periapsis_alt_km": pa, "apoapsis_alt_km": aa, "inc_deg": inc, "raan_deg": raan,
                               "argp_deg": argp, "true_anomaly_deg": nu},
                     "note": (f"published {pa:g} x {aa:g} km, {inc:g} deg; node, argp, phase chosen" if short != "MGS"
                              else f"dead since 2006; mars_fleet.json gives only a near-polar ~2 h orbit at 93 deg: "
                                   f"{pa:g} x {aa:g} km, {inc:g} deg and the 6 m hard-body radius are estimates")})
    for short, long, naif, pa, aa, inc, hbr, kind, partner, days, miss in DESIGNED:
        t_e = t0 + days * 86400.0
        if partner == "Phobos":
            p_state = phobos_ephemeris(t0, t0 + COVERAGE_S).state([t_e])[0]
        else:
            # the first minute from the nominal time where the partner's latitude is reachable at this
            # inclination (an orbit inclined by i only reaches latitudes up to i)
            grid = t_e + 60.0 * np.arange(200)
            track = propagate(states0[partner], t0, grid, fm)
            mci = transform_states(track, grid, "EME2000", "MCI")
            lat = np.degrees(np.arcsin(np.abs(mci[:, 2]) / np.linalg.norm(mci[:, :3], axis=1)))
            k = int(np.argmax(lat < min(inc, 180.0 - inc) - 15.0))
            t_e, p_state = float(grid[k]), track[k]
        s_e = _design_state(p_state, miss, pa, aa, inc, t_e)
        s0 = propagate(s_e, t_e, [t0], fm)[0]
        states0[short] = s0
        el = cartesian_to_elements(transform_states(s0.reshape(1, 6), t0, "EME2000", "MCI")[0])
        rows.append({"short": short, "long": long, "naif": naif, "hbr": hbr, "kind": kind,
                     "orbit": {"a_km": float(el.a_km), "e": float(el.e), "inc_deg": float(np.degrees(el.inc_rad)),
                               "raan_deg": float(np.degrees(el.raan_rad) % 360.0),
                               "argp_deg": float(np.degrees(el.argp_rad) % 360.0),
                               "true_anomaly_deg": float(np.degrees(el.nu_rad) % 360.0)},
                     "note": f"published {pa:g} x {aa:g} km, {inc:g} deg (osculating values here); angles "
                             f"designed for a {miss:g} km pass of {partner} {days:g} days after the epoch"})
    order = ["MRO", "ODY", "MAVEN", "MEX", "TGO", "EMM", "TW1", "MGS"]
    return sorted(rows, key=lambda r: order.index(r["short"]))


# Masses for the propellant estimate (mars_fleet.json): dry mass where published (MRO, ODY, MEX), else the
# launch/orbiter mass (MAVEN, TGO orbiter wet, EMM, TW1 orbiter). Real 2024 masses lie between the two, so the
# propellant estimate for a small burn is good to tens of percent: enough to compare options, not to budget.
MASSES_KG = {"MRO": 1031.0, "ODY": 331.8, "MEX": 666.0, "MAVEN": 2454.0, "TGO": 3732.0, "EMM": 1350.0,
             "TW1": 3175.0, "MGS": 1030.5}


def _toml_text(rows) -> str:
    colors = {"MRO": "#E69F00", "ODY": "#56B4E9", "MAVEN": "#009E73", "MEX": "#F0E442", "TGO": "#0072B2",
              "EMM": "#D55E00", "TW1": "#CC79A7", "MGS": "#999999"}
    out = [HEADER]
    for r in rows:
        out.append(f"\n# {r['long']}: {r['note']}\n[[objects]]\nname = \"{r['short']}\"\nkind = \"{r['kind']}\"\n"
                   f"naif_id = {r['naif']}\nhbr_m = {r['hbr']!r}\nmass_kg = {MASSES_KG[r['short']]!r}\ncolor = \"{colors[r['short']]}\"\n"
                   f"sigma0_km = 0.5\nsigma_growth_km_per_day = 0.7\nradial_sigma_km = 0.1\n"
                   f"cross_track_sigma_km = 0.2\n\n[objects.orbit]\nsource = \"elements\"\n"
                   f"epoch_utc = \"{EPOCH_UTC}\"\nframe = \"MCI\"\nforce_model = \"j2\"\n")
        for k, v in r["orbit"].items():
            out.append(f"{k} = {float(v)!r}\n")
    out.append(MOONS)
    return "".join(out)


HEADER = '''# marsview built-in scenario: the Mars fleet of April 2024 -- APPROXIMATE, for training and demonstration.
# Generated by `python -m marsview.io.default_fleet` (marsview/io/default_fleet.py); edit that, not this.
#
# Orbit sizes (periapsis x apoapsis altitude above a 3396.19 km sphere) and inclinations (to the Mars
# equator, MCI) are the published values in mars_fleet.json; hard-body radii likewise (their derivations are
# in marsview/io/default_fleet.py). NODES, ARGUMENTS OF PERIAPSIS AND PHASES ARE NOT PUBLISHED: they were
# CHOSEN here. Three were chosen so that a 7-day screen at 10 km finds training encounters:
#   MEX passes ~14 km from Phobos' centre (inside its 15 km keep-out radius, outside its 13 km body) 1.6 days
#   after the epoch,
#   MAVEN passes ~2.5 km from MRO 3.3 days after the epoch (cf. the real 2015 MAVEN-MRO alert),
#   Tianwen-1 passes ~4 km from TGO about 5.2 days after the epoch.
# (MAVEN's 2024 orbit, 150 x 4500 km, no longer reaches Phobos' radius; MEX's does, as in reality.)
# Those three objects carry osculating elements at the epoch (their published sizes hold at the encounter).
# All orbits are propagated with the J2 model from the epoch; Phobos and Deimos come from mean elements.
format = "marsview-scenario 1"
name = "Mars fleet, April 2024 (approximate)"
description = "The Mars orbiter fleet of April 2024 with Phobos, Deimos and the dead MGS, from published orbit sizes and inclinations; nodes and phases are invented, three of them to stage training encounters."
disclaimer = "Approximate training scenario: published orbit sizes and inclinations, invented nodes and phases. Not an operational ephemeris -- load your teams' OEM/SPK deliveries for real work."

[window]
start_utc = "2024-04-15T00:00:00"
duration = "7d"
coverage = "14d"
threshold_km = 10.0
'''

MOONS = '''
# Phobos: screened as a 30 km keep-out sphere (15 km radius), as JPL did for MAVEN in 2017.
[[objects]]
name = "Phobos"
kind = "moon"
naif_id = 401
hbr_m = 15000.0
color = "#BBBBBB"
threshold_km = 30.0
sigma0_km = 0.3
sigma_growth_km_per_day = 0.0
radial_sigma_km = 0.1
cross_track_sigma_km = 0.1

[objects.orbit]
source = "moon"
body = "Phobos"

# Deimos: largest triaxial radius 7.8 km.
[[objects]]
name = "Deimos"
kind = "moon"
naif_id = 402
hbr_m = 7800.0
color = "#888888"
sigma0_km = 0.5
sigma_growth_km_per_day = 0.0
radial_sigma_km = 0.2
cross_track_sigma_km = 0.2

[objects.orbit]
source = "moon"
body = "Deimos"
'''


if __name__ == "__main__":  # pragma: no cover - regenerates the shipped TOML
    from pathlib import Path

    target = Path(__file__).resolve().parents[2] / "resources" / "default_scenario" / "scenario.toml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_toml_text(design_default_fleet()))
    print(target)
