"""Scenario loading, screening and plot sampling off the GUI thread (one ``JobBridge`` lane each).

Loading is all-or-nothing: a file that fails to parse leaves the shown scenario untouched and reports the
error (file, line, keyword from io's ParseError). Screening reruns whenever the scenario or its window
changes; a newer request cancels the running one, and only the latest result is shown.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot

from marsview.model.events import screening_summary

from .workers import JobBridge


def screening_targets(scenario):
    """The scenario's screened objects as core ScreeningTargets (marsview.model.scenario.screening_targets)."""
    from marsview.model.scenario import screening_targets as targets_of

    return targets_of(scenario.screened_objects())


def screening_span(scenario) -> tuple[float, float]:
    """The scenario window clipped to the span the objects cover together."""
    start, stop = scenario.window_start_tdb_s, scenario.window_stop_tdb_s
    try:
        c0, c1 = scenario.coverage()
        start, stop = max(start, c0), min(stop, c1)
    except ValueError:
        pass
    return start, stop


# Modules the workers use, imported once on the GUI thread at start-up (MainWindow.__init__), outside any
# Qt callback: PySide6 (6.12) wraps every import in a hook (shibokensupport feature_imported), and first
# imports made by a worker thread, or inside a slot while a worker runs, crashed the process with
# "Fatal Python error: none_dealloc".
WORKER_MODULES = ("marsview.model.loading", "marsview.io.scenario", "marsview.io.scenario_toml",
                  "marsview.io.orbit_cache", "marsview.io.formats", "marsview.io.oem", "marsview.io.opm",
                  "marsview.io.spk", "marsview.core.screening", "marsview.core.dynamics",
                  "marsview.core.tabulated", "marsview.core.twobody", "marsview.core.moons",
                  "marsview.core.probability", "scipy.integrate", "scipy.optimize", "scipy.interpolate",
                  "scipy.special", "scipy.linalg", "scipy.stats", "spiceypy")


def warm_worker_imports(extra=()) -> None:
    import importlib

    for name in WORKER_MODULES + tuple(extra):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _load(paths, allow_outside_paths: bool = False):
    from marsview.model.loading import load_scenario

    return load_scenario(list(paths) if paths else None, allow_outside_paths=allow_outside_paths)


