"""Maneuver planning physics: vis-viva, second-order radial burns, bit-exact zero burns, the live preview and
the linear trade space/solver against exact propagation, new close approaches flagged."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core.constants import GM_MARS_KM3S2
from marsview.core.dynamics import ForceModel
from marsview.core.maneuvers import ImpulsiveBurn
from marsview.core.orbits import cartesian_to_elements, period_s, state_from_peri_apo
from marsview.core.planning import (
    BurnArc,
    Encounter,
    compare_events,
    planned_ephemeris,
    refine_encounter,
    smallest_dv,
    trade_space,
    verify_plan,
)
from marsview.core.screening import ScreeningSettings, ScreeningTarget, screen
from marsview.core.twobody import TwoBodyEphemeris, propagate_twobody

DAY = 86400.0
TWO_BODY = ForceModel.two_body()
T0 = 8.0e8  # 2025-05 TDB s past J2000


def _eph(name, state, start=T0, stop=T0 + 1.0 * DAY, t0=None):
    return TwoBodyEphemeris(name, state, T0 if t0 is None else t0, start, stop)


@pytest.fixture(scope="module")
def circular():
    """MRO-sized circular polar orbit (r = 3700 km) as a two-body ephemeris."""
    return _eph("SC", state_from_peri_apo(303.81, 303.81, 93.0, 10.0, 0.0, 0.0))


def test_along_track_burn_changes_period_as_vis_viva_predicts(circular):
    tb = T0 + 3000.0
    dv_mps = 0.2
    s = circular.state(tb)[0]
    planned = planned_ephemeris(circular, [ImpulsiveBurn(tb, (0.0, dv_mps, 0.0), "RTN")], TWO_BODY)
    r, v = np.linalg.norm(s[:3]), np.linalg.norm(s[3:])
    v_new = v + dv_mps / 1000.0  # circular: T is along v
    a_new = 1.0 / (2.0 / r - v_new**2 / GM_MARS_KM3S2)  # vis-viva
    p_old, p_new = period_s(r), period_s(a_new)
    # first-order prediction dP/P = 3 dv / v for a circular orbit
    assert (p_new - p_old) / p_old == pytest.approx(3.0 * dv_mps / 1000.0 / v, rel=2e-3)
    after = planned.state([tb, tb + p_new, tb + p_old])
    # the planned orbit closes after the vis-viva period (to metres), not after the old one (~km off)
    assert np.linalg.norm(after[1, :3] - after[0, :3]) < 2e-3
    assert np.linalg.norm(after[2, :3] - after[0, :3]) > 0.5
    assert float(cartesian_to_elements(after[1:2]).a_km[0]) == pytest.approx(a_new, rel=1e-9)


def test_radial_burn_changes_semi_major_axis_to_second_order_only(circular):
    tb = T0 + 3000.0

    def da(dv):
        p = planned_ephemeris(circular, [ImpulsiveBurn(tb, dv, "RTN")], TWO_BODY)
        return float(cartesian_to_elements(p.state(tb + 600.0)).a_km[0] - 3700.0)

    radial1, radial2, along = da((0.5, 0, 0)), da((1.0, 0, 0)), da((0, 0.5, 0))
    assert abs(radial1) < 1e-3 * abs(along)
    assert radial2 / radial1 == pytest.approx(4.0, rel=1e-3)  # quadratic in dv
    assert abs(along) == pytest.approx(2 * 3700.0**2 * np.sqrt(GM_MARS_KM3S2 / 3700.0) * 5e-4 / GM_MARS_KM3S2,
                                       rel=2e-3)


def test_zero_burn_changes_nothing_bit_for_bit(circular):
    tb = T0 + 3000.0
    t = np.linspace(T0, T0 + DAY, 777)
    planned = planned_ephemeris(circular, [ImpulsiveBurn(tb, (0.0, 0.0, 0.0))], ForceModel.j2())
    assert np.array_equal(planned.state(t), circular.state(t))
    arc = BurnArc(circular, tb, "RTN", TWO_BODY, stop_tdb_s=T0 + 0.2 * DAY)
    assert np.array_equal(arc.ephemeris((0.0, 0.0, 0.0)).state(t), circular.state(t))


def test_preview_matches_exact_propagation(circular):
    tb, stop = T0 + 3000.0, T0 + DAY
    arc = BurnArc(circular, tb, "RTN", TWO_BODY, stop_tdb_s=stop)
    t = np.linspace(T0, stop, 400)
    for dv, tol_km in (((0.0, 0.8, 0.0), 5e-3), ((0.3, -0.5, 0.2), 0.05)):
        exact = planned_ephemeris(circular, [ImpulsiveBurn(tb, dv)], TWO_BODY, stop_tdb_s=stop).state(t)
        preview = arc.ephemeris(dv).state(t)
        moved = np.abs(exact[:, :3] - circular.state(t)[:, :3]).max()
        assert moved > 5.0  # the burn really moves the orbit by kilometres
        assert np.abs(preview[:, :3] - exact[:, :3]).max() < tol_km
    # before the burn the preview is the ephemeris itself; at the burn epoch, the post-burn state
    pre = arc.ephemeris((0, 1.0, 0)).state([T0, tb])
    assert np.array_equal(pre[0], circular.state(T0)[0])
    assert pre[1, 3:] @ pre[1, 3:] > circular.state(tb)[0, 3:] @ circular.state(tb)[0, 3:]


def _crossing_encounter(sc, tca, offset_km=(0.0, 0.0, 2.0)):
    """An object passing SC at TCA, offset along SC's orbit normal, at ~1.4 km/s relative speed."""
    s = sc.state(tca)[0].copy()
    r, v = s[:3], s[3:]
    n = np.cross(r, v) / np.linalg.norm(np.cross(r, v))
    other = s.copy()
    other[:3] = r + np.asarray(offset_km)[2] * n
    other[3:] = 0.9 * v + 0.4 * np.linalg.norm(v) * r / np.linalg.norm(r)  # relative velocity normal to n
    return _eph("OTHER", other, t0=tca, start=sc.coverage[0], stop=sc.coverage[1])


