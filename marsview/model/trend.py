"""Close approaches followed across deliveries: which event of delivery k is which event of delivery k+1.

A delivery is one cycle of ephemerides (a folder or scenario, or one entry of the watch history); screening
each gives its close approaches. An encounter is the same pair of objects (identity rule of
``model.identity``) meeting at nearly the same time: two events of consecutive appearances belong to one
encounter when their TCAs differ by less than ``MATCH_FRACTION`` of the shorter of the two orbital periods
(osculating, at TCA). A quarter period keeps successive encounters of one pair apart (a pair whose orbits
cross meets at most twice per period of the shorter orbit, at the two crossings) while following an
along-track drift of thousands of kilometres between deliveries. Each event joins the nearest unmatched
encounter of its pair (nearest TCA first). Qt-free.

Events are plain dicts with the keys of ``marsview screen --format json`` (``model.events.event_dict``) plus
``shorter_period_s``; the serialiser is passed in by the caller (the model does not import the CLI).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from pathlib import Path

from marsview.model.scenario import screening_targets

MATCH_FRACTION = 0.25
"""Events of one pair whose TCAs differ by less than this fraction of the shorter period are one encounter."""

HISTORY_KEYS = ("tca_utc", "miss_km", "radial_km", "in_track_km", "cross_track_km", "pc")


@dataclass
class Delivery:
    """One delivery cycle's close approaches: a name, when it arrived (UTC) and its events (dicts)."""

    name: str
    received_utc: str
    events: list[dict] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)  # [{"name", "naif_id"}]


@dataclass
class Encounter:
    object1: str
    object2: str
    entries: list[tuple[int, dict]] = field(default_factory=list)  # (delivery index, event), oldest first

    @property
    def latest(self) -> dict:
        return self.entries[-1][1]


def shorter_period_s(close_approach) -> float:
    """The shorter osculating Keplerian period [s] of the two objects at TCA (Mars GM); 1 day if both are open."""
    from marsview.core.orbits import cartesian_to_elements, period_s

    periods = []
    for state in (close_approach.state1, close_approach.state2):
        if state is None:
            continue
        try:
            periods.append(float(period_s(cartesian_to_elements(state).a_km)))
        except ValueError:
            continue
    finite = [p for p in periods if math.isfinite(p) and p > 0]
    return min(finite) if finite else 86400.0


def event_records(result, serialize) -> list[dict]:
    """SERIALIZE(event) (``model.events.event_dict``) for every event of a ScreeningResult, with its
    ``shorter_period_s`` (what matching needs when only the records are kept, as in the watch history)."""
    out = []
    for e in result.events:
        record = dict(serialize(e))
        record["shorter_period_s"] = shorter_period_s(e)
        out.append(record)
    return out


def _pair(event) -> frozenset:
    return frozenset((event["object1"], event["object2"]))


def match_events(previous: list[dict], current: list[dict], fraction: float = MATCH_FRACTION):
    """[(index in PREVIOUS, index in CURRENT)] of events that are the same encounter: same pair, TCAs closer
    than FRACTION of the shorter period; nearest TCA first, each event used once."""
    candidates = []
    for i, old in enumerate(previous):
        for j, new in enumerate(current):
            if _pair(old) != _pair(new):
                continue
            dt = abs(new["tca_tdb_s"] - old["tca_tdb_s"])
            period = min(old.get("shorter_period_s") or 86400.0, new.get("shorter_period_s") or 86400.0)
            if dt < fraction * period:
                candidates.append((dt, i, j))
    used_i, used_j, pairs = set(), set(), []
    for _dt, i, j in sorted(candidates):
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def match_encounters(deliveries: list[Delivery], fraction: float = MATCH_FRACTION) -> list[Encounter]:
    """Encounters across DELIVERIES (oldest first): each delivery's events matched against the latest event
    of every encounter seen so far (so an encounter missing from one delivery is picked up again later)."""
    encounters: list[Encounter] = []
    for k, delivery in enumerate(deliveries):
        latest = [enc.latest for enc in encounters]
        pairs = match_events(latest, delivery.events, fraction)
        matched = {j for _i, j in pairs}
        for i, j in pairs:
            encounters[i].entries.append((k, delivery.events[j]))
        for j, event in enumerate(delivery.events):
            if j not in matched:
                encounters.append(Encounter(event["object1"], event["object2"], [(k, event)]))
    encounters.sort(key=lambda enc: (enc.latest["tca_tdb_s"], enc.object1, enc.object2))
    return encounters


