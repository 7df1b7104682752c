"""Saved views: named camera + time + display frame + focus + visible objects, recalled with keys 1..9, and a
sequence the presenter steps through with PageDown / PageUp.

scenario.toml has no slot for views (its reader rejects unknown keys), so views live in ``views.toml``
beside it, written atomically. A scenario with no folder of its own, or the built-in default scenario, keeps
its views under the user's configuration folder (``views/<scenario name>.toml``)::

    sequence = ["overview", "tgo close-up", "mro-maven"]
    [[views]]
    name = "overview"; key = 1; time_utc = "2024-04-02T10:00:00.000"; frame = "MCI"; focus = ""
    camera_center_km = [0.0, 0.0, 0.0]; camera_distance_km = 42000.0; elevation_deg = 20.0
    azimuth_deg = -60.0; fov_deg = 30.0; visible = ["MRO", "TGO"]
    [[views]]
    name = "mro-maven"; ...; encounter = ["MRO", "MAVEN"]; encounter_tca_utc = "2024-04-18T07:12:00.000000"

The camera is relative to the view's focus: Mars, the followed object, or, in an encounter view (``encounter``
= the pair, ``encounter_tca_utc`` = its TCA), the midpoint of the pair at ``time_utc``. Recalling an encounter
view re-opens the encounter view on that pair at that TCA (the screening's event of the pair nearest to it
when there is one within ENCOUNTER_MATCH_S, so the table, plots and exports follow), then sets the camera.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import tomli_w
from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog

from marsview.core.time import format_epoch, utc_to_tdb_s
from marsview.io.atomic import atomic_write_text
from marsview.io.errors import ParseError
from marsview.io.scenario_toml import read_toml_file

VIEWS_FILE = "views.toml"
_KEYS = {"name", "key", "time_utc", "frame", "focus", "camera_center_km", "camera_distance_km", "elevation_deg",
         "azimuth_deg", "fov_deg", "visible", "encounter", "encounter_tca_utc"}
ENCOUNTER_MATCH_S = 600.0  # a re-screened TCA of the same pair within 10 min is the same close approach


@dataclass
class SavedView:
    name: str
    tdb_s: float
    frame: str = "MCI"
    focus: str | None = None
    camera_center_km: tuple[float, float, float] = (0.0, 0.0, 0.0)
    camera_distance_km: float = 42000.0
    elevation_deg: float = 20.0
    azimuth_deg: float = -60.0
    fov_deg: float = 30.0
    visible: list[str] = field(default_factory=list)
    key: int | None = None  # 1..9
    encounter: tuple[str, str] | None = None  # the pair of an encounter view (object 1, object 2)
    encounter_tca_tdb_s: float | None = None


def shown_encounter(scene) -> tuple[str, str, float] | None:
    """(object 1, object 2, TCA TDB s) of the encounter SCENE shows, None outside the encounter view."""
    ev = scene.encounter.event
    if ev is None:
        return None
    names = {id(e.obj.ephemeris): n for n, e in scene.entries.items()}
    n1, n2 = names.get(id(ev["eph1"])), names.get(id(ev["eph2"]))
    return None if n1 is None or n2 is None else (n1, n2, float(ev["tca"]))


def capture_view(window, name: str, key: int | None = None) -> SavedView:
    scene, cam = window.globe.scene, window.globe.scene.camera
    visible = [o.name for o in window.scenario.objects if o.visible] if window.scenario is not None else []
    enc = shown_encounter(scene)
    return SavedView(name=name, tdb_s=window.clock.tdb_s, frame=scene.frame, focus=scene.focus_name,
                     camera_center_km=tuple(float(x) for x in cam.center), camera_distance_km=float(cam.distance),
                     elevation_deg=float(cam.elevation), azimuth_deg=float(cam.azimuth), fov_deg=float(cam.fov),
                     visible=visible, key=key, encounter=None if enc is None else enc[:2],
                     encounter_tca_tdb_s=None if enc is None else enc[2])


def _open_encounter(window, view: SavedView) -> bool:
    """Re-open VIEW's encounter view; False (and a message) when its objects are not in the scenario."""
    scene = window.globe.scene
    n1, n2 = view.encounter
    if n1 not in scene.entries or n2 not in scene.entries:
        window.report_error(f"Saved view {view.name!r}: no {n1} – {n2} in this scenario; showing it around "
                            f"{view.focus or 'Mars'} instead")
        return False
    result = window.controller.result
    same_pair = [e for e in (result.events if result is not None else ())
                 if (e.object1, e.object2) == (n1, n2)
                 and abs(e.tca_tdb_s - view.encounter_tca_tdb_s) <= ENCOUNTER_MATCH_S]
    if same_pair:  # the screening's event: the table, plots and pictures follow it
        window.select_event(min(same_pair, key=lambda e: abs(e.tca_tdb_s - view.encounter_tca_tdb_s)))
        return True
    # not (or not yet) screened: the geometry at the saved TCA straight from the ephemerides
    t = np.array([view.encounter_tca_tdb_s])
    e1, e2 = scene.entries[n1].obj.ephemeris, scene.entries[n2].obj.ephemeris
    if not (e1.covers(view.encounter_tca_tdb_s) and e2.covers(view.encounter_tca_tdb_s)):
        window.report_error(f"Saved view {view.name!r}: {n1} – {n2} not covered at its TCA")
        return False
    rel = e2.state(t)[0] - e1.state(t)[0]
    window.selected_event = None
    scene.show_encounter(n1, n2, view.encounter_tca_tdb_s, float(np.linalg.norm(rel[:3])),
                         float(np.linalg.norm(rel[3:6])))
    return True


