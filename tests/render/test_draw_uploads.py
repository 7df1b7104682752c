"""What the 3D view re-sends to the GPU each frame: only what changed, and the picture is the same as a fresh
draw of the same data (text whose glyphs are rewritten in place, the line batch that keeps its colours and
strip breaks, the font filter kernel uploaded once)."""

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


def test_in_place_text_draws_what_a_fresh_text_draws(canvas_pair):
    from vispy import scene

    a, b = canvas_pair
    _clear(a)
    _clear(b)
    clock = fonts.in_place_text("2024-01-01 00:00:00 UTC", parent=a.scene, pos=(300, 60), color="white",
                                font_size=12, anchor_x="right")
    a.render(alpha=False)
    buffer = clock._vertices
    for stamp in ("2024-01-01 00:00:17 UTC", "2031-12-31 23:59:59 TDB"):  # same length: rewritten in place
        clock.text = stamp
        got = a.render(alpha=False)
        assert clock._vertices is buffer
        fresh = scene.visuals.Text(stamp, parent=b.scene, pos=(300, 60), color="white", font_size=12,
                                   anchor_x="right")
        want = b.render(alpha=False)
        fresh.parent = None
        assert np.array_equal(got, want), stamp
    clock.text = "paused"  # another length: vispy's own rebuild
    got = a.render(alpha=False)
    fresh = scene.visuals.Text("paused", parent=b.scene, pos=(300, 60), color="white", font_size=12, anchor_x="right")
    assert np.array_equal(got, b.render(alpha=False))
    fresh.parent = None


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
