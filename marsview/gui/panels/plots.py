"""pyqtgraph plots with UTC time axes: distance vs time for the selected pair (threshold line, TCAs marked),
altitude vs time for the selected spacecraft, and a timeline of every close approach in the window.

Time values handed to pyqtgraph are POSIX seconds of the UTC epoch (float64) so ``DateAxisItem`` labels
them in UTC; leap seconds inside a plot span shift the labels by at most 1 s, which the axes cannot show.
The sampled curves come from ``sample_pair_distance`` / ``sample_altitude``, run in a worker.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QTabWidget

from marsview.core import constants as C
from marsview.core.time import tdb_s_to_utc_jd

MAX_SAMPLES = 20000
# altitudes are heights above this sphere: the one scenario.toml's periapsis_alt_km / apoapsis_alt_km refer to
# (core.orbits.state_from_peri_apo), so a plotted periapsis reads as the number in the scenario file
ALTITUDE_REFERENCE_RADIUS_KM = C.RADIUS_EQUATORIAL_KM
ALTITUDE_REFERENCE_TEXT = f"above the {ALTITUDE_REFERENCE_RADIUS_KM:g} km equatorial-radius sphere"


def tdb_to_posix_utc(tdb_s) -> np.ndarray:
    jd1, jd2 = tdb_s_to_utc_jd(np.atleast_1d(np.asarray(tdb_s, dtype=float)))
    return ((jd1 - 2440587.5) + jd2) * 86400.0


def _grid(start, stop, period_hint_s=7200.0):
    n = int(np.clip((stop - start) / (period_hint_s / 40.0), 200, MAX_SAMPLES))
    return np.linspace(start, stop, n)


def sample_pair_distance(eph1, eph2, start_tdb_s, stop_tdb_s, tca_tdb_s=()) -> tuple[np.ndarray, np.ndarray]:
    """(epochs TDB s, distance km) over the common coverage, ~40 samples per 2-h orbit, plus a geometric
    cluster of samples about each TCA so the plotted minimum is the miss distance, not a grid artefact."""
    lo = max(start_tdb_s, eph1.coverage[0], eph2.coverage[0])
    hi = min(stop_tdb_s, eph1.coverage[1], eph2.coverage[1])
    if not hi > lo:
        return np.empty(0), np.empty(0)
    offsets = np.concatenate([[0.0], np.geomspace(0.01, 600.0, 40)])
    near = np.concatenate([tca + s * offsets for tca in np.atleast_1d(tca_tdb_s) for s in (-1.0, 1.0)]) \
        if len(np.atleast_1d(tca_tdb_s)) else np.empty(0)
    t = np.unique(np.concatenate([_grid(lo, hi), near[(near >= lo) & (near <= hi)]]))
    d = np.linalg.norm(eph1.state(t)[:, :3] - eph2.state(t)[:, :3], axis=1)
    return t, d


def sample_altitude(eph, start_tdb_s, stop_tdb_s) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, altitude km above the ALTITUDE_REFERENCE_RADIUS_KM sphere)."""
    lo, hi = max(start_tdb_s, eph.coverage[0]), min(stop_tdb_s, eph.coverage[1])
    if not hi > lo:
        return np.empty(0), np.empty(0)
    t = _grid(lo, hi)
    return t, np.linalg.norm(eph.state(t)[:, :3], axis=1) - ALTITUDE_REFERENCE_RADIUS_KM


