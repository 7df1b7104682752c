"""Mars (and the moons) as lit, textured ellipsoid meshes oriented by the IAU 2015 rotation model.

The scene's axes are the display frame chosen by the view (MCI or IAU_MARS, see ``scene.py``); a globe's
mesh is built in its body-fixed frame and placed with a 4x4 matrix (rotation body-fixed -> display, then
the translation to its centre relative to the camera focus). The Sun's direction sets the directional light,
so the day/night terminator is where the Sun puts it.
"""

from __future__ import annotations

import numpy as np
from vispy import gloo
from vispy.gloo import IndexBuffer, Texture2D, VertexBuffer
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

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


_GLOBE_VERTEX = """
attribute vec3 a_position;   // body-fixed, km
attribute vec3 a_normal;     // body-fixed outward ellipsoid normal (unit)
attribute vec2 a_texcoord;
uniform mat4 u_placement;    // body-fixed -> scene (rotation, then the centre): a uniform, not a node transform
uniform vec3 u_sun_body;     // unit vector to the Sun in the body frame (a plain uniform: no template events)
varying vec2 v_texcoord;
varying float v_sun;         // cosine of the Sun's zenith angle at the vertex
void main() {
    v_texcoord = a_texcoord;
    v_sun = dot(a_normal, u_sun_body);
    gl_Position = $transform(u_placement * vec4(a_position, 1.0));
}
"""

# colour = texture * (ambient + max(cos(zenith), 0)), the Lambert model vispy's ShadingFilter applies with no
# specular term; flat lighting = the texture alone
_GLOBE_FRAGMENT = """
varying vec2 v_texcoord;
varying float v_sun;
void main() {
    vec3 base = texture2D($texture, v_texcoord).rgb;
    float light = $lit > 0.5 ? $ambient + max(v_sun, 0.0) : 1.0;
    gl_FragColor = vec4(base * light, 1.0);
}
"""


class GlobeVisual(Visual):
    """A textured ellipsoid lit by the Sun, drawn indexed with a two-line shader.

    vispy's MeshVisual unrolls every face into its own three vertices and runs the generic filter chain per
    vertex and fragment; for a 48 x 96 globe that is 27,648 vertices a frame, which under llvmpipe (whose
    vertex stage is single-threaded) cost more than every other visual together. Here the 4,753 shared
    vertices go up once, the light is a direction in the body frame (so the Sun and the rotation change one
    uniform, not the normals), and the fragment stage is one texture read and one multiply-add.
    """

    def __init__(self, vertices_km, normals, faces, texcoords, texture_rgb, ambient: float = 0.12):
        Visual.__init__(self, vcode=_GLOBE_VERTEX, fcode=_GLOBE_FRAGMENT)
        self._draw_mode = "triangles"
        self._index_buffer = IndexBuffer(np.ascontiguousarray(faces, dtype=np.uint32))
        self.shared_program["a_position"] = VertexBuffer(np.ascontiguousarray(vertices_km, dtype=np.float32))
        self.shared_program["a_normal"] = VertexBuffer(np.ascontiguousarray(normals, dtype=np.float32))
        self.shared_program["a_texcoord"] = VertexBuffer(np.ascontiguousarray(texcoords, dtype=np.float32))
        self._texture = Texture2D(np.ascontiguousarray(texture_rgb), interpolation="linear",
                                  wrapping="clamp_to_edge")
        self.shared_program.frag["texture"] = self._texture
        self.ambient = ambient
        self.lit = True
        self.sun_body = (1.0, 0.0, 0.0)
        self.placement = np.eye(4)

    def draw(self):
        super().draw()
        if self._vshare.gl_state.get("depth_mask", True) is False:
            # GL keeps the mask for what is drawn next and for the next frame's clear: a depth buffer that
            # is never cleared hides everything after one frame
            gloo.set_depth_mask(True)

    @property
    def placement(self) -> np.ndarray:
        """4x4 body-fixed -> scene, vispy's row-vector convention (``placement_matrix``). A uniform: a moving
        node transform would make vispy rebuild the visual's transform chain every frame."""
        return self._placement

    @placement.setter
    def placement(self, matrix) -> None:
        self._placement = np.array(matrix, dtype=np.float32)
        self.shared_program["u_placement"] = self._placement  # GLSL reads it column-major: p' = p @ M
        self.update()

    @property
    def ambient(self) -> float:
        return self._ambient

    @ambient.setter
    def ambient(self, value: float) -> None:
        self._ambient = float(value)
        self.shared_program.frag["ambient"] = self._ambient
        self.update()

    @property
    def lit(self) -> bool:
        return self._lit

    @lit.setter
    def lit(self, value: bool) -> None:
        self._lit = bool(value)
        self.shared_program.frag["lit"] = 1.0 if self._lit else 0.0
        self.update()

    @property
    def sun_body(self) -> tuple:
        return self._sun_body

    @sun_body.setter
    def sun_body(self, unit_vector) -> None:
        self._sun_body = tuple(float(x) for x in unit_vector)
        self.shared_program["u_sun_body"] = self._sun_body
        self.update()

    def set_texture(self, texture_rgb) -> None:
        self._texture.set_data(np.ascontiguousarray(texture_rgb))  # reallocates when the shape changes
        self.update()

    def _prepare_transforms(self, view):
        view.view_program.vert["transform"] = view.transforms.get_transform()


