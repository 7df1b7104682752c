"""``marsview movie``: render a time span of the 3D view to an MP4 or a folder of PNG frames (scripted briefings).

The movie shows DURATION of simulated time from START at WARP simulated seconds per movie second: it lasts
DURATION / WARP seconds and has round(DURATION / WARP x FPS) frames. Needs a display (Xvfb is fine).
"""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "movie", help="render a time span of the 3D view to MP4 or PNG frames (needs a display)",
        description="Render the 3D view as the GUI shows it over a time span, off-screen, to an H.264 MP4 "
                    "(-o NAME.mp4) or a folder of PNG frames (-o FOLDER: frame_00000.png, ...). The movie lasts "
                    "DURATION / WARP seconds at FPS frames per second.")
    p.add_argument("paths", nargs="*", help="scenario folder or ephemeris files (default: the built-in scenario)")
    p.add_argument("--start", help="UTC epoch of the first frame (default: the screening window start)")
    p.add_argument("--duration", help="simulated time span, e.g. 6h, 1d, 3600s (default: to the window end)")
    p.add_argument("--fps", type=float, default=30.0, help="frames per second of the movie (default 30)")
    p.add_argument("--size", default="1920x1080", help="WxH in pixels (default 1920x1080; even for MP4)")
    p.add_argument("--warp", type=float, default=1000.0,
                   help="simulated seconds per movie second (default 1000)")
    p.add_argument("--theme", choices=("workstation", "projector"), default="workstation",
                   help="projector = high-contrast briefing look")
    p.add_argument("--frame", choices=("MCI", "IAU_MARS"), default="MCI", help="display frame (default MCI)")
    p.add_argument("--focus", help="object to centre on (default Mars)")
    from .snapshot import add_briefing_options

    add_briefing_options(p)
    p.add_argument("-o", "--output", required=True, help="NAME.mp4, or a folder for PNG frames")
    p.add_argument("--allow-outside-paths", action="store_true",
                   help="let scenario.toml name files outside its folder (refused by default)")
    p.set_defaults(func=run)


def _fail(message: str, code: int = 2) -> int:
    print(f"marsview movie: {message}", file=sys.stderr)
    return code


def _check_output(output: str) -> None:
    """NAME.mp4 or a folder for PNG frames; anything else (m.avi, m.mov) is refused, not silently replaced."""
    import os

    from marsview.cli.output import CliError, check_output_file, check_output_folder

    if output.lower().endswith(".mp4"):
        check_output_file(output)
    elif os.path.splitext(output.rstrip("/"))[1] and not os.path.isdir(output):
        raise CliError(f"-o {output}: write NAME.mp4 (H.264) or a folder for PNG frames; other formats are "
                       "not supported")
    else:
        check_output_folder(output, "-o")


def run(args) -> int:
    from marsview.core.time import parse_duration_s, utc_to_tdb_s
    from marsview.render.movie_frames import frame_count, parse_size

    try:
        size = parse_size(args.size)
        start = utc_to_tdb_s(args.start) if args.start else None
        duration = parse_duration_s(args.duration) if args.duration else None
        for key, v in (("fps", args.fps), ("warp", args.warp)):
            if not v > 0 or v == float("inf"):
                raise ValueError(f"--{key} must be a finite number > 0, got {v:g}")
        if duration is not None:
            frame_count(duration, args.fps, args.warp)
        _check_output(args.output)
        if args.output.lower().endswith(".mp4") and (size[0] % 2 or size[1] % 2):
            raise ValueError(f"--size: MP4 (H.264) needs an even width and height, got {size[0]}x{size[1]}")
    except ValueError as exc:
        return _fail(str(exc))
    from marsview.gui import display_problem, ensure_app, launch, shutdown_window

    problem = display_problem()
    if problem:
        return _fail(problem)

    app = ensure_app()
    window = launch(args.paths or None, show=False, planning=False, theme=args.theme,
                    allow_outside_paths=args.allow_outside_paths)
    try:
        return _render(app, window, args, start, duration, size)
    finally:
        shutdown_window(window)


def _wait_loaded(app, window) -> str | None:
    import time

    from PySide6.QtCore import QEventLoop

    loaded = []
    window.scenarioLoaded.connect(lambda: loaded.append(None))
    window.controller.loadFailed.connect(lambda m, d: loaded.append(m))
    deadline = time.monotonic() + 120.0
    while not loaded and time.monotonic() < deadline:
        app.processEvents(QEventLoop.AllEvents, 50)
    return loaded[0] if loaded else "timed out"


def _wait_encounter(app, window, args, start):
    """The --encounter event (nearest TCA to --start or the window start), or a one-line error."""
    import time

    from PySide6.QtCore import QEventLoop

    from .snapshot import find_close_approach

    deadline = time.monotonic() + 300.0
    while window.controller.result is None and window.controller.screen_lane.latest_id \
            and time.monotonic() < deadline:
        app.processEvents(QEventLoop.AllEvents, 50)
    result = window.controller.result
    if result is None:
        return f"--encounter {args.encounter}: the screening did not finish"
    try:
        return find_close_approach(result.events, args.encounter,
                                   window.clock.start_tdb_s if start is None else start,
                                   [o.name for o in window.scenario.objects])
    except ValueError as exc:
        return str(exc)


def _render(app, window, args, start, duration, size) -> int:
    error = _wait_loaded(app, window)
    if error is not None:
        return _fail(f"could not load the scenario: {error}", 1)
    if args.focus:
        try:
            window.follow(args.focus)
        except KeyError as exc:
            return _fail(str(exc))
    window.set_display_frame(args.frame)
    if getattr(args, "flat_lighting", False):
        window.globe.scene.set_flat_lighting(True)
    if getattr(args, "encounter", None):  # the close approach comes from the screening: wait for it
        event = _wait_encounter(app, window, args, start)
        if isinstance(event, str):
            return _fail(event)
        window.select_event(event)
        if duration is None:  # the pass itself: +-20 miss distances of relative motion, at least +-1 min
            duration = 2.0 * max(60.0, 20.0 * max(event.miss_km, 0.01) / max(event.relative_speed_kms, 1e-6))
        if start is None:
            start = event.tca_tdb_s - duration / 2.0
    else:
        window.controller.screen_lane.cancel()  # the movie does not show the screening: do not wait for it
    window.globe.scene.overlay_lines.pop("screening", None)  # its transient "screening…" line
    c = window.clock
    start = c.start_tdb_s if start is None else start
    duration = (c.stop_tdb_s - start) if duration is None else duration
    if not duration > 0:
        return _fail("--start is at or after the end of the screening window; give --duration")
    c.set_range(min(start, c.start_tdb_s), max(start + duration, c.stop_tdb_s))
    c.set_time(start)
    from marsview.gui.export.movie import render_movie
    from marsview.render.themes import theme_named

    last = [-1]

    def progress(done, total):
        pct = 100 * done // total
        if pct // 10 != last[0]:
            last[0] = pct // 10
            print(f"  {done}/{total} frames", file=sys.stderr)

    try:
        n = render_movie(window, args.output, start, duration, args.fps, args.warp, size,
                         theme=theme_named(args.theme), progress=progress)
    except (OSError, ValueError, RuntimeError) as exc:
        return _fail(f"could not write {args.output}: {exc}", 1)
    print(f"wrote {args.output} ({n} frames, {size[0]}x{size[1]}, {args.fps:g} fps, "
          f"{n / args.fps:.2f} s)")
    return 0
