"""Screen-space label layout: every label of the 3D view (encounter, spacecraft, moons, surface features) is
placed in pixels each frame so that no two overlap, none is cut by the image edge, and the most important
ones win when there is no room (priority: selected encounter > spacecraft > moons > surface features).
A label is drawn only with its object: a point outside the frame or behind the camera gets none, so no name
floats at the edge without the thing it names (markers are GL points, which the GPU drops whole once their
centre leaves the viewport, however large the disc).

The layout is greedy in priority order: each label tries a few positions around its anchor (right, left,
above, below, then the diagonals) and takes the first whose box is inside the frame and clear of every
box already placed (markers included, so a label never covers another object's marker). A label that finds
no place is not drawn. Widths come from the same font file vispy draws with (OpenSans advances via
FreeType), with a small margin, so the boxes enclose the drawn ink (tests/render/test_labels.py checks this
on rendered pixels).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

PRIORITY_ENCOUNTER, PRIORITY_SPACECRAFT, PRIORITY_MOON, PRIORITY_FEATURE = 0, 1, 2, 3
FONT_FACE = "OpenSans"
WIDTH_MARGIN = 1.06  # kerning and SDF edge softness
HALF_HEIGHT_EM = 0.72  # vispy centres on the ascender/descender of 'ÅÉÑŐjgpqy' (~1.35 em) plus margin
EDGE_PAD_PX = 4.0


@lru_cache(maxsize=512)
def _advance_em(char: str) -> float:
    """Horizontal advance of CHAR in ems, from the font vispy renders labels with."""
    from vispy.util.fonts._freetype import _load_font  # vispy's loader: the same file, cached face

    face = _load_font(FONT_FACE, False, False)
    face.set_char_size(64 * 64)
    face.load_char(char)
    return face.glyph.advance.x / 64.0 / 64.0


@lru_cache(maxsize=1024)
def text_width_em(text: str) -> float:
    return WIDTH_MARGIN * sum(_advance_em(c) for c in text)


@dataclass
class LabelRequest:
    text: str
    anchor_px: tuple[float, float]  # canvas pixels, y down
    priority: int
    marker_radius_px: float = 0.0


@dataclass
class PlacedLabel:
    index: int  # into the request list
    text: str
    x_px: float  # left edge of the text (vispy anchor_x="left")
    y_px: float  # vertical centre (vispy anchor_y="center")
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 (pixels, y down)


def layout_labels(requests: list[LabelRequest], width_px: float, height_px: float, em_px: float,
                  obstacles_px=()) -> list[PlacedLabel]:
    """Place REQUESTS (greedy, by priority then order) inside a WIDTH x HEIGHT frame; EM_PX is the font's
    em in pixels; OBSTACLES_PX are extra boxes no label may cover (e.g. the clock and the caption)."""
    placed: list[PlacedLabel] = []
    boxes = np.zeros((len(requests) * 2 + len(obstacles_px), 4))
    n = 0
    for box in obstacles_px:
        boxes[n] = box
        n += 1
    own_marker_row = {}  # request index -> the row of its marker box
    for i, req in enumerate(requests):  # markers are obstacles for every label but their own
        if req.marker_radius_px > 0:
            x, y = req.anchor_px
            r = req.marker_radius_px
            boxes[n] = (x - r, y - r, x + r, y + r)
            own_marker_row[i] = n
            n += 1
    half_h = HALF_HEIGHT_EM * em_px
    order = sorted(range(len(requests)), key=lambda i: (requests[i].priority, i))
    for i in order:
        req = requests[i]
        x, y = req.anchor_px
        if not (0.0 <= x <= width_px and 0.0 <= y <= height_px):  # NaN too: a point out of the frame or
            continue  # behind the camera has no label (a marker is a GL point: off-centre, it is not drawn at all)
        w = text_width_em(req.text) * em_px
        gap = req.marker_radius_px + 0.3 * em_px
        d = gap * 0.7
        if req.marker_radius_px > 0:
            cx = np.array([x + gap, x - gap - w, x - w / 2, x - w / 2, x + d, x - d - w, x + d, x - d - w])
            cy = np.array([y, y, y - gap - half_h, y + gap + half_h, y - d - half_h, y - d - half_h,
                           y + d + half_h, y + d + half_h])
        else:  # a region name sits centred on its point first
            cx = np.array([x - w / 2, x + gap, x - gap - w, x - w / 2, x - w / 2, x + d, x - d - w, x + d, x - d - w])
            cy = np.array([y, y, y, y - gap - half_h, y + gap + half_h, y - d - half_h, y - d - half_h,
                           y + d + half_h, y + d + half_h])
        # every candidate against the frame and every box placed so far, in one step
        ok = (cx >= EDGE_PAD_PX) & (cy - half_h >= EDGE_PAD_PX) & (cx + w <= width_px - EDGE_PAD_PX) \
            & (cy + half_h <= height_px - EDGE_PAD_PX)
        if not ok.any():
            continue
        if n:
            b = boxes[:n]
            hit = (b[:, 0] < (cx + w)[:, None]) & (b[:, 2] > cx[:, None]) & (b[:, 1] < (cy + half_h)[:, None]) \
                & (b[:, 3] > (cy - half_h)[:, None])
            if i in own_marker_row:  # its own marker does not block it
                hit[:, own_marker_row[i]] = False
            ok &= ~hit.any(axis=1)
            if not ok.any():
                continue
        k = int(np.argmax(ok))
        lx, ly = float(cx[k]), float(cy[k])
        box = (lx, ly - half_h, lx + w, ly + half_h)
        placed.append(PlacedLabel(i, req.text, lx, ly, box))
        boxes[n] = box
        n += 1
    return placed


def boxes_overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
