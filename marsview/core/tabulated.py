"""Tabulated ephemerides: Lagrange and Hermite interpolation of state tables, segment by segment.

Interpolation follows CCSDS OEM (ODM 502.0-B-2 sec. 5.2.2) and SPICE SPK types 9/13:
- ``LAGRANGE`` degree d: the d+1 table points nearest the epoch (centred window, shifted inward at the
  table ends); position and velocity components are interpolated independently (as SPK type 9).
- ``HERMITE`` degree d: the (d+1)/2 nearest points (rounded up for an even d), each contributing a
  position and its derivative, the velocity; the returned velocity is the derivative of the position
  polynomial (as SPK type 13). When the table carries accelerations, the velocity is itself Hermite-
  interpolated from velocities and accelerations.
A table with fewer points than the window uses all its points (a lower degree).

Segments are independent: an epoch is interpolated only from its own segment's points, an epoch on a
boundary shared by two segments takes the later one, epochs in gaps or outside the useable spans raise
:class:`CoverageError` (never extrapolated). Everything is vectorized over epochs: window indices come
from ``np.searchsorted``; the Lagrange/Hermite basis weights are built with loops over the window
size only.
"""

from __future__ import annotations

import numpy as np

from .ephemeris import CoverageError, Ephemeris
from .jit import jit_enabled
from .time import utc_label, utc_span

INTERPOLATIONS = ("LAGRANGE", "HERMITE")
_CHUNK = 1 << 14  # epochs per vectorized block: bounds the (N, window, 3) temporaries