def test_trade_space_and_solver_agree_with_exact_propagation(circular):
    tca = T0 + 0.8 * DAY
    other = _crossing_encounter(circular, tca)
    enc = Encounter(circular, other, tca)
    epochs = np.linspace(T0 + 0.1 * DAY, T0 + 0.5 * DAY, 4)
    mags = np.linspace(-0.5, 0.5, 5)
    cols = []
    ts = trade_space(enc, epochs, mags, (0, 1, 0), "RTN", TWO_BODY, on_column=lambda k, m, p: cols.append(k))
    assert cols == [3, 2, 1, 0]  # latest burn first: progressive display
    assert ts.miss_km[:, 2] == pytest.approx(2.0, abs=1e-6)  # dv = 0 -> the nominal miss
    for k, l in ((0, 4), (2, 0), (3, 3)):
        planned = planned_ephemeris(circular, [ImpulsiveBurn(epochs[k], (0, mags[l], 0))], TWO_BODY)
        _, miss_exact, _ = refine_encounter(planned, other, tca)
        assert ts.miss_km[k, l] == pytest.approx(miss_exact, rel=0.01, abs=0.01)
        assert abs(miss_exact - 2.0) > 1.0  # the burn matters
    sol = smallest_dv(enc, epochs[1], target_miss_km=8.0, direction=(0, 1, 0), force_model=TWO_BODY)
    assert sol.predicted_miss_km == pytest.approx(8.0, abs=0.01)
    planned = planned_ephemeris(circular, [ImpulsiveBurn(sol.burn_epoch_tdb_s, sol.dv_mps)], TWO_BODY)
    assert refine_encounter(planned, other, tca)[1] == pytest.approx(8.0, rel=0.02)
    anydir = smallest_dv(enc, epochs[1], target_miss_km=8.0, force_model=TWO_BODY)
    assert anydir.total_dv_mps <= sol.total_dv_mps * 1.01


