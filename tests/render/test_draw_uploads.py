"""What the 3D view re-sends to the GPU each frame: only what changed, and the picture is the same as a fresh
draw of the same data (the batched text whose glyphs are rewritten in place, the line batch that keeps its
colours and strip breaks, the font filter kernel uploaded once)."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.render import fonts


@pytest.fixture(scope="module")
def canvas_pair(qapp):
    import vispy

    vispy.use("pyside6")
    from vispy import scene

    fonts.install()
    a = scene.SceneCanvas(size=(320, 120), show=False, bgcolor="black")
    b = scene.SceneCanvas(size=(320, 120), show=False, bgcolor="black")
    yield a, b
    a.close()
    b.close()


def _clear(canvas):
    for child in list(canvas.scene.children):
        child.parent = None


def test_static_text_does_not_re_upload_any_texture_after_its_first_frame(canvas_pair, monkeypatch):
    """vispy re-sent the font's 64 KiB filter kernel (glTexSubImage2D) for every Text, every frame."""
    from vispy import scene
    from vispy.gloo import glir

    canvas = canvas_pair[0]
    _clear(canvas)
    scene.visuals.Text("MRO 12:00:00", parent=canvas.scene, pos=(20, 60), color="white", font_size=14,
                       anchor_x="left")
    first = canvas.render(alpha=False)
    uploads = []
    original = glir.GlirTexture2D.set_data
    monkeypatch.setattr(glir.GlirTexture2D, "set_data", lambda self, *a: (uploads.append(1), original(self, *a))[1])
    for _ in range(4):
        again = canvas.render(alpha=False)
    assert uploads == []
    assert np.array_equal(first, again)
    assert first[..., 0].max() > 200  # the text is there


def _fresh_texts(canvas, items):
    """One vispy Text per (text, pos, font_pt, anchor_x, color): what the batch must draw."""
    from vispy import scene

    return [scene.visuals.Text(t, parent=canvas.scene, pos=p, font_size=pt, anchor_x=ax, anchor_y="center",
                               color=c) for t, p, pt, ax, c in items]


def _same_picture(got, want) -> bool:
    """Equal to within 1-2 levels: a larger slot's glyph offsets are the base size's times a float32 ratio."""
    return int(np.abs(got.astype(int) - want.astype(int)).max()) <= 2


def test_text_batch_draws_what_separate_texts_draw_and_re_sends_only_what_changed(canvas_pair, monkeypatch):
    """Labels, caption and clock in one draw, each slot at its own size, anchor and colours; a same-length
    string is rewritten into the same vertex buffer, a move re-sends anchors only."""
    from vispy.gloo import glir

    from marsview.render.text_batch import TextBatch

    a, b = canvas_pair
    _clear(a)
    _clear(b)
    batch = TextBatch(parent=a.scene)
    labels = ["MRO", "MAVEN", "Olympus Mons"]
    label_pos = [(20, 30), (90, 60), (150, 95)]
    label_colors = ["white", "#56b4e9", "#e69f00"]

    def expected(clock, positions):
        items = [(t, p, 9.0, "left", c) for t, p, c in zip(labels, positions, label_colors)]
        items.append((clock, (310, 14), 13.0, "right", "yellow"))
        fresh = _fresh_texts(b, items)
        want = b.render(alpha=False)
        for f in fresh:
            f.parent = None
        return want

    batch.set_slot("labels", labels, 9.0, "left", "center", label_colors, label_pos)
    batch.set_slot("clock", ["2024-01-01 00:00:00 UTC"], 13.0, "right", "center", "yellow", [(310, 14)])
    got = a.render(alpha=False)
    assert got[..., :3].max() > 200  # text is drawn
    assert _same_picture(got, expected("2024-01-01 00:00:00 UTC", label_pos))

    sent = []
    original = glir.GlirBuffer.set_data
    monkeypatch.setattr(glir.GlirBuffer, "set_data",
                        lambda self, offset, data: (sent.append(data.nbytes), original(self, offset, data))[1])
    buffer = batch._vertices
    stamp = "2031-12-31 23:59:59 TDB"
    batch.set_texts("clock", [stamp])  # same length: rewritten in place
    got = a.render(alpha=False)
    assert batch._vertices is buffer
    assert sent == [len(stamp) * 4 * 16]  # the clock's glyph quads (4 vertices x 16 bytes), nothing else
    assert _same_picture(got, expected(stamp, label_pos))

    sent.clear()
    moved = [(40, 40), (100, 70), (60, 100)]
    batch.set_positions("labels", moved)
    got = a.render(alpha=False)
    assert sent == [sum(len(t) for t in labels) * 4 * 12]  # the labels' anchors (vec3 per vertex) only
    assert _same_picture(got, expected(stamp, moved))

    # restyled at the same lengths (the theme changes colours and sizes): rewritten where it sits, not at 0
    label_colors = ["#ff8080", "#80ff80", "#8080ff"]
    batch.set_slot("labels", labels, 9.0, "left", "center", label_colors, moved)
    batch.set_slot("clock", [stamp], 18.0, "right", "center", "yellow", [(310, 14)])
    got = a.render(alpha=False)
    items = [(t, p, 9.0, "left", c) for t, p, c in zip(labels, moved, label_colors)]
    fresh = _fresh_texts(b, items + [(stamp, (310, 14), 18.0, "right", "yellow")])
    assert _same_picture(got, b.render(alpha=False))
    for f in fresh:
        f.parent = None
    batch.set_slot("clock", [stamp], 13.0, "right", "center", "yellow", [(310, 14)])
    label_colors = ["white", "#56b4e9", "#e69f00"]
    batch.set_slot("labels", labels, 9.0, "left", "center", label_colors, moved)

    batch.set_texts("clock", ["paused"])  # another length: the batch is re-packed
    got = a.render(alpha=False)
    assert batch._vertices is not buffer
    assert _same_picture(got, expected("paused", moved))

    batch.set_visible("labels", False)
    alone = _fresh_texts(b, [("paused", (310, 14), 13.0, "right", "yellow")])
    assert _same_picture(a.render(alpha=False), b.render(alpha=False))
    alone[0].parent = None


