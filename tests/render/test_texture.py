"""The generated Mars map: layout, polar caps, graticule, features at their real coordinates."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.render.texture import (FEATURES, cached_mars_texture, generate_mars_texture, pixel_of,
                                     prepare_surface_map)

W, H = 1024, 512


@pytest.fixture(scope="module")
def tex():
    return generate_mars_texture(W, H)


def test_layout_and_determinism(tex):
    assert tex.shape == (H, W, 3) and tex.dtype == np.uint8
    assert np.array_equal(tex, generate_mars_texture(W, H))  # fixed seed: same map on every install


def test_polar_caps_are_white_and_mid_latitudes_are_ochre(tex):
    north = tex[pixel_of(88.0, 0.0, H, W)[0]].astype(int)
    assert np.mean(north.min(axis=1) > 200) > 0.9
    band = tex[pixel_of(30.0, 0, H, W)[0]:pixel_of(-30.0, 0, H, W)[0]].reshape(-1, 3).astype(int)
    r, g, b = band[:, 0], band[:, 1], band[:, 2]
    assert np.mean((r > g) & (g > b)) > 0.95  # Mars hues, not grey


def test_graticule_lines_on_the_equator_and_prime_meridian(tex):
    row = pixel_of(0.0, 10.0, H, W)[0]
    col = pixel_of(10.0, 0.0, H, W)[1]
    lum = tex.astype(float).mean(axis=2)
    assert lum[row].mean() > lum[row + 3].mean() + 15
    assert lum[:, col].mean() > lum[:, col + 3].mean() + 15


@pytest.mark.parametrize("name", ["Olympus Mons", "Hellas", "Gale"])
def test_feature_rings_are_centred_on_the_gazetteer_coordinates(name):
    feature = next(f for f in FEATURES if f.name == name)
    plain = generate_mars_texture(W, H, graticule_deg=0, feature_rings=False).astype(int)
    ringed = generate_mars_texture(W, H, graticule_deg=0, feature_rings=True).astype(int)
    changed = np.abs(ringed - plain).sum(axis=2) > 30
    rows, cols = np.nonzero(changed)
    lat = 90.0 - (rows + 0.5) * 180.0 / H
    lon = -180.0 + (cols + 0.5) * 360.0 / W
    dlon = ((lon - feature.lon_e_deg + 180.0) % 360.0 - 180.0) * np.cos(np.radians(lat))
    dist = np.hypot(lat - feature.lat_deg, dlon)
    near = dist < 25.0
    expected = max(np.degrees(0.5 * feature.diameter_km / 3389.5), 0.6)
    assert near.sum() > 10
    assert np.median(dist[near & (np.abs(dist - expected) < 1.0)]) == pytest.approx(expected, abs=0.4)


def test_user_maps_must_be_equirectangular():
    ok = prepare_surface_map(np.zeros((100, 200, 4), np.uint8), "map.png")
    assert ok.shape == (100, 200, 3)
    with pytest.raises(ValueError, match=r"square\.png.*2:1"):
        prepare_surface_map(np.zeros((100, 100, 3), np.uint8), "square.png")
    big = prepare_surface_map(np.zeros((3000, 6000), np.uint8), "huge.tif", max_width=4096)
    assert big.shape[1] <= 4096 and big.shape[1] == 2 * big.shape[0]


def test_cache_returns_the_generated_map(tmp_path):
    first = cached_mars_texture(256, 128, cache_dir=tmp_path)
    assert list(tmp_path.glob("*.npy"))
    assert np.array_equal(first, cached_mars_texture(256, 128, cache_dir=tmp_path))
    assert np.array_equal(first, generate_mars_texture(256, 128))
