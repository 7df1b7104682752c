"""Draw marsview's icon (a lit Mars disc with an orbit ellipse and a spacecraft) as a PNG, with numpy only."""

from __future__ import annotations

import struct
import sys
import zlib

import numpy as np


def draw_icon(size: int = 256) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(float)
    c = (size - 1) / 2.0
    u, v = (x - c) / (0.36 * size), (y - c) / (0.36 * size)
    r2 = u * u + v * v
    img = np.zeros((size, size, 4))
    disc = r2 <= 1.0
    z = np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
    light = np.clip(0.25 + 0.75 * (-0.55 * u - 0.45 * v + 0.70 * z), 0.08, 1.0)
    base = np.array([0.80, 0.38, 0.20])
    cap = (v < -0.82) & disc
    for k in range(3):
        img[..., k] = np.where(disc, base[k] * light, 0.0)
        img[..., k] = np.where(cap, 0.95 * light, img[..., k])
    img[..., 3] = disc.astype(float)
    # tilted orbit ellipse drawn as a thin ring, in front of and behind the planet
    ang = np.radians(-20.0)
    xr = (x - c) * np.cos(ang) - (y - c) * np.sin(ang)
    yr = (x - c) * np.sin(ang) + (y - c) * np.cos(ang)
    ell = (xr / (0.47 * size)) ** 2 + (yr / (0.16 * size)) ** 2
    ring = np.abs(ell - 1.0) < 0.045
    front = ring & ((yr > 0) | ~disc)
    img[front] = [0.55, 0.85, 1.0, 1.0]
    sx, sy = c + 0.47 * size * np.cos(ang) * 0.72, c + 0.47 * size * np.sin(ang) * 0.72 + 0.11 * size
    sat = (x - sx) ** 2 + (y - sy) ** 2 < (0.035 * size) ** 2
    img[sat] = [1.0, 1.0, 1.0, 1.0]
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def write_png(path: str, rgba: np.ndarray) -> None:
    h, w, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[row].tobytes() for row in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as fh:
        fh.write(png)


if __name__ == "__main__":
    write_png(sys.argv[1] if len(sys.argv) > 1 else "marsview.png", draw_icon())
