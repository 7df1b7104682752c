"""``marsview snapshot``: render the main 3D view with its overlays to a PNG of exactly WxH pixels.

Needs a display (Xvfb is fine): the view is the GUI's own widget, built by ``launch(show=False)``.
"""

from __future__ import annotations

import re


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m or not (16 <= int(m.group(1)) <= 16384 and 16 <= int(m.group(2)) <= 16384):
        raise ValueError(f"--size must be WxH with 16..16384 pixels each, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def add_briefing_options(p) -> None:
    """--encounter and --flat-lighting (shared with ``marsview movie``)."""
    p.add_argument("--encounter", metavar="OBJ1/OBJ2",
                   help="encounter view of the close approach of OBJ1 and OBJ2 whose TCA is nearest to --time "
                        "(or the window start): miss vector, RTN axes, 1/3-sigma ellipses, hard-body circle")
    p.add_argument("--flat-lighting", action="store_true",
                   help="light every body evenly (no night side), as View > Flat lighting does")


def find_close_approach(events, spec: str, tdb_s: float, object_names):
    """The event of the pair named in SPEC ('OBJ1/OBJ2', either order, names case-insensitive) whose TCA is
    nearest to TDB_S; ValueError with a one-line reason otherwise."""
    parts = [x.strip() for x in str(spec).split("/")]
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"--encounter must be OBJ1/OBJ2, got {spec!r}")
    by_lower = {n.lower(): n for n in object_names}
    names = []
    for part in parts:
        if part.lower() not in by_lower:
            raise ValueError(f"--encounter {spec}: no object named {part!r} (objects: {', '.join(object_names)})")
        names.append(by_lower[part.lower()])
    pair = {names[0], names[1]}
    mine = [e for e in events if {e.object1, e.object2} == pair]
    if not mine:
        raise ValueError(f"--encounter {spec}: the screening found no close approach between {names[0]} and "
                         f"{names[1]} ({len(events)} close approaches between other pairs)")
    return min(mine, key=lambda e: abs(e.tca_tdb_s - tdb_s))


def register(subparsers) -> None:
    p = subparsers.add_parser("snapshot", help="render the 3D view with its overlays to a PNG (needs a display)",
                              description="Render the main 3D view as the GUI shows it to a PNG of exactly WxH "
                                          "pixels. Needs a display; under Xvfb it uses Mesa's llvmpipe.")
    p.add_argument("paths", nargs="*", help="scenario folder or ephemeris files (default: the built-in scenario)")
    p.add_argument("--time", help="UTC epoch to show (ISO, e.g. 2024-03-01T12:00:00); default: window start")
    p.add_argument("--size", default="1920x1080", help="WxH in pixels (default 1920x1080)")
    p.add_argument("--theme", choices=("workstation", "projector"), default="workstation",
                   help="projector = high-contrast briefing look")
    p.add_argument("--frame", choices=("MCI", "IAU_MARS"), default="MCI", help="display frame (default MCI)")
    p.add_argument("--focus", help="object to centre on (default Mars)")
    add_briefing_options(p)
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.add_argument("--allow-outside-paths", action="store_true",
                   help="let scenario.toml name files outside its folder (refused by default)")
    p.set_defaults(func=run)


def run(args) -> int:
    import os
    import sys

    try:
        width, height = _size(args.size)
        from marsview.core.time import utc_to_tdb_s

        tdb_s = utc_to_tdb_s(args.time) if args.time else None
        from marsview.cli.output import check_output_file

        check_output_file(args.output, suffixes=(".png",))
    except ValueError as exc:
        print(f"marsview snapshot: {exc}", file=sys.stderr)
        return 2
    from marsview.gui import display_problem, ensure_app, launch

    problem = display_problem()
    if problem:
        print(f"marsview snapshot: {problem}", file=sys.stderr)
        return 2

    app = ensure_app()
    try:  # headless command: load on this thread (the window's loader worker is for interactive use)
        from marsview.model.loading import load_scenario

        scenario = load_scenario(list(args.paths) or None, allow_outside_paths=args.allow_outside_paths)
    except (OSError, ValueError) as exc:
        print(f"marsview snapshot: could not load the scenario: {exc}", file=sys.stderr)
        return 1
    window = launch(args.paths or None, show=False, planning=False, theme=args.theme, scenario=scenario)
    rc = 1
    try:
        rc = _render(app, window, args, tdb_s, width, height)
    finally:
        from marsview.gui import shutdown_window

        shutdown_window(window)  # closes (closeEvent joins the workers) and deletes the window and view
        # The PNG is written and closed. PySide6 6.12 can abort during interpreter finalization after a
        # GL window has lived in the process ("Fatal Python error: none_dealloc"); a one-shot command
        # must not turn that into a failed exit code, so it leaves without finalization.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)


