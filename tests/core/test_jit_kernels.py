"""The numba kernels of core.kernels against the numpy/scipy references they replace.

Force model: the kernel's acceleration equals Accelerations.acceleration (numpy, vectorized) to 1e-15
relative. Integrator: the compiled DOP853 takes scipy's steps (same step epochs) and gives the same states
to rounding; its dense output is scipy's interpolant. Kepler: the compiled table loop equals the numpy loop.
Screening: the compiled Lagrange interpolation equals TabulatedSegment's numpy interpolation, and the compiled
pair-interval filter keeps exactly the pair-intervals the numpy filters keep.
And the kernels still work where numba cannot write its cache (a read-only install), without a warning.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from marsview.core import kernels, twobody
from marsview.core import orbits as O
from marsview.core.atmosphere import ExponentialAtmosphere
from marsview.core.dynamics import Accelerations, ForceModel, _tolerances, integrate_arcs, jit_enabled

T0 = 7.6e8  # TDB s, 2024-01-30
DAY = 86400.0
# periapsis/apoapsis altitude [km], inclination [deg]: low (drag), eccentric, high, retrograde
FLEET = [(255, 320, 92.6), (150, 4500, 75.0), (300, 10300, 86.3), (20000, 43000, 25.0), (420, 76994, 150.0),
         (400, 400, 74.0), (120, 180, 10.0)]


def _states():
    rng = np.random.default_rng(7)
    return np.stack([O.state_from_peri_apo(hp, ha, inc, *rng.uniform(0, 360, 3)) for hp, ha, inc in FLEET])


MODELS = [ForceModel.two_body(), ForceModel.j2(), ForceModel.zonal(j3=0.0), ForceModel.zonal(),
          ForceModel.full(area_m2=30.0, mass_kg=900.0),
          ForceModel.full(atmosphere=ExponentialAtmosphere(ceiling_alt_km=200.0))]


def test_jit_is_on_by_default_and_switchable(monkeypatch):
    assert jit_enabled()
    monkeypatch.setenv("MARSVIEW_NO_JIT", "1")
    assert not jit_enabled()


@pytest.mark.parametrize("fm", MODELS, ids=lambda m: f"{m.name}-J{m.zonal_degree}")
def test_kernel_acceleration_equals_numpy_reference(fm):
    states = _states()
    ballistic = np.linspace(0.005, 0.05, len(states))
    acc = Accelerations(fm, T0, ballistic, len(states), (T0, T0 + 3 * DAY))
    t = T0 + 1.3 * DAY
    ref = acc.acceleration(t, states)
    out = np.empty(states.size)
    kernels.accel_into(t, states.reshape(-1), out, acc.jit_args())
    got = out.reshape(-1, 6)
    np.testing.assert_array_equal(got[:, :3], states[:, 3:])
    scale = np.linalg.norm(ref, axis=1, keepdims=True)
    assert np.all(np.abs(got[:, 3:] - ref) <= 1e-15 * scale)
    if fm.drag:  # the 120 x 180 km orbiter really feels drag, so the drag term was compared, not skipped
        no_drag = Accelerations(fm.replace(drag=False), T0, ballistic, len(states), (T0, T0 + 3 * DAY))
        assert np.linalg.norm(ref[-1] - no_drag.acceleration(t, states)[-1]) > 1e-9  # km/s^2


def test_non_exponential_atmosphere_falls_back_to_numpy():
    class Denser(ExponentialAtmosphere):
        def density_kgm3(self, alt_km):
            return 2.0 * super().density_kgm3(alt_km)

    acc = Accelerations(ForceModel.full(atmosphere=Denser()), T0, count=1)
    assert acc.jit_args() is None


@pytest.mark.parametrize("fm,span_s", [(ForceModel.zonal(), 0.5 * DAY), (ForceModel.full(), -0.3 * DAY)],
                         ids=["zonal-forward", "full-backward"])
def test_compiled_dop853_takes_scipys_steps(fm, span_s):
    states = _states()[:4]
    acc = Accelerations(fm, T0, None, len(states), (T0, T0 + span_s))
    rtol, atol = _tolerances(1e-12, 1e-9, len(states))
    ref = solve_ivp(acc.rhs, (T0, T0 + span_s), states.reshape(-1), method="DOP853", rtol=rtol, atol=atol,
                    dense_output=True)
    sol, y_end = kernels.solve_dop853(acc.jit_args(), T0, T0 + span_s, states.reshape(-1), rtol, atol,
                                   lambda n: None, chunk_steps=100)
    # same step-size control: the same number of steps (in several chunks). The step epochs agree only
    # to ~1e-3 relative: the first steps' error estimates are rounding noise, summed in another order.
    assert abs(len(sol.ts) - len(ref.sol.ts)) <= 0.01 * len(ref.sol.ts) and len(sol.ts) > 150
    assert sol.ts[0] == T0 and sol.ts[-1] == T0 + span_s
    assert np.diff(sol.ts)[0] == pytest.approx(np.diff(ref.sol.ts)[0], rel=1e-12)  # the initial step
    pos = (y_end - ref.y[:, -1]).reshape(-1, 6)[:, :3]
    assert np.abs(pos).max() < 1e-6  # km: 1 mm, rounding-level differences after ~1000 steps
    # dense output: inside steps, on step boundaries, at both ends
    t = np.concatenate([np.linspace(T0, T0 + span_s, 777), ref.sol.ts[::50]])
    dense = sol(t) - ref.sol(t)
    assert dense.shape == (states.size, t.size)
    assert np.abs(dense.reshape(4, 6, -1)[:, :3]).max() < 1e-6
    np.testing.assert_allclose(sol(T0 + span_s), y_end, rtol=1e-14)


def test_cancel_stops_a_compiled_propagation():
    from marsview.core.dynamics import PropagationCancelled

    calls = []
    with pytest.raises(PropagationCancelled):
        integrate_arcs(_states()[0], T0, T0 + 5 * DAY, ForceModel.zonal(), cancel=lambda: calls.append(1) or
                       len(calls) > 2)
    assert len(calls) == 3


def test_kepler_kernel_equals_numpy_loop(monkeypatch):
    """Same loop; the kernel fuses multiply-adds, so equal to a few 1e-15 relative, not bit for bit."""
    states = _states()
    dt = np.linspace(-3 * DAY, 40 * DAY, 5000)
    fast = np.array([twobody._elliptic_fast(s, dt, twobody.GM_MARS_KM3S2) for s in states[:4]])
    monkeypatch.setattr(twobody, "_use_jit", lambda: False)
    ref = np.array([twobody._elliptic_fast(s, dt, twobody.GM_MARS_KM3S2) for s in states[:4]])
    r = np.linalg.norm(ref[..., :3], axis=-1, keepdims=True)
    v = np.linalg.norm(ref[..., 3:], axis=-1, keepdims=True)
    assert np.all(np.abs(fast[..., :3] - ref[..., :3]) <= 1e-14 * r)
    assert np.all(np.abs(fast[..., 3:] - ref[..., 3:]) <= 1e-14 * v)


def test_kernels_run_from_a_read_only_install(tmp_path):
    """No writable cache location: numba refuses cache=True; the kernels compile uncached, no warning.
    (Every cache location is made a plain file rather than read-only, so this holds even run as root.)"""
    pkg = tmp_path / "site" / "marsview"
    shutil.copytree(Path(__file__).resolve().parents[2] / "marsview", pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (pkg / "core" / "__pycache__").write_text("not a directory")  # numba's in-tree cache
    (tmp_path / "cache").write_text("not a directory")  # the user-wide cache ($XDG_CACHE_HOME/numba)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "PYTHON"))}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(pkg.parent),
               PYTHONDONTWRITEBYTECODE="1")
    code = ("import numpy as np; from marsview.core import kernels, dynamics as d;"
            "a = d.Accelerations(d.ForceModel.zonal(), 7.6e8); s = np.array([3700., 0, 0, 0, 3.4, 0.5]);"
            "o = np.empty(6); kernels.accel_into(7.6e8, s, o, a.jit_args());"
            "assert np.allclose(o[3:], a.acceleration(7.6e8, s[None])[0], rtol=1e-15, atol=0); print('ok')")
    run = subprocess.run([sys.executable, "-W", "error", "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
    assert not list(tmp_path.rglob("*.nbi"))  # nothing was cached (nor could be)


def test_numpy_path_and_imports_never_load_numba():
    """Importing core (dynamics, twobody, the switch) loads no numba, and MARSVIEW_NO_JIT=1 propagates without
    it: numba lives in core.kernels alone, imported on first compiled use."""
    code = ("import sys, numpy as np; import marsview.core.jit, marsview.core.dynamics as d,"
            " marsview.core.twobody as t;"
            "assert 'numba' not in sys.modules; assert not marsview.core.jit.jit_enabled();"
            "s = np.array([[3650.0, 0, 0, 0, 3.45, 0.3]]);"
            "d.propagate_many(s, 0.0, np.array([0.0, 60.0]), d.ForceModel.full());"
            "t.propagate_twobody(s[0], 0.0, np.linspace(0.0, 6000.0, 300)); print('numba' in sys.modules)")
    env = {**os.environ, "MARSVIEW_NO_JIT": "1"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


@pytest.mark.parametrize("degree", range(1, 12))
def test_lagrange_kernel_equals_numpy_interpolation(degree):
    """TabulatedSegment.sample (core.kernels.lagrange_states) against state (numpy): irregular table, epochs
    on nodes, at both ends, in order and shuffled; to 1e-15 of the values (bit for bit in practice)."""
    from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment

    rng = np.random.default_rng(degree)
    t = T0 + np.cumsum(rng.uniform(20.0, 80.0, 300))
    states = np.column_stack([np.cos(t / 900.0 + k) * (4000.0 if k < 3 else 3.0) for k in range(6)])
    seg = TabulatedSegment(t, states, "LAGRANGE", degree)
    epochs = np.concatenate([t[:20], [t[0], t[-1]], np.linspace(t[0], t[-1], 1001), rng.uniform(t[0], t[-1], 500)])
    for q in (epochs, rng.permutation(epochs)):
        got, want = seg.sample(q), seg.state(q)
        assert np.max(np.abs(got - want)) <= 1e-15 * np.max(np.abs(want))
    eph = TabulatedEphemeris("X", [seg, TabulatedSegment(t + 2e4, states, "LAGRANGE", degree)])
    q = np.concatenate([np.linspace(t[0], t[-1], 400), np.linspace(t[0] + 2e4, t[-1] + 2e4, 377)])
    np.testing.assert_allclose(TabulatedEphemeris.states_each([eph] * q.size, q), eph.state(q), rtol=0, atol=1e-11)


def _numpy_pair_filters(start, end, h, pairs, thr, accel):
    """(k, i, j) rows the numpy filters keep: swept-sphere gap, then the relative chord's lower bound."""
    from marsview.core.screening_search import chord_lower_bound_km, swept_spheres

    m = h.size
    centre, radius = swept_spheres(start, end, h[None, :], accel)
    kk = np.tile(np.arange(m), len(pairs))
    ii, jj = np.repeat(pairs[:, 0], m), np.repeat(pairs[:, 1], m)
    with np.errstate(invalid="ignore"):
        gap = np.linalg.norm(centre[jj, kk] - centre[ii, kk], axis=1) - radius[ii, kk] - radius[jj, kk]
        sel = gap < thr[ii, jj]
        kk, ii, jj = kk[sel], ii[sel], jj[sel]
        lb = chord_lower_bound_km((start[jj, kk] - start[ii, kk])[:, :3], (end[jj, kk] - end[ii, kk])[:, :3], h[kk],
                                  accel)
    sel = lb < thr[ii, jj]
    return np.stack([kk[sel], ii[sel], jj[sel]], axis=1)


