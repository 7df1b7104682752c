"""Movie frame schedule and output sizes (Qt-free, so the CLI, the GUI and tests share one definition).

A movie shows DURATION seconds of simulated time (TDB) at WARP simulated seconds per movie second, so it
lasts DURATION / WARP seconds and has round(DURATION / WARP * FPS) frames; frame i shows epoch
START + i * WARP / FPS (the end of the span is the start of the frame after the last one).
"""

from __future__ import annotations

import math
import re

import numpy as np

MAX_FRAMES = 100_000
MAX_SIDE_PX = 16384


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (w, h) pixels; ValueError naming the option otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", str(text))
    if not m or not (16 <= int(m.group(1)) <= MAX_SIDE_PX and 16 <= int(m.group(2)) <= MAX_SIDE_PX):
        raise ValueError(f"--size must be WxH with 16..{MAX_SIDE_PX} pixels each, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def frame_count(duration_s: float, fps: float, warp: float) -> int:
    for key, v in (("duration", duration_s), ("fps", fps), ("warp", warp)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"--{key} must be a finite number > 0, got {v!r}")
    n = int(round(duration_s / warp * fps))
    if n < 1:
        raise ValueError(f"a {duration_s:g} s span at warp x{warp:g} and {fps:g} fps is less than one frame")
    if n > MAX_FRAMES:
        raise ValueError(f"{n} frames requested (more than {MAX_FRAMES}); lower --fps or raise --warp")
    return n


def frame_epochs(start_tdb_s: float, duration_s: float, fps: float, warp: float) -> np.ndarray:
    """Epochs (TDB s past J2000) of every frame, float64."""
    n = frame_count(duration_s, fps, warp)
    return float(start_tdb_s) + np.arange(n, dtype=np.float64) * (float(warp) / float(fps))


def png_frame_name(index: int) -> str:
    return f"frame_{index:05d}.png"