def test_burn_creating_a_new_close_approach_is_flagged(circular):
    tb, t3 = T0 + 2000.0, T0 + 0.7 * DAY
    burn = ImpulsiveBurn(tb, (0.0, 1.0, 0.0))
    planned = planned_ephemeris(circular, [burn], TWO_BODY)
    third = _crossing_encounter(planned, t3, offset_km=(0, 0, 1.5))
    third.name = "THIRD"
    far = _eph("FAR", state_from_peri_apo(5000.0, 5000.0, 20.0, 0.0, 0.0, 0.0))
    targets = [ScreeningTarget(e.name, e) for e in (circular, third, far)]
    settings = ScreeningSettings(threshold_km=10.0, compute_pc=False)
    before = screen(targets, T0, T0 + DAY, settings)
    assert not [e for e in before.events if "THIRD" in (e.object1, e.object2)]
    check = verify_plan(targets, "SC", planned, before)
    assert [(c.other, c.status) for c in check.new_events] == [("THIRD", "new")]
    assert check.new_events[0].after.miss_km == pytest.approx(1.5, abs=0.01)
    assert check.new_events[0].after.tca_tdb_s == pytest.approx(t3, abs=1.0)


def test_compare_events_matches_by_pair_and_tca():
    from types import SimpleNamespace as E

    old = [E(object1="A", object2="B", tca_tdb_s=100.0, miss_km=3.0),
           E(object1="C", object2="A", tca_tdb_s=500.0, miss_km=4.0),
           E(object1="B", object2="C", tca_tdb_s=50.0, miss_km=1.0)]
    new = [E(object1="A", object2="B", tca_tdb_s=102.0, miss_km=6.0),
           E(object1="A", object2="D", tca_tdb_s=900.0, miss_km=2.0)]
    changes = compare_events(old, new, "A")
    got = [(c.other, c.status, c.miss_before_km, c.miss_after_km) for c in changes]
    assert got == [("B", "changed", 3.0, 6.0), ("C", "gone", 4.0, None), ("D", "new", None, 2.0)]


def test_twobody_reference_sanity(circular):
    # the fixture really is the two-body flow the tests assume
    s = circular.state(T0)[0]
    assert np.allclose(propagate_twobody(s, T0, [T0 + 100.0])[0], circular.state(T0 + 100.0)[0], atol=1e-9)


def test_encounter_pc_matches_the_small_disk_closed_form():
    from marsview.core.planning import encounter_pc

    sigma, miss, hbr = 1.0, 2.0, 0.01
    r = np.array([[miss, 0.0, 0.3], [0.0, miss, -5.0]])  # any component along v_rel is projected out
    v = np.array([[0.0, 0.0, 2.0], [0.0, 0.0, -1.0]])
    pc = encounter_pc(r, v, np.eye(3) * sigma**2, hbr)
    expected = hbr**2 / (2 * sigma**2) * np.exp(-miss**2 / (2 * sigma**2))
    assert pc == pytest.approx([expected, expected], rel=1e-4)
    # elongated covariance: the miss along the long axis is far more probable than along the short one
    cov = np.diag([9.0, 0.01, 1.0])
    along_long, along_short = encounter_pc(np.array([[2.0, 0, 0], [0, 2.0, 0]]), np.array([[0, 0, 1.0]] * 2),
                                           cov, hbr)
    assert along_long > 1e3 * along_short


def test_solver_reaches_a_target_probability(circular):
    from marsview.core.planning import encounter_pc

    tca = T0 + 0.8 * DAY
    other = _crossing_encounter(circular, tca, offset_km=(0, 0, 0.2))
    enc = Encounter(circular, other, tca)
    cov = np.diag([0.5, 2.0, 0.3]) ** 2
    pc_func = lambda r, v: encounter_pc(r, v, cov, 0.02)  # noqa: E731
    x1, x2 = circular.state(tca)[0], other.state(tca)[0]
    pc0 = pc_func((x2 - x1)[None, :3], (x2 - x1)[None, 3:])[0]
    assert pc0 > 1e-4
    sol = smallest_dv(enc, T0 + 0.3 * DAY, target_pc=1e-6, pc_func=pc_func, direction=(0, 1, 0),
                      force_model=TWO_BODY)
    assert sol.predicted_pc <= 1e-6 and sol.predicted_pc > 0.5e-6  # smallest: right at the boundary
    planned = planned_ephemeris(circular, [ImpulsiveBurn(sol.burn_epoch_tdb_s, sol.dv_mps)], TWO_BODY)
    t_new, _, _ = refine_encounter(planned, other, tca)
    s1, s2 = planned.state(t_new)[0], other.state(t_new)[0]
    assert pc_func((s2 - s1)[None, :3], (s2 - s1)[None, 3:])[0] == pytest.approx(1e-6, rel=0.2)