def test_pair_interval_kernel_keeps_what_the_numpy_filters_keep():
    """core.kernels.pair_interval_candidates = swept-sphere gap then relative-chord bound (screening_search),
    over random close and far object pairs, with uncovered (NaN) samples."""
    rng = np.random.default_rng(3)
    n, m, accel = 6, 400, 0.005
    start = rng.normal(size=(n, m, 6)) * 40.0
    end = start + rng.normal(size=(n, m, 6)) * 20.0
    start[2, 50:80] = np.nan
    h = rng.uniform(10.0, 120.0, m)
    i, j = np.triu_indices(n, 1)
    pairs = np.stack([i, j], axis=1).astype(np.int64)
    thr = rng.uniform(5.0, 60.0, (n, n))
    room = np.empty((len(pairs) * m, 3), np.int64)
    got = room[:kernels.pair_interval_candidates(start, end, h, pairs, thr, accel, room)]
    want = _numpy_pair_filters(start, end, h, pairs, thr, accel)
    assert 0 < len(want) < len(pairs) * m
    np.testing.assert_array_equal(got, want)


def test_pair_interval_kernel_skips_only_blocks_the_sphere_test_would_reject():
    """Orbits on separate shells (circular at 3,700, 3,755 and 9,400 km), an elliptical one crossing them and a
    companion 45 km behind the first: whole blocks of intervals are skipped on the objects' radial bands, and
    the rows are still exactly those of the numpy filters -- among them the 3,700/3,755 km pair at its node,
    whose bands are only ~20 km apart for a 60 km threshold."""
    from marsview.core.screening_search import swept_spheres

    mu, m = 42828.37, 700
    t = np.linspace(0.0, 7.0e3, m + 1)

    def orbit(a, e, phase, incl):
        n_rad = np.sqrt(mu / a**3)
        mean = n_rad * t + phase
        ecc = mean.copy()
        for _ in range(30):
            ecc = mean + e * np.sin(ecc)
        x, y = a * (np.cos(ecc) - e), a * np.sqrt(1 - e * e) * np.sin(ecc)
        r = np.stack([x, y * np.cos(incl), y * np.sin(incl)], axis=1)
        v = np.gradient(r, t, axis=0)
        return np.hstack([r, v])

    states = np.stack([orbit(3700.0, 0.0, 0.0, 0.1), orbit(3755.0, 0.0, 0.0, 0.5), orbit(9400.0, 0.0, 2.0, 0.02),
                       orbit(6500.0, 0.43, 0.3, 0.2), orbit(3702.0, 0.0, 0.012, 0.1)])
    start, end, h = states[:, :-1], states[:, 1:], np.diff(t)
    n, accel = len(states), 0.004
    i, j = np.triu_indices(n, 1)
    pairs = np.stack([i, j], axis=1).astype(np.int64)
    thr = np.full((n, n), 60.0)
    room = np.empty((len(pairs) * m, 3), np.int64)
    got = room[:kernels.pair_interval_candidates(start, end, h, pairs, thr, accel, room)]
    want = _numpy_pair_filters(start, end, h, pairs, thr, accel)
    assert len(want) > 20 and np.any((want[:, 1] == 0) & (want[:, 2] == 1))
    np.testing.assert_array_equal(got, want)
    # the band test had work to skip: most pair-blocks are radially separated
    centre, radius = swept_spheres(start, end, h[None, :], accel)
    rc = np.linalg.norm(centre, axis=-1)
    blocks = -(-m // kernels.PAIR_BLOCK)
    pad = blocks * kernels.PAIR_BLOCK - m
    lo = np.pad(rc - radius, ((0, 0), (0, pad)), constant_values=np.inf).reshape(n, blocks, -1).min(axis=2)
    hi = np.pad(rc + radius, ((0, 0), (0, pad)), constant_values=-np.inf).reshape(n, blocks, -1).max(axis=2)
    separated = (lo[j] - hi[i] > 60.0) | (lo[i] - hi[j] > 60.0)
    assert separated.mean() > 0.5


def test_tables_on_one_grid_sampled_together_equal_each_alone():
    """TabulatedEphemeris.sample_all (basis weights shared by the tables on one grid of epochs) = sample of
    each, bit for bit, with tables on another grid, of another degree and of two segments among them."""
    from marsview.core.tabulated import TabulatedEphemeris, TabulatedSegment

    rng = np.random.default_rng(9)
    t = T0 + 60.0 * np.arange(400)
    other = T0 - 30.0 + 61.0 * np.arange(400)

    def table(epochs, degree=7, k=0.0):
        return TabulatedSegment(epochs, np.column_stack([np.sin(epochs / 700.0 + k + c) * 4000.0 for c in range(6)]),
                                "LAGRANGE", degree)

    ephs = [TabulatedEphemeris(f"S{k}", [table(t.copy(), k=k)]) for k in range(4)]
    ephs += [TabulatedEphemeris("O", [table(other)]), TabulatedEphemeris("D5", [table(t, 5)]),
             TabulatedEphemeris("TWO", [table(t[:200]), table(t[199:], k=1.0)])]
    q = np.sort(rng.uniform(t[0], t[-1] - 100.0, 900))
    together = TabulatedEphemeris.sample_all(ephs, q)
    for eph, got in zip(ephs, together):
        np.testing.assert_array_equal(got, eph.sample(q))
        assert np.max(np.abs(got - eph.state(q))) <= 1e-15 * 4000.0