class TabulatedSegment:
    """One table of states (km, km/s) at strictly increasing TDB epochs, in its ephemeris' frame."""

    def __init__(self, epochs_tdb_s, states, interpolation: str = "LAGRANGE", degree: int = 7,
                 useable_start_tdb_s=None, useable_stop_tdb_s=None, accelerations=None,
                 covariances=None, source: str = ""):
        t = np.asarray(epochs_tdb_s, dtype=np.float64).ravel()
        s = np.asarray(states, dtype=np.float64)
        where = f"{source}: " if source else ""
        if s.ndim != 2 or s.shape != (t.size, 6):
            raise ValueError(f"{where}states must be ({t.size}, 6) to match the epochs, got {s.shape}")
        if t.size == 0:
            raise ValueError(f"{where}a segment needs at least one state")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(s))):
            raise ValueError(f"{where}epochs and states must be finite")
        if np.any(np.diff(t) <= 0.0):
            k = int(np.argmax(np.diff(t) <= 0.0))
            raise ValueError(f"{where}epochs must increase strictly (state {k + 2} is not after state {k + 1})")
        method = str(interpolation).strip().upper()
        if method not in INTERPOLATIONS:
            raise ValueError(f"{where}interpolation {interpolation!r} is not supported (LAGRANGE or HERMITE)")
        if int(degree) != degree or degree < 1:
            raise ValueError(f"{where}interpolation degree must be a positive integer, got {degree!r}")
        start = t[0] if useable_start_tdb_s is None else float(useable_start_tdb_s)
        stop = t[-1] if useable_stop_tdb_s is None else float(useable_stop_tdb_s)
        if start < t[0] or stop > t[-1] or stop < start:
            raise ValueError(f"{where}useable span {utc_span(start, stop)} must lie within the states "
                             f"{utc_span(t[0], t[-1])} (no extrapolation)")
        acc = None
        if accelerations is not None:
            acc = np.asarray(accelerations, dtype=np.float64)
            if acc.shape != (t.size, 3):
                raise ValueError(f"{where}accelerations must be ({t.size}, 3), got {acc.shape}")
        self.epochs_tdb_s = t
        self.states = s
        self.interpolation = method
        self.degree = int(degree)
        self.useable_start_tdb_s = float(start)
        self.useable_stop_tdb_s = float(stop)
        self.accelerations = acc
        self.covariances = covariances
        self.source = source
        wanted = self.degree + 1 if method == "LAGRANGE" else (self.degree + 2) // 2
        self.window = int(min(wanted, t.size))

    @property
    def coverage(self) -> tuple[float, float]:
        return self.useable_start_tdb_s, self.useable_stop_tdb_s

    def _windows(self, tdb_s: np.ndarray) -> np.ndarray:
        """(N, window) table indices: the window centred on the interval holding each epoch."""
        n, w = self.epochs_tdb_s.size, self.window
        i = np.searchsorted(self.epochs_tdb_s, tdb_s, side="right") - 1  # t_i <= t < t_{i+1}
        first = i - (w - 1) // 2
        # an epoch nearer the right node of its interval centres there (matters for odd windows)
        if w % 2 == 1:
            right = np.clip(i + 1, 0, n - 1)
            nearer_right = (self.epochs_tdb_s[right] - tdb_s) < (tdb_s - self.epochs_tdb_s[np.clip(i, 0, n - 1)])
            first = first + nearer_right
        first = np.clip(first, 0, n - w)
        return first[:, None] + np.arange(w)

    def state(self, tdb_s) -> np.ndarray:
        """(N,6) interpolated states; epochs must lie within the useable span (not checked here)."""
        t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
        if self.epochs_tdb_s.size == 1:
            return np.repeat(self.states, t.size, axis=0)
        if t.size <= _CHUNK:
            return self._interpolate(t)
        return np.vstack([self._interpolate(t[k:k + _CHUNK]) for k in range(0, t.size, _CHUNK)])

    def sample(self, tdb_s) -> np.ndarray:
        """``state``, through the compiled LAGRANGE kernel where it applies (see the module docstring)."""
        if not self.compiled():
            return self.state(tdb_s)
        return self.apply_weights(self.lagrange_weights(tdb_s))

    def compiled(self) -> bool:
        """Whether ``sample`` runs the compiled kernel (LAGRANGE, more than one point, JIT on)."""
        return self.interpolation == "LAGRANGE" and self.epochs_tdb_s.size > 1 and jit_enabled()

    def lagrange_weights(self, tdb_s):
        """(first, weights): each epoch's window start and basis weights (compiled; see ``sample``)."""
        from .kernels import lagrange_weights

        t = np.ascontiguousarray(np.atleast_1d(np.asarray(tdb_s, dtype=np.float64)))
        first, weights = np.empty(t.size, np.int64), np.empty((t.size, self.window))
        lagrange_weights(self.epochs_tdb_s, t, self.window, first, weights)
        return first, weights

    def apply_weights(self, first_weights, out=None) -> np.ndarray:
        """(N,6) states (into OUT when given) from ``lagrange_weights`` of this segment or of one on the same
        epochs and degree."""
        from .kernels import lagrange_apply

        first, weights = first_weights
        out = np.empty((first.size, 6)) if out is None else out
        lagrange_apply(self.states, first, weights, out)
        return out

    def _interpolate(self, t: np.ndarray) -> np.ndarray:
        idx = self._windows(t)
        tw = self.epochs_tdb_s[idx]                        # (N, w)
        # scale time to O(1) around the window for a well-conditioned divided-difference table
        t_ref = tw[:, :1]
        h = np.maximum(tw[:, -1:] - t_ref, 1e-300)
        x = (tw - t_ref) / h
        u = (t[:, None] - t_ref) / h                        # (N, 1)
        L, dL = _lagrange_basis(x, u)                       # (N, w) each
        table = self.states[idx]                            # (N, w, 6)
        if self.interpolation == "LAGRANGE":
            return np.einsum("nw,nwc->nc", L, table)
        # Hermite basis (e.g. Burden & Faires, Numerical Analysis, sec. 3.4) from the Lagrange one:
        # H_k = (1 - 2 (u - x_k) l_k'(x_k)) l_k^2,  K_k = (u - x_k) l_k^2
        diff = x[:, :, None] - x[:, None, :]
        np.einsum("nii->ni", diff)[...] = np.inf            # drop k = j from the sum below
        slope = np.sum(1.0 / diff, axis=2)                  # l_k'(x_k)
        du = u - x
        a = 1.0 - 2.0 * du * slope
        L2 = L * L
        H, K = a * L2, du * L2
        dH = -2.0 * slope * L2 + 2.0 * a * L * dL
        dK = L2 + 2.0 * du * L * dL
        pos, vel = table[:, :, :3], table[:, :, 3:] * h[:, :, None]
        p = np.einsum("nw,nwc->nc", H, pos) + np.einsum("nw,nwc->nc", K, vel)
        if self.accelerations is not None:
            acc = self.accelerations[idx] * h[:, :, None]
            v = np.einsum("nw,nwc->nc", H, table[:, :, 3:]) + np.einsum("nw,nwc->nc", K, acc)
        else:
            v = (np.einsum("nw,nwc->nc", dH, pos) + np.einsum("nw,nwc->nc", dK, vel)) / h
        return np.hstack([p, v])