def apply_view(window, view: SavedView) -> None:
    """Show VIEW: objects' visibility, frame, focus (or the encounter), camera, then the clock."""
    sc = window.scenario
    if sc is not None:
        for o in sc.objects:
            want = o.name in view.visible
            if o.visible != want:
                o.visible = want
    window.clock.pause()
    scene = window.globe.scene
    scene.clear_encounter()
    window.set_display_frame(view.frame)
    scene.set_focus(view.focus if view.focus in scene.entries else None)
    if view.encounter is not None:
        _open_encounter(window, view)
    cam = scene.camera
    cam.center, cam.distance = tuple(view.camera_center_km), view.camera_distance_km
    cam.elevation, cam.azimuth, cam.fov = view.elevation_deg, view.azimuth_deg, view.fov_deg
    window.clock.set_time(view.tdb_s)
    scene.set_time(window.clock.tdb_s)


# --- files -------------------------------------------------------------------------------------------
def views_path(scenario) -> Path:
    """views.toml beside the scenario's scenario.toml, or in the user's configuration folder."""
    from marsview.io.scenario import default_scenario_path

    folder = Path(scenario.path) if getattr(scenario, "path", None) else None
    if folder is not None and folder.is_dir() and folder.resolve() != Path(default_scenario_path()).resolve():
        return folder / VIEWS_FILE
    base = Path(QStandardPaths.writableLocation(QStandardPaths.AppConfigLocation)) / "views"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", scenario.name).strip("_") or "scenario"
    return base / f"{safe}.toml"


def write_views(path, views: list[SavedView], sequence: list[str]) -> None:
    doc = {"sequence": list(sequence), "views": []}
    for v in views:
        d = asdict(v)
        row = {"name": v.name, "time_utc": format_epoch(v.tdb_s, "UTC", digits=6), "frame": v.frame,
               "focus": v.focus or "", "camera_center_km": list(d["camera_center_km"]),
               "camera_distance_km": v.camera_distance_km, "elevation_deg": v.elevation_deg,
               "azimuth_deg": v.azimuth_deg, "fov_deg": v.fov_deg, "visible": list(v.visible)}
        if v.key is not None:
            row["key"] = int(v.key)
        if v.encounter is not None:
            row["encounter"] = list(v.encounter)
            row["encounter_tca_utc"] = format_epoch(v.encounter_tca_tdb_s, "UTC", digits=6)
        doc["views"].append(row)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(path), tomli_w.dumps(doc))