def test_one_line_layout_of_loaded_glyphs_is_bit_identical_to_vispys(canvas_pair):
    """The clock is laid out again every frame from glyphs already rendered, without vispy's per-glyph numpy
    writes: the vertices must be vispy's own, to the bit, for every anchor and any characters."""
    from vispy.visuals.text import text as vispy_text

    from marsview.render.text_batch import TextBatch, _is_loaded_line, _loaded_line_vertices

    canvas = canvas_pair[0]
    _clear(canvas)
    batch = TextBatch(parent=canvas.scene)
    canvas.render(alpha=False)
    font = batch._font
    rng = np.random.default_rng(13)
    alphabet = list("0123456789-:. TDBUCafjgpqyAVWMROΔσ–·ÅÉ") + ["\u00b5"]
    texts = ["2024-01-01 00:00:00 UTC", "2031-12-31 23:59:59 TDB", "miss 2.499 km", "AV", "W", "j"]
    texts += ["".join(rng.choice(alphabet, size=int(rng.integers(1, 30)))) for _ in range(60)]
    compared = 0
    for text in texts:
        for ax in ("left", "center", "right"):
            for ay in ("top", "center", "bottom", "baseline"):
                want = vispy_text._text_to_vbo(text, font, ax, ay, font._lowres_size, 1.2)  # renders the glyphs
                assert _is_loaded_line(text, font)
                got = _loaded_line_vertices(text, font, ax, ay)
                assert got.dtype == want.dtype
                assert got.tobytes() == want.tobytes(), (text, ax, ay)
                compared += 1
    assert compared == len(texts) * 12
    assert not _is_loaded_line("two\nlines", font)  # a line break: vispy's own layout
    assert not _is_loaded_line("\u4e2d", font)  # a glyph not rendered yet: vispy renders it


