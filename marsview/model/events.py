"""Close approaches as plain JSON-ready dicts: the event shape of ``marsview screen --format json`` (README
"Command line"), shared by the CLI (screen, plan, options, watch, trend) and the GUI's delivery watcher."""

from __future__ import annotations

import math

from marsview.core.time import format_epoch


def json_number(x, digits=None):
    """A finite float for JSON, or None (NaN and inf are not JSON)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), digits) if digits is not None else float(x)


def screening_summary(result, objects=()) -> str:
    """'3 close approaches < 10 km (Phobos 45 km)': the count, the screen's threshold, and the objects among
    OBJECTS whose own threshold widened it for their pairs (a row of 14 km under a '< 10 km' line is one)."""
    screened = set(result.objects)
    own = [f"{o.name} {o.threshold_km:g} km" for o in objects
           if o.name in screened and getattr(o, "threshold_km", None) and o.threshold_km > result.threshold_km]
    n = len(result.events)
    return (f"{n} close approach{'' if n == 1 else 'es'} < {result.threshold_km:g} km"
            + (f" ({', '.join(own)})" if own else ""))


def event_dict(e) -> dict:
    """A screened close approach (core.screening.CloseApproach) in the report's JSON shape ("source": "screening";
    a received CDM's row: cli.screen.cdm_event_dict)."""
    return {
        "source": "screening", "object1": e.object1, "object2": e.object2, "tca_utc": format_epoch(e.tca_tdb_s, "UTC", 6),
        "tca_tdb_s": e.tca_tdb_s, "miss_km": e.miss_km, "relative_speed_kms": e.relative_speed_kms,
        "radial_km": e.radial_km, "in_track_km": e.in_track_km, "cross_track_km": e.cross_track_km,
        "crossing_dt_s": json_number(e.crossing_dt_s), "miss_sigma": json_number(e.miss_sigma),
        "sigma_km": json_number(e.sigma_km), "threshold_km": e.threshold_km, "hbr_m": (e.hbr1_km + e.hbr2_km) * 1000.0,
        "hbr1_m": e.hbr1_km * 1000.0, "hbr2_m": e.hbr2_km * 1000.0,
        "sources": [e.source1, e.source2], "pc": json_number(e.pc), "pc_method": e.pc_method,
    }
