"""Simulation clock and its tool bar: play/pause, reverse, warp x1..x10000, step, scrub, now, next close approach.

The clock keeps TDB seconds past J2000 (float64). While playing, each timer tick advances it by the elapsed
wall time x warp x direction (so the animation stays real-time whatever the frame rate) and stops at the
ends of the window.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget)
from PySide6.QtCore import Qt

from marsview.core.time import format_clock, utc_to_tdb_s

WARPS = (1, 10, 60, 100, 600, 1000, 3600, 10000)
CLOCK_DIGITS = 1  # decimals of the time bar's clock; the 3D and briefing clocks cut the same text to whole seconds
SLIDER_STEPS = 100_000


class TimeController(QObject):
    timeChanged = Signal(float)
    playingChanged = Signal(bool)
    rangeChanged = Signal(float, float)

    def __init__(self, parent=None, interval_ms: int = 16):
        super().__init__(parent)
        self.tdb_s = 0.0
        self.start_tdb_s, self.stop_tdb_s = 0.0, 86400.0
        self.warp = 100.0
        self.direction = 1
        self.step_s = 60.0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last_wall = None

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def set_range(self, start_tdb_s: float, stop_tdb_s: float) -> None:
        if not stop_tdb_s > start_tdb_s:
            from marsview.core.time import utc_span

            raise ValueError(f"empty time range {utc_span(start_tdb_s, stop_tdb_s)}")
        self.start_tdb_s, self.stop_tdb_s = float(start_tdb_s), float(stop_tdb_s)
        self.rangeChanged.emit(self.start_tdb_s, self.stop_tdb_s)
        self.set_time(min(max(self.tdb_s, self.start_tdb_s), self.stop_tdb_s))

    def set_time(self, tdb_s: float) -> None:
        self.tdb_s = min(max(float(tdb_s), self.start_tdb_s), self.stop_tdb_s)
        self.timeChanged.emit(self.tdb_s)

    def set_warp(self, warp: float) -> None:
        self.warp = float(warp)

    def set_direction(self, direction: int) -> None:
        self.direction = 1 if direction >= 0 else -1

    def play(self) -> None:
        if not self.playing:
            self._last_wall = time.perf_counter()
            self._timer.start()
            self.playingChanged.emit(True)

    def pause(self) -> None:
        if self.playing:
            self._timer.stop()
            self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def step(self, sign: int = 1) -> None:
        self.set_time(self.tdb_s + sign * self.step_s * max(1.0, self.warp / 100.0))

    def _tick(self) -> None:
        now = time.perf_counter()
        dt = now - (self._last_wall or now)
        self._last_wall = now
        t = self.tdb_s + dt * self.warp * self.direction
        if t >= self.stop_tdb_s or t <= self.start_tdb_s:
            self.set_time(t)
            self.pause()
            return
        self.set_time(t)


class TimeBar(QWidget):
    """The controls under the 3D view; objectNames are the automation contract."""

    nowRequested = Signal()
    nextCloseApproachRequested = Signal()
    clockScaleChanged = Signal(str)

    def __init__(self, controller: TimeController, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("timeBar")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        self.reverseButton = self._button("reverseButton", "◀◀", "Play backwards", checkable=True)
        self.stepBackButton = self._button("stepBackButton", "|◀", "Step back")
        self.playButton = self._button("playButton", "▶", "Play / pause (Space)", checkable=True)
        self.stepForwardButton = self._button("stepForwardButton", "▶|", "Step forward")
        self.timeWarp = QComboBox(self)
        self.timeWarp.setObjectName("timeWarp")
        self.timeWarp.setToolTip("Time warp: simulated seconds per wall-clock second")
        for w in WARPS:
            self.timeWarp.addItem(f"×{w:,}", float(w))
        self.timeWarp.setCurrentIndex(WARPS.index(100))
        self.timeSlider = QSlider(Qt.Horizontal, self)
        self.timeSlider.setObjectName("timeSlider")
        self.timeSlider.setRange(0, SLIDER_STEPS)
        self.timeSlider.setToolTip("Scrub through the screening window")
        self.nowButton = self._button("nowButton", "Now", "Jump to the current time (clamped to the window)")
        self.nextCaButton = self._button("nextCloseApproachButton", "Next CA",
                                         "Jump to the next close approach")
        self.clockLabel = QLabel(self)
        self.clockLabel.setObjectName("clockLabel")
        self.clockLabel.setMinimumWidth(230)
        self.clockLabel.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.tdbCheck = QCheckBox("TDB", self)
        self.tdbCheck.setObjectName("clockTdb")
        self.tdbCheck.setToolTip("Show the clock in TDB instead of UTC")
        for w in (self.reverseButton, self.stepBackButton, self.playButton, self.stepForwardButton,
                  self.timeWarp):
            lay.addWidget(w)
        lay.addWidget(self.timeSlider, 1)
        for w in (self.nowButton, self.nextCaButton, self.clockLabel, self.tdbCheck):
            lay.addWidget(w)
        self._scrubbing = False
        self.playButton.toggled.connect(self._on_play_toggled)
        self.reverseButton.toggled.connect(lambda on: controller.set_direction(-1 if on else 1))
        self.stepBackButton.clicked.connect(lambda: controller.step(-1))
        self.stepForwardButton.clicked.connect(lambda: controller.step(+1))
        self.timeWarp.currentIndexChanged.connect(lambda _i: controller.set_warp(self.timeWarp.currentData()))
        controller.set_warp(self.timeWarp.currentData())
        self.timeSlider.valueChanged.connect(self._on_slider)
        self.nowButton.clicked.connect(self.nowRequested)
        self.nextCaButton.clicked.connect(self.nextCloseApproachRequested)
        self.tdbCheck.toggled.connect(lambda on: self.clockScaleChanged.emit("TDB" if on else "UTC"))
        self.tdbCheck.toggled.connect(lambda _on: self._on_time(controller.tdb_s))
        controller.timeChanged.connect(self._on_time)
        controller.playingChanged.connect(self._on_playing)

    def _button(self, name, text, tip, checkable=False):
        b = QToolButton(self)
        b.setObjectName(name)
        b.setText(text)
        b.setToolTip(tip)
        b.setCheckable(checkable)
        return b

    @property
    def clock_scale(self) -> str:
        return "TDB" if self.tdbCheck.isChecked() else "UTC"

    def _on_play_toggled(self, on: bool) -> None:
        self.controller.play() if on else self.controller.pause()

    def _on_playing(self, playing: bool) -> None:
        self.playButton.blockSignals(True)
        self.playButton.setChecked(playing)
        self.playButton.setText("❚❚" if playing else "▶")
        self.playButton.blockSignals(False)

    def _on_slider(self, value: int) -> None:
        if self._scrubbing:
            return
        c = self.controller
        c.set_time(c.start_tdb_s + (c.stop_tdb_s - c.start_tdb_s) * value / SLIDER_STEPS)

    def _on_time(self, tdb_s: float) -> None:
        c = self.controller
        span = c.stop_tdb_s - c.start_tdb_s
        self._scrubbing = True
        self.timeSlider.setValue(int(round((tdb_s - c.start_tdb_s) / span * SLIDER_STEPS)) if span > 0 else 0)
        self._scrubbing = False
        scale = self.clock_scale
        self.clockLabel.setText(format_clock(tdb_s, scale, digits=CLOCK_DIGITS) + " " + scale)


def now_tdb_s() -> float:
    """The wall-clock time now, as TDB seconds past J2000."""
    return utc_to_tdb_s(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()))
