"""The one way GUI tests open a main window: ``window_factory`` (windows live for the test module: building one
costs seconds under llvmpipe) and ``fresh_window_factory`` (windows live for one test).

A window opened here is the real one (``marsview.gui.launch``), shown, with its settings in a temporary folder
(never the user's), and returned only after its first screening finished; ``window.screenings`` grows by one on
every ``screeningFinished``. Every window is shut down (GL view included) when its scope ends.
"""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QSettings


def _open_window(qapp, settings_dir, loader, planning: bool = False, size=None, activate: bool = False,
                 timeout_s: float = 60.0):
    from marsview.gui import launch

    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(settings_dir))
    window = launch(show=True, planning=planning, loader=loader)
    window.screenings = []
    window.screeningFinished.connect(lambda: window.screenings.append(True))
    if size is not None:
        window.resize(*size)
    deadline = time.time() + timeout_s
    while not window.screenings and time.time() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    assert window.screenings, "the first screening never finished"
    if activate:  # shortcuts need the active window (there is no window manager under Xvfb)
        window.activateWindow()
        deadline = time.time() + 5
        while not window.isActiveWindow() and time.time() < deadline:
            qapp.processEvents()
    return window


class _Factory:
    def __init__(self, qapp, tmp_path_factory):
        self.qapp, self.tmp_path_factory, self.opened = qapp, tmp_path_factory, []

    def __call__(self, loader, *, planning: bool = False, size=None, activate: bool = False):
        """A shown main window on LOADER's scenario after its first screening (PLANNING: the maneuver docks;
        SIZE: (width, height); ACTIVATE: made the active window, for keyboard shortcuts)."""
        window = _open_window(self.qapp, self.tmp_path_factory.mktemp("settings"), loader, planning, size,
                              activate)
        self.opened.append(window)
        return window

    def close_all(self):
        from marsview.gui import shutdown_window

        for window in reversed(self.opened):
            briefing = getattr(window, "briefing", None)
            if briefing is not None and briefing.active:
                briefing.leave()
            shutdown_window(window)
        self.opened.clear()


@pytest.fixture(scope="module")
def window_factory(qapp, tmp_path_factory):
    """Open main windows that stay open for the whole test module (tests leave them usable)."""
    factory = _Factory(qapp, tmp_path_factory)
    yield factory
    factory.close_all()


@pytest.fixture
def fresh_window_factory(qapp, tmp_path_factory):
    """Open main windows that are shut down after the test."""
    factory = _Factory(qapp, tmp_path_factory)
    yield factory
    factory.close_all()
