"""The 3D scene without the main window: orientation, lighting, precision, encounter geometry."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "gui"))
from fake_scenario import MISS_KM, T0_TDB_S, TCA_TDB_S, make_scenario  # noqa: E402

from marsview.core.frames import eme2000_to_iau_mars_matrix, transform_states  # noqa: E402
from marsview.render.encounter import format_distance  # noqa: E402
from marsview.render.scene import eme_to_display_matrices  # noqa: E402
from marsview.render.texture import generate_mars_texture  # noqa: E402
from marsview.render.tracks import osculating_period_s  # noqa: E402


@pytest.fixture(scope="module")
def mscene(qapp):
    import vispy

    vispy.use("pyside6")
    from vispy import scene

    from marsview.render.scene import MarsScene

    canvas = scene.SceneCanvas(size=(400, 300), show=False)
    s = MarsScene(canvas, texture_rgb=generate_mars_texture(512, 256), tdb_s=TCA_TDB_S - 600.0)
    s.set_objects(make_scenario().objects)
    yield s
    canvas.close()


def test_body_fixed_points_land_where_the_iau_rotation_puts_them():
    t = np.array([TCA_TDB_S])
    olympus = np.radians([18.65, 226.2])
    p_body = 3396.19 * np.array([np.cos(olympus[0]) * np.cos(olympus[1]), np.cos(olympus[0]) * np.sin(olympus[1]),
                                 np.sin(olympus[0])])
    rot = eme_to_display_matrices("MCI", t)[0] @ eme2000_to_iau_mars_matrix(t)[0].T  # as MarsScene.set_time
    expected = transform_states(np.r_[p_body, 0, 0, 0], t, "IAU_MARS", "MCI")[0, :3]
    assert np.allclose(rot @ p_body, expected, atol=1e-6)
    assert np.allclose(eme_to_display_matrices("IAU_MARS", t)[0] @ eme2000_to_iau_mars_matrix(t)[0].T, np.eye(3),
                       atol=1e-12)


def test_vis_viva_period():
    r = 3796.19
    v = np.sqrt(42828.37362069909 / r)
    assert osculating_period_s(np.array([r, 0, 0, 0, v, 0])) == pytest.approx(
        2 * np.pi * np.sqrt(r**3 / 42828.37362069909), rel=1e-12)
    assert osculating_period_s(np.array([r, 0, 0, 0, 2 * v, 0])) == float("inf")


def _centre_lum(rgb):
    h, w = rgb.shape[:2]
    return rgb[h // 2 - 5:h // 2 + 5, w // 2 - 5:w // 2 + 5, :3].astype(float).mean()


def test_day_side_is_lit_and_night_side_is_dark(mscene):
    mscene.set_focus(None)
    mscene.reset_camera()
    mscene.camera.distance = 20000.0
    sun = mscene.sun_direction_display()
    mscene.look_from(sun)
    day = mscene.render_image()
    mscene.look_from(-sun)
    night = mscene.render_image()
    assert _centre_lum(day) > 80
    assert _centre_lum(night) < 0.4 * _centre_lum(day)
    r, g, b = day[145:155, 195:205, :3].reshape(-1, 3).astype(int).T
    assert np.all(r > g) and np.all(g >= b)  # Mars-coloured


def test_gpu_positions_are_relative_to_the_focus_at_metre_precision(mscene):
    mscene.set_time(TCA_TDB_S)
    mscene.set_focus("ALPHA")
    names = list(mscene.entries)
    pos = mscene.markers.last_positions_f32
    alpha, bravo = pos[names.index("ALPHA")], pos[names.index("BRAVO")]
    assert np.all(alpha == 0.0)
    # 2 km along +x in EME2000; float32 about the focus keeps it to well under a millimetre
    assert np.linalg.norm(bravo.astype(float)) == pytest.approx(MISS_KM, abs=1e-6)
    mscene.set_focus(None)


def test_encounter_view_shows_the_miss_vector(mscene):
    mscene.show_encounter("ALPHA", "BRAVO", TCA_TDB_S, MISS_KM, 4.75)
    miss_line = mscene.encounter.miss_points_f32
    assert np.linalg.norm(miss_line[1].astype(float) - miss_line[0]) == pytest.approx(MISS_KM, abs=1e-6)
    assert mscene.camera.distance == pytest.approx(6 * MISS_KM)
    assert "encounter" in mscene.lines.group_names()
    img = mscene.render_image()
    assert img[..., :3].max() > 200  # the geometry is drawn
    mscene.clear_encounter()
    assert mscene.encounter.event is None
    assert "encounter" not in mscene.lines.group_names()


def test_format_distance_switches_to_metres():
    assert format_distance(0.0123) == "12.3 m"
    assert format_distance(12.5) == "12.500 km"


def test_track_cache_interpolation_matches_the_ephemeris():
    from marsview.core.orbits import state_from_peri_apo
    from marsview.core.twobody import TwoBodyEphemeris
    from marsview.render.tracks import TrackCache

    eph = TwoBodyEphemeris("MAVEN-like", state_from_peri_apo(150, 4500, 75, 10, 20, 0), 0.0, 0.0, 86400.0)
    cache = TrackCache(eph, lambda states, t: states[:, :3])
    cache.state_at(3600.0)
    epochs = np.linspace(3000.0, 4200.0, 97)
    got = np.array([cache.state_at(t) for t in epochs])
    assert cache.resamples == 1  # animating inside the span does not resample
    err = np.abs(got - eph.state(epochs))
    assert err[:, :3].max() < 1e-5 and err[:, 3:].max() < 1e-6  # 1 cm, 1 mm/s: invisible even at metre scale
    assert cache.state_at(90000.0) is None  # outside coverage: not drawn, no extrapolation


def test_steady_animation_draws_as_many_orbit_and_trail_points_every_frame():
    """Orbit and trail keep their vertex counts from frame to frame (the line batch then re-sends positions
    only); the orbit still spans the revolution, to within one sample; a maneuver's corner is kept."""
    from marsview.core.orbits import state_from_peri_apo
    from marsview.core.twobody import TwoBodyEphemeris
    from marsview.render.tracks import TrackCache, track_pieces

    eph = TwoBodyEphemeris("MAVEN-like", state_from_peri_apo(150, 4500, 75, 10, 20, 0), 0.0, 0.0, 5 * 86400.0)
    cache = TrackCache(eph, lambda states, t: states[:, :3])
    counts, spans = {}, []  # per resample (a new grid may hold one sample more or fewer)
    for t in np.arange(86400.0, 86400.0 + 3 * 16000.0, 37.3):  # several revolutions and resamples
        state = cache.state_at(t)
        sl = cache.drawn_slice(t)
        orbit, trail = track_pieces(cache, t, state[:3], np.zeros(3), drawn=sl)
        counts.setdefault(cache.resamples, set()).add((orbit.shape[0], trail.shape[0]))
        spans.append((cache.epochs[sl.stop - 1] - cache.epochs[sl.start]) / cache.step_s)
        assert np.array_equal(trail[-1], state[:3])  # the bright end on the marker
        assert cache.epochs[sl.start] >= t - cache.period_s / 2 and cache.epochs[sl.stop - 1] <= t + cache.period_s / 2
    assert cache.resamples > 2 and all(len(c) == 1 for c in counts.values())
    for (n_orbit, n_trail), in counts.values():
        assert n_trail - 1 == pytest.approx(0.2 * (n_orbit - 1), abs=1)
    # one revolution but for less than a sample at each end (the window's edges fall between samples) and at
    # most one sample more at the open end (the fixed count)
    assert min(spans) > cache.period_s / cache.step_s - 3

    class Burned:  # a segment boundary inside the span: non-uniform samples, the exact window
        def __init__(self, inner):
            self.inner, self.coverage, self.frame = inner, inner.coverage, "EME2000"

        def covers(self, t):
            return self.inner.covers(t)

        def state(self, t):
            return self.inner.state(t)

        def segment_boundaries(self):
            return [86400.0 + 1234.5]

    burned = TrackCache(Burned(eph), lambda states, t: states[:, :3])
    burned.state_at(86400.0)
    assert burned.step_s is None and 86400.0 + 1234.5 in burned.epochs[burned.drawn_slice(86400.0)]