def _lagrange_basis(x, u):
    """Lagrange basis l_j(u) over nodes x (N, w) at u (N, 1), and d l_j/du, without dividing by u - x_j
    (exact at the nodes): numerators from prefix and suffix products of (u - x_k). Worked node by node on
    (w, N) arrays, so each step runs over contiguous memory."""
    n, w = x.shape
    xt = np.ascontiguousarray(x.T)                          # (w, N)
    d = u[:, 0] - xt                                        # (w, N)
    pre = np.empty((w, n))
    dpre = np.empty((w, n))
    suf = np.empty((w, n))
    dsuf = np.empty((w, n))
    pre[0], dpre[0], suf[w - 1], dsuf[w - 1] = 1.0, 0.0, 1.0, 0.0
    for j in range(1, w):
        pre[j] = pre[j - 1] * d[j - 1]
        dpre[j] = dpre[j - 1] * d[j - 1] + pre[j - 1]
        k = w - 1 - j
        suf[k] = suf[k + 1] * d[k + 1]
        dsuf[k] = dsuf[k + 1] * d[k + 1] + suf[k + 1]
    denom = np.ones((w, n))
    for j in range(w):
        for k in range(w):
            if k != j:
                denom[j] *= xt[j] - xt[k]
    return (pre * suf / denom).T, ((dpre * suf + pre * dsuf) / denom).T