def _utc_zoom_levels():
    """pyqtgraph's DateAxisItem zoom levels with the month on every date tick: its day ticks read 'Fri 09',
    which does not say which month a two-week screening window is in."""
    from pyqtgraph.graphicsItems import DateAxisItem as d

    day = d.TickSpec(d.DAY_SPACING, d.makeSStepper(d.DAY_SPACING), "%d %b")
    return [
        (np.inf, d.ZoomLevel([d.TickSpec(d.YEAR_SPACING, d.makeYStepper(1), "%Y", autoSkip=[1, 5, 10, 25]),
                              d.TickSpec(d.MONTH_SPACING, d.makeMStepper(1), "%b %Y")], "Sep 2024")),
        (5 * 86400, d.ZoomLevel([d.TickSpec(d.MONTH_SPACING, d.makeMStepper(1), "%b %Y"),
                                 d.TickSpec(d.DAY_SPACING, d.makeSStepper(d.DAY_SPACING), "%d %b",
                                            autoSkip=[1, 5])], "30 Sep")),
        (6 * 3600, d.ZoomLevel([day, d.TickSpec(d.HOUR_SPACING, d.makeSStepper(d.HOUR_SPACING), "%H:%M",
                                                autoSkip=[1, 6])], "30 Sep")),
        (15 * 60, d.ZoomLevel([day, d.TickSpec(d.MINUTE_SPACING, d.makeSStepper(d.MINUTE_SPACING), "%H:%M",
                                               autoSkip=[1, 5, 15])], "30 Sep")),
        (30, d.ZoomLevel([day, d.TickSpec(d.SECOND_SPACING, d.makeSStepper(d.SECOND_SPACING), "%H:%M:%S",
                                          autoSkip=[1, 5, 15, 30])], "00:00:00")),
        (1, d.ZoomLevel([d.TickSpec(d.MINUTE_SPACING, d.makeSStepper(d.MINUTE_SPACING), "%d %b %H:%M"),
                         d.TickSpec(d.MS_SPACING, d.makeMSStepper(d.MS_SPACING), "%S.%f",
                                    autoSkip=[1, 5, 10, 25])], "00:00:00.000")),
    ]


class UtcDateAxis(pg.DateAxisItem):
    """A UTC date axis whose dates always name the month ('09 May', 'May 2025')."""

    def __init__(self, orientation="bottom", **kwargs):
        super().__init__(orientation, utcOffset=0, **kwargs)
        from collections import OrderedDict

        self.zoomLevels = OrderedDict(_utc_zoom_levels())


def _plot(title, ylabel):
    w = pg.PlotWidget(axisItems={"bottom": UtcDateAxis()})
    w.setTitle(title)
    w.setLabel("left", ylabel)
    w.setLabel("bottom", "UTC")
    w.showGrid(x=True, y=True, alpha=0.25)
    return w


