"""Briefing (projector) mode: F11 / View -> Briefing mode.

Full screen on the chosen screen, the 3D view alone (docks, tool bars, menus, status bar and time bar
hidden), the projector render theme, a high-contrast palette whose text/background pairs are checked against
WCAG 2.x contrast (AA: 4.5:1 for text) by ``palette_contrasts``, type scaled with the screen (its height, with
a floor in points at the screen's DPI), a big UTC clock and callouts for the current close approaches (pair, TCA
countdown, miss distance, Pc). Severity is told by a word and a symbol as well as by colour (Okabe-Ito
orange/vermillion, safe for colour-blind viewers). Play/pause, direction and warp changes, and saved-view
feedback, show for a moment in a large indicator at the top centre (the time bar and status bar are hidden).

Keys while briefing (an application event filter, so they win over the window's menu shortcuts):
space play/pause, Left/Right step, +/- warp, N next close approach, PageDown/PageUp the saved-view sequence,
1..9 saved views, Esc leaves. The window's other shortcuts (Ctrl+Shift+V save view, R reset view, F follow,
F11, Ctrl+Q...) keep working with the menu bar hidden. Leaving restores the exact previous layout
(saveGeometry/saveState + window state + theme + palette).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QToolBar, QVBoxLayout, QWidget

from marsview.core.time import format_clock

# the briefing palette: every text colour is checked against every background it is drawn on
BRIEFING_PALETTE = {
    "background": "#000000",
    "text": "#ffffff",
    "text_dim": "#c8c8c8",
    "amber": "#E69F00",  # Okabe-Ito orange
    "red": "#FF7F50",  # vermillion family, lightened from Okabe-Ito #D55E00 to pass 4.5:1 on black
    "accent": "#56B4E9",  # Okabe-Ito sky blue
}
TEXT_KEYS = ("text", "text_dim", "amber", "red", "accent")
WCAG_AA_TEXT = 4.5
CALLOUTS_MAX = 4
RECENT_S = 600.0  # a close approach stays on the callouts for 10 min after its TCA
INDICATOR_MS = 2500  # how long the play-state / warp indicator stays up
# type as fractions of the screen height (1080 px: 76 px clock, 30 px callouts, 19 px key hint), with floors in
# points so a small high-DPI screen still gets legible type (px = pt * logical DPI / 72)
CLOCK_FRACTION, TEXT_FRACTION, HINT_FRACTION, INDICATOR_FRACTION = 0.07, 0.028, 0.018, 0.06
CLOCK_MIN_PT, TEXT_MIN_PT, HINT_MIN_PT, INDICATOR_MIN_PT = 36.0, 16.0, 11.0, 30.0


# --- WCAG 2.x contrast ------------------------------------------------------------------------------
def relative_luminance(color: str) -> float:
    """WCAG 2.x relative luminance of '#rrggbb' (sRGB, linearised with the 0.04045 threshold)."""
    c = QColor(color)
    if not c.isValid():
        raise ValueError(f"not a colour: {color!r}")

    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast_ratio(fg: str, bg: str) -> float:
    """(L_light + 0.05) / (L_dark + 0.05), 1..21."""
    a, b = relative_luminance(fg), relative_luminance(bg)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def palette_contrasts(palette=None) -> dict[str, float]:
    """Contrast of every briefing text colour against the briefing background."""
    p = palette or BRIEFING_PALETTE
    return {k: contrast_ratio(p[k], p["background"]) for k in TEXT_KEYS}


def high_contrast_qpalette(p=None) -> QPalette:
    p = p or BRIEFING_PALETTE
    pal = QPalette()
    bg, fg = QColor(p["background"]), QColor(p["text"])
    for role in (QPalette.Window, QPalette.Base, QPalette.AlternateBase, QPalette.Button, QPalette.ToolTipBase):
        pal.setColor(role, bg)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText, QPalette.ToolTipText, QPalette.BrightText):
        pal.setColor(role, fg)
    pal.setColor(QPalette.Highlight, QColor(p["amber"]))
    pal.setColor(QPalette.HighlightedText, bg)
    return pal


# --- callouts ----------------------------------------------------------------------------------------
def countdown(dt_s: float) -> str:
    """'T−02:59:12' before TCA, 'T+00:01:05' after; days spelled out beyond 24 h."""
    sign = "T−" if dt_s > 0 else "T+"
    s = int(round(abs(dt_s)))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{sign}{d} d {h:02d}:{m:02d}:{s:02d}" if d else f"{sign}{h:02d}:{m:02d}:{s:02d}"


def current_events(events, tdb_s: float, limit: int = CALLOUTS_MAX):
    """The close approaches to call out at TDB_S: those that passed less than RECENT_S ago, then the next
    ones, in TCA order, at most LIMIT."""
    recent = [e for e in events if tdb_s - RECENT_S <= e.tca_tdb_s <= tdb_s]
    ahead = sorted((e for e in events if e.tca_tdb_s > tdb_s), key=lambda e: e.tca_tdb_s)
    return sorted(recent, key=lambda e: e.tca_tdb_s)[-1:] + ahead[: limit - min(len(recent), 1)]


def callout_text(event, tdb_s: float) -> tuple[str, str]:
    """(text, palette key) for one close approach."""
    from ..panels.conjunction_table import severity

    level = severity(event)
    tag = {2: "▲ RED", 1: "◆ AMBER", 0: "●"}[level]
    miss = f"{event.miss_km * 1000:.0f} m" if event.miss_km < 1.0 else f"{event.miss_km:.3f} km"
    pc = ("Pc —" if event.pc is None or not math.isfinite(event.pc)
          else "Pc < 1e-10" if event.pc < 1e-10 else f"Pc {event.pc:.1e}")
    text = f"{tag}  {event.object1} – {event.object2}   {countdown(event.tca_tdb_s - tdb_s)}   miss {miss}   {pc}"
    return text, {2: "red", 1: "amber", 0: "text"}[level]


def play_state_text(playing: bool, direction: int, warp: float) -> str:
    """'▶ PLAYING ×1,000', '◀ PLAYING BACKWARDS ×100' or '❚❚ PAUSED ×100' (the warp that Space resumes at)."""
    state = ("▶ PLAYING" if direction >= 0 else "◀ PLAYING BACKWARDS") if playing else "❚❚ PAUSED"
    return f"{state}  ×{warp:,.0f}"


class BriefingOverlay(QWidget):
    """Clock and callouts drawn over the 3D view (opaque black boxes: the contrast does not depend on
    what the globe shows behind them)."""

    def __init__(self, parent):
        super().__init__(parent)
        self.setObjectName("briefingOverlay")
        self.setAttribute(Qt.WA_TransparentForMouseEvents, True)
        self.clock = QLabel(self)
        self.clock.setObjectName("briefingClock")
        self.planned = QLabel(self)  # a maneuver plan is shown, not the delivery
        self.planned.setObjectName("briefingPlanned")
        self.planned.hide()
        self.callouts = QWidget(self)
        self.callouts.setObjectName("briefingCallouts")
        self._lay = QVBoxLayout(self.callouts)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self.labels: list[QLabel] = []
        self.hint = QLabel("space play/pause · ←/→ step · +/− warp · N next · PgDn/PgUp views · "
                           "Ctrl+Shift+V save view · Esc leave", self)
        self.hint.setObjectName("briefingHint")
        self.indicator = QLabel(self)  # play state and warp, for a moment after they change
        self.indicator.setObjectName("briefingIndicator")
        self.indicator.hide()
        self._indicator_timer = QTimer(self)
        self._indicator_timer.setSingleShot(True)
        self._indicator_timer.timeout.connect(self.indicator.hide)
        self.clock_px = self.text_px = self.hint_px = self.indicator_px = 24
        self.on_layout = None  # called with the boxes the overlay covers after each layout (BriefingMode)
        self.hide()

    def set_scale(self, screen_height_px: int, logical_dpi: float = 96.0) -> None:
        """Type sizes from the screen: a fraction of its height (logical pixels, so a 4K screen at 200 %
        and a 1080p one look alike), never under a floor in points at LOGICAL_DPI. 1080 px at 96 dpi gives
        a 76 px clock and 30 px callouts; 2160 px, 151 px and 60 px."""
        h = max(int(screen_height_px), 480)
        px_per_pt = max(float(logical_dpi), 72.0) / 72.0

        def size(fraction, min_pt):
            return max(round(h * fraction), round(min_pt * px_per_pt))

        self.clock_px, self.text_px = size(CLOCK_FRACTION, CLOCK_MIN_PT), size(TEXT_FRACTION, TEXT_MIN_PT)
        self.hint_px = size(HINT_FRACTION, HINT_MIN_PT)
        self.indicator_px = size(INDICATOR_FRACTION, INDICATOR_MIN_PT)
        self.clock.setStyleSheet(self._style("text", self.clock_px, bold=True))
        self.planned.setStyleSheet(self._style("amber", self.text_px, bold=True))
        self.hint.setStyleSheet(self._style("text_dim", self.hint_px))
        self.indicator.setStyleSheet(self._style("amber", self.indicator_px, bold=True)
                                     + f"; border: {max(2, self.indicator_px // 12)}px solid "
                                       f"{BRIEFING_PALETTE['amber']}")
        for lab in self.labels:
            lab.setStyleSheet(self._style(lab.property("paletteKey") or "text", self.text_px))
        self._layout()

    def flash(self, text: str, ms: int = INDICATOR_MS) -> None:
        """Show TEXT in the indicator (top centre, large) for MS milliseconds."""
        self.indicator.setText(text)
        self.indicator.show()
        self.indicator.raise_()
        self._indicator_timer.start(ms)
        self._layout()

    @staticmethod
    def _style(key: str, px: int, bold: bool = False) -> str:
        p = BRIEFING_PALETTE
        return (f"color: {p[key]}; background-color: {p['background']}; font-size: {px}px; "
                f"padding: {max(2, px // 6)}px {max(4, px // 3)}px; font-weight: {'bold' if bold else 'normal'}")

    def show_state(self, tdb_s: float, events, scale: str = "UTC", planned: str | None = None) -> None:
        self.clock.setText(format_clock(tdb_s, scale, digits=0) + " " + scale)
        self.planned.setText(planned or "")
        self.planned.setVisible(bool(planned))
        rows = [callout_text(e, tdb_s) for e in current_events(events, tdb_s)]
        while len(self.labels) < len(rows):
            lab = QLabel(self.callouts)
            lab.setObjectName(f"briefingCallout{len(self.labels)}")
            self._lay.addWidget(lab)
            self.labels.append(lab)
        for i, lab in enumerate(self.labels):
            if i < len(rows):
                text, key = rows[i]
                lab.setText(text)
                if lab.property("paletteKey") != key:
                    lab.setProperty("paletteKey", key)
                    lab.setStyleSheet(self._style(key, self.text_px))
                lab.show()
            else:
                lab.hide()
        self._layout()

    def callout_texts(self) -> list[str]:
        return [lab.text() for lab in self.labels if not lab.isHidden()]

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._layout()

    def _layout(self) -> None:
        m = max(8, self.text_px // 2)
        for w in (self.clock, self.callouts, self.hint, self.indicator, self.planned):
            w.adjustSize()
        self.clock.move(self.width() - self.clock.width() - m, m)
        self.indicator.move((self.width() - self.indicator.width()) // 2, self.clock.height() + 2 * m)
        self.planned.move(m, self.callouts.y() - self.planned.height() - m)  # above the callouts it concerns
        self.callouts.move(m, self.height() - self.callouts.height() - self.hint.height() - 2 * m)
        self.hint.move(m, self.height() - self.hint.height() - m)
        if self.on_layout is not None:
            self.on_layout(self.covered_boxes())

    def covered_boxes(self) -> list:
        """(x0, y0, x1, y1) of the lasting widgets (clock, PLANNED line, callouts, key hint), in the overlay's
        pixels, which are the 3D view's: the view keeps its caption, scale bar and labels out of them."""
        boxes = []
        for w in (self.clock, self.planned, self.callouts, self.hint):
            if not w.isHidden() and w.width() > 0 and w.height() > 0:
                g = w.geometry()
                boxes.append((g.x(), g.y(), g.x() + g.width(), g.y() + g.height()))
        return boxes


