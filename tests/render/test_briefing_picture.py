"""Issue 13, the 3D picture: a lit, visible Mars in the default snapshot (both themes), projector-sized type at
4K, labels that never overlap or leave the frame (checked on rendered pixels), hidden behind Mars with their
object, and a user map (Viking MDIM 2.1) put on the globe the right way round."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from marsview.render.labels import boxes_overlap

REPO = Path(__file__).resolve().parents[2]
VIKING = REPO.parent / "shared" / "reference" / "data" / "mars_viking_mdim21_colormosaic_1024x512.jpg"


def _snapshot(tmp_path, *args):
    """`marsview snapshot` of the built-in scenario, as a user runs it (own process, real files)."""
    out = tmp_path / "view.png"
    proc = subprocess.run([sys.executable, "-c", "import sys; from marsview.cli import main; sys.exit(main(sys.argv[1:]))",
                           "snapshot", *args, "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from PySide6.QtGui import QImage

    from marsview.gui.globe_view import qimage_to_rgb

    return qimage_to_rgb(QImage(str(out)))


def _luma(rgb):
    return rgb[..., :3].astype(float) @ np.array([0.2126, 0.7152, 0.0722])


@pytest.mark.parametrize("theme", ["workstation", "projector"])
def test_default_snapshot_shows_a_lit_mars_disc(qapp, tmp_path, theme):
    rgb = _snapshot(tmp_path, "--size", "1280x720", "--theme", theme)
    h, w, _ = rgb.shape
    sky = np.median(rgb[-20:, :, :3].reshape(-1, 3), axis=0)
    lit = np.abs(rgb[..., :3].astype(int) - sky).sum(axis=2) > 40
    # the disc: the largest blob once thin orbit lines and text are opened away
    solid = ndimage.binary_opening(lit, structure=np.ones((9, 9), bool))
    labels, n = ndimage.label(solid)
    assert n >= 1
    sizes = ndimage.sum(solid, labels, range(1, n + 1))
    disc = labels == (1 + int(np.argmax(sizes)))
    assert disc.sum() / (w * h) >= 0.04  # covers at least 4 % of the picture
    ys, xs = np.nonzero(disc)
    r_px = np.sqrt(disc.sum() / np.pi)
    assert abs(xs.mean() - w / 2) < 0.15 * w and abs(ys.mean() - h / 2) < 0.15 * h  # it is Mars, centred
    assert (xs.max() - xs.min()) / (2 * r_px) == pytest.approx(1.0, abs=0.15)  # round
    assert np.median(_luma(rgb)[disc]) >= 0.35 * 255  # median brightness >= 35 % of full scale
    r, g, b = (np.median(rgb[..., i][disc]) for i in range(3))
    assert r > g > b  # Mars-coloured


def test_4k_projector_snapshot_has_text_at_least_28_px_tall(qapp, tmp_path):
    rgb = _snapshot(tmp_path, "--size", "3840x2160", "--theme", "projector")
    h, w, _ = rgb.shape
    clock = rgb[: h // 10, w // 2:, :3].min(axis=2) > 200  # white clock digits on black, top right
    rows = np.nonzero(clock.any(axis=1))[0]
    assert rows.size and rows.max() - rows.min() + 1 >= 28  # digit (cap) height in pixels
    title = rgb[: h // 12, : w // 3, :3].min(axis=2) > 200  # the overlay's first line, top left
    rows = np.nonzero(title.any(axis=1))[0]
    assert rows.size
    first_line = rows[rows < rows.min() + 80]
    assert first_line.max() - first_line.min() + 1 >= 28


@pytest.fixture(scope="module")
def default_scene(qapp):
    import vispy

    vispy.use("pyside6")
    from vispy import scene

    from marsview.model.loading import load_scenario
    from marsview.render.scene import MarsScene
    from marsview.render.texture import generate_mars_texture

    sc = load_scenario(None)
    canvas = scene.SceneCanvas(size=(1280, 720), show=False)
    s = MarsScene(canvas, texture_rgb=generate_mars_texture(512, 256), tdb_s=sc.window_start_tdb_s)
    s.set_objects(sc.objects)
    s.set_overlay_line("title", sc.name)
    yield s, sc
    canvas.close()


def _check_layout(s, w=1280, h=720):
    boxes = s.label_boxes()
    assert boxes, "no label drawn"
    for i, (_t, a) in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= w and 0 <= a[1] and a[3] <= h, (_t, a)  # inside the frame
        for _u, b in boxes[i + 1:]:
            assert not boxes_overlap(a, b), (_t, _u)  # no two labels overlap
    # the boxes hold the ink: every pixel the labels draw lies inside (or within 2 px of) a box
    with_labels = s.render_image()[..., :3].astype(int)
    s.text.set_visible("labels", False)
    without = s.render_image()[..., :3].astype(int)
    s.text.set_visible("labels", True)
    ink = np.abs(with_labels - without).sum(axis=2) > 60
    inside = np.zeros_like(ink)
    for _t, (x0, y0, x1, y1) in boxes:
        inside[max(int(y0) - 2, 0):int(y1) + 3, max(int(x0) - 2, 0):int(x1) + 3] = True
    assert ink.sum() > 50
    assert np.mean(inside[ink]) > 0.995
    return boxes


@pytest.mark.parametrize("utc", [None, "2024-04-18T07:12:00", "2024-04-18T07:11:50"])  # MRO/MAVEN TCA: 2.5 km
def test_labels_never_overlap_and_stay_in_the_frame(default_scene, utc):
    from marsview.core.time import utc_to_tdb_s

    s, sc = default_scene
    s.set_focus(None)
    s.reset_camera()
    t = sc.window_start_tdb_s if utc is None else utc_to_tdb_s(utc)
    s.set_time(t)
    texts = [x for x, _b in _check_layout(s)]
    if utc is not None:  # the two markers 2.5 km apart: one label each side, or the second one dropped
        assert "MRO" in texts or "MAVEN" in texts
    s.camera.distance = 12000.0  # crowded: the fleet's markers and the feature names over the disc
    s.set_time(t)
    _check_layout(s)


def test_layout_priority_and_frame_edge():
    from marsview.render.labels import (PRIORITY_ENCOUNTER, PRIORITY_FEATURE, PRIORITY_SPACECRAFT, LabelRequest,
                                        layout_labels)

    reqs = [LabelRequest("Syrtis Major", (100.0, 100.0), PRIORITY_FEATURE),
            LabelRequest("MRO", (100.0, 100.0), PRIORITY_SPACECRAFT, 6.0),
            LabelRequest("miss 2.499 km", (100.0, 100.0), PRIORITY_ENCOUNTER, 4.0),
            LabelRequest("MEX", (638.0, 3.0), PRIORITY_SPACECRAFT, 6.0),  # at the top-right corner
            LabelRequest("TGO", (300.0, -3.0), PRIORITY_SPACECRAFT, 6.0),  # marker centre just above the frame
            LabelRequest("Hellas", (643.0, 200.0), PRIORITY_FEATURE)]  # a point just beyond the right edge
    placed = layout_labels(reqs, 640, 360, em_px=14.0)
    texts = [p.text for p in placed]
    assert texts[:2] == ["miss 2.499 km", "MRO"]  # encounter first, then spacecraft
    assert "MEX" in texts  # moved inside, not cut
    mex = next(p for p in placed if p.text == "MEX")
    assert mex.box[2] <= 640 and mex.box[1] >= 0
    assert "TGO" not in texts and "Hellas" not in texts  # no name without its object in view
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            assert not boxes_overlap(a.box, b.box)


def test_a_layout_started_from_a_guess_is_the_greedy_layout():
    """Each frame starts from the last frame's choices; whatever the guess (right, stale, random), the result
    must be exactly the one-label-at-a-time greedy layout: same labels, same order, same boxes."""
    from marsview.render.labels import LabelRequest, layout_labels

    rng = np.random.default_rng(7)
    names = ["MRO", "MAVEN", "ODY", "MEX", "TGO", "EMM", "TW1", "Phobos", "Deimos", "miss 0.812 km",
             "Olympus Mons", "Syrtis Major", "Hellas Planitia", "Arabia Terra", "Tharsis", "Acidalia"]
    settled = moved = 0
    for trial in range(200):
        count = rng.integers(2, len(names) + 1)
        spread = rng.choice([60.0, 200.0, 700.0])  # crowded to sparse
        anchors = rng.normal([320.0, 180.0], spread, size=(count, 2))
        reqs = [LabelRequest(names[i], tuple(anchors[i]), int(rng.integers(0, 4)),
                             float(rng.choice([0.0, 6.0]))) for i in range(count)]
        obstacles = [(0.0, 0.0, 180.0, 40.0), (500.0, 0.0, 640.0, 30.0)]
        cold = layout_labels(reqs, 640, 360, em_px=14.0, obstacles_px=obstacles)
        nudged = [LabelRequest(r.text, (r.anchor_px[0] + rng.normal(0, 3), r.anchor_px[1] + rng.normal(0, 3)),
                               r.priority, r.marker_radius_px) for r in reqs]
        next_cold = layout_labels(nudged, 640, 360, em_px=14.0, obstacles_px=obstacles)
        guesses = [cold, next_cold, [type(p)(p.index, p.text, 0, 0, p.box, int(rng.integers(0, 9))) for p in cold]]
        for guess in guesses:
            warm = layout_labels(nudged, 640, 360, em_px=14.0, obstacles_px=obstacles, previous=guess)
            assert [(p.index, p.text, p.x_px, p.y_px, p.box, p.candidate) for p in warm] == \
                [(p.index, p.text, p.x_px, p.y_px, p.box, p.candidate) for p in next_cold]
        settled += 1
        moved += [p.candidate for p in cold] != [p.candidate for p in next_cold]
    assert moved > 10  # the nudges do change choices: the guesses are not all right


def test_an_object_behind_mars_loses_its_label_with_its_marker(default_scene):
    s, sc = default_scene
    s.set_focus(None)
    s.reset_camera()
    s.set_time(sc.window_start_tdb_s)
    names = list(s.entries)
    rel = np.array([s.entries[n].position_km for n in names]) - s.focus_km()
    mro = names.index("MRO")
    s.look_from(-rel[mro] / np.linalg.norm(rel[mro]))  # MRO straight behind the planet
    assert s.behind_mars(rel)[mro]
    assert "MRO" not in [t for t, _b in s.label_boxes()]
    assert s.markers.markers._data.shape[0] == len(names) - int(s.behind_mars(rel).sum())
    s.look_from(rel[mro] / np.linalg.norm(rel[mro]))  # in front again: label back
    assert "MRO" in [t for t, _b in s.label_boxes()]


def test_the_plan_ghost_marker_starts_at_the_burn_and_hides_behind_mars(default_scene):
    """Before the burn the plan is the delivery: no second marker parked at the burn point. After it, the
    ghost marker is at the planned position, and Mars hides it as it hides the object's own."""
    from marsview.render.plan_ghost import PlanGhost

    s, sc = default_scene
    s.set_focus(None)
    s.reset_camera()
    eph = s.entries["MRO"].obj.ephemeris
    burn = sc.window_start_tdb_s + 3600.0

    class Planned:  # the delivery, displaced 50 km along x from the burn on
        coverage = eph.coverage
        burn_epoch_tdb_s = burn

        def state(self, t):
            t = np.atleast_1d(np.asarray(t, dtype=float))
            x = eph.state(t).copy()
            x[:, 0] += np.where(t >= burn, 50.0, 0.0)
            return x

    ghost = PlanGhost(s)
    try:
        ghost.set_plan("MRO", Planned())
        s.set_time(burn - 600.0)
        assert ghost.line.visible and ghost.stamp.visible and not ghost.marker.visible and not ghost.label.visible
        t = burn + 600.0
        s.set_time(t)
        rel = s.entries["MRO"].position_km - s.focus_km()
        s.look_from(rel / np.linalg.norm(rel))  # MRO in front of the planet
        assert ghost.marker.visible and ghost.label.visible
        m = s._epoch_geometry(t)[0]
        want = m @ Planned().state(t)[0, :3] - s.focus_km()
        np.testing.assert_allclose(ghost.label.pos[0, :3], want, rtol=1e-6)
        s.look_from(-rel / np.linalg.norm(rel))  # straight behind it
        assert s.behind_mars(rel[None])[0]
        assert not ghost.marker.visible and not ghost.label.visible
    finally:
        ghost.set_plan(None)
        s.frame_hooks.remove(ghost.update)
        for v in (ghost.line, ghost.marker, ghost.label, ghost.stamp):
            v.parent = None


