"""Issue 17: a broken texture cache file (zero bytes, truncated, garbage, wrong shape) never stops start-up:
the map is regenerated (identical to a fresh one) and the cache heals."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.render.texture import cached_mars_texture, generate_mars_texture


@pytest.mark.parametrize("damage", ["zero-bytes", "truncated", "garbage", "wrong-shape"])
def test_broken_texture_cache_is_regenerated_and_heals(tmp_path, damage):
    fresh = generate_mars_texture(128, 64)
    cached_mars_texture(128, 64, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.npy")
    data = path.read_bytes()
    if damage == "wrong-shape":
        np.save(path, np.zeros((3, 3), np.uint8))
    else:
        path.write_bytes({"zero-bytes": b"", "truncated": data[: len(data) // 3],
                          "garbage": b"\x93NUMPY\x01\x00garbage"}[damage])
    assert np.array_equal(cached_mars_texture(128, 64, cache_dir=tmp_path), fresh)
    with open(path, "rb") as fh:
        assert np.array_equal(np.load(fh), fresh)  # rewritten
