"""An OEM covariance brought to TCA: interpolated in RTN between two covariance epochs, propagated with the
state transition matrix outside them; each checked against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core.dynamics import ForceModel
from marsview.core.screening import ScreeningSettings, ScreeningTarget, screen
from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment
from marsview.core.twobody import TwoBodyEphemeris, propagate_twobody
from marsview.core.uncertainty import (
    COVARIANCE_AT_EPOCH,
    COVARIANCE_INTERPOLATED,
    COVARIANCE_PROPAGATED,
    ephemeris_covariance_km2,
)

T0 = 8.0e8
STATE0 = np.array([3796.19, 0.0, 0.0, 0.0, 2.05, 2.75])  # ~400 km altitude, inclined, slightly eccentric


def _spd(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(6, 6)) * np.array([0.3, 1.0, 0.2, 3e-4, 1e-3, 2e-4])
    return a @ a.T + np.diag([0.01, 0.04, 0.01, 1e-8, 1e-8, 1e-8])


def _rtn_by_hand(state) -> np.ndarray:
    """6x6 inertial -> RTN rotation written out from the definition (R = r/|r|, N = r x v/|r x v|, T = N x R)."""
    r, v = state[:3], state[3:6]
    rr = r / np.sqrt(r @ r)
    h = np.array([r[1] * v[2] - r[2] * v[1], r[2] * v[0] - r[0] * v[2], r[0] * v[1] - r[1] * v[0]])
    nn = h / np.sqrt(h @ h)
    tt = np.array([nn[1] * rr[2] - nn[2] * rr[1], nn[2] * rr[0] - nn[0] * rr[2], nn[0] * rr[1] - nn[1] * rr[0]])
    m = np.stack([rr, tt, nn])
    rot = np.zeros((6, 6))
    rot[:3, :3] = rot[3:, 3:] = m
    return rot


def _table(cov_epochs, cov_mats, span=(T0 - 7200.0, T0 + 7200.0)):
    truth = TwoBodyEphemeris("SAT", STATE0, T0, *span)
    epochs = np.arange(span[0], span[1] + 1.0, 30.0)
    seg = TabulatedSegment(epochs, truth.state(epochs), "LAGRANGE", 9,
                           covariances=(np.asarray(cov_epochs, float), np.asarray(cov_mats, float)))
    return TabulatedEphemeris("SAT", [seg]), truth


def test_tca_between_two_covariance_epochs_gives_the_rtn_interpolated_covariance():
    ta, tb = T0 - 1800.0, T0 + 1200.0
    pa, pb = _spd(1), _spd(2)
    eph, truth = _table([ta, tb], [pa, pb])
    tca = T0 + 300.0
    got, how = ephemeris_covariance_km2(eph, tca)
    assert how == COVARIANCE_INTERPOLATED
    # independent: RTN axes from the analytic orbit, linear weights by hand
    sa, sb, st = truth.state(np.array([ta, tb, tca]))
    ra, rb, rt = _rtn_by_hand(sa), _rtn_by_hand(sb), _rtn_by_hand(st)
    w = (tca - ta) / (tb - ta)
    expected = rt.T @ ((1 - w) * (ra @ pa @ ra.T) + w * (rb @ pb @ rb.T)) @ rt
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
    # it is not the nearest matrix as is (the old rule), and it is symmetric
    assert not np.allclose(got, pb, rtol=1e-3)
    np.testing.assert_allclose(got, got.T, rtol=0, atol=1e-15)


def test_tca_outside_the_covariance_epochs_gives_the_stm_propagated_covariance():
    tc = T0 - 1800.0
    pc = _spd(3)
    eph, truth = _table([tc, T0 - 1500.0], [pc, _spd(4)])
    tca = T0 + 2400.0  # 70 min after the last covariance epoch... propagated from the nearest one (T0-1500)
    got, how = ephemeris_covariance_km2(eph, tca, force_model=ForceModel.two_body())
    assert how == COVARIANCE_PROPAGATED
    # independent STM: finite differences of the analytic Kepler propagator (universal variables), other steps
    t_near = T0 - 1500.0
    s_near = truth.state(np.array([t_near]))[0]
    steps = np.array([1e-3] * 3 + [1e-6] * 3)
    phi = np.empty((6, 6))
    for j in range(6):
        d = np.zeros(6)
        d[j] = steps[j]
        plus = propagate_twobody((s_near + d)[None], t_near, np.array([tca]))[0, 0]
        minus = propagate_twobody((s_near - d)[None], t_near, np.array([tca]))[0, 0]
        phi[:, j] = (plus - minus) / (2 * steps[j])
    expected = phi @ _spd(4) @ phi.T
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-14)
    # the propagated position uncertainty has grown well beyond the delivered one (along-track shear)
    assert np.trace(got[:3, :3]) > 2 * np.trace(_spd(4)[:3, :3])


def test_at_a_covariance_epoch_the_matrix_is_used_as_given_and_far_away_none():
    pa = _spd(5)
    eph, _ = _table([T0], [pa], span=(T0 - 7200.0, T0 + 7200.0))
    got, how = ephemeris_covariance_km2(eph, T0 + 3.0)
    assert how == COVARIANCE_AT_EPOCH and np.array_equal(got, pa)
    got, how = ephemeris_covariance_km2(eph, T0 + 3600.0)  # default model (J2) for a tabulated ephemeris
    assert how == COVARIANCE_PROPAGATED and got.shape == (6, 6)


def test_screening_reports_how_the_covariance_reached_tca_in_pc_method():
    """Two tabulated orbits crossing at TCA; object 1's covariance brackets TCA, object 2's ends before it."""
    span = (T0 - 3600.0, T0 + 3600.0)
    epochs = np.arange(span[0], span[1] + 1.0, 30.0)
    s1 = TwoBodyEphemeris("A", STATE0, T0, *span)
    crossing = STATE0.copy()
    crossing[3:] = [0.0, 3.3, -0.9]  # same point at T0, another plane: a crossing ~4 km/s apart
    crossing[0] += 0.2
    s2 = TwoBodyEphemeris("B", crossing, T0, *span)
    cov = np.diag([0.2**2] * 3 + [1e-8] * 3)
    seg1 = TabulatedSegment(epochs, s1.state(epochs), covariances=(np.array([T0 - 900.0, T0 + 900.0]),
                                                                    np.stack([cov, 2 * cov])))
    seg2 = TabulatedSegment(epochs, s2.state(epochs), covariances=(np.array([T0 - 1800.0]), cov[None]))
    targets = [ScreeningTarget("A", TabulatedEphemeris("A", [seg1]), hbr_km=0.01),
               ScreeningTarget("B", TabulatedEphemeris("B", [seg2]), hbr_km=0.01)]
    events = [e for e in screen(targets, *span, ScreeningSettings(threshold_km=5.0)).events
              if abs(e.tca_tdb_s - T0) < 60]
    assert len(events) == 1
    assert events[0].pc_method.startswith(f"FOSTER-2D/{COVARIANCE_INTERPOLATED}+{COVARIANCE_PROPAGATED}")
    assert events[0].miss_km == pytest.approx(0.2, abs=0.05)