def test_line_batch_re_sends_only_what_changed_and_draws_like_a_fresh_batch(canvas_pair):
    from vispy import scene

    from marsview.render.tracks import LineBatch

    a, b = canvas_pair
    _clear(a)
    _clear(b)

    def view(canvas):
        v = scene.widgets.ViewBox(parent=canvas.scene)
        v.size = canvas.size
        v.camera = scene.cameras.PanZoomCamera(rect=(0, 0, 320, 120))
        return v

    va, vb = view(a), view(b)
    batch = LineBatch(va.scene, width=2.0)
    x = np.linspace(10, 300, 40)

    def strips(shift, n, rgba):
        return [(np.stack([x[:n], 30 + 20 * np.sin(x[:n] / 30 + shift), np.zeros(n)], axis=1), rgba),
                (np.stack([x[:n], 80 + 0 * x[:n] + shift, np.zeros(n)], axis=1), (0.2, 0.6, 1.0, 1.0))]

    frames = [(0.0, 40, (1, 0, 0, 1)), (0.5, 40, (1, 0, 0, 1)),  # moved only: positions re-sent
              (1.0, 31, (1, 0, 0, 1)),  # shorter strips: colours and breaks change
              (1.5, 31, (0, 1, 0, 1)), (2.0, 31, (0, 1, 0, 1))]  # new colour, same breaks
    sent = []
    for shift, n, rgba in frames:
        batch.set_group("g", strips(shift, n, rgba))
        batch.flush()
        sent.append((batch.line._changed["color"], batch.line._changed["connect"]))
        got = a.render(alpha=False)
        fresh = LineBatch(vb.scene, width=2.0)
        fresh.set_group("g", strips(shift, n, rgba))
        fresh.flush()
        want = b.render(alpha=False)
        fresh.remove()
        assert np.array_equal(got, want), (shift, n, rgba)
        assert got[..., :3].max() > 200
    assert sent == [(True, True), (False, False), (True, True), (True, False), (False, False)]


def test_moved_markers_rewrite_positions_in_place_and_draw_like_fresh_markers(canvas_pair):
    from vispy import scene

    from marsview.render.tracks import MarkerBatch

    a, b = canvas_pair
    _clear(a)
    _clear(b)

    def view(canvas):
        v = scene.widgets.ViewBox(parent=canvas.scene)
        v.size = canvas.size
        v.camera = scene.cameras.PanZoomCamera(rect=(0, 0, 320, 120))
        return v

    va, vb = view(a), view(b)
    batch = MarkerBatch(va.scene, marker_size=12.0)
    colors = [(1, 0, 0, 1), (0, 1, 0, 1), (0.3, 0.5, 1, 1)]
    frames = [([[40, 40, 0], [160, 60, 0], [280, 90, 0]], [True, True, True]),
              ([[50, 45, 0], [170, 65, 0], [270, 80, 0]], [True, True, True]),  # moved: in place
              ([[60, 50, 0], [180, 70, 0], [260, 70, 0]], [True, False, True]),  # one hidden: rebuilt
              ([[70, 55, 0], [190, 75, 0], [250, 60, 0]], [True, False, True])]  # moved: in place
    vbos = []
    for positions, shown in frames:
        batch.update(positions, colors, np.zeros(3), np.array(shown))
        vbos.append(batch.markers._data)
        got = a.render(alpha=False)
        fresh = MarkerBatch(vb.scene, marker_size=12.0)
        fresh.update(positions, colors, np.zeros(3), np.array(shown))
        want = b.render(alpha=False)
        fresh.markers.parent = None
        assert np.array_equal(got, want), positions
        assert got[..., :3].max() > 200
    assert vbos[1] is vbos[0] and vbos[2] is not vbos[1] and vbos[3] is vbos[2]


def test_cached_variable_update_draws_the_scene_exactly_as_vispys_own(qapp):
    """render.program_speedup replaces vispy's ModularProgram.update_variables: the default scene, animated
    over a few frames (moving fleet, turning Mars, new clock glyphs), is pixel-identical either way."""
    import vispy

    vispy.use("pyside6")
    from vispy import scene

    from marsview.model.loading import load_scenario
    from marsview.render import program_speedup
    from marsview.render.scene import MarsScene
    from marsview.render.texture import generate_mars_texture

    sc = load_scenario(None)
    texture = generate_mars_texture(256, 128)

    def frames():
        canvas = scene.SceneCanvas(size=(320, 180), show=False)
        s = MarsScene(canvas, texture_rgb=texture, tdb_s=sc.window_start_tdb_s)
        s.set_objects(sc.objects)
        out = []
        for k in range(4):
            s.set_time(sc.window_start_tdb_s + 977.0 * k)
            out.append(s.render_image())
        canvas.close()
        return out

    assert program_speedup.install()
    fast = frames()
    program_speedup.uninstall()
    try:
        slow = frames()
    finally:
        program_speedup.install()
    for a, b in zip(fast, slow):
        assert a[..., :3].max() > 100
        assert np.array_equal(a, b)
    assert not np.array_equal(fast[0], fast[-1])  # the frames did change
