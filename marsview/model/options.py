"""Who moves: each spacecraft's smallest-dv avoidance option for one close approach, checked exactly.

For the chosen encounter each object of the pair is tried alone as the one that moves:
- a moon or an inactive (dead) orbiter cannot manoeuvre: it gets ``Option.reason`` = "cannot maneuver" and no
  burn;
- a spacecraft gets the smallest impulsive dv (any direction, RTN) at its burn epoch that brings the miss to
  the target (miss >= target km, or Pc <= target) by the linear solver core.planning.smallest_dv; the burn then
  goes through the planning rule (core.planning.planned_ephemeris: delivered ephemeris + (our propagation with
  the burn - without it)) and the exact re-screen of that spacecraft's pairs (core.planning.verify_plan). The
  option's miss_after_km / pc_after are the re-screen's (the targeted pair's event, or, once the burn lifts it
  above the screening threshold, its closest approach refined on the exact planned trajectory), and ``new``
  lists the close approaches only the burn creates. Where the re-screen falls short of the target (the solver
  is linear; Pc is steep in the miss), the target is moved past it by the ratio missed and the burn solved and
  checked again, at most twice, so an option meets the target on the exact re-screen.

The default burn epoch is two of the spacecraft's orbital periods before the TCA (an in-track kick then has two
revolutions to turn into along-track drift), no earlier than the window start and the spacecraft's coverage,
and at least a quarter hour before the TCA.
Epochs are TDB seconds past J2000; dv in m/s in the spacecraft's RTN frame at the burn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

CANNOT_MANEUVER = "cannot maneuver"
IMMOBILE_KINDS = ("moon", "inactive")
DEFAULT_LEAD_PERIODS = 2.0  # burn this many orbital periods before the TCA by default
MIN_LEAD_S = 900.0  # a burn closer to the TCA than this cannot help (the trade space leaves the same margin)
DEFAULT_ISP_S = 220.0  # the maneuver panel's default (hydrazine monopropellant)
MAX_CORRECTIONS = 2  # re-solves when the exact re-screen falls short of the target
CORRECTION_MARGIN = 0.002  # ... aiming this fraction past it


@dataclass(frozen=True)
class Option:
    """One object's avoidance option (reason set and the rest None when it cannot move)."""

    object: str
    reason: str | None = None
    burn_tdb_s: float | None = None
    dv_mps: tuple | None = None  # RTN
    total_dv_mps: float | None = None
    propellant_kg: float | None = None
    predicted_miss_km: float | None = None  # the linear solver's promise
    predicted_pc: float | None = None
    miss_after_km: float | None = None  # the exact re-screen
    pc_after: float | None = None
    tca_after_tdb_s: float | None = None
    new_events: tuple = ()  # core screening events only the burn creates
    planned: object = None  # the planned ephemeris (apply it, export it)


def orbital_period_s(state) -> float:
    """Keplerian period [s] about Mars of a Mars-centred state (km, km/s); inf when not bound."""
    from marsview.core.constants import GM_MARS_KM3S2

    r = float(np.linalg.norm(state[:3]))
    v2 = float(np.dot(state[3:6], state[3:6]))
    energy = v2 / 2.0 - GM_MARS_KM3S2 / r
    if energy >= 0:
        return math.inf
    a = -GM_MARS_KM3S2 / (2.0 * energy)
    return 2.0 * math.pi * math.sqrt(a**3 / GM_MARS_KM3S2)


def default_burn_epoch(ephemeris, tca_tdb_s: float, window_start_tdb_s: float) -> float:
    """Burn epoch (module docstring): TCA - 2 periods, clipped to the window start and the coverage."""
    period = orbital_period_s(ephemeris.state(tca_tdb_s)[0])
    lead = DEFAULT_LEAD_PERIODS * period if math.isfinite(period) else 86400.0
    earliest = max(window_start_tdb_s, ephemeris.coverage[0])
    epoch = max(tca_tdb_s - lead, earliest)
    if epoch > tca_tdb_s - MIN_LEAD_S:
        raise ValueError("the encounter is too close to the window start to burn before it")
    return float(epoch)


def encounter_pc_func(t1, t2, tca_tdb_s: float):
    """pc(r_rel (L,3), v_rel (L,3)) from the two targets' covariances at TCA (core.uncertainty), combined and
    projected on each encounter plane (core.planning.encounter_pc): the solver's Pc target."""
    from marsview.core.planning import encounter_pc

    s1, s2 = t1.ephemeris.state(tca_tdb_s)[0], t2.ephemeris.state(tca_tdb_s)[0]
    cov = (t1.uncertainty().inertial_covariance_km2(s1[None], tca_tdb_s)[0]
           + t2.uncertainty().inertial_covariance_km2(s2[None], tca_tdb_s)[0])
    hbr = t1.hbr_km + t2.hbr_km
    return lambda r_rel, v_rel: encounter_pc(r_rel, v_rel, cov, hbr)


def find_encounter(events, object_a: str, object_b: str, tca_tdb_s: float | None = None):
    """The screening event of the pair {a, b} (nearest TCA_TDB_S when the pair has several); ValueError if none."""
    mine = [e for e in events if {e.object1, e.object2} == {object_a, object_b}]
    if not mine:
        raise ValueError(f"--encounter {object_a}/{object_b}: no close approach of this pair in the screening")
    if tca_tdb_s is None:
        return min(mine, key=lambda e: e.miss_km) if len(mine) > 1 else mine[0]
    return min(mine, key=lambda e: abs(e.tca_tdb_s - tca_tdb_s))


