"""The vectorized glyph loading produces vispy's own bitmaps (text looks exactly the same, only sooner)."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.render import fonts


def test_install_swaps_in_the_fast_steps():
    import vispy.visuals.text.text as text

    assert fonts.install()
    assert text._load_glyph is fonts._load_glyph_fast
    assert fonts.install()  # idempotent


@pytest.mark.parametrize("char", ["A", "g", "7", "·", " "])
def test_glyph_bitmaps_match_vispy(char):
    import vispy.util.fonts._freetype as ft

    original_load = fonts.originals.get("load_glyph", ft._load_glyph)
    assert original_load is not fonts._load_glyph_fast
    font = dict(face="OpenSans", bold=False, italic=False, size=64)
    a, b = {}, {}
    original_load(font, char, a)
    fonts._load_glyph_fast(font, char, b)
    assert np.array_equal(a[char]["bitmap"], b[char]["bitmap"])
    assert a[char]["offset"] == b[char]["offset"] and a[char]["advance"] == b[char]["advance"]