class PlotsPanel(QTabWidget):
    eventClicked = Signal(object)  # a close approach picked on the timeline
    distanceShown = Signal(str, str)  # the distance plot now shows this pair (a plan adds its planned curve)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("plotsPanel")
        self.distancePlot = _plot("Distance", "km")
        self.distancePlot.setObjectName("distancePlot")
        self.altitudePlot = _plot("Altitude", f"altitude (km) = r − {ALTITUDE_REFERENCE_RADIUS_KM:g}")
        self.altitudePlot.setObjectName("altitudePlot")
        self.timelinePlot = _plot("Close approaches in the window", "")
        self.timelinePlot.setObjectName("timelinePlot")
        self.addTab(self.distancePlot, "Distance")
        self.addTab(self.altitudePlot, "Altitude")
        self.addTab(self.timelinePlot, "Timeline")
        self.distancePlot.setLogMode(y=True)
        self._dist_curve = self.distancePlot.plot(pen=pg.mkPen("#56B4E9", width=1.5))
        self._plan_curve = self.distancePlot.plot(pen=pg.mkPen((255, 102, 204, 170), width=1.2,
                                                               style=pg.QtCore.Qt.DashLine))
        self.distance_pair = None
        self._thr_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#D55E00", width=1.5, style=pg.QtCore.Qt.DashLine))
        self.distancePlot.addItem(self._thr_line)
        self._tca_points = pg.ScatterPlotItem(size=9, brush=pg.mkBrush("#F0E442"), pen=pg.mkPen("k"))
        self.distancePlot.addItem(self._tca_points)
        self._alt_curve = self.altitudePlot.plot(pen=pg.mkPen("#E69F00", width=1.5))
        self._timeline = pg.ScatterPlotItem(size=10)
        self.timelinePlot.addItem(self._timeline)
        self._timeline.sigClicked.connect(lambda _item, points, *_: points and self.eventClicked.emit(points[0].data()))
        self._now_lines = []
        for p in (self.distancePlot, self.altitudePlot, self.timelinePlot):
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ffffff", width=1))
            p.addItem(line)
            self._now_lines.append(line)

    def show_distance(self, name1, name2, epochs_tdb_s, distance_km, threshold_km, tca_events) -> None:
        self.distancePlot.setTitle(f"Distance {name1} – {name2}")
        x = tdb_to_posix_utc(epochs_tdb_s) if len(epochs_tdb_s) else np.empty(0)
        self._dist_curve.setData(x, np.maximum(distance_km, 1e-6))
        self._thr_line.setPos(np.log10(threshold_km) if threshold_km > 0 else 0.0)
        tcas = [e for e in tca_events]
        if tcas:
            self._tca_points.setData(tdb_to_posix_utc([e.tca_tdb_s for e in tcas]),
                                     np.log10([max(e.miss_km, 1e-6) for e in tcas]))
        else:
            self._tca_points.setData([], [])
        self.distance_pair = (name1, name2)
        self._plan_curve.setData([], [])
        self.distanceShown.emit(name1, name2)

    def show_planned_distance(self, epochs_tdb_s, distance_km, label: str = "planned") -> None:
        """The pair's distance with the maneuver plan (dashed magenta), beside the delivered curve."""
        x = tdb_to_posix_utc(epochs_tdb_s) if len(epochs_tdb_s) else np.empty(0)
        self._plan_curve.setData(x, np.maximum(distance_km, 1e-6) if len(epochs_tdb_s) else [])
        name1, name2 = self.distance_pair or ("", "")
        title = f"Distance {name1} – {name2}"
        self.distancePlot.setTitle(title + (f" (dashed: {label})" if len(epochs_tdb_s) else ""))

    def clear(self) -> None:
        """Another scenario: nothing of the previous one stays on the plots."""
        self.distance_pair = None
        for curve in (self._dist_curve, self._plan_curve, self._alt_curve):
            curve.setData([], [])
        self._tca_points.setData([], [])
        self.distancePlot.setTitle("Distance")
        self.altitudePlot.setTitle("Altitude")
        self.show_timeline([])

    def show_altitude(self, name, epochs_tdb_s, altitude_km) -> None:
        self.altitudePlot.setTitle(f"Altitude of {name} ({ALTITUDE_REFERENCE_TEXT})")
        x = tdb_to_posix_utc(epochs_tdb_s) if len(epochs_tdb_s) else np.empty(0)
        self._alt_curve.setData(x, altitude_km)

    def show_timeline(self, events, pair_order=None, window_tdb_s=None) -> None:
        """Every close approach as a dot per pair; the x axis spans WINDOW_TDB_S = (start, stop), the whole
        screening window, so quiet days show as quiet (not cropped to the first and last TCA)."""
        pairs = pair_order or sorted({(e.object1, e.object2) for e in events})
        index = {p: i for i, p in enumerate(pairs)}
        if window_tdb_s is not None and window_tdb_s[1] > window_tdb_s[0]:
            x0, x1 = tdb_to_posix_utc(list(window_tdb_s))
            self.timelinePlot.setXRange(float(x0), float(x1), padding=0.0)
            self.timelinePlot.getViewBox().enableAutoRange(x=False)
        if not events:
            self._timeline.setData([], [])
            return
        x = tdb_to_posix_utc([e.tca_tdb_s for e in events])
        y = [index[(e.object1, e.object2)] for e in events]
        from .conjunction_table import AMBER, RED, severity

        brushes = [pg.mkBrush(RED if severity(e) == 2 else AMBER if severity(e) == 1 else "#56B4E9")
                   for e in events]
        self._timeline.setData(x, y, brush=brushes, data=list(events))
        axis = self.timelinePlot.getAxis("left")
        axis.setTicks([[(i, f"{a}–{b}") for (a, b), i in index.items()]])

    def set_now(self, tdb_s: float) -> None:
        x = float(tdb_to_posix_utc(tdb_s)[0])
        for line in self._now_lines:
            line.setPos(x)


class PlotsDock(QDockWidget):
    """The plots as a panel (``panels.base.Panel``): the timeline of the screening window follows the scenario
    and each screening; a close approach clicked on the timeline is selected in the table."""

    object_name = "plotsDock"
    dock_area = Qt.BottomDockWidgetArea

    def __init__(self, window):
        super().__init__("Plots", window)
        self.setObjectName(self.object_name)
        self.plots = PlotsPanel(self)
        self.setWidget(self.plots)

    @classmethod
    def for_window(cls, window) -> PlotsDock:
        dock = cls(window)
        dock.plots.eventClicked.connect(window.select_event_row)
        return dock

    def set_scenario(self, scenario) -> None:
        from ..controller import screening_span

        self.plots.show_timeline([], window_tdb_s=screening_span(scenario))

    def set_result(self, result) -> None:
        self.plots.show_timeline(result.events, window_tdb_s=(result.start_tdb_s, result.stop_tdb_s))

    def shutdown(self) -> None:
        pass
