"""Tabulated ephemerides: interpolation accuracy and order, segment rules, no extrapolation."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core import orbits as O
from marsview.core.constants import GM_MARS_KM3S2 as MU
from marsview.core.ephemeris import CoverageError
from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment
from marsview.core.twobody import propagate_twobody

MRO = O.state_from_peri_apo(255.0, 320.0, 92.6, 10.0, 270.0, 0.0)


@pytest.fixture(scope="module")
def mro_table():
    t = np.arange(0.0, 86400.0 + 1.0, 60.0)
    return t, propagate_twobody(MRO, 0.0, t)


@pytest.mark.parametrize("method,degree", [("LAGRANGE", 7), ("LAGRANGE", 8), ("HERMITE", 7), ("HERMITE", 11)])
def test_mro_60s_table_interpolates_below_a_millimetre(mro_table, method, degree):
    t, states = mro_table
    eph = TabulatedEphemeris("MRO", [TabulatedSegment(t, states, method, degree)])
    q = np.random.default_rng(7).uniform(t[0], t[-1], 5000)
    truth = propagate_twobody(MRO, 0.0, q)
    got = eph.state(q)
    assert np.max(np.linalg.norm(got[:, :3] - truth[:, :3], axis=1)) < 1e-6  # km: < 1 mm
    assert np.max(np.linalg.norm(got[:, 3:] - truth[:, 3:], axis=1)) < 1e-9  # km/s: < 1 um/s
    # at the table's own epochs the table comes back
    assert np.allclose(eph.state(t[::97]), states[::97], rtol=0, atol=1e-9)


def test_too_low_a_degree_is_visibly_worse(mro_table):
    """The degree from the file is honoured: LAGRANGE 3 on the same table misses by metres."""
    t, states = mro_table
    eph = TabulatedEphemeris("MRO", [TabulatedSegment(t, states, "LAGRANGE", 3)])
    q = t[:-1] + 30.0
    err = np.linalg.norm(eph.state(q)[:, :3] - propagate_twobody(MRO, 0.0, q)[:, :3], axis=1)
    assert err.max() > 1e-4


def _poly(t, coeffs):
    """Values and derivatives of a vector polynomial, coefficients (deg+1, 3), lowest first."""
    p = np.polynomial.polynomial
    x = np.stack([p.polyval(t, coeffs[:, k]) for k in range(3)], axis=1)
    v = np.stack([p.polyval(t, p.polyder(coeffs[:, k])) for k in range(3)], axis=1)
    return x, v


@pytest.mark.parametrize("degree", [1, 2, 5, 7])
def test_lagrange_degree_d_reproduces_degree_d_polynomials_exactly(degree):
    rng = np.random.default_rng(degree)
    t = np.cumsum(rng.uniform(20.0, 80.0, 30))  # unequal steps
    c = rng.normal(size=(degree + 1, 3)) / 50.0 ** np.arange(degree + 1)[:, None]
    x, v = _poly(t, c)
    seg = TabulatedSegment(t, np.hstack([x, v]), "LAGRANGE", degree)
    q = rng.uniform(t[0], t[-1], 300)
    xq, vq = _poly(q, c)
    got = seg.state(q)
    assert np.allclose(got[:, :3], xq, rtol=1e-10, atol=1e-10)
    assert np.allclose(got[:, 3:], vq, rtol=1e-10, atol=1e-10)
    # one degree higher is not reproduced by degree d: the window really has d+1 points
    c2 = np.vstack([c, rng.normal(size=(1, 3)) / 50.0 ** (degree + 1)])
    x2, v2 = _poly(t, c2)
    got2 = TabulatedSegment(t, np.hstack([x2, v2]), "LAGRANGE", degree).state(q)
    assert not np.allclose(got2[:, :3], _poly(q, c2)[0], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("degree", [3, 5, 7])
def test_hermite_degree_reproduces_polynomials_and_velocity_is_the_derivative(degree):
    rng = np.random.default_rng(10 + degree)
    t = np.cumsum(rng.uniform(20.0, 80.0, 25))
    c = rng.normal(size=(degree + 1, 3)) / 50.0 ** np.arange(degree + 1)[:, None]
    x, v = _poly(t, c)
    seg = TabulatedSegment(t, np.hstack([x, v]), "HERMITE", degree)
    assert seg.window == (degree + 1) // 2
    q = rng.uniform(t[0], t[-1], 300)
    xq, vq = _poly(q, c)
    got = seg.state(q)
    assert np.allclose(got[:, :3], xq, rtol=1e-10, atol=1e-10)
    assert np.allclose(got[:, 3:], vq, rtol=1e-9, atol=1e-10)
    c2 = np.vstack([c, rng.normal(size=(1, 3)) / 50.0 ** (degree + 1)])
    x2, v2 = _poly(t, c2)
    got2 = TabulatedSegment(t, np.hstack([x2, v2]), "HERMITE", degree).state(q)
    assert not np.allclose(got2[:, :3], _poly(q, c2)[0], rtol=1e-10, atol=1e-10)


def test_hermite_uses_accelerations_for_velocity_when_given(mro_table):
    t, states = mro_table
    acc = -MU * states[:, :3] / np.linalg.norm(states[:, :3], axis=1, keepdims=True) ** 3
    coarse = slice(None, None, 5)  # 300 s steps make the difference visible
    q = np.random.default_rng(3).uniform(0.0, 86000.0, 2000)
    truth = propagate_twobody(MRO, 0.0, q)
    plain = TabulatedSegment(t[coarse], states[coarse], "HERMITE", 5).state(q)
    with_acc = TabulatedSegment(t[coarse], states[coarse], "HERMITE", 5, accelerations=acc[coarse]).state(q)
    err_plain = np.abs(plain[:, 3:] - truth[:, 3:]).max()
    err_acc = np.abs(with_acc[:, 3:] - truth[:, 3:]).max()
    assert err_acc < err_plain / 5  # measured: 10x better at 300 s steps
    assert np.allclose(plain[:, :3], with_acc[:, :3])  # positions do not depend on accelerations


def _line_segment(t0, t1, offset_km, source):
    t = np.linspace(t0, t1, 11)
    x = np.stack([offset_km + t, np.zeros_like(t), np.zeros_like(t)], axis=1)
    v = np.tile([1.0, 0.0, 0.0], (t.size, 1))
    return TabulatedSegment(t, np.hstack([x, v]), "LAGRANGE", 5, source=source)


def test_segments_never_mix_and_a_shared_boundary_takes_the_later_segment():
    # a 5 km jump at t = 100 s (e.g. a maneuver between two OEM segments)
    first = _line_segment(0.0, 100.0, 0.0, "a.oem#1")
    second = _line_segment(100.0, 200.0, 5.0, "a.oem#2")
    eph = TabulatedEphemeris("SC", [second, first])  # given out of order on purpose
    got = eph.state([99.999, 100.0, 100.001])
    assert got[0, 0] == pytest.approx(99.999, abs=1e-9)  # only the first segment's points
    assert got[1, 0] == pytest.approx(105.0, abs=1e-9)  # boundary -> later segment
    assert got[2, 0] == pytest.approx(105.001, abs=1e-9)
    assert eph.coverage == (0.0, 200.0)
    assert np.array_equal(eph.segment_boundaries(), [100.0])
    assert eph.source_at(50.0) == "a.oem#1" and eph.source_at(100.0) == "a.oem#2"


def test_gaps_and_outside_coverage_raise_instead_of_extrapolating():
    eph = TabulatedEphemeris("SC", [_line_segment(0.0, 100.0, 0.0, "1"), _line_segment(150.0, 250.0, 0.0, "2")])
    with pytest.raises(CoverageError, match="gap"):
        eph.state([50.0, 120.0])
    with pytest.raises(CoverageError, match="outside coverage"):
        eph.state([250.5])
    with pytest.raises(CoverageError):
        eph.state([-1e-3])
    assert np.array_equal(eph.segment_boundaries(), [100.0, 150.0])


def test_useable_start_and_stop_are_the_coverage():
    t = np.linspace(0.0, 100.0, 11)
    x = np.stack([t, t, t], axis=1)
    seg = TabulatedSegment(t, np.hstack([x, np.ones_like(x)]), "LAGRANGE", 3,
                           useable_start_tdb_s=20.0, useable_stop_tdb_s=80.0)
    eph = TabulatedEphemeris("SC", [seg])
    assert eph.coverage == (20.0, 80.0)
    assert eph.state([20.0, 55.0, 80.0])[:, 0] == pytest.approx([20.0, 55.0, 80.0])
    with pytest.raises(CoverageError):
        eph.state([19.9])
    with pytest.raises(ValueError, match="useable"):
        TabulatedSegment(t, np.hstack([x, np.ones_like(x)]), useable_stop_tdb_s=101.0)


def test_short_tables_use_every_point_they_have():
    t = np.array([0.0, 60.0, 120.0])
    states = propagate_twobody(MRO, 0.0, t)
    seg = TabulatedSegment(t, states, "LAGRANGE", 7)
    assert seg.window == 3
    got = seg.state([30.0])[0]
    assert np.linalg.norm(got[:3] - propagate_twobody(MRO, 0.0, [30.0])[0, :3]) < 0.5  # quadratic: ~0.1 km
    single = TabulatedSegment([10.0], states[:1], "HERMITE", 7)
    assert np.array_equal(single.state([10.0])[0], states[0])


def test_invalid_tables_are_rejected_with_a_reason():
    t = np.array([0.0, 60.0, 60.0])
    s = np.zeros((3, 6))
    with pytest.raises(ValueError, match="increase strictly"):
        TabulatedSegment(t, s, source="x.oem")
    with pytest.raises(ValueError, match="SPLINE"):
        TabulatedSegment([0.0, 1.0], np.zeros((2, 6)), "SPLINE")
    with pytest.raises(ValueError, match=r"\(2, 6\)"):
        TabulatedSegment([0.0, 1.0], np.zeros((3, 6)))
    with pytest.raises(ValueError, match="degree"):
        TabulatedSegment([0.0, 1.0], np.zeros((2, 6)), degree=0)
    with pytest.raises(ValueError, match="at least one segment"):
        TabulatedEphemeris("SC", [])


def test_many_epochs_in_one_call_match_one_at_a_time(mro_table):
    t, states = mro_table
    eph = TabulatedEphemeris("MRO", [TabulatedSegment(t, states, "HERMITE", 7)])
    q = np.linspace(0.0, 86400.0, 40001)  # spans several internal chunks
    many = eph.state(q)
    few = np.vstack([eph.state(q[k:k + 1]) for k in range(0, q.size, 4000)])
    assert np.array_equal(many[::4000], few)
