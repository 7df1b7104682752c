"""Screen-space label layout: every label of the 3D view (encounter, spacecraft, moons, surface features) is
placed in pixels each frame so that no two overlap, none is cut by the image edge, and the most important
ones win when there is no room (priority: selected encounter > spacecraft > moons > surface features).
A label is drawn only with its object: a point outside the frame or behind the camera gets none, so no name
floats at the edge without the thing it names (markers are GL points, which the GPU drops whole once their
centre leaves the viewport, however large the disc).

The layout is greedy in priority order: each label tries a few positions around its anchor (right, left,
above, below, then the diagonals) and takes the first whose box is inside the frame and clear of every
box already placed (markers included, so a label never covers another object's marker). A label that finds
no place is not drawn. A layout can start from the previous frame's choices (``previous``): they are checked
for every label at once, and kept only where they are exactly what the greedy pass would choose (labels move
little between frames, so the check usually settles it in one or two vectorised steps instead of one step per
label). Widths come from the same font file vispy draws with (OpenSans advances via
FreeType), with a small margin, so the boxes enclose the drawn ink (tests/render/test_briefing_picture.py checks
this on rendered pixels).
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
    candidate: int = 0  # which of the label's candidate positions (see _candidates) it took


def layout_labels(requests: list[LabelRequest], width_px: float, height_px: float, em_px: float,
                  obstacles_px=(), previous=()) -> list[PlacedLabel]:
    """Place REQUESTS (greedy, by priority then order) inside a WIDTH x HEIGHT frame; EM_PX is the font's
    em in pixels; OBSTACLES_PX are extra boxes no label may cover (e.g. the clock and the caption).
    PREVIOUS: the last frame's placed labels, a guess only: the result is the greedy layout whatever it is."""
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
    cx, cy, w = _candidates(requests, em_px, half_h)  # (L, 9) candidate left edges / centres, (L,) widths
    anchors = np.array([r.anchor_px for r in requests], dtype=np.float64).reshape(-1, 2)
    # a point out of the frame or behind the camera (NaN) has no label: a marker is a GL point, and off-centre
    # it is not drawn at all
    in_frame = (anchors[:, 0] >= 0.0) & (anchors[:, 0] <= width_px) & (anchors[:, 1] >= 0.0) \
        & (anchors[:, 1] <= height_px)
    fits = (cx >= EDGE_PAD_PX) & (cy - half_h >= EDGE_PAD_PX) & (cx + w[:, None] <= width_px - EDGE_PAD_PX) \
        & (cy + half_h <= height_px - EDGE_PAD_PX)
    fits &= in_frame[:, None]
    x0s, x1s, y0s, y1s = cx, cx + w[:, None], cy - half_h, cy + half_h
    order = sorted(range(len(requests)), key=lambda i: (requests[i].priority, i))
    choice = None
    if previous and requests:
        guess = {p.text: p.candidate for p in previous}
        choice = _settle(np.array([guess.get(r.text, -1) for r in requests]), order, fits,
                         (x0s, x1s, y0s, y1s), boxes[:n], own_marker_row)
    if choice is None:
        choice = _greedy(order, fits, (x0s, x1s, y0s, y1s), boxes, n, own_marker_row)
    placed = []
    for i in order:
        k = int(choice[i])
        if k >= 0:
            lx, ly = float(cx[i, k]), float(cy[i, k])
            placed.append(PlacedLabel(i, requests[i].text, lx, ly, (lx, ly - half_h, lx + float(w[i]), ly + half_h), k))
    return placed