class TabulatedEphemeris(Ephemeris):
    """An ephemeris made of one or more tabulated segments (e.g. the segments of a CCSDS OEM)."""

    def __init__(self, name: str, segments, frame: str = "EME2000", source: str = ""):
        segs = list(segments)
        if not segs:
            raise ValueError(f"{name}: a tabulated ephemeris needs at least one segment")
        # order by useable start; a stable sort keeps file order for equal starts (later one wins)
        segs.sort(key=lambda s: s.useable_start_tdb_s)
        self.name = name
        self.frame = frame
        self.segments = segs
        self.source = source or (segs[0].source if segs else name)
        self._starts = np.array([s.useable_start_tdb_s for s in segs])
        self._stops = np.array([s.useable_stop_tdb_s for s in segs])
        self._coverage = float(self._starts.min()), float(self._stops.max())
        self._boundaries = None

    @property
    def coverage(self) -> tuple[float, float]:
        return self._coverage

    def _segment_index(self, t: np.ndarray) -> np.ndarray:
        """Index of the segment supplying each epoch (the latest one starting at or before it)."""
        k = np.searchsorted(self._starts, t, side="right") - 1
        k = np.clip(k, 0, len(self.segments) - 1)
        inside = (t >= self._starts[k]) & (t <= self._stops[k])
        # an epoch past a segment's stop may still be inside an earlier, longer (overlapping) segment
        for j in np.flatnonzero(~inside):
            cand = np.flatnonzero((self._starts <= t[j]) & (self._stops >= t[j]))
            k[j] = cand[-1] if cand.size else -1
        return k

    def _state(self, tdb_s: np.ndarray) -> np.ndarray:
        k = self._segment_index(tdb_s)
        if np.any(k < 0):
            bad = tdb_s[k < 0][0]
            raise CoverageError(f"{self.name}: epoch {utc_label(bad)} falls in a gap between segments")
        out = np.empty((tdb_s.size, 6))
        for j in np.unique(k):
            sel = k == j
            out[sel] = self.segments[j].state(tdb_s[sel])
        return out

    def sample(self, tdb_s) -> np.ndarray:
        """``state``, through the compiled LAGRANGE kernel where it applies (see the module docstring)."""
        t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
        start, stop = self._coverage
        if not (t.size and start <= t.min() and t.max() <= stop):  # (NaN fails too)
            return self.state(t)  # raises its CoverageError (or: no epochs)
        if len(self.segments) == 1:
            return self.segments[0].sample(t)
        k = self._segment_index(t)
        if np.any(k < 0):
            return self.state(t)  # raises: a gap between segments
        out = np.empty((t.size, 6))
        for j in np.unique(k):
            sel = k == j
            out[sel] = self.segments[j].sample(t[sel])
        return out

    @staticmethod
    def sample_all(ephemerides, tdb_s, out=None) -> np.ndarray:
        """(K,N,6) (into OUT when given): every one of EPHEMERIDES at the same epochs, as ``sample`` gives them;
        the ones made of a single LAGRANGE table on one common grid of epochs (deliveries on one 60 s grid, say)
        share the basis weights, computed once."""
        t = np.atleast_1d(np.asarray(tdb_s, dtype=np.float64))
        if out is None:
            out = np.empty((len(ephemerides), t.size, 6))
        shared = {}  # (first epoch, last epoch, size, window) -> [(k, segment)]
        for k, eph in enumerate(ephemerides):
            seg = eph.segments[0] if len(eph.segments) == 1 else None
            start, stop = eph.coverage
            if seg is None or not seg.compiled() or not (t.size and start <= t.min() and t.max() <= stop):
                out[k] = eph.sample(t)
                continue
            e = seg.epochs_tdb_s
            shared.setdefault((e[0], e[-1], e.size, seg.window), []).append((k, seg))
        for group in shared.values():
            done = []  # (epochs, weights) of this group's distinct grids
            for k, seg in group:
                weights = next((wts for epochs, wts in done
                                if epochs is seg.epochs_tdb_s or np.array_equal(epochs, seg.epochs_tdb_s)), None)
                if weights is None:
                    weights = seg.lagrange_weights(t)
                    done.append((seg.epochs_tdb_s, weights))
                seg.apply_weights(weights, out[k])
        return out

    @staticmethod
    def states_each(ephemerides, tdb_s) -> np.ndarray:
        """(K,6): ephemerides[k] (TabulatedEphemeris) at tdb_s[k], with one ``sample`` call per object."""
        t = np.asarray(tdb_s, dtype=np.float64)
        out = np.empty((t.size, 6))
        groups: dict[int, list[int]] = {}
        for k, eph in enumerate(ephemerides):
            groups.setdefault(id(eph), []).append(k)
        for rows in groups.values():
            out[rows] = ephemerides[rows[0]].sample(t[rows])
        return out

    def segment_boundaries(self) -> np.ndarray:
        if self._boundaries is None:  # asked per screening and per refined candidate: computed once
            self._boundaries = np.unique(np.concatenate([self._starts[1:], self._stops[:-1]]))
            self._boundaries.flags.writeable = False
        return self._boundaries

    def source_at(self, tdb_s: float) -> str:
        k = int(self._segment_index(np.atleast_1d(float(tdb_s)))[0])
        if k < 0:
            return self.source
        return self.segments[k].source or self.source
