"""Mars (and the moons) as lit, textured ellipsoid meshes oriented by the IAU 2015 rotation model.

The scene's axes are the display frame chosen by the view (MCI or IAU_MARS, see ``scene.py``); a globe's
mesh is built in its body-fixed frame and placed with a 4x4 matrix (rotation body-fixed -> display, then
the translation to its centre relative to the camera focus). The Sun's direction sets the directional light,
so the day/night terminator is where the Sun puts it.
"""

from __future__ import annotations

import numpy as np
from vispy import scene
from vispy.visuals.filters import ShadingFilter, TextureFilter
from vispy.visuals.transforms import MatrixTransform

from marsview.core import constants as C


def ellipsoid_mesh(radii_km, n_lat: int = 96, n_lon: int = 192):
    """UV ellipsoid: vertices (km, body-fixed), faces, texture coordinates (u from -180 E, v from +90 N).

    The seam column is duplicated so the texture wraps without a smeared strip.
    """
    a, b, c = radii_km
    lat = np.radians(np.linspace(90.0, -90.0, n_lat + 1))
    lon = np.radians(np.linspace(-180.0, 180.0, n_lon + 1))
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    verts = np.stack([a * np.cos(la) * np.cos(lo), b * np.cos(la) * np.sin(lo), c * np.sin(la)], axis=-1)
    u = (np.degrees(lo) + 180.0) / 360.0
    v = (90.0 - np.degrees(la)) / 180.0
    tex = np.stack([u, v], axis=-1).reshape(-1, 2)
    idx = np.arange((n_lat + 1) * (n_lon + 1)).reshape(n_lat + 1, n_lon + 1)
    q0, q1 = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    q2, q3 = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([q0, q2, q1], 1), np.stack([q1, q2, q3], 1)])
    return verts.reshape(-1, 3).astype(np.float32), faces.astype(np.uint32), tex.astype(np.float32)


def placement_matrix(rotation_body_to_display, centre_rel_focus_km) -> np.ndarray:
    """vispy 4x4 (row-vector convention: p' = p @ M) for rotate-then-translate."""
    m = np.eye(4)
    m[:3, :3] = np.asarray(rotation_body_to_display).T
    m[3, :3] = centre_rel_focus_km
    return m


class GlobeAdapter:
    """A textured, Sun-lit ellipsoid. ``update(rotation, centre_rel_focus_km, sun_dir_display)`` per frame."""

    def __init__(self, parent, radii_km, texture_rgb: np.ndarray, name: str = "Mars",
                 n_lat: int = 48, n_lon: int = 96, ambient: float = 0.12):
        verts, faces, tex = ellipsoid_mesh(radii_km, n_lat, n_lon)
        self.name = name
        self.radii_km = tuple(float(r) for r in radii_km)
        self.mesh = scene.visuals.Mesh(vertices=verts, faces=faces, color="white", parent=parent)
        self.mesh.transform = MatrixTransform()
        self._texcoords = tex
        self._full_texture = np.ascontiguousarray(texture_rgb)
        self._texture_step = 1
        self.texture_filter = TextureFilter(self._full_texture, tex)
        self.mesh.attach(self.texture_filter)
        self.shading = ShadingFilter(shading="smooth", ambient_light=(1, 1, 1, ambient),
                                     diffuse_light=(1, 1, 1, 1.0), specular_light=(1, 1, 1, 0.0),
                                     light_dir=(1, 0, 0))
        self.mesh.attach(self.shading)
        self.mesh.set_gl_state("opaque", depth_test=True, cull_face=True)
        self.mesh.order = -10  # drawn first: lines and markers behind it are depth-tested away

    def set_texture(self, texture_rgb: np.ndarray) -> None:
        self._full_texture = np.ascontiguousarray(texture_rgb)
        self._texture_step = 1
        self.texture_filter.texture = self._full_texture
        self.mesh.update()

    def set_detail(self, disc_diameter_px: float) -> None:
        """Upload a texture matched to the disc's size on screen: a 2x2 or 4x4 box-filtered copy while the disc
        is small (the full map's texels would be skipped anyway, and without mipmaps a 2048-texel map costs
        llvmpipe several ms a frame in cache misses), the full map once the view is close. Re-uploads only when
        the level changes."""
        full = self._full_texture
        step = 1
        while step < 4 and full.shape[1] // (2 * step) >= 2.5 * max(disc_diameter_px, 1.0) \
                and full.shape[0] % (2 * step) == 0 and full.shape[1] % (2 * step) == 0:
            step *= 2
        if step == self._texture_step:
            return
        self._texture_step = step
        if step == 1:
            self.texture_filter.texture = full
        else:
            h, w, c = full.shape
            box = full.reshape(h // step, step, w // step, step, c).mean(axis=(1, 3))
            self.texture_filter.texture = np.ascontiguousarray((box + 0.5).astype(np.uint8))
        self.mesh.update()

    def set_lit(self, lit: bool) -> None:
        self.shading.enabled = lit
        self.mesh.update()

    def update(self, rotation_body_to_display, centre_rel_focus_km, sun_dir_display) -> None:
        self.mesh.transform.matrix = placement_matrix(rotation_body_to_display, centre_rel_focus_km)
        # vispy's light_dir is the direction the photons travel (Sun -> planet), in scene axes; the Sun
        # moves 0.5 deg/day, so re-upload only when it moved by more than ~0.01 deg (saves a shader update)
        light = -np.asarray(sun_dir_display, dtype=float)
        if np.max(np.abs(light - np.asarray(self.shading.light_dir, dtype=float))) > 2e-4:
            self.shading.light_dir = tuple(light)
        self.mesh.update()

    @property
    def visible(self) -> bool:
        return self.mesh.visible

    @visible.setter
    def visible(self, value: bool) -> None:
        self.mesh.visible = bool(value)


MARS_RADII_KM = (C.RADIUS_EQUATORIAL_KM, C.RADIUS_EQUATORIAL_KM, C.RADIUS_POLAR_KM)


def moon_texture(base_rgb=(0.45, 0.42, 0.40), size=(64, 128), seed: int = 401) -> np.ndarray:
    """Grey cratered-looking texture for Phobos/Deimos (schematic)."""
    from .texture import fractal_noise

    n = fractal_noise(size[0], size[1], seed=seed, octaves=5)
    rgb = np.asarray(base_rgb, dtype=np.float32) * (1.0 + 0.35 * n[..., None])
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
