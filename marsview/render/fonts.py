"""Faster text: a vectorized replacement for the slowest Python step of vispy's glyph loading, and a filter
kernel that is uploaded once instead of every frame.

vispy (0.14-0.17) converts each FreeType bitmap to a Python list (freetype-py's ``Bitmap.buffer``, one
Python object per pixel): ~1 s of marsview's start-up for the ~80 glyphs of the 3D view's labels. The
replacement reads the same bytes through a ctypes view (tests/render/test_fonts.py compares the glyphs
with vispy's own). The signed-distance-field step that follows is compiled code and stays as it is.

vispy's TextVisual passes its font's spatial-filter kernel to the shader as a numpy array on every draw, and
gloo answers an array given for a sampler by re-uploading the texture (glTexSubImage2D, 64 KiB, for every Text
visual, every frame), which also makes the driver wait for the draws still using it. The font's kernel is made
a Texture2D once (what gloo builds from the array the first time), so each draw only binds it.

``install()`` is idempotent and does nothing on vispy versions it was not checked against.
"""

from __future__ import annotations

import numpy as np

CHECKED_VISPY = ("0.14", "0.15", "0.16", "0.17")
_installed = False
originals: dict = {}  # vispy's own functions, kept for the equivalence tests


def _load_glyph_fast(f, char, glyphs_dict):
    """vispy.util.fonts._freetype._load_glyph with a zero-copy view of the FreeType bitmap."""
    from freetype import FT_LOAD_NO_AUTOHINT, FT_LOAD_NO_HINTING, FT_LOAD_RENDER
    from vispy.util.fonts._freetype import _load_font

    face = _load_font(f["face"], f["bold"], f["italic"])
    face.set_char_size(f["size"] * 64)
    face.load_char(char, FT_LOAD_RENDER | FT_LOAD_NO_HINTING | FT_LOAD_NO_AUTOHINT)
    bm = face.glyph.bitmap
    width, height = bm.width, bm.rows
    n = height * abs(bm.pitch)
    buf = np.ctypeslib.as_array(bm._FT_Bitmap.buffer, shape=(n,)).copy() if n else np.zeros(0, np.ubyte)
    w0 = buf.size // height if buf.size > 0 else 0
    bitmap = buf.reshape(height, w0)[:, :width].astype(np.ubyte)
    glyph = dict(char=char, offset=(face.glyph.bitmap_left, face.glyph.bitmap_top), bitmap=bitmap,
                 advance=face.glyph.advance.x / 64.0, kerning={})
    glyphs_dict[char] = glyph
    for other_char, other_glyph in glyphs_dict.items():
        glyph["kerning"][other_char] = face.get_kerning(other_char, char).x / 64.0
        other_glyph["kerning"][char] = face.get_kerning(char, other_char).x / 64.0


def _texture_font_init(self, font, renderer):
    from vispy.gloo import Texture2D

    originals["texture_font_init"](self, font, renderer)
    if isinstance(self._kernel, np.ndarray):  # one TextureFont per TextVisual, so one texture per canvas
        self._kernel = Texture2D(self._kernel)


def install() -> bool:
    """Swap in the vectorized steps (once). False when this vispy version was not checked."""
    global _installed
    if _installed:
        return True
    import vispy

    if not vispy.__version__.startswith(CHECKED_VISPY):
        return False
    import vispy.util.fonts as fonts
    import vispy.util.fonts._freetype as ft
    import vispy.visuals.text.text as text

    if not (hasattr(ft, "_load_glyph") and hasattr(text, "_load_glyph")):
        return False
    originals.update(load_glyph=ft._load_glyph, texture_font_init=text.TextureFont.__init__)
    ft._load_glyph = fonts._load_glyph = text._load_glyph = _load_glyph_fast
    text.TextureFont.__init__ = _texture_font_init
    _installed = True
    return True