def test_steady_animation_re_sends_line_positions_only(mscene):
    """Away from the ends of coverage (where the drawn span is clipped and grows), animating re-sends the
    line batch's positions and nothing else."""
    mid_tdb_s = T0_TDB_S + 43200.0  # CHARLIE's half revolution (3.6 h) fits on both sides
    mscene.clear_encounter()
    mscene.set_time(mid_tdb_s)
    line = mscene.lines.line
    sent = []
    original = line.set_data
    line.set_data = lambda **kw: (sent.append(sorted(k for k, v in kw.items() if v is not None)), original(**kw))
    try:
        for k in range(40):
            mscene.set_time(mid_tdb_s + 20.0 * k)
    finally:
        del line.set_data
        mscene.set_time(TCA_TDB_S - 600.0)
    assert len(sent) == 40 and sent.count(["pos"]) == 40


def test_every_visual_leaves_the_frame_opaque(mscene):
    """Nothing drawn lowers the frame's alpha (render.blending): labels, overlay, clock, markers, orbits, globe,
    encounter, plan."""
    from marsview.render.plan_ghost import PlanGhost

    mscene.set_focus(None)
    mscene.reset_camera()
    mscene.set_overlay_line("title", "alpha check: overlay text over the view")
    ghost = PlanGhost(mscene)
    ghost.set_plan("ALPHA", mscene.entries["ALPHA"].obj.ephemeris)
    try:
        views = [mscene.canvas.render(alpha=True)]
        labels_drawn = len(mscene.label_layout)
        mscene.show_encounter("ALPHA", "BRAVO", TCA_TDB_S, MISS_KM, 4.75, np.diag([4.0, 1.0, 0.25]), 0.02)
        views.append(mscene.canvas.render(alpha=True))
    finally:
        mscene.clear_encounter()
        ghost.set_plan(None)
        mscene.frame_hooks.remove(ghost.update)
    assert labels_drawn > 0
    for rgba in views:
        assert rgba[..., :3].max() > 200  # something was drawn
        assert rgba[..., 3].min() == 255


