import numpy as np
import pytest

from marsview.core import frames, time


def test_mars_pole_at_j2000_matches_published_iau2015_values():
    ra, dec, w = frames.mars_pole_ra_dec_w_deg(0.0)
    assert ra[0] == pytest.approx(317.68085, abs=1e-5)
    assert dec[0] == pytest.approx(52.88644, abs=1e-5)
    assert w[0] == pytest.approx(176.63206, abs=1e-5)


def test_utc_tdb_round_trip_and_leap_second():
    for text in ["2024-04-15T06:30:12.123456", "2016-12-31T23:59:60.500000", "1999-12-31T23:59:59.999999"]:
        t = time.utc_to_tdb_s(text)
        assert time.format_epoch(t, "UTC", 6) == text
    # across the 2016-12-31 leap second, UTC 00:00:00 minus 23:59:59 is 2 SI seconds
    a = time.utc_to_tdb_s("2016-12-31T23:59:59")
    b = time.utc_to_tdb_s("2017-01-01T00:00:00")
    assert b - a == pytest.approx(2.0, abs=1e-6)


def test_tai_utc_is_37_s_in_2024_and_tt_tai_offset():
    t = time.utc_to_tdb_s("2024-01-01T00:00:00")
    tai = time.tdb_s_to_tai_s(t)
    t_tai = time.epoch_to_tdb_s("2024-01-01T00:00:37", "TAI")
    assert time.tdb_s_to_tai_s(t_tai) == pytest.approx(tai, abs=1e-6)
    tt = time.tdb_s_to_tt_s(t)
    assert tt - tai == pytest.approx(32.184, abs=1e-6)  # float64 at 7.6e8 s: 1.2e-7 s


def test_day_of_year_epochs():
    assert time.utc_to_tdb_s("2024-106T00:00:00") == time.utc_to_tdb_s("2024-04-15T00:00:00")
    assert time.format_epoch(time.utc_to_tdb_s("2024-366T12:00:00"), "UTC", 0, day_of_year=True) == "2024-366T12:00:00"


def test_bad_epochs_are_rejected():
    for bad in ["2024-13-01T00:00:00", "2023-366T00:00:00", "yesterday", "2024-01-01T25:00:00"]:
        with pytest.raises(ValueError):
            time.utc_to_tdb_s(bad)


def test_tdb_minus_tt_is_bounded_by_2ms():
    t = np.linspace(-1e9, 1e9, 1001)
    assert np.max(np.abs(time.tdb_s_to_tt_s(t) - t)) < 2e-3


def test_frame_round_trip_and_iau_mars_rotation_rate():
    rng = np.random.default_rng(1)
    states = np.hstack([rng.normal(0, 5000, (50, 3)), rng.normal(0, 3, (50, 3))])
    t = rng.uniform(0, 8e8, 50)
    for f in ("MCI", "IAU_MARS"):
        back = frames.transform_states(frames.transform_states(states, t, "EME2000", f), t, f, "EME2000")
        np.testing.assert_allclose(back, states, atol=1e-9)
    # a point fixed on the surface appears to move at omega x r in the inertial frame
    fixed = np.array([[3396.19, 0, 0, 0, 0, 0]])
    eme = frames.transform_states(fixed, 1e8, "IAU_MARS", "EME2000")
    assert np.linalg.norm(eme[0, 3:]) == pytest.approx(3396.19 * 7.088218e-5, rel=1e-6)


def test_rtn_and_vnb_are_orthonormal_and_right_handed():
    s = np.array([[7000.0, 100, -300, 0.1, 3.3, 1.2]])
    for m in (frames.rtn_matrix(s)[0], frames.vnb_matrix(s)[0]):
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-14)
        assert np.linalg.det(m) == pytest.approx(1.0)


def test_tdb_minus_tt_grid_matches_direct_evaluation():
    tt = np.sort(np.random.default_rng(1).uniform(-10 * 3.156e7, 30 * 3.156e7, 5000))
    direct = time._tdb_minus_tt_s(np.full_like(tt, time.J2000_JD), tt / 86400.0)
    assert np.max(np.abs(time.tdb_minus_tt_s(tt) - direct)) < 1e-12


def test_format_clock_cuts_never_rounds_up():
    t = time.utc_to_tdb_s("2025-05-08T20:00:59.96")
    assert [time.format_clock(t, "UTC", d) for d in range(4)] == [
        "2025-05-08 20:00:59", "2025-05-08 20:00:59.9", "2025-05-08 20:00:59.96", "2025-05-08 20:00:59.960"]
    # a whole-second clock and a 1-decimal clock agree even where the millisecond rounding rolls the day
    t = time.utc_to_tdb_s("2025-05-08T23:59:59.9996")
    assert time.format_clock(t, "UTC", 1).startswith(time.format_clock(t, "UTC", 0))
    with pytest.raises(ValueError):
        time.format_clock(t, "UTC", 4)
