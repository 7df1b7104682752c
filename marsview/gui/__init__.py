"""Qt GUI. ``launch`` builds the main window without entering the event loop (automation contract)."""

from __future__ import annotations


def display_problem() -> str | None:
    """Why the 3D view cannot get an OpenGL window here (a one-line reason), or None. Qt's offscreen and
    minimal platforms have no GL for vispy (the view crashed with a segfault), and on Linux without DISPLAY or
    WAYLAND_DISPLAY Qt aborts with a multi-line message."""
    import os
    import sys

    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform in ("offscreen", "minimal"):
        return (f"QT_QPA_PLATFORM={platform} gives the 3D view no OpenGL window: unset it and run on a display "
                "(headless: xvfb-run -a marsview ...)")
    if sys.platform.startswith("linux") and not platform and not os.environ.get("DISPLAY") \
            and not os.environ.get("WAYLAND_DISPLAY"):
        return "no display (DISPLAY and WAYLAND_DISPLAY are unset): run on a display (headless: xvfb-run -a marsview ...)"
    return None


def ensure_app():
    """The running QApplication, created (named "marsview") when there is none yet."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(["marsview"])
        app.setApplicationName("marsview")
        app.setOrganizationName("marsview")
    return app


def launch(paths=None, show: bool = True, planning: bool = True, **options):
    """Build the main window on PATHS (None = the built-in default scenario); returns the QMainWindow.

    PLANNING adds the maneuver-planning docks. OPTIONS go to ``MainWindow`` (``theme="projector"``,
    ``scenario=``, ``loader=``)."""
    ensure_app()
    from .main_window import MainWindow

    # an add-on failing is reported in the window and must not take the viewer down (MainWindow._build_panels)
    window = MainWindow(paths=paths, planning=planning, **options)
    if show:
        window.show()
    return window


def launch_app(paths=None, allow_outside_paths: bool = False) -> int:
    problem = display_problem()
    if problem:
        import sys

        print(f"marsview: {problem}", file=sys.stderr)
        return 2
    app = ensure_app()
    from .briefing.briefing import last_scenario_paths, restore_settings

    window = launch(paths or last_scenario_paths() or None, show=True,
                    **({"allow_outside_paths": True} if allow_outside_paths else {}))
    restore_settings(window)
    window.raise_()
    stop_on_sigterm(app)
    rc = app.exec()
    shutdown_window(window)
    return rc


def stop_on_sigterm(app) -> None:
    """SIGTERM (and SIGINT) end the event loop like closing the window, so background work is cancelled and
    child processes are stopped instead of being left behind. Qt's loop runs no Python code by itself: a
    200 ms timer gives the interpreter a chance to run the signal handler."""
    import signal

    from PySide6.QtCore import QTimer

    def handler(_signum, _frame):
        app.quit()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    tick = QTimer(app)
    tick.timeout.connect(lambda: None)
    tick.start(200)
    app._marsview_signal_tick = tick


def shutdown_window(window) -> None:
    """Close the window and its GL view and delete them while Qt still runs: a GL widget left for the
    interpreter's final garbage collection can crash the process at exit (seen with PySide6 6.12)."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from shiboken6 import isValid

    if not isValid(window):
        return
    window.close()
    widget = window.globe.widget
    window.globe.close()
    if isValid(widget) and widget.parent() is None:  # taken out of the window (snapshot)
        widget.deleteLater()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QCoreApplication.processEvents()