def test_cached_projection_follows_the_camera_and_the_canvas(mscene):
    """Label anchors (_project_px) follow every camera change, including the two-angle turns of look_from."""
    pts = np.array([[0.0, 0.0, 0.0], [3396.2, 0.0, 0.0], [-2000.0, 4000.0, 1500.0]])

    def fresh():
        p = np.asarray(mscene.view.scene.node_transform(mscene.canvas.scene).map(pts), dtype=float)
        return p[:, :2] / p[:, 3:4]

    mscene.set_focus(None)
    mscene.reset_camera()
    assert np.allclose(mscene._project_px(pts), fresh(), atol=1e-6)
    for change in (lambda c: setattr(c, "azimuth", c.azimuth + 17.0),
                   lambda c: setattr(c, "elevation", c.elevation - 9.0),
                   lambda c: setattr(c, "distance", c.distance * 0.7),
                   lambda c: setattr(c, "center", (500.0, -200.0, 100.0)),
                   lambda c: mscene.look_from([0.3, -0.8, 0.2])):
        before = mscene._project_px(pts)
        change(mscene.camera)
        after = mscene._project_px(pts)
        assert np.allclose(after, fresh(), atol=1e-6)
        assert np.abs(after - before).max() > 1.0
    mscene.reset_camera()


def test_the_scenes_sun_is_the_analytic_sun_at_any_epoch(mscene):
    """The view's Sun direction (tabulated around the epoch) equals core.sun's analytic one, also after jumps
    far outside the table."""
    from marsview.core.sun import sun_position_mars_centred_km

    for dt in (0.0, 3.7e3, 25 * 86400.0, -400 * 86400.0, 2.1e8, -55.5):
        t = TCA_TDB_S + dt
        mscene.set_time(t)
        sun = sun_position_mars_centred_km(np.array([t]))[0]
        want = eme_to_display_matrices(mscene.frame, np.array([t]))[0] @ (sun / np.linalg.norm(sun))
        assert np.linalg.norm(mscene.sun_direction_display() - want) < 1e-9, dt
    mscene.set_time(TCA_TDB_S - 600.0)


def test_a_theme_switch_draws_what_a_scene_built_in_that_theme_draws(qapp):
    """Switching to the projector theme on a live view restyles labels, caption and clock where they sit
    (a restyle once wrote the clock's glyphs over the labels' ones)."""
    from vispy import scene

    from marsview.render.labels import boxes_overlap
    from marsview.render.scene import MarsScene
    from marsview.render.themes import PROJECTOR, WORKSTATION

    # both canvases exist before either draws: a never-shown Qt canvas created after another has drawn leaves
    # a GL error in the first one's context (plain vispy too; the app's canvases are shown, and do not)
    canvases = [scene.SceneCanvas(size=(400, 300), show=False) for _ in range(2)]
    texture = generate_mars_texture(512, 256)
    try:
        live, built = (MarsScene(c, theme=t, texture_rgb=texture, tdb_s=TCA_TDB_S - 600.0)
                       for c, t in zip(canvases, (WORKSTATION, PROJECTOR)))
        for s in (live, built):
            s.set_objects(make_scenario().objects)
            s.set_overlay_line("title", "theme switch")
        workstation = live.canvas.render(alpha=False)
        live.apply_theme(PROJECTOR)
        switched = live.canvas.render(alpha=False)
        want = built.canvas.render(alpha=False)
    finally:
        for c in canvases:
            c.close()
    assert live.clock_text and live.clock_text == built.clock_text
    for s in (live, built):  # a new caption line pushes labels aside at once, not at the next frame
        for label in s.label_layout:
            assert not any(boxes_overlap(label.box, b) for b in s._overlay_boxes), label
    assert np.abs(workstation.astype(int) - want.astype(int)).max() > 100  # the themes do differ
    diff = np.abs(switched.astype(int) - want.astype(int)).max(axis=-1)
    assert (diff > 2).mean() < 1e-4, (diff > 2).sum()
