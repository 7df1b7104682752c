"""Curvilinear coordinates about a reference orbit: q = (rho, theta, z, v_rho, v_theta, v_z).

Cylindrical about the reference's orbit normal h, with theta measured from the reference position: e1 = r/|r|,
e2 = h x e1. A burn's main effect on an orbit is a phase drift theta that grows ~3 dv/v per radian, and a
Cartesian expansion of sin(theta) is wrong by a*theta^3/6 (tens of km after a week); in q the response to a
small dv is nearly linear. Maneuver planning (core.planning's live preview, core.planning_trade's trade space
and solver) expands the planned trajectory in q and converts back exactly.

States are (...,6) [km, km/s] in one inertial frame; the reference states broadcast against them.
"""

from __future__ import annotations

import numpy as np


def reference_basis(x0):
    """Per-epoch reference basis of (...,6) states: e1 = r/|r|, e2 = h x e1, h = orbit normal."""
    r0, v0 = x0[..., :3], x0[..., 3:]
    e1 = r0 / np.linalg.norm(r0, axis=-1, keepdims=True)
    h = np.cross(r0, v0)
    h /= np.linalg.norm(h, axis=-1, keepdims=True)
    return e1, np.cross(h, e1), h


def to_curvilinear(x, x0):
    """States x (...,6) -> q = (rho, theta, z, v_rho, v_theta, v_z) about reference states x0 (broadcastable)."""
    e1, e2, h = reference_basis(x0)
    r, v = x[..., :3], x[..., 3:]
    X, Y, z = (np.sum(r * e, axis=-1) for e in (e1, e2, h))
    theta = np.arctan2(Y, X)
    c, s = np.cos(theta)[..., None], np.sin(theta)[..., None]
    rho_hat, theta_hat = c * e1 + s * e2, c * e2 - s * e1
    return np.stack([np.hypot(X, Y), theta, z, np.sum(v * rho_hat, axis=-1), np.sum(v * theta_hat, axis=-1),
                     np.sum(v * h, axis=-1)], axis=-1)


def from_curvilinear(q, x0):
    """Inverse of ``to_curvilinear``."""
    e1, e2, h = reference_basis(x0)
    c, s = np.cos(q[..., 1:2]), np.sin(q[..., 1:2])
    rho_hat, theta_hat = c * e1 + s * e2, c * e2 - s * e1
    r = q[..., 0:1] * rho_hat + q[..., 2:3] * h
    v = q[..., 3:4] * rho_hat + q[..., 4:5] * theta_hat + q[..., 5:6] * h
    return np.concatenate([r, v], axis=-1)