def _greedy(order, fits, candidate_boxes, boxes, n, own_marker_row) -> np.ndarray:
    """The layout one label at a time, in ORDER: each takes its first candidate that fits and is clear of the
    BOXES[:N] (obstacles, markers) and of every label placed before it. (L,) candidate index, -1 = none."""
    x0s, x1s, y0s, y1s = candidate_boxes
    choice = np.full(len(fits), -1)
    for i in order:
        ok = fits[i]
        if not ok.any():
            continue
        if n:  # every candidate against every box placed so far, in one step
            b = boxes[:n]
            hit = (b[:, 0] < x1s[i, :, None]) & (b[:, 2] > x0s[i, :, None]) & (b[:, 1] < y1s[i, :, None]) \
                & (b[:, 3] > y0s[i, :, None])
            if i in own_marker_row:  # its own marker does not block it
                hit[:, own_marker_row[i]] = False
            ok = ok & ~hit.any(axis=1)
            if not ok.any():
                continue
        k = int(np.argmax(ok))
        choice[i] = k
        boxes[n] = (x0s[i, k], y0s[i, k], x1s[i, k], y1s[i, k])
        n += 1
    return choice


def _settle(choice, order, fits, candidate_boxes, static_boxes, own_marker_row, steps: int = 3):
    """The greedy layout found from a guess CHOICE (L,) with whole-array steps: each step gives every label the
    candidate the greedy pass would give it if the labels before it kept their current choices. A choice
    that a step leaves unchanged is the greedy layout (by induction along the order); each step fixes at
    least the next label in order, so a close guess settles in one or two. None after STEPS steps."""
    x0s, x1s, y0s, y1s = candidate_boxes
    count = len(choice)
    rows = np.arange(count)
    if len(static_boxes):
        b = static_boxes
        hit = (b[:, 0] < x1s[:, :, None]) & (b[:, 2] > x0s[:, :, None]) & (b[:, 1] < y1s[:, :, None]) \
            & (b[:, 3] > y0s[:, :, None])  # (L, 9, static boxes)
        if own_marker_row:
            mine = np.array(list(own_marker_row.items()))
            hit[mine[:, 0], :, mine[:, 1]] = False
        free = fits & ~hit.any(axis=2)
    else:
        free = fits
    rank = np.empty(count, dtype=np.int64)
    rank[order] = rows
    before = rank[None, :] < rank[:, None]  # before[i, p]: label p is placed before label i
    for _ in range(steps):
        k = np.maximum(choice, 0)
        bx0, bx1, by0, by1 = x0s[rows, k], x1s[rows, k], y0s[rows, k], y1s[rows, k]
        hit = (bx0 < x1s[:, :, None]) & (bx1 > x0s[:, :, None]) & (by0 < y1s[:, :, None]) \
            & (by1 > y0s[:, :, None])  # (L, 9, L): candidate of label i against label p's current box
        blocking = before & (choice >= 0)[None, :]
        ok = free & ~(hit & blocking[:, None, :]).any(axis=2)
        new = np.where(ok.any(axis=1), ok.argmax(axis=1), -1)
        if np.array_equal(new, choice):
            return choice
        choice = new
    return None


def _candidates(requests, em_px: float, half_h: float):
    """Candidate positions of every label, in preference order: beside its marker (right, left), above,
    below, then the diagonals; a region name (no marker) sits centred on its point first. A label with a
    marker has 8 candidates; its 9th column repeats the 8th (never chosen before it)."""
    count = len(requests)
    x = np.empty(count)
    y = np.empty(count)
    r = np.empty(count)
    w = np.empty(count)
    for j, req in enumerate(requests):
        x[j], y[j] = req.anchor_px
        r[j] = req.marker_radius_px
        w[j] = text_width_em(req.text) * em_px
    gap = r + 0.3 * em_px
    d = gap * 0.7
    up, down = y - gap - half_h, y + gap + half_h
    dup, ddown = y - d - half_h, y + d + half_h
    right, left, mid = x + gap, x - gap - w, x - w / 2
    dright, dleft = x + d, x - d - w
    beside = [right, left, mid, mid, dright, dleft, dright, dleft, dleft]
    beside_y = [y, y, up, down, dup, dup, ddown, ddown, ddown]
    centred = [mid, right, left, mid, mid, dright, dleft, dright, dleft]
    centred_y = [y, y, y, up, down, dup, dup, ddown, ddown]
    marker = (r > 0)[:, None]
    cx = np.where(marker, np.stack(beside, axis=1), np.stack(centred, axis=1))
    cy = np.where(marker, np.stack(beside_y, axis=1), np.stack(centred_y, axis=1))
    return cx, cy, w


def boxes_overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