@pytest.mark.skipif(not VIKING.is_file(), reason="../shared/reference/data has no Viking MDIM 2.1 mosaic")
def test_viking_mosaic_is_mapped_with_east_longitude_and_north_up(default_scene):
    """Syrtis Major (8.4 N, 69.5 E, IAU/USGS Gazetteer) is the darkest classical feature: on the loaded mosaic
    it must render dark where the globe's IAU_MARS mapping puts it, next to bright Arabia Terra (21 N 5 E)
    and the bright Hellas floor (42 S 70 E); a mirrored or flipped map puts other terrain there."""
    from marsview.gui.globe_view import read_surface_map

    s, sc = default_scene
    s.set_texture(read_surface_map(VIKING))
    try:
        s.set_frame("IAU_MARS")
        s.set_flat_lighting(True)
        s.set_focus(None)
        s.reset_camera()
        s.set_time(sc.window_start_tdb_s)
        s.set_feature_labels_visible(False)
        lat, lon = np.radians(-5.0), np.radians(50.0)
        s.look_from([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
        img = _luma(s.render_image())

        def lum_at(lat_deg, lon_deg):
            la, lo = np.radians(lat_deg), np.radians(lon_deg)
            p = 3390.0 * np.array([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
            x, y = s._project_px(p[None])[0]
            return float(np.median(img[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3]))

        syrtis, arabia, hellas = lum_at(8.4, 69.5), lum_at(21.0, 5.0), lum_at(-42.4, 70.5)
        assert syrtis < 0.75 * arabia and syrtis < 0.75 * hellas
    finally:
        s.set_texture(generate := __import__("marsview.render.texture", fromlist=["x"]).generate_mars_texture(512, 256))
        del generate
        s.set_flat_lighting(False)
        s.set_feature_labels_visible(True)
        s.set_frame("MCI")


def test_an_extra_polyline_group_joins_the_single_line_batch(default_scene):
    """Another module (e.g. the planned 'ghost' orbit) adds its own polylines without a new visual; they are
    drawn about the current focus like the fleet's orbits."""
    s, sc = default_scene
    s.set_focus(None)
    s.set_time(sc.window_start_tdb_s)
    before = s.lines.vertex_count
    ring = 5000.0 * np.stack([np.cos(np.linspace(0, 2 * np.pi, 50)), np.sin(np.linspace(0, 2 * np.pi, 50)),
                              np.zeros(50)], axis=1)
    s.set_polyline_group("ghost", [(ring, (1.0, 1.0, 1.0, 0.5))])
    assert s.lines.vertex_count == before + 50
    assert len([v for v in s.view.scene.children if type(v).__name__ == "Line"]) == 1
    s.set_focus("MRO")  # positions follow the focus (float64 subtraction)
    pos, _col, _con = s.lines._groups["ghost"]
    assert np.allclose(pos[0], ring[0] - s.focus_km(), atol=1e-3)
    with pytest.raises(ValueError, match="reserved"):
        s.set_polyline_group("orbits", [])
    s.set_polyline_group("ghost", [])
    assert "ghost" not in s.lines.group_names()
    s.set_focus(None)


def test_snapshot_encounter_shows_the_operator_frame(qapp, tmp_path):
    """`snapshot --encounter MRO/MAVEN`: the designed 2.5 km pass with its 1-sigma ellipse (amber), RTN axes and
    the miss vector; the caption names the ellipse size from the screening's covariance."""
    from marsview.render.encounter import AXIS_RGBA, SIGMA1_RGBA

    rgb = _snapshot(tmp_path, "--size", "1280x720", "--encounter", "mro/MAVEN", "--time", "2024-04-18T00:00:00")
    px = rgb[..., :3].astype(int)

    def near(rgba, tol=40):
        target = (np.array(rgba[:3]) * 255).astype(int)
        return (np.abs(px - target).sum(axis=2) < tol).sum()

    assert near(SIGMA1_RGBA) > 100  # the 1-sigma ellipse is drawn
    assert near(AXIS_RGBA["R"]) > 20 and near(AXIS_RGBA["N"]) > 20  # object 1's radial and normal axes
    h = rgb.shape[0]
    bar = rgb[h - 60:, :300, :3].min(axis=2) > 180  # white scale bar bottom left
    assert bar.any(axis=0).sum() > 50


def test_a_moons_encounter_geometry_shows_over_its_body(qapp, tmp_path):
    """MEX - Phobos (14 km, inside Phobos' 30 km threshold): the 1-sigma ellipse about Phobos' centre and the
    miss line lie inside the body; the encounter view draws them over it rather than hiding them."""
    from marsview.render.encounter import SIGMA1_RGBA

    rgb = _snapshot(tmp_path, "--size", "1152x662", "--encounter", "MEX/Phobos", "--time", "2024-04-16T14:24:00")
    px = rgb[..., :3].astype(int)
    grey = (np.abs(px - px.mean(axis=2, keepdims=True)).max(axis=2) < 12) & (px.mean(axis=2) > 60)
    rows, cols = np.nonzero(grey)  # Phobos' sunlit grey body, the biggest grey thing in the picture
    y0, y1, x0, x1 = np.percentile(rows, 10), np.percentile(rows, 90), np.percentile(cols, 10), np.percentile(cols, 90)
    target = (np.array(SIGMA1_RGBA[:3]) * 255).astype(int)
    amber = np.abs(px - target).sum(axis=2) < 60
    assert amber[int(y0):int(y1), int(x0):int(x1)].sum() > 20  # the ellipse, inside the body's extent


def test_snapshot_encounter_without_such_a_pass_is_a_one_line_error(tmp_path):
    out = tmp_path / "x.png"
    proc = subprocess.run([sys.executable, "-c", "import sys; from marsview.cli import main; sys.exit(main(sys.argv[1:]))",
                           "snapshot", "--size", "320x200", "--encounter", "MRO/ODY", "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "no close approach between MRO and ODY" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_find_close_approach_picks_the_nearest_tca_of_the_pair():
    from types import SimpleNamespace as E

    from marsview.cli.snapshot import find_close_approach

    events = [E(object1="MRO", object2="MAVEN", tca_tdb_s=100.0), E(object1="MAVEN", object2="MRO", tca_tdb_s=900.0),
              E(object1="TGO", object2="TW1", tca_tdb_s=500.0)]
    names = ["MRO", "MAVEN", "TGO", "TW1"]
    assert find_close_approach(events, "maven/mro", 700.0, names).tca_tdb_s == 900.0
    assert find_close_approach(events, "MRO/MAVEN", 0.0, names).tca_tdb_s == 100.0
    with pytest.raises(ValueError, match="no object named 'XYZ'"):
        find_close_approach(events, "MRO/XYZ", 0.0, names)
    with pytest.raises(ValueError, match="OBJ1/OBJ2"):
        find_close_approach(events, "MRO", 0.0, names)