def option_for(targets, baseline, event, mover: str, *, stop_tdb_s: float, window_start_tdb_s: float,
               force_model, target_miss_km: float | None = None, target_pc: float | None = None,
               burn_tdb_s: float | None = None, mass_kg: float | None = None, isp_s: float = DEFAULT_ISP_S,
               cancel=None) -> Option:
    """MOVER's smallest-dv option for EVENT (module docstring), confirmed by the exact re-screen."""
    from marsview.core.maneuvers import ImpulsiveBurn, propellant_kg
    from marsview.core.planning import Encounter, planned_ephemeris, refine_encounter, smallest_dv, verify_plan

    by_name = {t.name: t for t in targets}
    other = event.object2 if event.object1 == mover else event.object1
    me, them = by_name[mover], by_name[other]
    tca = event.tca_tdb_s
    epoch = default_burn_epoch(me.ephemeris, tca, window_start_tdb_s) if burn_tdb_s is None else float(burn_tdb_s)
    if not (me.ephemeris.coverage[0] <= epoch <= tca - MIN_LEAD_S):
        raise ValueError(f"{mover}: the burn epoch must lie in its coverage and at least {MIN_LEAD_S / 60:.0f} min "
                         "before the TCA")
    pc_func = encounter_pc_func(me, them, tca)
    goal_miss_km, goal_pc = target_miss_km, target_pc
    for _attempt in range(1 + MAX_CORRECTIONS):
        sol = smallest_dv(Encounter(me.ephemeris, them.ephemeris, tca), epoch, target_miss_km=goal_miss_km,
                          target_pc=goal_pc, direction=None, frame="RTN", force_model=force_model,
                          pc_func=pc_func if target_pc is not None else None, cancel=cancel)
        burn = ImpulsiveBurn(epoch, sol.dv_mps, "RTN")
        planned = planned_ephemeris(me.ephemeris, [burn], force_model,
                                    stop_tdb_s=min(stop_tdb_s, me.ephemeris.coverage[1]))
        check = verify_plan(targets, mover, planned, baseline, other=other, tca_tdb_s=tca, cancel=cancel)
        if check.targeted is not None:
            ev = check.targeted
            tca_after, miss_after, pc_after = ev.tca_tdb_s, ev.miss_km, ev.pc
        else:  # lifted above the screening threshold: its closest approach on the exact planned trajectory
            tca_after, miss_after, _speed = refine_encounter(planned, them.ephemeris, tca)
            rel = them.ephemeris.state(tca_after)[0] - planned.state(tca_after)[0]
            pc_after = float(encounter_pc_func(replace(me, ephemeris=planned), them, tca_after)(rel[None, :3],
                                                                                              rel[None, 3:])[0])
        # the solver's linearised promise can fall just short of the target on the exact re-screen (Pc moves
        # as exp(-miss^2): 0.2 % of miss is 4 % of Pc): aim past it by the ratio missed, as a secant step would
        if target_pc is not None and pc_after is not None and pc_after > target_pc > 0:
            goal_pc = goal_pc * (target_pc / pc_after) * (1.0 - CORRECTION_MARGIN)
        elif target_pc is None and miss_after < target_miss_km:
            goal_miss_km = goal_miss_km * (target_miss_km / miss_after) * (1.0 + CORRECTION_MARGIN)
        else:
            break
    return Option(mover, None, epoch, tuple(sol.dv_mps), sol.total_dv_mps,
                  None if mass_kg is None else propellant_kg(sol.total_dv_mps, mass_kg, isp_s),
                  sol.predicted_miss_km, sol.predicted_pc, float(miss_after), pc_after, float(tca_after),
                  tuple(c.after for c in check.new_events), planned)


def who_moves(objects, targets, baseline, event, *, stop_tdb_s: float, window_start_tdb_s: float, force_model,
              target_miss_km: float | None = None, target_pc: float | None = None,
              burn_tdb_s: float | None = None, isp_s: float = DEFAULT_ISP_S, cancel=None) -> list[Option]:
    """Options for both objects of EVENT, in the event's order (object1, object2). OBJECTS: the scenario
    objects (kind, mass_kg) by name; TARGETS the screened core targets; BASELINE the screening without burns.
    Without a target the option clears the encounter from the screening (target miss = its threshold)."""
    if target_miss_km is None and target_pc is None:
        target_miss_km = float(event.threshold_km)
    kinds = {o.name: o for o in objects}
    options = []
    for name in (event.object1, event.object2):
        obj = kinds.get(name)
        if obj is not None and getattr(obj, "kind", "spacecraft") in IMMOBILE_KINDS:
            options.append(Option(name, CANNOT_MANEUVER))
            continue
        mass = getattr(obj, "mass_kg", None) if obj is not None else None
        options.append(option_for(targets, baseline, event, name, stop_tdb_s=stop_tdb_s,
                                  window_start_tdb_s=window_start_tdb_s, force_model=force_model,
                                  target_miss_km=target_miss_km, target_pc=target_pc, burn_tdb_s=burn_tdb_s,
                                  mass_kg=mass, isp_s=isp_s, cancel=cancel))
    return options
