"""The main window: the 3D view in the middle, the time bar under it, and the panels of ``panels.registry``
docked around it (close approaches, plots, objects, scenario information, deliveries, maneuver planning), each
handed the scenario, the screening results and the close through ``panels.base.Panel``. Heavy work goes through
``ScenarioController`` (workers)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QLabel, QMainWindow, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from marsview.io.formats import file_dialog_filter
from marsview.model.events import screening_summary
from marsview.render.themes import theme_named

from .controller import ScenarioController, screening_span, warm_worker_imports
from .globe_view import GlobeView, read_surface_map
from .panels.plots import sample_altitude, sample_pair_distance
from .panels.registry import ADDONS, PANELS
from .panels.time_control import TimeBar, TimeController, now_tdb_s

EPHEMERIS_FILTER = file_dialog_filter()  # every format in marsview.io.formats.FORMATS


class MainWindow(QMainWindow):
    """PLANNING adds the maneuver-planning panels (the "planning" add-on of ``panels.registry``)."""

    screeningFinished = Signal()
    scenarioLoaded = Signal()

    def __init__(self, paths=None, scenario=None, loader=None, theme: str = "workstation",
                 allow_outside_paths: bool = False, planning: bool = False):
        super().__init__()
        self._allow_outside_paths = allow_outside_paths
        self.setWindowTitle("marsview")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = QSettings("marsview", "marsview")
        self.theme = theme_named(theme)
        # first imports of the workers' modules happen here, outside any Qt callback (see controller.py)
        warm_worker_imports()
        self.controller = ScenarioController(self, **({"loader": loader} if loader else {}))
        self.controller.ask_duplicate = self.ask_duplicate
        self.clock = TimeController(self)
        self.globe = GlobeView(self, theme=self.theme)
        self.timebar = TimeBar(self.clock, self)
        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.globe.widget, 1)
        lay.addWidget(self.timebar)
        self.setCentralWidget(central)
        self._build_status_bar()
        self._build_menus()
        self.panels = {}  # objectName -> panel (panels.base.Panel), in registry order
        failures = self._build_panels(addons={"planning"} if planning else set())
        table_dock, plots_dock, objects_dock, info_dock = (self.panels[n] for n in (
            "conjunctionDock", "plotsDock", "objectsDock", "scenarioDock"))
        # the 3D view gets most of the window; the table wide enough for all its columns
        self.resizeDocks([table_dock, plots_dock], [300, 300], Qt.Vertical)
        self.resizeDocks([table_dock, plots_dock], [900, 600], Qt.Horizontal)
        self.resizeDocks([objects_dock, info_dock], [300, 300], Qt.Horizontal)
        self.selected_event = None
        self.last_error = None
        self._wire()
        self._restore_surface_map()
        self.resize(1600, 1000)
        from .briefing.briefing import install_briefing

        install_briefing(self)
        self.arrange_docks()
        self._pending_paths = paths or None
        if scenario is not None:
            self.controller.set_scenario(scenario)
        else:
            # started here, not from a timer or a first-frame callback: with PySide6 6.12 a load started
            # from a Qt callback aborted the process in never-shown windows (snapshot, movie)
            self.globe.scene.set_overlay_line("screening", "loading the scenario…")
            self._start_loading()
        for message, details in failures:  # after the scenario is set, which clears the error line
            self.report_error(message, details)

    # --- construction --------------------------------------------------------------------------------
    def _build_panels(self, addons) -> list[tuple[str, str]]:
        """Build and dock every panel of ``panels.registry.PANELS``, in order (those of the named ADDONS too).
        An add-on panel that fails leaves the rest of its add-on out, and the viewer stays usable: returns the
        (message, details) to report."""
        import traceback

        failures, failed = [], set()
        for entry in PANELS:
            if entry.addon is not None and (entry.addon not in addons or entry.addon in failed):
                continue
            try:
                panel = entry.load().for_window(self)
            except Exception as exc:
                if entry.addon is None:
                    raise
                failed.add(entry.addon)
                failures.append((f"{ADDONS[entry.addon]} unavailable: {type(exc).__name__}: {exc}",
                                 traceback.format_exc()))
                continue
            self.addDockWidget(panel.dock_area, panel)
            self.panels[panel.object_name] = panel
        return failures

    def panel(self, object_name):
        """The panel docked under OBJECT_NAME (``panels.registry``), or None."""
        return self.panels.get(object_name)

    # the widgets of the core panels, as the window and its add-ons have always reached them (an AttributeError
    # before the panel is built, so ``hasattr(window, "table")`` keeps working)
    table = property(lambda self: self.panel("conjunctionDock").table)  # ConjunctionTable
    plots = property(lambda self: self.panel("plotsDock").plots)  # PlotsPanel
    objects = property(lambda self: self.panel("objectsDock").objects)  # ObjectPanel
    info = property(lambda self: self.panel("scenarioDock").info)  # ScenarioInfo
    # the delivery loop (panels.deliveries.DeliveryWatch) and the maneuver panel (None without planning)
    deliveries = property(lambda self: self.panel("deliveriesDock").watch)
    maneuver_panel = property(lambda self: self.panel("maneuverPanel"))

    def _start_loading(self):
        if self._pending_paths == "started":
            return
        paths, self._pending_paths = self._pending_paths, "started"
        self.controller.open(paths, allow_outside_paths=self._allow_outside_paths)

    def _on_load_failed(self, message, details):
        """A scenario naming files outside its folder: ask before reading them (partner files are untrusted)."""
        if "outside the scenario folder" in message and getattr(self.controller, "last_open", None):
            paths, merge = self.controller.last_open
            answer = QMessageBox.question(
                self, "Files outside the scenario folder",
                f"{message.removeprefix('ParseError: ')}\n\nRead files outside the scenario folder for this scenario?",
                QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
            if answer == QMessageBox.Yes:
                self.controller.open(paths, merge=merge, allow_outside_paths=True)
                return
        self.report_error("Could not load: " + message, details)

    def arrange_docks(self):
        """The right-hand docks as one tab group in registry order (Objects, Scenario, Deliveries, Maneuver
        planning, Trade space, Who moves; Objects in front), tabified in one pass once every dock exists (the
        window does it at the end of its construction), and the table and plots
        tall enough to read. (Tabifying each dock as it was installed left orphan tab bars drawn over the docks,
        and a second group beside the planning panel pushed the window past a 1080-px screen.)"""
        group = [p for p in self.panels.values() if p.dock_area == Qt.RightDockWidgetArea]  # registry order
        for dock in group[1:]:
            self.tabifyDockWidget(group[0], dock)
        group[0].raise_()
        bottom = [p for p in self.panels.values() if p.dock_area == Qt.BottomDockWidgetArea]
        self.resizeDocks(bottom, [260] * len(bottom), Qt.Vertical)

    def _build_status_bar(self):
        bar = self.statusBar()
        self.errorLabel = QLabel(self)
        self.errorLabel.setObjectName("statusError")
        self.errorLabel.setStyleSheet("color: #ff6b6b; font-weight: bold")
        self.detailsButton = QPushButton("Details…", self)
        self.detailsButton.setObjectName("errorDetailsButton")
        self.detailsButton.setVisible(False)
        self.detailsButton.clicked.connect(self.show_error_details)
        bar.addPermanentWidget(self.errorLabel)
        bar.addPermanentWidget(self.detailsButton)

    def _action(self, menu, text, slot, shortcut=None, name=None, checkable=False):
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        if name:
            act.setObjectName(name)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _build_menus(self):
        m = self.menuBar()
        f = self.menuFile = m.addMenu("&File")  # exports and deliveries add to it through this attribute
        f.setObjectName("menuFile")
        self._action(f, "Open &scenario…", self.open_scenario_dialog, "Ctrl+O", "actionOpenScenario")
        self._action(f, "Open &files…", self.open_files_dialog, "Ctrl+Shift+O", "actionOpenFiles")
        self._action(f, "Open &default scenario", lambda: self.controller.open(None), None, "actionOpenDefault")
        f.addSeparator()
        self._action(f, "Load surface &map…", self.load_surface_map_dialog, None, "actionLoadSurfaceMap")
        self._action(f, "Use the &generated surface map", self.reset_surface_map, None, "actionResetSurfaceMap")
        f.addSeparator()
        self._action(f, "&Export close approaches (CSV)…", self.export_csv_dialog, None, "actionExportCsv")
        f.addSeparator()
        self._action(f, "&Quit", self.close, "Ctrl+Q", "actionQuit")
        v = self.menuView = m.addMenu("&View")  # briefing and saved views add to it through this attribute
        v.setObjectName("menuView")
        group = QActionGroup(self)
        self.actionInertial = self._action(v, "&Inertial (MCI)", lambda: self.set_display_frame("MCI"), None,
                                           "actionFrameMci", checkable=True)
        self.actionFixed = self._action(v, "Mars-&fixed (IAU_MARS)", lambda: self.set_display_frame("IAU_MARS"),
                                        None, "actionFrameFixed", checkable=True)
        for a in (self.actionInertial, self.actionFixed):
            group.addAction(a)
        self.actionInertial.setChecked(True)
        v.addSeparator()
        self._action(v, "&Reset view", self.reset_view, "R", "actionResetView")
        self._action(v, "&Follow selected object", lambda: self.follow(self.objects.selected_name()), "F",
                     "actionFollow")
        self._action(v, "Leave &encounter view", self.leave_encounter, "Esc", "actionLeaveEncounter")
        self.actionFeatures = self._action(v, "Surface feature &labels", self.globe.scene.set_feature_labels_visible,
                                           None, "actionFeatureLabels", checkable=True)
        self.actionFeatures.setChecked(True)
        self.actionFlatLighting = self._action(v, "F&lat lighting (briefings)", self.globe.scene.set_flat_lighting,
                                               None, "actionFlatLighting", checkable=True)
        self.actionProjector = self._action(v, "&Projector theme", self._toggle_projector, None, "actionProjector",
                                            checkable=True)
        v.addSeparator()
        self._action(v, "Play / pause", self.clock.toggle, "Space", "actionPlayPause")
        self._action(v, "Next close approach", self.jump_next_close_approach, "N", "actionNextCa")
        h = m.addMenu("&Help")
        self._action(h, "&About marsview", self._about, None, "actionAbout")

    def _wire(self):
        c = self.controller
        c.scenarioChanged.connect(self._on_scenario)
        c.scenarioEdited.connect(self._on_scenario_edited)
        c.screeningResult.connect(self._on_screening)
        c.screeningStarted.connect(lambda: self.globe.scene.set_overlay_line("screening", "screening…"))
        c.loadFailed.connect(self._on_load_failed)
        c.screeningFailed.connect(self._on_screening_failed)
        c.status.connect(lambda s: self.statusBar().showMessage(s, 8000))
        c.plot_lane.finished.connect(self._on_plot_data)
        c.plot_lane.failed.connect(lambda _i, m, d: self.report_error("Plot failed: " + m, d))
        self.clock.timeChanged.connect(self._on_time)
        self.timebar.nowRequested.connect(lambda: self.clock.set_time(now_tdb_s()))
        self.timebar.nextCloseApproachRequested.connect(self.jump_next_close_approach)
        self.timebar.clockScaleChanged.connect(self._on_clock_scale)

    # --- scenario and screening ----------------------------------------------------------------------
    @property
    def scenario(self):
        return self.controller.scenario

    def _on_scenario(self, scenario):
        self.clear_error()
        self.globe.scene.clear_encounter() if self.globe.scene.encounter.event else None
        self.globe.scene.set_objects(scenario.objects)
        self.globe.scene.set_overlay_line("title", scenario.name)
        for panel in self.panels.values():
            panel.set_scenario(scenario)
        start, stop = screening_span(scenario)
        if stop > start:
            self.clock.set_range(start, stop)
            self.clock.set_time(start)
        self.setWindowTitle(f"marsview — {scenario.name}")
        self.scenarioLoaded.emit()

    def _on_scenario_edited(self, change):
        if change.object_name is not None and change.object_name in self.globe.scene.entries:
            self.globe.scene.refresh_object(change.object_name)
        elif change.kind in ("object_added", "object_removed"):
            self.globe.scene.set_objects(self.scenario.objects)
            self.objects.set_scenario(self.scenario)
        if change.kind != "object_changed" or change.attribute not in ("visible", "color"):
            self.info.set_scenario(self.scenario, self.controller.result)

    def _on_screening(self, result):
        if self.last_error and self.last_error[0].startswith("Screening failed"):
            self.clear_error()   # a later success replaces the failure
        for panel in self.panels.values():
            panel.set_result(result)
        self.globe.scene.set_overlay_line("screening", screening_summary(
            result, self.scenario.objects if self.scenario is not None else ()))
        if result.events and self.selected_event is None:  # plot the closest one until the user picks
            self._request_distance_plot(min(result.events, key=lambda e: e.miss_km))
        self.screeningFinished.emit()

    # --- time, selection, camera ---------------------------------------------------------------------
    def _on_time(self, tdb_s):
        self.globe.scene.set_time(tdb_s)
        self.plots.set_now(tdb_s)

    def _on_clock_scale(self, scale):
        self.globe.scene.clock_scale = scale
        self.globe.scene.set_time(self.clock.tdb_s)

    def select_event(self, event):
        """Jump the clock to the TCA and open the encounter view; plot the pair's distance."""
        if event is None:
            return
        self.selected_event = event
        self.clock.pause()
        scene = self.globe.scene
        # a CDM row's objects are drawn as "<name> [CDM]" arcs (Mars-centred CDMs only)
        name1, name2 = getattr(event, "object_labels", (event.object1, event.object2))
        if name1 in scene.entries and name2 in scene.entries:
            self.globe.show_event(event, self.scenario, (name1, name2))
        self.clock.set_time(event.tca_tdb_s)
        if self.scenario is not None and {name1, name2} <= set(self.scenario.names()):
            self._request_distance_plot(event, (name1, name2))

    def _request_distance_plot(self, event, names=None):
        sc = self.scenario
        name1, name2 = names or (event.object1, event.object2)
        e1, e2 = sc.object(name1).ephemeris, sc.object(name2).ephemeris
        start, stop = screening_span(sc)
        events = [e for e in (self.controller.result.events if self.controller.result else [])
                  if (e.object1, e.object2) == (event.object1, event.object2)]
        thr = getattr(event, "threshold_km", 0.0) or sc.threshold_km

        def job(_cancel):
            t, d = sample_pair_distance(e1, e2, start, stop, [e.tca_tdb_s for e in events] or [event.tca_tdb_s])
            return ("distance", event.object1, event.object2, t, d, thr, events)

        self.controller.plot_lane.submit(job)

    def select_object(self, name):
        """The object list's selection: plot NAME's altitude (None: nothing)."""
        if name is None or self.scenario is None:
            return
        eph = self.scenario.object(name).ephemeris
        start, stop = screening_span(self.scenario)
        self.controller.plot_lane.submit(lambda _cancel: ("altitude", name, *sample_altitude(eph, start, stop)))

    def _on_plot_data(self, _rid, data):
        if data[0] == "distance":
            _, n1, n2, t, d, thr, events = data
            self.plots.show_distance(n1, n2, t, d, thr, events)
        else:
            _, name, t, alt = data
            self.plots.show_altitude(name, t, alt)

    def select_event_row(self, event):
        """Select EVENT's row in the table (which jumps the clock and opens the encounter view)."""
        for row in range(self.table.proxy.rowCount()):
            if self.table.event_at(row) is event:
                self.table.selectRow(row)
                return
        self.select_event(event)

    def jump_next_close_approach(self):
        result = self.controller.result
        if result is None:
            return
        later = sorted((e for e in result.events if e.tca_tdb_s > self.clock.tdb_s + 1e-3),
                       key=lambda e: e.tca_tdb_s)
        if later:
            self.select_event_row(later[0])

    def leave_encounter(self):
        self.globe.scene.clear_encounter()
        self.globe.scene.reset_camera()

    def follow(self, name):
        self.globe.scene.clear_encounter()
        self.globe.scene.set_focus(name)
        self.globe.scene.reset_camera()

    def reset_view(self):
        self.globe.scene.reset_camera()
        self.globe.scene.set_time(self.clock.tdb_s)

    def set_display_frame(self, frame):
        self.globe.scene.set_frame(frame)
        (self.actionFixed if frame == "IAU_MARS" else self.actionInertial).setChecked(True)

    def _toggle_projector(self, on):
        self.set_theme("projector" if on else "workstation")

    def set_theme(self, name):
        self.theme = theme_named(name)
        self.globe.scene.apply_theme(self.theme)

    # --- files ---------------------------------------------------------------------------------------
    def open_scenario_dialog(self):
        folder = QFileDialog.getExistingDirectory(self, "Open scenario folder", self.settings.value("lastDir", ""))
        if folder:
            self.settings.setValue("lastDir", folder)
            self.controller.open([folder])

    def open_files_dialog(self):
        files, _ = QFileDialog.getOpenFileNames(self, "Open ephemeris files", self.settings.value("lastDir", ""),
                                                EPHEMERIS_FILTER)
        if files:
            self.settings.setValue("lastDir", str(Path(files[0]).parent))
            self.controller.open(files, merge=True)

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_dropped(paths)

    def ask_duplicate(self, new, existing) -> str:
        """"replace" or "keep": a loaded object is the same as one already shown (NAIF id or name)."""
        box = QMessageBox(QMessageBox.Question, "marsview — same object twice",
                          f"{new.name} from {', '.join(map(str, new.source_files or ())) or 'the loaded file'} "
                          f"looks like {existing.name}, already in the scenario"
                          f" ({', '.join(map(str, existing.source_files or ())) or 'scenario'}).\n\n"
                          "Replace its trajectory, or keep both?", parent=self)
        box.setObjectName("duplicateObjectDialog")
        replace = box.addButton("Replace", QMessageBox.AcceptRole)
        replace.setObjectName("duplicateReplaceButton")
        keep = box.addButton("Keep both", QMessageBox.RejectRole)
        keep.setObjectName("duplicateKeepButton")
        box.setDefaultButton(replace)
        box.exec()
        return "keep" if box.clickedButton() is keep else "replace"

    def open_dropped(self, paths):
        """Dropped files join the current scenario; a dropped folder replaces it."""
        if len(paths) == 1 and Path(paths[0]).is_dir():
            return self.controller.open(paths)
        return self.controller.open(paths, merge=True)

    def load_surface_map_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Load an equirectangular surface map (−180…180° E)",
                                              self.settings.value("lastDir", ""), "Images (*.jpg *.jpeg *.png *.tif)")
        if path:
            self.load_surface_map(path)

    def load_surface_map(self, path) -> bool:
        try:
            rgb = read_surface_map(path)
        except (OSError, ValueError) as exc:
            self.report_error(str(exc), "")
            return False
        self.globe.scene.set_texture(rgb)
        self.settings.setValue("surfaceMap", str(path))
        self.statusBar().showMessage(f"Surface map {path} ({rgb.shape[1]}×{rgb.shape[0]})", 8000)
        return True

    def reset_surface_map(self):
        from marsview.render.texture import cached_mars_texture

        self.settings.remove("surfaceMap")
        self.globe.scene.set_texture(cached_mars_texture())

    def _restore_surface_map(self):
        path = self.settings.value("surfaceMap", "")
        if path and Path(path).is_file():
            try:
                self.globe.scene.set_texture(read_surface_map(path))
            except (OSError, ValueError) as exc:
                self.report_error(f"Remembered surface map unusable: {exc}", "")

    def export_csv_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export close approaches", "close_approaches.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path) -> bool:
        from marsview.io.atomic import atomic_write_text

        try:
            atomic_write_text(path, self.table.source_model.to_csv())
        except OSError as exc:  # e.g. a read-only folder: tell the user, not stderr
            self.report_error(f"Could not write {path}: {exc.strerror or exc}", "")
            return False
        self.statusBar().showMessage(f"Wrote {path}", 8000)
        return True

    # --- errors --------------------------------------------------------------------------------------
    def report_error(self, message, details=""):
        self.last_error = (message, details)
        self.errorLabel.setText(message if len(message) < 160 else message[:157] + "…")
        self.errorLabel.setToolTip(message)
        self.detailsButton.setVisible(True)

    def _on_screening_failed(self, message, details):
        self.report_error("Screening failed: " + message, details)
        self.globe.scene.set_overlay_line("screening", "")  # the count was of the screening that failed

    def clear_error(self):
        self.last_error = None
        self.errorLabel.setText("")
        self.detailsButton.setVisible(False)

    def show_error_details(self):
        if self.last_error is None:
            return
        box = QMessageBox(QMessageBox.Warning, "marsview — error", self.last_error[0], parent=self)
        box.setObjectName("errorDetailsDialog")
        if self.last_error[1]:
            box.setDetailedText(self.last_error[1])
        box.open()

    def _about(self):
        QMessageBox.about(self, "About marsview", "marsview — Mars fleet flight dynamics.\n"
                          "Surface: schematic map generated by marsview, or a user map (File → Load surface map).")

    # --- shutdown ------------------------------------------------------------------------------------
    def closeEvent(self, event):
        self._pending_paths = "started"  # a load not yet begun never begins
        self.clock.pause()
        for panel in self.panels.values():
            panel.shutdown()
        ok = self.controller.shutdown()
        if not ok:
            self.statusBar().showMessage("waiting for background work to stop…")
        super().closeEvent(event)
        self.globe.close()
