"""Benchmark: frames per second of the animated default scenario in the 3D view at 1920x1080. Prints JSON.

    .venv/bin/python benchmarks/bench_fps.py                  # Qt window under a display (Xvfb is fine)
    EGL_PLATFORM=surfaceless python benchmarks/bench_fps.py --backend egl   # no Qt, no X: GPU boxes

--backend qt: the MarsScene in the app's 3D view widget (gui.globe_view.GlobeView) shown at that size; each frame
advances the clock (warp x1000 of wall time), updates every visual and waits for the canvas to be drawn (as the
GUI does). The view is a native GL window (gui.qtkit.gl_window) unless MARSVIEW_GL_WIDGET=1 (the QOpenGLWidget
that Qt composes into the window every frame); "view" says which.
--backend egl: the same scene (marsview.render only; no PySide6 is imported) on an EGL SceneCanvas; each
frame is canvas.render() into an off-screen framebuffer, including the read-back to the CPU (so it is a lower
bound on what an on-screen swap chain does). Both report the GL renderer. Never pass/fail.

cpu_ms_per_frame: CPU time of the whole process per frame (Python, and under llvmpipe its rasterizer threads
too) -- steadier than fps on a shared machine: fps on N idle cores is at most about N * 1000 / cpu_ms.
load_average: the 1-minute load when the run ended (other processes share the cores).
--python-only (egl): also frames whose glDraw* calls are no-ops: python_only_fps_ceiling is what this CPU allows
any GPU (under llvmpipe even a 160x90 frame pays ~2 ms of rasteriser overhead).
--width 160 --height 90: rasterising is then negligible, so fps is the CPU's share of a frame (scene update +
vispy's draw submission): the ceiling any GPU would leave. benchmarks/gpu_fps.sh runs both sizes on a GPU box.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

FLEET = {  # periapsis alt, apoapsis alt [km], inclination [deg], RAAN [deg] (mars_facts.md section 4, roughly)
    "MRO": (255, 320, 92.6, 10), "ODY": (400, 400, 93.06, 60), "MAVEN": (150, 4500, 75, 110),
    "MEX": (350, 10300, 86.3, 160), "TGO": (400, 400, 74, 210), "EMM": (20000, 43000, 25, 260),
    "TW1": (265, 10700, 86, 300), "MGS": (370, 440, 93, 340),
}


class _Obj:
    def __init__(self, name, kind, ephemeris, color=None):
        self.name, self.kind, self.ephemeris, self.color, self.visible = name, kind, ephemeris, color, True


def load_objects(days: float = 7.0):
    """The default scenario's objects if marsview.io.scenario is there, else a synthetic 2024-like fleet."""
    try:
        from marsview.model.loading import load_scenario

        sc = load_scenario(None)
        start, stop = sc.window_start_tdb_s, sc.window_stop_tdb_s
        return list(sc.objects), start, stop, f"default scenario {sc.name!r}"
    except ImportError:
        pass
    from marsview.core.moons import deimos_ephemeris, phobos_ephemeris
    from marsview.core.orbits import state_from_peri_apo
    from marsview.core.twobody import TwoBodyEphemeris

    start = 7.5e8
    stop = start + days * 86400.0
    objs = []
    for i, (name, (hp, ha, inc, raan)) in enumerate(FLEET.items()):
        s0 = state_from_peri_apo(hp, ha, inc, raan, 30.0 * i, 40.0 * i)
        objs.append(_Obj(name, "spacecraft", TwoBodyEphemeris(name, s0, start, start, stop)))
    objs.append(_Obj("Phobos", "moon", phobos_ephemeris(start, stop), "#bbbbbb"))
    objs.append(_Obj("Deimos", "moon", deimos_ephemeris(start, stop), "#999999"))
    return objs, start, stop, "synthetic 2024-like fleet (two-body) + Phobos/Deimos mean elements"


def build_scene(canvas, objects, start):
    from marsview.render.scene import MarsScene

    s = MarsScene(canvas, tdb_s=start)
    s.set_objects(objects)
    s.set_overlay_line("title", "benchmark")
    return s


def gl_renderer():
    from vispy.gloo import gl

    return f"{gl.glGetParameter(gl.GL_RENDERER)} / {gl.glGetParameter(gl.GL_VERSION)}"


def run_egl(args, objects, start, stop):
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    import vispy

    vispy.use("egl")
    from vispy import scene

    canvas = scene.SceneCanvas(size=(args.width, args.height), show=False)
    t_build = time.perf_counter()
    s = build_scene(canvas, objects, start)
    canvas.render(alpha=False)  # first frame: shader compilation, texture upload
    first_frame_s = time.perf_counter() - t_build
    t, frames, update_s, render_s = start, 0, 0.0, 0.0
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    while time.perf_counter() - wall0 < args.seconds:
        a = time.perf_counter()
        t = start + (a - wall0) * args.warp
        if t > stop:
            t = start
        s.set_time(t)
        b = time.perf_counter()
        canvas.render(alpha=False)
        c = time.perf_counter()
        update_s += b - a
        render_s += c - b
        frames += 1
    wall = time.perf_counter() - wall0
    cpu_ms = 1e3 * (time.process_time() - cpu0) / frames
    draw = _draw_only(canvas, s, start, stop, args)
    if args.python_only:
        draw.update(_python_only(canvas, s, start, stop, args))
    assert "PySide6" not in sys.modules, "the EGL path must not import Qt"
    return dict(fps=frames / wall, frames=frames, mean_update_ms=1e3 * update_s / frames,
                mean_render_readback_ms=1e3 * render_s / frames, first_frame_s=first_frame_s,
                cpu_ms_per_frame=cpu_ms,
                renderer=gl_renderer(), **draw)