def read_views(path) -> tuple[list[SavedView], list[str]]:
    """(views, sequence); ParseError naming the file, line and key on bad content."""
    path = Path(path)
    text, data = read_toml_file(path, "a views.toml")
    starts = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip() == "[[views]]"]
    views = []
    rows = data.get("views", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ParseError(path, _key_line(text, 1, "views"), "views", "must be an array of tables [[views]]")
    for i, row in enumerate(rows):
        line = starts[i] if i < len(starts) else 0

        def bad(key, msg, line=line):
            return ParseError(path, _key_line(text, line, key), key, msg)

        visible = row.get("visible", [])
        if not isinstance(visible, list) or not all(isinstance(n, str) for n in visible):
            raise bad("visible", f"must be a list of object names such as [\"MRO\", \"TGO\"], got {visible!r}"[:160])
        if row.get("focus") is not None and not isinstance(row["focus"], str):
            raise bad("focus", "must be an object name (a string)")
        if not isinstance(row.get("camera_center_km", []), list):
            raise bad("camera_center_km", "camera_center_km must be a list of 3 numbers")

        unknown = set(row) - _KEYS
        if unknown:
            raise bad(sorted(unknown)[0], f"unknown key in [[views]] (known: {', '.join(sorted(_KEYS))})")
        if not isinstance(row.get("name"), str) or not row["name"].strip():
            raise bad("name", "missing or empty view name")
        try:
            tdb_s = utc_to_tdb_s(str(row["time_utc"]))
        except (KeyError, ValueError) as exc:
            raise bad("time_utc", f"missing or not a UTC epoch ({exc})") from None
        if row.get("frame", "MCI") not in ("MCI", "IAU_MARS"):
            raise bad("frame", "frame must be MCI or IAU_MARS")
        key = row.get("key")
        if key is not None and (not isinstance(key, int) or not 1 <= key <= 9):
            raise bad("key", "key must be an integer 1..9")
        try:
            center = tuple(float(x) for x in row.get("camera_center_km", (0.0, 0.0, 0.0)))
            nums = {k: float(row[k]) for k in ("camera_distance_km", "elevation_deg", "azimuth_deg", "fov_deg")
                    if k in row}
        except (TypeError, ValueError) as exc:
            raise bad("camera_distance_km", f"camera values must be numbers ({exc})") from None
        if len(center) != 3:
            raise bad("camera_center_km", "camera_center_km must have 3 numbers")
        encounter, tca = row.get("encounter"), None
        if encounter is not None:
            if (not isinstance(encounter, list) or len(encounter) != 2
                    or not all(isinstance(n, str) and n.strip() for n in encounter)):
                raise bad("encounter", 'encounter must be the two object names, e.g. ["MRO", "MAVEN"]')
            encounter = (encounter[0].strip(), encounter[1].strip())
            try:
                tca = utc_to_tdb_s(str(row["encounter_tca_utc"]))
            except KeyError:
                raise bad("encounter", "an encounter view needs encounter_tca_utc (its TCA, UTC)") from None
            except ValueError as exc:
                raise bad("encounter_tca_utc", f"not a UTC epoch ({exc})") from None
        elif "encounter_tca_utc" in row:
            raise bad("encounter_tca_utc", "encounter_tca_utc without encounter (the pair)")
        views.append(SavedView(name=row["name"].strip(), tdb_s=tdb_s, frame=row.get("frame", "MCI"),
                               focus=row.get("focus") or None, camera_center_km=center,
                               visible=[str(n) for n in row.get("visible", [])], key=key, encounter=encounter,
                               encounter_tca_tdb_s=tca, **nums))
    names = [v.name for v in views]
    if not isinstance(data.get("sequence", names), list):
        raise ParseError(path, _key_line(text, 1, "sequence"), "sequence", "must be a list of view names")
    sequence = [str(n) for n in data.get("sequence", names)]
    for n in sequence:
        if n not in names:
            raise ParseError(path, _key_line(text, 1, "sequence"), "sequence", f"no view named {n!r}")
    return views, sequence


def _key_line(text: str, start: int, key: str) -> int:
    lines = text.splitlines()
    for i in range(max(start - 1, 0), len(lines)):
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
            return i + 1
    return start


# --- the window's views ------------------------------------------------------------------------------
class SavedViews:
    """The current scenario's views; loads them when a scenario is shown, saves on every change."""

    def __init__(self, window):
        self.window = window
        self.views: list[SavedView] = []
        self.sequence: list[str] = []
        self.position = -1
        self.path: Path | None = None
        window.scenarioLoaded.connect(self.load)
        if window.scenario is not None:
            self.load()

    def load(self) -> None:
        sc = self.window.scenario
        self.views, self.sequence, self.position = [], [], -1
        self.path = views_path(sc) if sc is not None else None
        if self.path is not None and self.path.is_file():
            try:
                self.views, self.sequence = read_views(self.path)
            except (ParseError, OSError) as exc:
                self.window.report_error(f"Saved views not loaded: {exc}")

    def save(self) -> None:
        if self.path is not None:
            write_views(self.path, self.views, self.sequence)

    def view(self, name: str) -> SavedView:
        for v in self.views:
            if v.name == name:
                return v
        raise KeyError(f"no saved view named {name!r}")

    def save_current(self, name: str, key: int | None = None) -> SavedView:
        """Capture the current view as NAME (replacing a view of that name; KEY 1..9 moves to it)."""
        if key is not None and not 1 <= int(key) <= 9:
            raise ValueError(f"view key must be 1..9, got {key}")
        new = capture_view(self.window, name, key)
        for v in self.views:
            if key is not None and v.key == key:
                v.key = None
        self.views = [v for v in self.views if v.name != name] + [new]
        if name not in self.sequence:
            self.sequence.append(name)
        self.save()
        return new

    def recall(self, name: str) -> None:
        apply_view(self.window, self.view(name))
        if name in self.sequence:
            self.position = self.sequence.index(name)

    def recall_key(self, key: int) -> bool:
        for v in self.views:
            if v.key == key:
                self.recall(v.name)
                return True
        _tell(self.window, f"No saved view on key {key}", 4000)
        return False

    def step_sequence(self, step: int) -> str | None:
        if not self.sequence:
            return None
        self.position = max(0, min(len(self.sequence) - 1, self.position + step)) if self.position >= 0 else 0
        name = self.sequence[self.position]
        apply_view(self.window, self.view(name))
        return name


def install_saved_views(window) -> SavedViews:
    """Saved views on WINDOW: a "Saved views" submenu of ``window.menuView`` and the recall shortcuts."""
    views = SavedViews(window)
    menu = window.menuView.addMenu("Saved &views")
    menu.setObjectName("menuSavedViews")
    save = QAction("&Save current view…", window)
    save.setObjectName("actionSaveView")
    save.setShortcut("Ctrl+Shift+V")
    save.triggered.connect(lambda: _save_dialog(window, views))
    menu.addAction(save)
    for key in range(1, 10):
        act = QAction(f"Recall view {key}", window)
        act.setObjectName(f"actionRecallView{key}")
        act.setShortcut(str(key))
        act.setShortcutContext(Qt.WindowShortcut)  # text fields take digits first (ShortcutOverride)
        act.triggered.connect(lambda _c=False, k=key: views.recall_key(k))
        menu.addAction(act)
    # plain PageDown/PageUp step the sequence in briefing mode; here they stay with the table and slider
    for text, step, key, name in (("Next view in sequence", 1, "Ctrl+PgDown", "actionNextView"),
                                  ("Previous view in sequence", -1, "Ctrl+PgUp", "actionPreviousView")):
        act = QAction(text, window)
        act.setObjectName(name)
        act.setShortcut(key)
        act.triggered.connect(lambda _c=False, s=step: views.step_sequence(s))
        menu.addAction(act)
    return views


def _save_dialog(window, views: SavedViews) -> None:
    name, ok = QInputDialog.getText(window, "Save view", "Name of this view:")
    if not ok or not name.strip():
        return
    used = {v.key for v in views.views}
    key = next((k for k in range(1, 10) if k not in used), None)
    try:
        views.save_current(name.strip(), key)
    except OSError as exc:
        window.report_error(f"Could not save the view: {exc}")
        return
    if not _tell(window, f"Saved view {name!r}" + (f" on key {key}" if key else ""), 8000, short=True):
        window.statusBar().showMessage(f"Saved view {name!r}" + (f" on key {key}" if key else "")
                                       + f" in {views.path}", 8000)


def _tell(window, text: str, ms: int, short: bool = False) -> bool:
    """TEXT in the briefing indicator while briefing (the status bar is hidden there), else in the status bar
    (unless SHORT: then the caller writes a longer status line itself). True when briefing showed it."""
    briefing = getattr(window, "briefing", None)
    if briefing is not None and briefing.flash(text):
        return True
    if not short:
        window.statusBar().showMessage(text, ms)
    return False
