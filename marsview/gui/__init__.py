"""Qt GUI. ``launch`` builds the main window without entering the event loop (automation contract)."""

from __future__ import annotations


def _ensure_app():
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
    _ensure_app()
    from .main_window import MainWindow

    window = MainWindow(paths=paths, **options)
    if planning:
        from .maneuver_panel import install_maneuver_planning

        window.maneuver_panel = install_maneuver_planning(window)
        window.tabify_planning_docks()
    if show:
        window.show()
    return window


def launch_app(paths=None) -> int:
    app = _ensure_app()
    window = launch(paths or None, show=True)
    window.raise_()
    return app.exec()