def _draw_only(canvas, s, start, stop, args):
    """Frames drawn into a bound framebuffer with glFinish but no read-back (what a swap chain would pay)."""
    from vispy import gloo
    from vispy.gloo import gl

    size = (args.width, args.height)
    fbo = gloo.FrameBuffer(color=gloo.RenderBuffer(size[::-1]), depth=gloo.RenderBuffer(size[::-1]))
    canvas.set_current()
    fbo.activate()
    canvas.push_fbo(fbo, (0, 0), canvas.size)
    try:
        frames, wall, _update_s, draw_s = _animate(canvas, s, start, stop, args, finish=gl.glFinish)
    finally:
        canvas.pop_fbo()
    return dict(no_readback_fps=frames / wall, no_readback_mean_draw_ms=1e3 * draw_s / frames)


def _animate(canvas, s, start, stop, args, finish):
    """ARGS.seconds of frames drawn with draw_visual (the caller binds the target), each ended by FINISH():
    (frames, wall s, update s, draw s)."""
    frames, update_s, draw_s = 0, 0.0, 0.0
    wall0 = time.perf_counter()
    while time.perf_counter() - wall0 < args.seconds:
        a = time.perf_counter()
        t = start + (a - wall0) * args.warp
        s.set_time(t if t <= stop else start)
        b = time.perf_counter()
        canvas.context.clear(color=canvas.bgcolor, depth=True)
        canvas.draw_visual(canvas.scene)
        finish()
        update_s += b - a
        draw_s += time.perf_counter() - b
        frames += 1
    return frames, time.perf_counter() - wall0, update_s, draw_s


def _python_only(canvas, s, start, stop, args):
    """The frame with glDrawArrays/glDrawElements made no-ops (everything else -- scene update, vispy's
    draw machinery, buffer and uniform uploads -- runs): the CPU share no GPU can take away. Its inverse is
    the frame-rate ceiling on this CPU, whatever the card."""
    from vispy.gloo import gl
    from vispy.gloo.gl import _gl2

    saved = {(m, n): getattr(m, n) for m in (gl, _gl2) for n in ("glDrawArrays", "glDrawElements")}
    for m, n in saved:
        setattr(m, n, lambda *a, **k: None)
    try:
        frames, wall, update_s, _draw_s = _animate(canvas, s, start, stop, args,
                                                   finish=canvas.context.flush_commands)
    finally:
        for (m, n), f in saved.items():
            setattr(m, n, f)
    return dict(python_only_ms_per_frame=1e3 * wall / frames, python_only_update_ms=1e3 * update_s / frames,
                python_only_fps_ceiling=frames / wall)


def run_qt(args, objects, start, stop):
    from PySide6.QtWidgets import QApplication

    from marsview.gui.globe_view import GlobeView  # the app's widget: its canvas settings are what is measured

    app = QApplication.instance() or QApplication(["bench"])
    view = GlobeView(size=(args.width, args.height))
    canvas = view.canvas
    s = view.scene
    s.set_objects(objects)
    s.set_overlay_line("title", "benchmark")
    s.set_time(start)
    view.widget.resize(args.width, args.height)
    view.widget.show()
    drawn = []
    canvas.events.draw.connect(lambda e: drawn.append(time.perf_counter()))
    while not drawn:
        app.processEvents()
    n0 = len(drawn)
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    update_s = 0.0
    while time.perf_counter() - wall0 < args.seconds:
        a = time.perf_counter()
        t = start + (a - wall0) * args.warp
        s.set_time(t if t <= stop else start)
        update_s += time.perf_counter() - a
        before = len(drawn)
        while len(drawn) == before and time.perf_counter() - wall0 < args.seconds + 5:
            app.processEvents()
    wall = time.perf_counter() - wall0
    frames = len(drawn) - n0
    cpu_ms = 1e3 * (time.process_time() - cpu0) / max(frames, 1)
    from marsview.gui.qtkit.gl_window import ViewContainer

    result = dict(fps=frames / wall, frames=frames, mean_update_ms=1e3 * update_s / max(frames, 1),
                  cpu_ms_per_frame=cpu_ms,
                  view="native GL window" if isinstance(view.widget, ViewContainer) else "QOpenGLWidget",
                  renderer=gl_renderer(), actual_canvas_size=list(canvas.size))
    canvas.close()
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("qt", "egl"), default="qt")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warp", type=float, default=1000.0)
    p.add_argument("--width", type=int, default=1920)
    p.add_argument("--height", type=int, default=1080)
    p.add_argument("--python-only", action="store_true",
                   help="egl: also time frames with the GL draw calls skipped (the CPU share; see _python_only)")
    args = p.parse_args()
    objects, start, stop, source = load_objects()
    run = run_egl if args.backend == "egl" else run_qt
    result = run(args, objects, start, stop)
    print(json.dumps(dict(benchmark="fps_3d_view", backend=args.backend, size=[args.width, args.height],
                          warp=args.warp, seconds=args.seconds, objects=len(objects), scenario=source,
                          cpu_count=os.cpu_count(), load_average=os.getloadavg()[0],
                          python=platform.python_version(),
                          numpy=np.__version__, **result), indent=1))


if __name__ == "__main__":
    main()