# --- the mode ----------------------------------------------------------------------------------------
class BriefingMode(QObject):
    KEYS = {Qt.Key_Space, Qt.Key_Left, Qt.Key_Right, Qt.Key_Plus, Qt.Key_Equal, Qt.Key_Minus, Qt.Key_N,
            Qt.Key_Escape, Qt.Key_PageDown, Qt.Key_PageUp, *range(Qt.Key_1, Qt.Key_9 + 1)}

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.active = False
        self._saved = None
        self.screen_name = window.settings.value("briefing/screen", "") or ""
        self.overlay = BriefingOverlay(window.globe.widget.parentWidget())
        window.globe.keep_above(self.overlay)
        self.action = QAction("&Briefing mode", window)
        self.action.setObjectName("actionBriefing")
        self.action.setCheckable(True)
        self.action.setShortcut("F11")
        self.action.setShortcutContext(Qt.ApplicationShortcut)
        self.action.toggled.connect(self.set_active)
        window.addAction(self.action)  # stays reachable while the menu bar is hidden
        window.clock.timeChanged.connect(self._refresh)
        window.screeningFinished.connect(self._refresh)
        # play state and warp: also when the clock stops by itself at the end of the window
        window.clock.playingChanged.connect(self._show_play_state)
        window.timebar.timeWarp.currentIndexChanged.connect(self._show_play_state)

    # --- enter / leave -------------------------------------------------------------------------------
    def set_active(self, on: bool) -> None:
        if on and not self.active:
            self.enter()
        elif not on and self.active:
            self.leave()

    def target_screen(self):
        screens = QGuiApplication.screens()
        for s in screens:
            if s.name() == self.screen_name:
                return s
        return self.window.screen() or QGuiApplication.primaryScreen()

    def enter(self, screen=None) -> None:
        w = self.window
        self._saved = dict(geometry=w.saveGeometry(), rect=w.geometry(), state=w.saveState(),
                           window_state=w.windowState(),
                           theme=w.theme.name, palette=QPalette(w.palette()), menubar=w.menuBar().isVisible(),
                           statusbar=w.statusBar().isVisible(), timebar=w.timebar.isVisible())
        self.active = True
        for bar in w.findChildren(QDockWidget) + w.findChildren(QToolBar):
            bar.hide()
        w.menuBar().hide()
        w.statusBar().hide()
        w.timebar.hide()
        self._set_theme("projector")
        w.setPalette(high_contrast_qpalette())
        self._scene_clock(False)
        screen = screen or self.target_screen()
        handle = w.windowHandle()
        if handle is not None and screen is not None:
            handle.setScreen(screen)
        if screen is not None:
            w.setGeometry(screen.geometry())
        w.showFullScreen()
        self.overlay.set_scale(screen.geometry().height() if screen is not None else 1080,
                               screen.logicalDotsPerInch() if screen is not None else 96.0)
        self.overlay.setGeometry(w.globe.widget.geometry())
        self.overlay.indicator.hide()  # a state flashed in an earlier briefing is old news
        self.overlay.show()
        self.overlay.raise_()
        QApplication.instance().installEventFilter(self)
        self._sync_action()
        self._refresh()

    def leave(self) -> None:
        w, s = self.window, self._saved
        QApplication.instance().removeEventFilter(self)
        self.active = False
        self.overlay.hide()
        self._scene_clock(True)
        w.setPalette(s["palette"])
        self._set_theme(s["theme"])
        w.menuBar().setVisible(s["menubar"])
        w.statusBar().setVisible(s["statusbar"])
        w.timebar.setVisible(s["timebar"])
        w.setWindowState(s["window_state"])
        w.restoreGeometry(s["geometry"])
        if not s["window_state"] & (Qt.WindowMaximized | Qt.WindowFullScreen):
            w.setGeometry(s["rect"])  # restoreGeometry guesses frame margins (off by them without a WM)
        w.restoreState(s["state"])
        self._saved = None
        self._sync_action()

    def saved_layout(self):
        """(geometry, state) to persist: the pre-briefing layout while briefing."""
        if self._saved is not None:
            return self._saved["geometry"], self._saved["state"]
        return self.window.saveGeometry(), self.window.saveState()

    def _show_play_state(self, *_args) -> None:
        if self.active:
            c = self.window.clock
            self.overlay.flash(play_state_text(c.playing, c.direction, c.warp))

    def flash(self, text: str) -> bool:
        """Show TEXT in the briefing indicator; False when not briefing (the caller uses the status bar)."""
        if self.active:
            self.overlay.flash(text)
        return self.active

    def _sync_action(self) -> None:
        self.action.blockSignals(True)
        self.action.setChecked(self.active)
        self.action.blockSignals(False)

    def _set_theme(self, name: str) -> None:
        w = self.window
        w.set_theme(name)
        act = getattr(w, "actionProjector", None)
        if act is not None:
            act.blockSignals(True)
            act.setChecked(name == "projector")
            act.blockSignals(False)

    def _scene_clock(self, visible: bool) -> None:
        """Briefing: the big clock replaces the view's own, and the view keeps out of the overlay's boxes."""
        self.overlay.on_layout = None if visible else self._reserve
        self._reserve(self.overlay.covered_boxes() if not visible else [])

    def _reserve(self, boxes) -> None:
        scene = self.window.globe.scene
        clock_visible = not self.active
        if [tuple(map(float, b)) for b in boxes] != scene.reserved_boxes_px or scene.clock_visible != clock_visible:
            scene.set_reserved_boxes(boxes, clock_visible=clock_visible)

    def _refresh(self, *_args) -> None:
        if not self.active:
            return
        w = self.window
        self.overlay.setGeometry(w.globe.widget.geometry())
        result = getattr(w, "planned_result", None) or w.controller.result  # a shown plan's close approaches
        events = result.events if result is not None else []
        self.overlay.show_state(w.clock.tdb_s, events, w.timebar.clock_scale,
                                getattr(w, "planned_short_label", None) or getattr(w, "planned_label", None))

    # --- keys ----------------------------------------------------------------------------------------
    def eventFilter(self, obj, event):
        t = event.type()
        if not self.active or t not in (QEvent.ShortcutOverride, QEvent.KeyPress):
            return False
        if not isinstance(obj, QWidget) or obj.window() is not self.window:
            return False
        key = event.key()
        if key not in self.KEYS or event.modifiers() & (Qt.ControlModifier | Qt.AltModifier):
            return False
        if t == QEvent.ShortcutOverride:
            event.accept()  # deliver as a key press (to us) instead of the window's menu shortcuts
            return True
        self.handle_key(key)
        return True

    def handle_key(self, key) -> None:
        w = self.window
        if key == Qt.Key_Space:
            w.clock.toggle()
        elif key in (Qt.Key_Left, Qt.Key_Right):
            w.clock.pause()
            w.clock.step(-1 if key == Qt.Key_Left else 1)
        elif key in (Qt.Key_Plus, Qt.Key_Equal, Qt.Key_Minus):
            box = w.timebar.timeWarp
            box.setCurrentIndex(max(0, min(box.count() - 1, box.currentIndex() + (-1 if key == Qt.Key_Minus else 1))))
        elif key == Qt.Key_N:
            w.jump_next_close_approach()
        elif key == Qt.Key_Escape:
            self.leave()
        else:
            views = getattr(w, "saved_views", None)
            if views is None:
                return
            if key == Qt.Key_PageDown:
                views.step_sequence(1)
            elif key == Qt.Key_PageUp:
                views.step_sequence(-1)
            else:
                views.recall_key(int(key) - int(Qt.Key_0))
        self._refresh()


