"""Regression: every probability method over miss / hard-body radius from 0 to 1e6, scalar and array inputs.

`marsview assess` used to raise a TypeError in `pc_max_geometry` (0-d arrays in `_log_normal_mass`) as soon as
the miss exceeded ~100 x HBR, i.e. on almost every real CDM. These sweeps check each kernel and the
`collision_probability` entry point return a probability in [0, 1] for scalars and arrays alike, that the
array result equals the scalar one element by element, and the physical bound that no covariance can beat
the geometric maximum (Alfano 2005): pc(any sigma) <= pc_max_geometry(miss, HBR).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from marsview.core.probability import collision_probability
from marsview.core.probability_2d import pc_chan, pc_circle, pc_max_geometry, pc_max_scaled

RATIOS = [0.0, 1e-6, 1e-3, 0.5, 1.0, 1.0 + 1e-9, 2.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]   # miss / HBR
HBRS_KM = [1e-3, 1.0]
SIGMAS_KM = [(0.01, 0.01), (0.1, 2.0), (3.0, 300.0)]


def _grid():
    miss = np.array([r * h for r in RATIOS for h in HBRS_KM])
    hbr = np.array([h for _r in RATIOS for h in HBRS_KM])
    return miss, hbr


def test_pc_max_geometry_scalar_and_array_over_the_sweep():
    miss, hbr = _grid()
    pmax, sig = pc_max_geometry(miss, hbr)
    assert pmax.shape == miss.shape and np.all(np.isfinite(pmax)) and np.all((pmax >= 0) & (pmax <= 1))
    for i in range(miss.size):
        p_scalar, s_scalar = pc_max_geometry(float(miss[i]), float(hbr[i]))
        assert float(p_scalar) == pmax[i] and float(s_scalar) == sig[i]
    # inside the disk the largest probability is 1; far away it tends to 2R phi(1) / d (sigma -> d)
    assert np.all(pmax[miss <= hbr] == 1.0)
    far = miss / hbr >= 1e3
    expected = 2.0 * hbr[far] / miss[far] * math.exp(-0.5) / math.sqrt(2.0 * math.pi)
    np.testing.assert_allclose(pmax[far], expected, rtol=2e-3)
    np.testing.assert_allclose(sig[far], miss[far], rtol=1e-6)


def test_pc_max_geometry_of_a_point_is_zero():
    assert float(pc_max_geometry(5.0, 0.0)[0]) == 0.0
    assert np.all(pc_max_geometry(np.array([0.0, 1.0, 1e6]), 0.0)[0] == 0.0)


@pytest.mark.parametrize("sigma_km", SIGMAS_KM, ids=lambda s: f"sigma{s[0]:g}x{s[1]:g}")
def test_exact_and_chan_kernels_over_the_sweep(sigma_km):
    miss, hbr = _grid()
    sx, sy = sigma_km
    # miss along the narrow axis, then along the wide axis: both orientations must behave
    for mx, my in ((miss, 0.0 * miss), (0.0 * miss, miss)):
        exact = pc_circle(mx, my, sx, sy, hbr)
        chan = pc_chan(mx, my, sx, sy, hbr)
        bound = pc_max_geometry(miss, hbr)[0]
        for values in (exact, chan):
            assert values.shape == miss.shape
            assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1 + 1e-12))
        # no covariance beats the geometric worst case (1e-9 relative slack for the quadrature)
        assert np.all(exact <= bound * (1 + 1e-9) + 1e-300)
        for i in range(0, miss.size, 3):
            assert float(pc_circle(float(mx[i]), float(my[i]), sx, sy, float(hbr[i]))) == pytest.approx(
                exact[i], rel=1e-12, abs=1e-300)
            assert float(pc_chan(float(mx[i]), float(my[i]), sx, sy, float(hbr[i]))) == pytest.approx(
                chan[i], rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("ratio", [0.0, 1.0, 100.0, 1e6])
def test_max_scaled_is_bounded_by_max_geometry(ratio):
    hbr = 0.01
    pc, k = pc_max_scaled(ratio * hbr, 0.0, 0.2, 3.0, hbr)
    assert 0.0 <= pc <= float(pc_max_geometry(ratio * hbr, hbr)[0]) * (1 + 1e-6) and k > 0


def _states(miss_km):
    """Two objects at TCA in a Mars orbit: object 2 offset radially by miss_km, relative velocity along-track."""
    s1 = np.array([3800.0, 0.0, 0.0, 0.0, 3.3, 0.5])
    s2 = s1 + np.array([miss_km, 0.0, 0.0, 0.0, -0.2, 1.8])
    cov = np.diag([0.05, 0.5, 0.02, 1e-8, 1e-8, 1e-8]) ** 1.0
    return s1, s2, cov


@pytest.mark.parametrize("method", ["FOSTER-2D", "CHAN", "MAX-PC"])
@pytest.mark.parametrize("ratio", [0.0, 0.5, 2.0, 100.0, 1e4, 1e6])
def test_collision_probability_every_method_over_miss_to_hbr(method, ratio):
    hbr_km = 0.005
    s1, s2, cov = _states(ratio * hbr_km)
    res = collision_probability(s1, cov, s2, cov, hbr_km, method=method)
    assert math.isfinite(res.pc) and 0.0 <= res.pc <= 1.0
    assert res.pc <= float(pc_max_geometry(res.miss_km, hbr_km)[0]) * (1 + 1e-6)
    if ratio >= 1e4:
        assert res.pc < 1e-6          # 50 km or more apart with sigmas below 1 km


@pytest.mark.parametrize("ratio", [0.0, 2.0, 1e6])
def test_monte_carlo_over_miss_to_hbr(ratio):
    hbr_km = 0.05
    s1, s2, cov = _states(ratio * hbr_km)
    res = collision_probability(s1, cov, s2, cov, hbr_km, method="MONTE-CARLO", mc_samples=2000, mc_seed=7)
    assert 0.0 <= res.ci_low <= res.pc <= res.ci_high <= 1.0
    if ratio >= 1e6:
        assert res.hits == 0