GlobeNode = create_visual_node(GlobeVisual)


def ellipsoid_normals(vertices_km, radii_km) -> np.ndarray:
    """Outward unit normals of the ellipsoid x^2/a^2 + y^2/b^2 + z^2/c^2 = 1 at VERTICES (the gradient)."""
    n = np.asarray(vertices_km, dtype=np.float64) / np.asarray(radii_km, dtype=np.float64) ** 2
    return (n / np.linalg.norm(n, axis=1, keepdims=True)).astype(np.float32)


class GlobeAdapter:
    """A textured, Sun-lit ellipsoid. ``update(rotation, centre_rel_focus_km, sun_dir_display)`` per frame."""

    def __init__(self, parent, radii_km, texture_rgb: np.ndarray, name: str = "Mars",
                 n_lat: int = 48, n_lon: int = 96, ambient: float = 0.12):
        verts, faces, tex = ellipsoid_mesh(radii_km, n_lat, n_lon)
        self.name = name
        self.radii_km = tuple(float(r) for r in radii_km)
        self._full_texture = np.ascontiguousarray(texture_rgb)
        self._texture_step = 1
        self.mesh = GlobeNode(verts, ellipsoid_normals(verts, radii_km), faces, tex, self._full_texture,
                              ambient=ambient, parent=parent)
        self.mesh.set_gl_state("opaque", depth_test=True, cull_face=True)
        self.mesh.order = -10  # drawn first: lines and markers behind it are depth-tested away
        self._pose = (None, None)
        self._overlays_in_front = False

    def set_overlays_in_front(self, on: bool) -> None:
        """ON: the body writes no depth, so every line and marker drawn after it shows over it (the encounter
        view of a moon: the miss line, the ellipses about its centre and its marker are inside the body)."""
        if bool(on) != self._overlays_in_front:
            self._overlays_in_front = bool(on)
            self.mesh.set_gl_state("opaque", depth_test=True, cull_face=True, depth_mask=not on)

    @property
    def ambient(self) -> float:
        return self.mesh.ambient

    @ambient.setter
    def ambient(self, value: float) -> None:
        if value != self.mesh.ambient:
            self.mesh.ambient = value

    def set_texture(self, texture_rgb: np.ndarray) -> None:
        self._full_texture = np.ascontiguousarray(texture_rgb)
        self._texture_step = 1
        self.mesh.set_texture(self._full_texture)

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
            self.mesh.set_texture(full)
        else:
            h, w, c = full.shape
            box = full.reshape(h // step, step, w // step, step, c).mean(axis=(1, 3))
            self.mesh.set_texture(np.ascontiguousarray((box + 0.5).astype(np.uint8)))

    def set_lit(self, lit: bool) -> None:
        self.mesh.lit = lit

    def update(self, rotation_body_to_display, centre_rel_focus_km, sun_dir_display) -> None:
        rot = np.asarray(rotation_body_to_display, dtype=float)
        centre = np.asarray(centre_rel_focus_km, dtype=float)
        if self._pose[0] is None or not (np.array_equal(rot, self._pose[0]) and np.array_equal(centre, self._pose[1])):
            self.mesh.placement = placement_matrix(rot, centre)
            self._pose = (rot.copy(), centre.copy())
        # the Sun in the body frame: one vec3 uniform carries both the Sun's motion and the body's rotation
        sun_body = rot.T @ np.asarray(sun_dir_display, dtype=float)
        sun_body /= np.linalg.norm(sun_body)
        if np.max(np.abs(sun_body - np.asarray(self.mesh.sun_body))) > 1e-6:
            self.mesh.sun_body = sun_body

    @property
    def visible(self) -> bool:
        return self.mesh.visible

    @visible.setter
    def visible(self, value: bool) -> None:
        if bool(value) != self.mesh.visible:
            self.mesh.visible = bool(value)


MARS_RADII_KM = (C.RADIUS_EQUATORIAL_KM, C.RADIUS_EQUATORIAL_KM, C.RADIUS_POLAR_KM)


def moon_texture(base_rgb=(0.45, 0.42, 0.40), size=(64, 128), seed: int = 401) -> np.ndarray:
    """Grey cratered-looking texture for Phobos/Deimos (schematic)."""
    from .texture import fractal_noise

    n = fractal_noise(size[0], size[1], seed=seed, octaves=5)
    rgb = np.asarray(base_rgb, dtype=np.float32) * (1.0 + 0.35 * n[..., None])
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
