"""What the main window needs from a panel (``Panel``), and the registry entry that names one (``PanelEntry``).

A panel is a ``QDockWidget`` subclass with two class attributes and four methods. The main window imports the
entries of ``marsview.gui.panels.registry.PANELS`` in order, builds each with ``for_window(window)``, docks it in
``dock_area`` under ``object_name``, and from then on hands it the shown scenario (``set_scenario``, on
``controller.scenarioChanged``), each screening result (``set_result``, on ``controller.screeningResult``) and
the window's close (``shutdown``), always in registry order. A panel that needs another one looks it up with
``window.panel(object_name)`` (panels listed before it are built first). Menus are reached through
``window.menuFile`` / ``window.menuView``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from PySide6.QtCore import Qt


@runtime_checkable
class Panel(Protocol):
    """A dock of the main window (implemented by a ``QDockWidget`` subclass)."""

    object_name: ClassVar[str]  # the dock's objectName: README "GUI automation", and saved window layouts
    dock_area: ClassVar[Qt.DockWidgetArea]  # the right-hand docks become one tab group, in registry order

    @classmethod
    def for_window(cls, window) -> Panel:
        """The panel for WINDOW (``MainWindow``: its ``controller``, ``table``, ``plots``, menus, and the panels
        listed before this one), its own signals connected; the window docks it."""

    def set_scenario(self, scenario) -> None:
        """Another scenario is shown (``model.Scenario``)."""

    def set_result(self, result) -> None:
        """A screening result is shown (``core.screening.ScreeningResult``; during maneuver planning, the
        planned one once the plan settled)."""

    def shutdown(self) -> None:
        """The window closes: stop timers, cancel and join background work. Called once or more."""


@dataclass(frozen=True)
class PanelEntry:
    """One line of the registry: PANEL is ``"module:Class"`` (imported when a window is built, so a panel's
    imports cost nothing until then). ADDON names the optional feature the panel belongs to (a key of
    ``registry.ADDONS``): such panels are built only when the window asks for that add-on, and if one fails the
    window reports "<add-on> unavailable" and skips the add-on's later panels instead of failing."""

    panel: str
    addon: str | None = None

    def load(self) -> type:
        import importlib

        module, _, name = self.panel.partition(":")
        return getattr(importlib.import_module(module), name)
