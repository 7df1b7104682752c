"""`marsview plan` end to end on the built-in default scenario (orbits built with J2): a zero burn reproduces
`marsview screen`, a burn's effect on a miss matches an independent propagation of the delivered state plus
dv, NEW/REMOVED events are reported, and -o writes the planned OEM with the burn as a segment boundary."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from marsview.cli import main
from marsview.core.time import utc_to_tdb_s

BURN_UTC = "2024-04-15T12:00:00"  # 12 h into the default scenario's 7-day window


def _json(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def screened():
    from marsview.cli.screen import load_targets, report_dict, window
    from marsview.core.screening import ScreeningSettings, screen

    targets, _ = load_targets([])
    start, stop = window(targets, None, "7d")
    return targets, report_dict(screen(targets, start, stop, ScreeningSettings(threshold_km=10.0)))


def _key(e):
    return (e["object1"], e["object2"], round(e["tca_tdb_s"] / 60.0))


def test_zero_dv_reproduces_screen(capsys, screened):
    screen_json = _json(capsys, "screen", "--format", "json")
    plan = _json(capsys, "plan", "--object", "MRO", "--burn-utc", BURN_UTC, "--dv", "0,0,0", "--format", "json")
    assert set(plan) >= {"object", "burn_utc", "dv_mps", "frame", "force_model", "events_before", "events_after",
                         "new", "removed"}
    assert plan["object"] == "MRO" and plan["dv_mps"] == [0.0, 0.0, 0.0] and plan["frame"] == "RTN"
    assert plan["new"] == [] and plan["removed"] == []
    assert len(screen_json["events"]) >= 3
    for events in (plan["events_before"], plan["events_after"]):
        assert len(events) == len(screen_json["events"])
        for a, b in zip(sorted(events, key=_key), sorted(screen_json["events"], key=_key)):
            assert set(a) == set(b)  # the screen JSON shape, key for key
            assert _key(a) == _key(b)
            assert abs(a["miss_km"] - b["miss_km"]) < 1e-3  # 1 m
            assert abs(a["tca_tdb_s"] - b["tca_tdb_s"]) < 1e-3  # 1 ms


def _rtn_dv_kms(state, dv_rtn_mps):
    r, v = state[:3], state[3:]
    R = r / np.linalg.norm(r)
    N = np.cross(r, v) / np.linalg.norm(np.cross(r, v))
    T = np.cross(N, R)
    return (dv_rtn_mps[0] * R + dv_rtn_mps[1] * T + dv_rtn_mps[2] * N) / 1000.0


def _miss_km(states_fn, other, tca_guess):
    """Closest approach within +-20 min of a guess: sampled every 10 s, then Brent on the distance."""
    t = np.arange(tca_guess - 1200.0, tca_guess + 1200.0, 10.0)
    d = np.linalg.norm(states_fn(t)[:, :3] - other.state(t)[:, :3], axis=1)
    k = int(np.argmin(d))
    res = minimize_scalar(lambda x: float(np.linalg.norm(states_fn(np.array([x]))[0, :3] - other.state(x)[0, :3])),
                          bracket=(t[k - 1], t[k], t[k + 1]), tol=1e-12)
    return float(res.fun)


def test_burn_effect_on_a_miss_matches_an_independent_propagation(capsys, screened):
    """MRO burns 2 cm/s in-track 12 h into the week; the MRO-MAVEN miss ~2.7 days later changes by what an
    independent propagation (core.dynamics.propagate, J2, of the delivered state at the burn plus dv, with
    and without dv) says, within 10 m."""
    from marsview.core.dynamics import ForceModel, propagate

    targets, _ = screened
    by_name = {t.name: t.ephemeris for t in targets}
    dv = (0.0, 0.02, 0.0)
    plan = _json(capsys, "plan", "--object", "MRO", "--burn-utc", BURN_UTC, "--dv", ",".join(map(str, dv)),
                 "--force-model", "j2", "--format", "json")
    change = next(c for c in plan["changes"] if c["other"] == "MAVEN")
    effect_plan_km = change["miss_after_km"] - change["miss_before_km"]
    tb = utc_to_tdb_s(BURN_UTC)
    s0 = by_name["MRO"].state(tb)[0]
    s1 = s0.copy()
    s1[3:] += _rtn_dv_kms(s0, dv)
    j2 = ForceModel.j2_model()
    tca = utc_to_tdb_s(change["tca_utc"])
    with_dv = _miss_km(lambda t: propagate(s1, tb, t, j2), by_name["MAVEN"], tca)
    without = _miss_km(lambda t: propagate(s0, tb, t, j2), by_name["MAVEN"], tca)
    effect_independent_km = with_dv - without
    assert abs(effect_independent_km) > 0.5  # the burn really moves the miss (km)
    assert abs(effect_plan_km - effect_independent_km) < 0.010  # 10 m
    assert change["miss_before_km"] == pytest.approx(2.499, abs=1e-3)


def test_new_and_removed_events_and_the_planned_oem(capsys, tmp_path):
    from marsview.io.oem import read_oem

    path = tmp_path / "planned.oem"
    plan = _json(capsys, "plan", "--object", "MRO", "--burn-utc", BURN_UTC, "--dv", "0,0.2,0", "--format", "json",
                 "-o", str(path))
    # 0.2 m/s in-track drifts MRO by tens of km: the 2.5 km MAVEN encounter leaves the 10 km threshold
    assert any(e["object2"] == "MAVEN" or e["object1"] == "MAVEN" for e in plan["removed"])
    assert all("MRO" in (e["object1"], e["object2"]) for e in plan["new"] + plan["removed"])
    oem = read_oem(path)
    assert len(oem.segments) == 2
    assert oem.segments[1].epochs_tdb_s[0] == pytest.approx(utc_to_tdb_s(BURN_UTC), abs=1e-3)
    assert any("MANEUVER impulsive dv RTN = (0.000000, 0.200000, 0.000000)" in c for c in oem.segments[1].comments)
    assert "PLANNED trajectory" in path.read_text()


def test_table_and_bad_input(capsys):
    rc = main(["plan", "--object", "MRO", "--burn-utc", BURN_UTC, "--dv", "0,0.02,0"])
    out, _ = capsys.readouterr()
    assert rc == 0 and out.startswith("PLANNED: MRO") and "MAVEN" in out and "Miss after [km]" in out
    for argv, message in ((["--object", "NOPE", "--dv", "0,0,0"], "no object 'NOPE'"),
                          (["--object", "MRO", "--dv", "0,x,0"], "--dv"),
                          (["--object", "MRO", "--dv", "0,0"], "--dv"),
                          (["--object", "Phobos", "--dv", "0,100,0"], "--object: Phobos is a moon: it cannot maneuver"),
                          (["--object", "MGS", "--dv", "0,1,0"], "--object: MGS is inactive: it cannot maneuver"),
                          (["--object", "MRO", "--dv", "0,0,0", "--threshold-km", "inf"], "--threshold-km")):
        rc = main(["plan", "--burn-utc", BURN_UTC, *argv])
        _, err = capsys.readouterr()
        assert rc == 2 and message in err and "Traceback" not in err and err.count("\n") == 1
