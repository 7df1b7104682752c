"""Render themes: the workstation look and the high-contrast projector (briefing) look.

Default object colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies; Okabe & Ito 2008), used when a scenario gives none.
"""

from __future__ import annotations

from dataclasses import dataclass

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#FFFFFF")


@dataclass(frozen=True)
class RenderTheme:
    name: str
    background: str
    text: str
    text_dim: str
    label_font_pt: float
    overlay_font_pt: float
    clock_font_pt: float
    marker_px: float
    line_width_px: float
    feature_label_color: str
    ambient: float  # light floor on the night side (0..1) so the disc never goes black on a projector


WORKSTATION = RenderTheme("workstation", background="#05070c", text="#e8e8e8", text_dim="#9aa3b2",
                          label_font_pt=8.0, overlay_font_pt=9.0, clock_font_pt=12.0, marker_px=9.0,
                          line_width_px=1.5, feature_label_color="#f3e6cf", ambient=0.22)
# projector: pure black background, white text (contrast 21:1), bigger type and thicker lines for the
# back of a room on a washed-out projector
PROJECTOR = RenderTheme("projector", background="#000000", text="#ffffff", text_dim="#ffffff",
                        label_font_pt=16.0, overlay_font_pt=16.0, clock_font_pt=24.0, marker_px=16.0,
                        line_width_px=3.0, feature_label_color="#ffffff", ambient=0.32)
THEMES = {t.name: t for t in (WORKSTATION, PROJECTOR)}


def theme_named(name: str) -> RenderTheme:
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme {name!r} (choose {' or '.join(THEMES)})") from None


def default_color(index: int) -> str:
    return OKABE_ITO[index % len(OKABE_ITO)]