def _render(app, window, args, tdb_s, width, height) -> int:
    import sys
    import time

    from PySide6.QtCore import QEventLoop

    screened = []  # wait for the screening so the overlay shows its count, as the GUI does
    window.screeningFinished.connect(lambda: screened.append(True))
    window.controller.screeningFailed.connect(lambda m, d: screened.append(m))
    deadline = time.monotonic() + 120.0
    while not screened and window.controller.screen_lane.latest_id and time.monotonic() < deadline:
        app.processEvents(QEventLoop.AllEvents, 50)
    if args.focus:
        try:
            window.follow(args.focus)
        except KeyError as exc:
            print(f"marsview snapshot: {exc}", file=sys.stderr)
            return 2
    window.set_display_frame(args.frame)
    objects = window.scenario.objects if window.scenario is not None else []
    if tdb_s is not None and objects and not any(o.ephemeris.covers(tdb_s) for o in objects):
        from marsview.core.time import format_epoch

        lo = min(o.ephemeris.coverage[0] for o in objects)
        hi = max(o.ephemeris.coverage[1] for o in objects)
        print(f"marsview snapshot: --time {args.time} is outside the coverage of every object "
              f"({format_epoch(lo, 'UTC', 0)} .. {format_epoch(hi, 'UTC', 0)} UTC)", file=sys.stderr)
        return 2
    if args.flat_lighting:
        window.globe.scene.set_flat_lighting(True)
    if tdb_s is not None:
        window.clock.set_range(min(tdb_s, window.clock.start_tdb_s), max(tdb_s, window.clock.stop_tdb_s))
        window.clock.set_time(tdb_s)
    if args.encounter:
        result = window.controller.result
        try:
            if result is None:
                raise ValueError(f"--encounter {args.encounter}: the screening did not finish")
            event = find_close_approach(result.events, args.encounter, window.clock.tdb_s,
                                        [o.name for o in window.scenario.objects])
        except ValueError as exc:
            print(f"marsview snapshot: {exc}", file=sys.stderr)
            return 2
        window.select_event(event)
    from marsview.gui.globe_view import rgb_to_qimage

    from PySide6.QtCore import Qt

    view = window.globe
    # the view as its own top-level widget of exactly WxH, shown but not on screen, so Qt and vispy lay
    # out the camera aspect and the overlays for the output size (a hidden widget gets no resize events)
    view.widget.setParent(None)
    view.widget.setAttribute(Qt.WA_DontShowOnScreen, True)
    view.widget.setMinimumSize(1, 1)
    view.widget.resize(width, height)
    view.widget.show()
    for _ in range(5):
        app.processEvents(QEventLoop.AllEvents, 20)
    view.scene.set_time(window.clock.tdb_s)
    rgb = view.render(size=(width, height))
    image = rgb_to_qimage(rgb)
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    if image.width() != width or image.height() != height or not image.save(buffer, "PNG"):
        print(f"marsview snapshot: could not encode the {width}x{height} PNG", file=sys.stderr)
        return 1
    try:
        from marsview.io.atomic import atomic_write_bytes

        atomic_write_bytes(args.output, bytes(data))  # a reader never sees half a PNG
    except OSError as exc:
        print(f"marsview snapshot: could not write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({width}x{height})")
    return 0
