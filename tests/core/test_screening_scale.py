"""The pieces that make screening scale: the spatial hash (each overlapping pair once, none missed), the
batched two-body evaluation of the refinement, and the per-day calendar -> TDB conversion of bulk reading."""

from __future__ import annotations

import numpy as np

from marsview.core import time as mtime
from marsview.core.screening_search import hash_candidates, radial_shells
from marsview.core.twobody import TwoBodyEphemeris, propagate_twobody, propagate_twobody_each


def test_hash_lists_every_overlapping_pair_exactly_once():
    rng = np.random.default_rng(3)
    n, m, pad = 300, 6, 10.0
    # spheres on a Mars-orbit shell, radii like a 100 s interval's swept spheres, some objects far out
    direction = rng.normal(size=(n, m, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    r = np.where(rng.random((n, 1)) < 0.8, 3700.0, 9000.0) + rng.uniform(0, 300, (n, m))
    centre = direction * r[..., None]
    radius = rng.uniform(5.0, 250.0, (n, m))
    radius[7, 2] = np.nan  # an object outside its coverage in one interval
    got = hash_candidates(centre, radius, pad, *radial_shells(centre, radius))
    codes = (got[:, 0] * n + got[:, 1]) * n + got[:, 2]
    assert np.unique(codes).size == codes.size and np.all(got[:, 1] < got[:, 2])
    # independent: every pair in every interval
    i, j = np.triu_indices(n, 1)
    expected = set()
    for k in range(m):
        gap = np.linalg.norm(centre[j, k] - centre[i, k], axis=1) - radius[i, k] - radius[j, k]
        expected |= {(k, a, b) for a, b in zip(i[gap < pad], j[gap < pad])}
    assert set(map(tuple, got.tolist())) == expected
    assert len(expected) > 100


def test_batched_two_body_states_equal_one_orbit_at_a_time():
    rng = np.random.default_rng(5)
    ephs, t = [], []
    for k in range(200):
        rp = 3396.19 + rng.uniform(250, 1000)
        ra = rp + rng.uniform(0, 15000)
        a, e = (rp + ra) / 2, (ra - rp) / (ra + rp)
        v = np.sqrt(42828.37 * (1 + e) / rp)
        state = np.array([rp, 0.0, 0.0, 0.0, v * np.cos(k), v * np.sin(k)])
        ephs.append(TwoBodyEphemeris(f"O{k}", state, 8e8, 8e8 - 86400, 8e8 + 7 * 86400))
        t.append(8e8 + rng.uniform(-86400, 7 * 86400))
    t = np.array(t)
    got = TwoBodyEphemeris.states_each(ephs, t)
    one_by_one = np.array([propagate_twobody(e.state0, e.t0_tdb_s, t[k:k + 1], e.gm_km3s2)[0]
                           for k, e in enumerate(ephs)])
    np.testing.assert_allclose(got[:, :3], one_by_one[:, :3], rtol=0, atol=1e-8)  # 10 um
    np.testing.assert_allclose(got[:, 3:], one_by_one[:, 3:], rtol=0, atol=1e-11)
    # a hyperbolic state goes through the per-orbit path
    hyper = np.array([[3800.0, 0.0, 0.0, 0.0, 6.0, 0.0]])
    np.testing.assert_allclose(propagate_twobody_each(hyper, 0.0, np.array([600.0])),
                               propagate_twobody(hyper[0], 0.0, np.array([600.0])), rtol=1e-12)


def test_calendar_minutes_to_tdb_agrees_with_erfa_day_by_day_and_in_leap_seconds():
    minutes = np.concatenate([np.arange(0, 3 * 1440, 7), 6209 * 1440 + np.arange(1430, 1450)])  # across 2016/17
    seconds = np.tile([0.0, 12.5, 59.999], minutes.size // 3 + 1)[:minutes.size]
    for scale in ("UTC", "TAI", "TT", "TDB"):
        y, mo, d, h, mi = mtime._minutes_to_fields(minutes)
        jd1, jd2 = mtime._calendar_to_jd(scale, y, mo, d, h, mi, seconds)
        erfa_path = mtime.utc_jd_to_tdb_s(jd1, jd2) if scale == "UTC" else \
            mtime.to_tdb_s(((jd1 - mtime.J2000_JD) + jd2) * 86400.0, scale)
        np.testing.assert_allclose(mtime.calendar_minutes_to_tdb_s(minutes, seconds, scale), erfa_path,
                                   rtol=0, atol=5e-7)
    # 2016-12-31T23:59:60.5 UTC is half a second before 2017-01-01T00:00:00 UTC
    leap = mtime.calendar_minutes_to_tdb_s([6209 * 1440 + 1439, 6210 * 1440], [60.5, 0.0], "UTC")
    assert leap[1] - leap[0] == np.float64(0.5)
