"""The main window's panels, in order: the one list ``MainWindow`` builds its docks from (``panels.base``).

The order is the order of the bottom docks (left to right) and of the right-hand tab group (Objects in front);
a new panel is one module with a ``Panel`` class plus one line here.
"""

from __future__ import annotations

from .base import PanelEntry

# add-on name -> what the window says when one of its panels cannot be built
ADDONS = {"planning": "Maneuver planning"}

PANELS: tuple[PanelEntry, ...] = (
    PanelEntry("marsview.gui.panels.conjunction_table:ConjunctionDock"),
    PanelEntry("marsview.gui.panels.plots:PlotsDock"),
    PanelEntry("marsview.gui.panels.object_panel:ObjectsDock"),
    PanelEntry("marsview.gui.panels.object_panel:ScenarioDock"),
    PanelEntry("marsview.gui.panels.deliveries:DeliveriesDock"),
    PanelEntry("marsview.gui.planning.maneuver_panel:ManeuverPanel", addon="planning"),
    PanelEntry("marsview.gui.planning.trade_space:TradeSpacePanel", addon="planning"),
    PanelEntry("marsview.gui.planning.who_moves:WhoMovesPanel", addon="planning"),
    PanelEntry("marsview.gui.panels.pc_methods:PcMethodsPanel"),
)
