"""Blending that leaves the framebuffer's alpha where the clear put it (1.0: the view is opaque).

vispy's Qt widget repairs the alpha channel after every frame with a full-screen masked clear, because a
visual blended with a plain ``(src_alpha, one_minus_src_alpha)`` lowers the destination alpha and the window
would show through where it drew. Every visual of the view blends colour as usual and keeps the destination
alpha (``zero, one``: vispy's "translucent" preset), so images read back with alpha are opaque and the repair
pass has nothing to repair (``tests/render/test_scene.py`` reads the alpha back). The view still runs that pass:
skipping it means replacing the widget's paintGL from Python, which crashed the app at exit in 1 run of 4.
"""

from __future__ import annotations

KEEP_ALPHA_BLEND_FUNC = ("src_alpha", "one_minus_src_alpha", "zero", "one")


def keep_destination_alpha(*visuals) -> None:
    """Make VISUALS blend their colour over the frame without touching its alpha channel."""
    for visual in visuals:
        visual.update_gl_state(blend=True, blend_func=KEEP_ALPHA_BLEND_FUNC)