class ScenarioController(QObject):
    scenarioChanged = Signal(object)  # a new Scenario is now the shown one
    scenarioEdited = Signal(object)  # model change notification (object name or None), on the GUI thread
    screeningResult = Signal(object)  # ScreeningResult for the current scenario
    screeningStarted = Signal()
    loadFailed = Signal(str, str)  # message, details
    screeningFailed = Signal(str, str)
    status = Signal(str)
    _modelChanged = Signal(object)  # scenario callbacks may run on any thread: re-emit queued

    def __init__(self, parent=None, loader=_load):
        super().__init__(parent)
        self.scenario = None
        self.result = None
        self.loader = loader
        self.load_lane = JobBridge("load", self)
        self.screen_lane = JobBridge("screen", self)
        self.plot_lane = JobBridge("plot", self)
        self._unsubscribe = None
        self._pending_merge = False
        # (new object, existing object) -> "replace" | "keep"; the main window asks the user
        self.ask_duplicate = None
        self.load_lane.finished.connect(self._on_loaded)
        self.load_lane.failed.connect(self._on_load_failed)
        self.screen_lane.finished.connect(self._on_screened)
        self.screen_lane.failed.connect(lambda _i, m, d: self.screeningFailed.emit(m, d))
        self.screen_lane.progress.connect(lambda _i, f: self.status.emit(f"Screening… {100 * f:.0f} %"))
        self._modelChanged.connect(self._on_model_changed, Qt.QueuedConnection)

    # --- loading -------------------------------------------------------------------------------------
    def open(self, paths=None, merge: bool = False, allow_outside_paths: bool = False) -> int:
        """Load a scenario folder or ephemeris files in the background; MERGE adds them to the current one.
        ALLOW_OUTSIDE_PATHS: the user agreed that scenario.toml may name files outside its folder."""
        self.status.emit("Loading " + (", ".join(str(p) for p in paths) if paths else "the default scenario") + "…")
        self.last_open = (paths, merge)
        loader = self.loader
        if allow_outside_paths:
            base = loader
            loader = lambda p: base(p, allow_outside_paths=True)  # noqa: E731
        self._pending_merge = merge and self.scenario is not None
        return self.load_lane.submit(lambda _cancel: loader(paths))

    @Slot(int, object)
    def _on_loaded(self, _rid, scenario):
        if self._pending_merge and self.scenario is not None:
            self._merge(scenario)
            return
        self.set_scenario(scenario)

    def _merge(self, loaded) -> None:
        """Objects from dropped files join the shown scenario. One that is already there (same NAIF id, or the
        same name up to case and fleet aliases: Phobos = PHOBOS, MGS = MARS GLOBAL SURVEYOR) is not added twice:
        ``ask_duplicate(new, existing)`` decides "replace" (the new trajectory replaces the existing one's) or
        "keep" (both stay; the new one renamed when the names clash)."""
        current = self.scenario
        added = 0
        for obj in list(loaded.objects):
            same = current.find_same_object(obj)
            if same is not None:
                choice = self.ask_duplicate(obj, same) if self.ask_duplicate else "replace"
                if choice == "replace":
                    current.replace_ephemeris(same.name, obj.ephemeris)
                    current.warnings.append(f"{same.name}: trajectory replaced by {obj.name} from "
                                            f"{', '.join(map(str, obj.source_files or ())) or 'a loaded file'}")
                    continue
                if obj.name in current.names():
                    stem = Path(str((obj.source_files or ["file"])[0])).stem
                    new_name = f"{obj.name} ({stem})"
                    k = 2
                    while new_name in current.names():
                        new_name, k = f"{obj.name} ({stem} {k})", k + 1
                    loaded.remove_object(obj.name)
                    obj.name = new_name
                else:
                    loaded.remove_object(obj.name)
            else:
                loaded.remove_object(obj.name)
            if str(obj.color).upper() in {str(o.color).upper() for o in current.objects}:
                obj.color = current.unused_color()  # each file's loader starts the palette again: tell them apart
            current.add_object(obj)
            added += 1
        current.cdm_conjunctions.extend(loaded.cdm_conjunctions)
        current.files.extend(f for f in loaded.files if f not in current.files)
        current.warnings.extend(loaded.warnings)
        self.status.emit(f"Added {added} object(s) from {len(loaded.files)} file(s)")
        self.scenarioChanged.emit(current)
        self.request_screening()

    @Slot(int, str, str)
    def _on_load_failed(self, _rid, message, details):
        self.status.emit("")   # the "Loading …" message must not outlive the load
        self.loadFailed.emit(message, details)

    def set_scenario(self, scenario) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.scenario = scenario
        self.result = None
        self._unsubscribe = scenario.subscribe(self._modelChanged.emit)
        self.status.emit(f"Scenario {scenario.name}: {len(scenario.objects)} objects")
        self.scenarioChanged.emit(scenario)
        self.request_screening()

    @Slot(object)
    def _on_model_changed(self, change):
        self.scenarioEdited.emit(change)
        if change.attribute in ("visible", "color"):
            return  # display only
        self.request_screening()

    # --- screening -----------------------------------------------------------------------------------
    def request_screening(self) -> int | None:
        sc = self.scenario
        if sc is None or len(sc.screened_objects()) < 2:
            return None
        from marsview.core.screening import ScreeningSettings, screen

        targets = screening_targets(sc)
        start, stop = screening_span(sc)
        if not stop > start:
            self.screeningFailed.emit("The objects share no coverage inside the screening window", "")
            return None
        settings = ScreeningSettings(threshold_km=sc.threshold_km)
        self.screeningStarted.emit()
        return self.screen_lane.submit(
            lambda cancel: screen(targets, start, stop, settings, progress=cancel.progress, cancel=cancel))

    @Slot(int, object)
    def _on_screened(self, _rid, result):
        self.result = result
        notes = self.scenario.coverage_notes(result.start_tdb_s, result.stop_tdb_s) if self.scenario else {}
        missed = [n for n, why in notes.items() if why.startswith("not screened")]
        tail = (f"; not screened (no coverage in the window): {', '.join(missed)}" if missed else "")
        summary = screening_summary(result, self.scenario.objects if self.scenario else ())
        self.status.emit(f"{summary}; {result.pairs_screened} pairs, {result.elapsed_s:.1f} s{tail}")
        self.screeningResult.emit(result)

    def shutdown(self) -> bool:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        return all([lane.shutdown() for lane in (self.load_lane, self.screen_lane, self.plot_lane)])