def trend_report(deliveries: list[Delivery], encounters: list[Encounter]) -> dict:
    """The ``marsview trend --format json`` document."""
    return {
        "deliveries": [{"name": d.name, "received_utc": d.received_utc} for d in deliveries],
        "encounters": [{
            "object1": enc.object1, "object2": enc.object2,
            "history": [{"delivery": deliveries[k].name, **{key: ev.get(key) for key in HISTORY_KEYS},
                         "tca_shift_s": ev["tca_tdb_s"] - enc.entries[0][1]["tca_tdb_s"]}
                        for k, ev in enc.entries],
        } for enc in encounters],
    }


# --- deliveries from folders / scenarios -------------------------------------------------------------------

class CanonicalNames:
    """Maps each delivery's objects to one name per body (the first name seen), by the identity rule."""

    def __init__(self):
        self.known: list = []  # Identity, canonical name = .name

    def name_for(self, obj) -> str:
        from marsview.model.identity import find_same_object, identity_of

        k = find_same_object(obj, self.known)
        if k is None:
            self.known.append(identity_of(obj))
            return self.known[-1].name
        return self.known[k].name

    def order(self, name: str) -> int:
        names = [i.name for i in self.known]
        return names.index(name) if name in names else len(names)


def common_window(objects, start_tdb_s: float, duration_s: float) -> tuple[float, float]:
    """[start, start + duration] clipped to the span every object covers (TDB s); ValueError when empty."""
    starts, stops = zip(*(o.ephemeris.coverage for o in objects))
    lo, hi = max(start_tdb_s, max(starts)), min(start_tdb_s + duration_s, min(stops))
    if not hi > lo:
        raise ValueError("the objects share no coverage inside the screening window")
    return float(lo), float(hi)


def newest_mtime_utc(paths) -> str:
    """The newest modification time of PATHS as ISO UTC (what a folder delivery's 'received' means)."""
    times = [Path(p).stat().st_mtime for p in paths if Path(p).exists()]
    stamp = max(times) if times else 0.0
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def delivery_from_path(path, threshold_km: float, serialize, canonical: CanonicalNames,
                       progress=None) -> Delivery:
    """Load one delivery (folder, scenario or files) all-or-nothing and screen its window (the scenario's
    own: scenario.toml's [window], else 7 days from the latest coverage start) at THRESHOLD_KM."""
    from marsview.core.screening import ScreeningSettings, screen
    from marsview.model.loading import load_scenario

    scenario = load_scenario([path])
    names = [canonical.name_for(o) for o in scenario.objects]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: two objects of this delivery are the same body ({', '.join(names)})")
    order = sorted(range(len(names)), key=lambda i: (canonical.order(names[i]), i))
    objects = [scenario.objects[i] for i in order]
    names = [names[i] for i in order]
    if len(objects) < 2:
        raise ValueError(f"{path}: a delivery needs at least two objects to screen, got {names}")
    start, stop = common_window(objects, scenario.window_start_tdb_s, scenario.window_duration_s)
    result = screen(screening_targets(objects, names), start, stop, ScreeningSettings(threshold_km=threshold_km),
                    progress=progress)
    return Delivery(name=Path(path).name or str(path), received_utc=newest_mtime_utc(scenario.files or [path]),
                    events=event_records(result, serialize),
                    objects=[{"name": n, "naif_id": o.naif_id} for n, o in zip(names, objects)])