def install_briefing(window, exports: bool = True, views: bool = True):
    """Attach briefing mode, saved views, exports and persisted settings to WINDOW; returns the mode.
    Adds to ``window.menuView``; sets ``window.briefing`` (and ``window.saved_views``). Idempotent: the main window installs it itself,
    and a second install would duplicate every shortcut (Qt then fires none of the ambiguous ones)."""
    existing = getattr(window, "briefing", None)
    if isinstance(existing, BriefingMode):
        return existing
    mode = BriefingMode(window)
    window.briefing = mode
    menu = window.menuView
    menu.addSeparator()
    menu.addAction(mode.action)
    screens = menu.addMenu("Briefing &screen")
    screens.setObjectName("menuBriefingScreen")
    group = QActionGroup(window)
    for s in QGuiApplication.screens():
        act = QAction(f"{s.name()} ({s.geometry().width()}×{s.geometry().height()})", window, checkable=True)
        act.setChecked(s.name() == mode.screen_name or (not mode.screen_name and s is QGuiApplication.primaryScreen()))
        act.triggered.connect(lambda _c=False, n=s.name(): _choose_screen(mode, n))
        group.addAction(act)
        screens.addAction(act)
    if views:
        from .saved_views import install_saved_views

        window.saved_views = install_saved_views(window)
    if exports:
        from ..export.exports import install_exports

        install_exports(window)
    install_settings(window)
    keep_shortcuts_without_menu_bar(window)
    return mode


