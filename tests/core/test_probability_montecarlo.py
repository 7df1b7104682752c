"""Monte Carlo collision probability: agreement with the exact 2D value where 2D holds, CI, chunks, cancel."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core.probability import collision_probability, encounter_plane
from marsview.core.probability_2d import pc_circle
from marsview.core.probability_montecarlo import (
    MonteCarloCancelled,
    _twobody,
    conjunction_window,
    monte_carlo_pc,
)
from marsview.core.twobody import propagate_twobody

GM = 42828.37362069909

# A fast Mars encounter: a 400 km circular polar orbiter and an equatorial one crossing 30 m apart.
S1 = np.array([3796.19, 0.0, 0.0, 0.0, 0.0, 3.3588])
S2 = np.array([3796.19, 0.0, 0.03, 0.0, 3.3588, 0.0])
C1 = np.diag([0.01**2, 0.05**2, 0.02**2])     # km^2: 10 m, 50 m, 20 m
C2 = np.diag([0.02**2, 0.03**2, 0.04**2])
HBR = 0.02


def rectilinear(states, times):
    t = np.broadcast_to(times, (states.shape[0], np.shape(times)[-1]))
    pos = states[:, None, :3] + states[:, None, 3:] * t[:, :, None]
    return np.concatenate([pos, np.broadcast_to(states[:, None, 3:], pos.shape)], axis=2)


def exact_2d():
    enc = encounter_plane(S1, S2, C1, C2, HBR)
    return float(pc_circle(*enc.miss_xy_km, *enc.sigma_xy_km, HBR))


def test_straight_line_monte_carlo_brackets_the_exact_2d_value():
    exact = exact_2d()
    assert 0.05 < exact < 0.5
    mc = monte_carlo_pc(S1, C1, S2, C2, HBR, samples=20_000, chunk=5_000, seed=11, propagator=rectilinear)
    assert mc.ci_low <= exact <= mc.ci_high
    assert mc.ci_high - mc.ci_low < 0.02            # Clopper-Pearson width ~ 4 sqrt(p(1-p)/n)
    assert mc.samples == 20_000 and mc.pc == mc.hits / mc.samples


def test_vectorized_kepler_propagator_matches_universal_variables():
    rng = np.random.default_rng(4)
    states = S1 + rng.standard_normal((40, 6)) * np.r_[5, 5, 5, 5e-3, 5e-3, 5e-3]
    states[0] = [9000.0, 0, 0, 0, 0.5, 2.2]        # an eccentric orbit
    times = np.linspace(-4000.0, 4000.0, 17)
    ours = _twobody(GM)(states, times)
    ref = propagate_twobody(states, 0.0, times, gm_km3s2=GM, method="universal")
    np.testing.assert_allclose(ours[..., :3], ref[..., :3], atol=1e-8)
    np.testing.assert_allclose(ours[..., 3:], ref[..., 3:], atol=1e-11)


def test_two_body_monte_carlo_on_a_fast_encounter_agrees_with_2d():
    res = collision_probability(S1, C1, S2, C2, HBR, method="MONTE-CARLO", mc_samples=6_000, mc_seed=3)
    assert res.method == "MONTE-CARLO" and res.pc_method == "MONTE-CARLO/USER"
    assert res.ci_low <= exact_2d() <= res.ci_high


def test_window_follows_cara_duration_and_is_clipped_to_half_a_period():
    center, half = conjunction_window(S1, C1, S2, C2, HBR, GM)
    # centre: the time of the smallest Mahalanobis distance of the straight-line relative motion
    a_inv = np.linalg.inv(C1 + C2)
    r, v = S2[:3] - S1[:3], S2[3:] - S1[3:]
    assert center == pytest.approx(-(r @ a_inv @ v) / (v @ a_inv @ v), rel=1e-12)
    # half width: sqrt(2) erfcinv(1e-16) = 8.3 sigma_T; a 4.75 km/s crossing of ~50 m sigmas takes ~0.1 s
    assert half == pytest.approx(np.sqrt(2 / (v @ a_inv @ v)) * 5.872370, rel=1e-6)
    assert abs(center) < half < 1.0
    slow = S1.copy()
    slow[3:] += np.array([0.0, 1e-6, 0.0])
    _, half = conjunction_window(S1, C1, slow, C2, HBR, GM)
    period = 2 * np.pi * np.sqrt(3796.19**3 / GM)
    assert half == pytest.approx(period / 2, rel=1e-3)


def test_progress_and_cancel_between_chunks():
    seen = []
    monte_carlo_pc(S1, C1, S2, C2, HBR, samples=3_000, chunk=1_000, seed=1, propagator=rectilinear,
                   progress=seen.append)
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(MonteCarloCancelled):
        monte_carlo_pc(S1, C1, S2, C2, HBR, samples=3_000, chunk=1_000, seed=1, propagator=rectilinear,
                       cancel=cancel)
    assert len(calls) == 2


def test_zero_hits_gives_an_honest_upper_bound():
    far = S2.copy()
    far[2] = 5.0                                     # 5 km miss, sigmas of tens of metres
    mc = monte_carlo_pc(S1, C1, far, C2, HBR, samples=2_000, seed=2, propagator=rectilinear)
    assert mc.hits == 0 and mc.ci_low == 0.0
    assert mc.ci_high == pytest.approx(1 - 0.025 ** (1 / 2000), rel=1e-6)   # exact binomial bound
