"""All the 3D view's screen text (object and feature labels, the caption, the clock) in one vispy Text draw.

vispy's TextVisual costs ~0.7 ms of Python per draw whatever it shows (transforms, uniforms, GLIR), and it has
one font size and one anchor per visual, so the view needed three of them. ``TextBatch`` keeps vispy's
signed-distance-field glyphs and shaders and packs named *slots* of strings into one vertex buffer, each slot
with its own size, anchor, colours and positions:

- a glyph quad's offsets from its anchor are in units of the font size (``a_position`` times the ``u_npix``
  uniform), so a slot at S points is drawn at the batch's base size B by scaling its offsets by S / B;
- a slot whose strings change at the same lengths (the clock, every frame) re-sends only its own glyph
  vertices; moved labels re-send only their anchors; uniforms are sent when they change.

Slots are drawn in canvas pixels (y down), in the order they were first set. Positions are per string;
``set_visible(slot, False)`` parks the slot's strings outside the canvas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vispy import scene
from vispy.color import ColorArray
from vispy.gloo import IndexBuffer, VertexBuffer
from vispy.visuals.text import text as vispy_text

OFF_CANVAS_PX = -1.0e5


@dataclass
class _Slot:
    texts: list  # as given ("" allowed); glyphs are made for ``t or " "``
    font_pt: float
    anchor_x: str
    anchor_y: str
    rgba: np.ndarray  # (n, 4) float32
    pos: np.ndarray  # (n, 3) float32, canvas pixels
    visible: bool = True
    vertices: np.ndarray | None = None  # glyph quads at the batch's base size
    first_vertex: int = 0
    glyphs_stale: bool = True
    pos_stale: bool = True
    color_stale: bool = True

    def counts(self) -> tuple:
        return tuple(len(t or " ") for t in self.texts)


class TextBatch(scene.visuals.Text):
    """One scene Text node holding named slots of screen-space strings (see the module docstring)."""

    def __init__(self, parent=None):
        super().__init__(" ", parent=parent, anchor_x="left", anchor_y="center", font_size=12.0)
        self.unfreeze()
        self._slots: dict[str, _Slot] = {}
        self._base_pt = None
        self._packed_counts = None  # per slot, per string glyph counts of the current buffers
        self._pos_vbo = self._color_vbo_all = None
        self._sent_uniforms: dict = {}
        self.freeze()

    # --- slots ---------------------------------------------------------------------------------------------
    def set_slot(self, name: str, texts, font_pt: float, anchor_x: str = "left", anchor_y: str = "center",
                 color="white", pos=None) -> None:
        """Create or restyle slot NAME. TEXTS: list of strings; COLOR: one colour or one per string;
        POS: (n, 2|3) canvas pixels or None (keep, or park new strings outside the canvas)."""
        texts = [str(t) for t in texts]
        rgba = ColorArray(color).rgba.astype(np.float32)
        if len(rgba) != len(texts):
            rgba = np.repeat(rgba[:1], len(texts), axis=0)
        old = self._slots.get(name)
        if pos is None:
            pos = (old.pos if old is not None and len(old.pos) == len(texts)
                   else np.full((len(texts), 3), OFF_CANVAS_PX, np.float32))
        slot = _Slot(texts, float(font_pt), anchor_x, anchor_y, rgba, _as_pos3(pos, len(texts)),
                     visible=old.visible if old is not None else True,
                     first_vertex=old.first_vertex if old is not None else 0)  # where it sits until a re-pack
        if old is not None and old.counts() == slot.counts() and old.texts == slot.texts and \
                (old.font_pt, old.anchor_x, old.anchor_y) == (slot.font_pt, slot.anchor_x, slot.anchor_y):
            slot.vertices, slot.glyphs_stale = old.vertices, False
            slot.color_stale = not np.array_equal(old.rgba, slot.rgba)
            slot.pos_stale = not np.array_equal(old.pos, slot.pos)
        self._slots[name] = slot
        self.update()

    def set_texts(self, name: str, texts) -> None:
        """New strings for slot NAME, style kept (in place when the lengths are unchanged)."""
        slot = self._slots[name]
        texts = [str(t) for t in texts]
        if texts == slot.texts:
            return
        if len(texts) != len(slot.texts):
            raise ValueError(f"slot {name!r} holds {len(slot.texts)} strings, not {len(texts)}: use set_slot")
        slot.texts = texts
        slot.glyphs_stale = True
        self.update()

    def set_positions(self, name: str, pos) -> None:
        slot = self._slots[name]
        pos = _as_pos3(pos, len(slot.texts))
        if not np.array_equal(pos, slot.pos):
            slot.pos = pos
            slot.pos_stale = True
            self.update()

    def set_visible(self, name: str, visible: bool) -> None:
        slot = self._slots[name]
        if slot.visible != bool(visible):
            slot.visible = bool(visible)
            slot.pos_stale = True
            self.update()

    def texts(self, name: str) -> list:
        return list(self._slots[name].texts)

    def font_pt(self, name: str) -> float:
        return self._slots[name].font_pt

    # --- drawing ---------------------------------------------------------------------------------------------
    def _prepare_draw(self, view):
        slots = [s for s in self._slots.values() if s.texts]
        if not slots:
            return False
        base_pt = min(s.font_pt for s in slots)
        if base_pt <= 0.0:
            return False
        if base_pt != self._base_pt:  # every slot's offsets are relative to the base size
            self._base_pt = base_pt
            for s in slots:
                s.glyphs_stale = True
        new_glyphs = False
        for s in slots:
            if s.glyphs_stale:
                s.vertices = self._glyph_vertices(s, base_pt)
                new_glyphs = True
        counts = tuple(s.counts() for s in slots)
        if counts != self._packed_counts or self._vertices is None:
            self._pack(slots, counts)
        else:
            for s in slots:
                if s.glyphs_stale:
                    self._vertices.set_subdata(s.vertices, offset=s.first_vertex)
                if s.pos_stale:
                    self._pos_vbo.set_subdata(_per_vertex(s.pos if s.visible else _parked(s), s), offset=s.first_vertex)
                if s.color_stale:
                    self._color_vbo_all.set_subdata(_per_vertex(s.rgba, s), offset=s.first_vertex)
        for s in slots:
            s.glyphs_stale = s.pos_stale = s.color_stale = False
        if new_glyphs:
            self._configure_gl_state()  # as vispy does: a new glyph's distance-field pass changes the GL state

        transforms = self.transforms
        tr = transforms.get_transform("document", "render")
        unit_x, unit_y = tr.map(np.array([[1.0, 0.0], [0.0, 1.0]]))  # one map call: each costs ~20 us
        px_scale = (unit_x - unit_y)[:2]
        self._set_uniform("u_npix", base_pt / 72.0 * transforms.dpi)
        self._set_uniform("u_px_scale", tuple(float(x) for x in px_scale))
        self._set_uniform("u_scaling", False)
        self._set_uniform("u_kernel", self._font._kernel)
        self._set_uniform("u_font_atlas", self._font._atlas)
        self._set_uniform("u_font_atlas_shape", tuple(self._font._atlas.shape[:2]))
        return True

    def _set_uniform(self, name, value) -> None:
        if self._sent_uniforms.get(name, _UNSET) is not value and self._sent_uniforms.get(name, _UNSET) != value:
            self.shared_program[name] = value
            self._sent_uniforms[name] = value

    def _prepare_transforms(self, view):
        view.view_program.vert["transform"] = view.transforms.get_transform()

    def _glyph_vertices(self, slot: _Slot, base_pt: float) -> np.ndarray:
        font = self._font
        data = np.concatenate([_loaded_line_vertices(t or " ", font, slot.anchor_x, slot.anchor_y)
                               if _is_loaded_line(t or " ", font) else
                               vispy_text._text_to_vbo(t or " ", font, slot.anchor_x, slot.anchor_y,
                                                       font._lowres_size, self._line_height)
                               for t in slot.texts])
        data["a_position"] *= slot.font_pt / base_pt
        return data

    def _pack(self, slots, counts) -> None:
        first = 0
        for s in slots:
            s.first_vertex = first
            first += len(s.vertices)
        vertices = np.concatenate([s.vertices for s in slots])
        self._vertices_data = vertices
        self._vertices = VertexBuffer(vertices)
        n_char = len(vertices) // 4
        idx = np.array([0, 1, 2, 0, 2, 3], np.uint32) + np.arange(0, 4 * n_char, 4, dtype=np.uint32)[:, None]
        self._index_buffer = IndexBuffer(idx.ravel())
        self.shared_program.bind(self._vertices)
        self.shared_program["a_rotation"] = np.zeros(len(vertices), np.float32)
        self._pos_vbo = VertexBuffer(np.concatenate([_per_vertex(s.pos if s.visible else _parked(s), s)
                                                     for s in slots]))
        self.shared_program["a_pos"] = self._pos_vbo
        self._color_vbo_all = VertexBuffer(np.concatenate([_per_vertex(s.rgba, s) for s in slots]))
        self.shared_program.vert["color"] = self._color_vbo_all
        self._packed_counts = counts


_UNSET = object()
_VERTICAL_PROBE = "ÅÉÑŐjgpqy"  # vispy measures a line's ascender and descender on these as well
_TEXT_VTYPE = np.dtype([("a_position", np.float32, 2), ("a_texcoord", np.float32, 2)])  # vispy's


def _is_loaded_line(text: str, font) -> bool:
    """True when TEXT is one line (no control characters) of glyphs FONT has already rendered."""
    glyphs = font._glyphs
    return all(c in glyphs and c >= " " for c in text) and all(c in glyphs for c in _VERTICAL_PROBE)


def _loaded_line_vertices(text: str, font, anchor_x: str, anchor_y: str) -> np.ndarray:
    """vispy's ``_text_to_vbo`` for a one-line string of already rendered glyphs, the same float operations in
    the same order (the result is bit-identical; tests/render/test_draw_uploads checks it), without what costs
    there: per-glyph numpy slice writes, a GLIR flush and a viewport save/restore a string. The clock is laid
    out again every frame."""
    glyphs = font._glyphs
    ratio, slop = 1.0 / font.ratio, font.slop
    ascender = descender = 0
    for char in _VERTICAL_PROBE:
        glyph = glyphs[char]
        y0 = glyph["offset"][1] * ratio + slop
        y1 = y0 - glyph["size"][1]
        ascender = max(ascender, y0 - slop)
        descender = min(descender, y1 + slop)
    positions, texcoords = [], []
    x_off, width, prev = -slop, 0, None
    for char in text:
        glyph = glyphs[char]
        kerning = glyph["kerning"].get(prev, 0.0) * ratio
        x0 = x_off + glyph["offset"][0] * ratio + kerning
        y0 = glyph["offset"][1] * ratio + slop  # vispy subtracts the line offset: 0 on one line
        x1 = x0 + glyph["size"][0]
        y1 = y0 - glyph["size"][1]
        u0, v0, u1, v1 = glyph["texcoords"]
        positions += [[x0, y0], [x0, y1], [x1, y1], [x1, y0]]
        texcoords += [[u0, v0], [u0, v1], [u1, v1], [u1, v0]]
        x_move = glyph["advance"] * ratio + kerning
        x_off += x_move
        ascender = max(ascender, y0 - slop)
        descender = min(descender, y1 + slop)
        width += x_move
        prev = char
    vertices = np.zeros(len(text) * 4, dtype=_TEXT_VTYPE)
    vertices["a_position"] = positions
    vertices["a_texcoord"] = texcoords
    dx = dy = 0
    if anchor_y == "top":
        dy = -descender
    elif anchor_y in ("center", "middle"):
        dy = (-descender - ascender) / 2
    elif anchor_y == "bottom":
        dy = -ascender
    if anchor_x == "right":
        dx = -width
    elif anchor_x == "center":
        dx = -width / 2.0
    vertices["a_position"] += (dx, dy)
    vertices["a_position"] /= font._lowres_size
    return vertices


def _as_pos3(pos, n: int) -> np.ndarray:
    p = np.asarray(pos, dtype=np.float32).reshape(n, -1)
    if p.shape[1] == 2:
        p = np.concatenate([p, np.zeros((n, 1), np.float32)], axis=1)
    return np.ascontiguousarray(p[:, :3])


def _parked(slot: _Slot) -> np.ndarray:
    return np.full_like(slot.pos, OFF_CANVAS_PX)


def _per_vertex(per_string: np.ndarray, slot: _Slot) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(per_string, [4 * c for c in slot.counts()], axis=0), dtype=np.float32)