def keep_shortcuts_without_menu_bar(window) -> None:
    """Make every menu action with a shortcut an action of the window too: Qt fires a menu action's shortcut
    only while a widget holding the action is visible, and briefing hides the menu bar (Ctrl+Shift+V, R, F
    did nothing there). Actions added later (another dock's menu) can call this again; it is idempotent."""
    held = set(window.actions())

    def walk(menu):
        for act in menu.actions():
            if act.menu() is not None:
                walk(act.menu())
            elif not act.shortcut().isEmpty() and act not in held:
                window.addAction(act)
                held.add(act)

    walk(window.menuBar())


def _choose_screen(mode, name):
    mode.screen_name = name
    mode.window.settings.setValue("briefing/screen", name)


# --- persisted settings (QSettings "marsview"/"marsview") -------------------------------------------------
class _CloseWatcher(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window

    def eventFilter(self, obj, event):
        if obj is self.window and event.type() == QEvent.Close and self.window.isVisible():
            save_layout(self.window)
        return False


def install_settings(window) -> None:
    """Remember the theme (when the user toggles it), the last scenario opened from files, and the window
    layout on close. The surface map is remembered by the window itself."""
    s = window.settings
    act = getattr(window, "actionProjector", None)
    if act is not None:
        act.toggled.connect(lambda on: s.setValue("theme", "projector" if on else "workstation"))
    window.controller.scenarioChanged.connect(lambda sc: _remember_scenario(s, sc))
    window._settings_watcher = _CloseWatcher(window)
    window.installEventFilter(window._settings_watcher)


def _remember_scenario(settings, scenario) -> None:
    from marsview.io.scenario import default_scenario_path

    paths = [scenario.path] if scenario.path else list(scenario.files)
    if paths and Path(paths[0]).resolve() != Path(default_scenario_path()).resolve():
        settings.setValue("lastScenario", json.dumps([str(p) for p in paths]))


def save_layout(window) -> None:
    mode = getattr(window, "briefing", None)
    geometry, state = mode.saved_layout() if mode is not None else (window.saveGeometry(), window.saveState())
    window.settings.setValue("windowGeometry", geometry)
    window.settings.setValue("windowState", state)


def last_scenario_paths(settings=None) -> list[str] | None:
    """The scenario the user last opened (None when it is gone or was the built-in one)."""
    from PySide6.QtCore import QSettings

    settings = settings or QSettings("marsview", "marsview")
    try:
        paths = json.loads(settings.value("lastScenario", "") or "null")
    except ValueError:
        return None
    if not paths or not all(Path(p).exists() for p in paths):
        return None
    return [str(p) for p in paths]


def restore_settings(window) -> None:
    """Apply the remembered theme and window layout (the interactive app, not automation)."""
    s = window.settings
    theme = s.value("theme", "")
    if theme in ("workstation", "projector"):
        window.set_theme(theme)
        act = getattr(window, "actionProjector", None)
        if act is not None:
            act.blockSignals(True)
            act.setChecked(theme == "projector")
            act.blockSignals(False)
    geometry, state = s.value("windowGeometry"), s.value("windowState")
    if geometry is not None:
        window.restoreGeometry(geometry)
    if state is not None:
        window.restoreState(state)
