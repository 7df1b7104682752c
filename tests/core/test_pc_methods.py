"""The Pc-method table (core.pc_methods) and the one encounter-plane projection (core.encounter_plane).

A method is one function and one PC_METHODS entry: collision_probability, the CLI's --method choices and the
README all follow the table. Every Pc (CDM assessment, screening, trade-space map) comes from the same
projection, so the trade space's vectorized Pc equals the CDM path's FOSTER-2D for the same encounter.
"""

from __future__ import annotations

import numpy as np
import pytest

from marsview.cli.assess import METHOD_CHOICES
from marsview.core import pc_methods
from marsview.core.encounter_plane import encounter_plane, principal_axes, project_on_encounter_plane
from marsview.core.planning_trade import encounter_pc
from marsview.core.probability import METHODS, collision_probability, screening_pc

S1 = np.array([3700.0, 120.0, -40.0, 0.3, 3.35, 0.9])
S2 = S1 + np.array([0.05, 0.4, -0.2, 0.8, -1.5, 2.9])
C1 = np.diag([0.01, 0.6, 0.02]) + 0.003
C2 = np.diag([0.02, 0.3, 0.01])


def test_the_table_is_the_method_list_everywhere():
    assert tuple(pc_methods.PC_METHODS) == METHODS == METHOD_CHOICES == ("FOSTER-2D", "CHAN", "MAX-PC", "PATERA-2005",
                                                                                   "MONTE-CARLO")
    assert pc_methods.DEFAULT_PC_METHOD == "FOSTER-2D"
    assert collision_probability(S1, C1, S2, C2, 0.02).method == "FOSTER-2D"


def test_a_new_method_is_one_function_and_one_entry(monkeypatch):
    """A registered function is selectable by name and its estimate becomes the result (flags after CARA's)."""
    def half_foster(req):
        est = pc_methods.foster_2d(req)
        return pc_methods.PcEstimate(est.pc / 2, est.miss_km, est.relative_speed_kms, est.sigma_xy_km, ("HALVED",))

    monkeypatch.setitem(pc_methods.PC_METHODS, "HALF-FOSTER", half_foster)
    full = collision_probability(S1, C1, S2, C2, 0.02)
    half = collision_probability(S1, C1, S2, C2, 0.02, method="half-foster", covariance_source="CDM")
    assert half.pc == full.pc / 2 and half.flags[-1] == "HALVED"
    assert half.pc_method.startswith("HALF-FOSTER/CDM")
    with pytest.raises(ValueError, match="unknown method 'NOPE'"):
        collision_probability(S1, C1, S2, C2, 0.02, method="nope")


def test_trade_space_pc_equals_the_cdm_path():
    """encounter_pc (vectorized, at the given relative state) = FOSTER-2D at the true TCA of the same
    straight-line encounter: the projection does not depend on where along the line the state is taken."""
    rel = S2 - S1
    shifts = np.array([-2.0, 0.0, 1.5])  # s along the relative-velocity line
    r = rel[:3] + shifts[:, None] * rel[3:]
    v = np.broadcast_to(rel[3:], r.shape)
    got = encounter_pc(r, v, C1 + C2, 0.02)
    want = collision_probability(S1, C1, S2, C2, 0.02).pc
    assert want > 1e-6
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert screening_pc(S1, S2, C1, C2, 0.02)[0] == want


def test_projection_axes_and_degenerate_miss():
    enc = encounter_plane(S1, S2, C1, C2, 0.02)
    rel = S2 - S1
    z = rel[3:] / np.linalg.norm(rel[3:])
    np.testing.assert_allclose(enc.basis @ enc.basis.T, np.eye(2), atol=1e-15)
    np.testing.assert_allclose(enc.basis @ z, 0.0, atol=1e-15)
    r_tca = rel[:3] + enc.tca_shift_s * rel[3:]
    np.testing.assert_allclose(enc.basis[0] * enc.miss_km, r_tca, atol=1e-12)  # x along the miss
    # r_rel along v_rel: any in-plane axes, a finite Pc (the disk is centred on the covariance)
    basis, miss, cov_plane = project_on_encounter_plane(rel[3:] * 0.5, rel[3:], C1 + C2)
    assert miss < 1e-12 and np.all(np.isfinite(basis))
    miss_xy, sigma = principal_axes(cov_plane, miss)
    assert np.all(sigma > 0) and np.all(np.abs(miss_xy) < 1e-12)


def test_patera_contour_integral_matches_the_area_integral_and_a_closed_form():
    """PATERA-2005 integrates along the disk's edge, FOSTER-2D over its area: two independent quadratures of
    the same integral agree to 1e-10 over random encounters; centred on an isotropic covariance both equal
    1 - exp(-R^2 / 2 sigma^2)."""
    rng = np.random.default_rng(7)
    for _ in range(100):
        d = rng.normal(size=3)
        s2 = S1 + np.concatenate([d / np.linalg.norm(d) * rng.uniform(0, 2), rng.normal(size=3)])
        a, b = rng.normal(size=(2, 3, 3)) * rng.uniform(0.01, 0.5, size=(2, 1, 1))
        c1, c2 = a @ a.T + 1e-4 * np.eye(3), b @ b.T + 1e-4 * np.eye(3)
        hbr_km = 10 ** rng.uniform(-3, 0)
        foster = collision_probability(S1, c1, s2, c2, hbr_km)
        patera = collision_probability(S1, c1, s2, c2, hbr_km, method="PATERA-2005")
        assert patera.pc_method.startswith("PATERA-2005")
        if foster.pc > 1e-250:
            assert patera.pc == pytest.approx(foster.pc, rel=1e-10)
    sigma_km, hbr_km = 0.3, 0.2
    iso = np.eye(3) * sigma_km ** 2 / 2      # each object half the combined variance
    s2 = S1 + np.array([0, 0, 0, 0.5, -1.0, 2.0])   # miss 0 at TCA
    got = collision_probability(S1, iso, s2, iso, hbr_km, method="PATERA-2005").pc
    assert got == pytest.approx(-np.expm1(-hbr_km ** 2 / (2 * sigma_km ** 2)), rel=1e-12)


def test_patera_flags_a_covariance_centre_on_the_disk_edge():
    iso = np.eye(3) * 0.01
    s2 = S1 + np.array([0.2, 0, 0, 0, 1.0, 0])   # miss 0.2 km along x, relative velocity along y
    res = collision_probability(S1, iso, s2, iso, 0.2, method="PATERA-2005")
    assert "CONTOUR-SINGULAR" in res.flags
    assert res.pc == pytest.approx(collision_probability(S1, iso, s2, iso, 0.2).pc, rel=1e-14)
