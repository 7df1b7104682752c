"""The delivery loop: a watched folder where teams drop ephemerides, re-screened after every arrival. Qt-free.

An *item* is a file (with an ephemeris extension) or a sub-folder directly inside the watched folder; names
starting with ``.`` (partial transfers, the history folder) are ignored. An item counts once it is stable:
its size and mtime (every file's, for a sub-folder) unchanged for ``stable_s`` seconds. All items that are
new (or whose content changed) and stable at one poll form one delivery:

1. each item is loaded on its own, all-or-nothing (``model.loading.load_scenario``); a bad item is set aside
   with its ``file:line: KEYWORD: message`` and recorded, and is not retried until its content changes;
2. each object of a good item replaces the ephemeris of the same object (``model.identity``: NAIF ID, then
   COSPAR, then name) and keeps the name it was first known by; an unknown object joins the scenario;
3. every pair is screened over [latest coverage start, + duration] clipped to the common coverage;
4. the events are compared with the previous delivery's (``model.trend.match_events``) giving NEW, GONE and
   CHANGED lines (tolerances below); an event whose TCA lies outside the new window is not reported GONE.

The history (``HISTORY_FILE`` in the history folder, written atomically after each delivery) keeps every item
with its SHA-256, status and error, every delivery with its arrival time (UTC), items, window, events and
change lines, and which item each current object came from, so a restarted watcher continues where it
stopped: an item whose content hash is recorded is never processed again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from marsview.model.scenario import screening_targets
from marsview.model.trend import Delivery, event_records, match_events

HISTORY_DIR = ".marsview"
HISTORY_FILE = "history.json"
HISTORY_FORMAT = "marsview-watch-history/1"
STABLE_S = 2.0

# A matched close approach is CHANGED when any of these moves beyond its tolerance:
MISS_TOL_KM = 0.1          # |miss change| > max(100 m, 5 % of the previous miss)
MISS_TOL_FRACTION = 0.05
TCA_TOL_S = 1.0            # |TCA shift| > 1 s
PC_TOL_FACTOR = 2.0        # Pc changed by more than a factor 2 ...
PC_FLOOR = 1e-10           # ... counting any Pc below 1e-10 as 1e-10 (numerically zero)
# It is WORSE when the miss shrank beyond its tolerance or Pc grew beyond its tolerance.


def _utc_now(clock) -> str:
    return datetime.datetime.fromtimestamp(clock(), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def item_files(path: Path) -> list[Path]:
    """The files that make up an item (the file itself, or every non-hidden file under a sub-folder)."""
    if path.is_file():
        return [path]
    out = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in sorted(files) if not f.startswith("."))
    return out


def item_signature(path: Path) -> tuple:
    """(relative name, size, mtime_ns) of every file of the item, and of every folder (whose mtime moves when
    a file is added or renamed into it): changes whenever something in the item is written."""
    if path.is_file():
        st = path.stat()
        return ((path.name, st.st_size, st.st_mtime_ns),)
    sig = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(root)
        sig.append((str(base.relative_to(path)) + "/", 0, base.stat().st_mtime_ns))
        for f in sorted(files):
            if not f.startswith("."):
                st = (base / f).stat()
                sig.append((str((base / f).relative_to(path)), st.st_size, st.st_mtime_ns))
    return tuple(sig)


def item_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (what ``sha256sum`` prints); for a sub-folder, of each file's relative
    name and bytes in name order."""
    h = hashlib.sha256()
    for f in item_files(path):
        if f != path:
            h.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        if f != path:
            h.update(b"\0")
    return h.hexdigest()


@dataclass
class Change:
    kind: str  # NEW, GONE, CHANGED
    object1: str
    object2: str
    tca_utc: str
    worse: bool
    line: str
    event: dict | None = None  # the current event (None for GONE)


@dataclass
class DeliveryOutcome:
    """What one delivery did: its history record, the change lines, rejected items, the new scenario."""

    record: dict | None
    changes: list[Change] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)  # {"path", "sha256", "error"}
    scenario: object = None
    result: object = None

    @property
    def worse(self) -> bool:
        return any(c.worse for c in self.changes)

    def lines(self) -> list[str]:
        out = []
        if self.record is not None:
            items = ", ".join(i["path"] for i in self.record["items"])
            out.append(f"DELIVERY {self.record['name']} {self.record['received_utc']}: {items} "
                       f"({len(self.record['events'])} close approaches)")
        out.extend(f"REJECTED {r['path']}: {r['error']}" for r in self.rejected)
        out.extend(c.line for c in self.changes)
        return out


def _fmt_pc(pc) -> str:
    return "-" if pc is None else f"{pc:.1e}"


def compare_events(previous: list[dict], current: list[dict], start_tdb_s: float, stop_tdb_s: float) -> list[Change]:
    """NEW / GONE / CHANGED between two deliveries' events (tolerances: module constants)."""
    pairs = match_events(previous, current)
    changes = []
    seen_old = {i for i, _ in pairs}
    seen_new = {j for _, j in pairs}
    for j, ev in enumerate(current):
        if j not in seen_new:
            changes.append(Change("NEW", ev["object1"], ev["object2"], ev["tca_utc"], True,
                                  f"NEW      {ev['tca_utc']} UTC  {ev['object1']} / {ev['object2']}  "
                                  f"miss {ev['miss_km']:.3f} km  Pc {_fmt_pc(ev['pc'])}", ev))
    for i, old in enumerate(previous):
        if i not in seen_old and start_tdb_s <= old["tca_tdb_s"] <= stop_tdb_s:
            changes.append(Change("GONE", old["object1"], old["object2"], old["tca_utc"], False,
                                  f"GONE     {old['tca_utc']} UTC  {old['object1']} / {old['object2']}  "
                                  f"(was miss {old['miss_km']:.3f} km, Pc {_fmt_pc(old['pc'])})"))
    for i, j in pairs:
        old, new = previous[i], current[j]
        d_miss = new["miss_km"] - old["miss_km"]
        d_tca = new["tca_tdb_s"] - old["tca_tdb_s"]
        miss_moved = abs(d_miss) > max(MISS_TOL_KM, MISS_TOL_FRACTION * old["miss_km"])
        pc_old = max(old["pc"] or 0.0, PC_FLOOR) if old["pc"] is not None else None
        pc_new = max(new["pc"] or 0.0, PC_FLOOR) if new["pc"] is not None else None
        pc_moved = (pc_old is not None and pc_new is not None
                    and max(pc_new / pc_old, pc_old / pc_new) > PC_TOL_FACTOR)
        if not (miss_moved or pc_moved or abs(d_tca) > TCA_TOL_S):
            continue
        worse = (miss_moved and d_miss < 0) or (pc_moved and pc_new > pc_old)
        line = (f"CHANGED  {new['tca_utc']} UTC  {new['object1']} / {new['object2']}  miss {old['miss_km']:.3f} -> "
                f"{new['miss_km']:.3f} km ({d_miss:+.3f})  TCA {d_tca:+.1f} s  Pc {_fmt_pc(old['pc'])} -> "
                f"{_fmt_pc(new['pc'])}" + ("  WORSE" if worse else ""))
        changes.append(Change("CHANGED", new["object1"], new["object2"], new["tca_utc"], worse, line, new))
    changes.sort(key=lambda c: (c.tca_utc, c.object1, c.object2))
    return changes


def empty_history(folder: Path, threshold_km: float, duration_s: float) -> dict:
    return {"format": HISTORY_FORMAT, "folder": str(folder), "threshold_km": threshold_km,
            "duration_s": duration_s, "items": {}, "deliveries": [], "objects": []}


def read_history(history_dir) -> dict:
    """The watch history of HISTORY_DIR (the folder holding ``history.json``, or the file itself)."""
    path = Path(history_dir)
    if path.is_dir():
        path = path / HISTORY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}:0: history: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: history: not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or data.get("format") != HISTORY_FORMAT:
        raise ValueError(f"{path}:1: format: not a marsview watch history ({HISTORY_FORMAT})")
    return data


def is_history(path) -> bool:
    p = Path(path)
    return (p.is_dir() and (p / HISTORY_FILE).is_file()) or (p.is_file() and p.name == HISTORY_FILE)


def history_deliveries(history_dir) -> list[Delivery]:
    """The deliveries recorded in a watch history, oldest first (for ``marsview trend``)."""
    data = read_history(history_dir)
    return [Delivery(d["name"], d["received_utc"], list(d["events"]), list(d.get("objects", [])))
            for d in data["deliveries"]]


class DeliveryWatcher:
    """Polls FOLDER for deliveries, keeps the current scenario and the history (see module docstring).

    ``serialize``: CloseApproach -> dict (``model.events.event_dict``).
    ``clock``/``stable_s``: injectable so tests need not wait.
    """

    def __init__(self, folder, serialize, threshold_km: float = 10.0, duration_s: float = 7 * 86400.0,
                 history_dir=None, stable_s: float = STABLE_S, clock=time.time):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ValueError(f"{self.folder}:0: folder: no such folder")
        if not 0 < threshold_km < math.inf:
            raise ValueError(f"threshold must be a positive number of km, got {threshold_km} km")
        if not duration_s > 0:
            raise ValueError(f"duration must be positive, got {duration_s} s")
        self.serialize = serialize
        self.threshold_km = float(threshold_km)
        self.duration_s = float(duration_s)
        self.history_dir = Path(history_dir) if history_dir else self.folder / HISTORY_DIR
        self.stable_s = float(stable_s)
        self.clock = clock
        self._observed: dict[str, tuple[tuple, float]] = {}  # name -> (signature, since)
        self.history = (read_history(self.history_dir) if (self.history_dir / HISTORY_FILE).is_file()
                        else empty_history(self.folder, self.threshold_km, self.duration_s))
        self._objects = None  # current ScenarioObject attribute dicts (lazy: rebuilt from the history on restart)
        self.restore_warnings: list[str] = []

    # --- finding items ------------------------------------------------------------------------------
    def _candidates(self) -> list[Path]:
        from marsview.io.scenario import FILE_EXTENSIONS

        history = self.history_dir.resolve()
        out = []
        for p in sorted(self.folder.iterdir()):
            if p.name.startswith(".") or p.resolve() == history:
                continue
            if p.is_dir() or (p.is_file() and p.suffix.lower() in FILE_EXTENSIONS):
                out.append(p)
        return out

    def scan(self) -> tuple[list[Path], list[Path]]:
        """(ready, waiting): new or changed items that are stable, and those still being written."""
        now = self.clock()
        ready, waiting = [], []
        items = self.history["items"]
        for path in self._candidates():
            try:
                sig = item_signature(path)
            except OSError:
                continue  # vanished between listing and stat
            known = items.get(path.name)
            if known is not None and known.get("signature") == [list(s) for s in sig]:
                continue
            old = self._observed.get(path.name)
            since = old[1] if old is not None and old[0] == sig else now
            self._observed[path.name] = (sig, since)
            newest_s = max((s[2] for s in sig), default=0) / 1e9
            if not any(not s[0].endswith("/") for s in sig):
                waiting.append(path)  # a folder with no file yet: the delivery is still being copied
            elif now - since >= self.stable_s or now - newest_s >= self.stable_s:
                if known is not None:
                    sha = item_sha256(path)
                    if sha == known.get("sha256"):  # touched, same content: remember the new signature only
                        known["signature"] = [list(s) for s in sig]
                        continue
                ready.append(path)
            else:
                waiting.append(path)
        return ready, waiting

    # --- the current scenario ------------------------------------------------------------------------
    def _restore_objects(self) -> list[dict]:
        """The objects of the last delivery, reloaded from the items they came from (restart)."""
        from marsview.model.loading import load_scenario

        objects = []
        by_item: dict[str, list[dict]] = {}
        for entry in self.history.get("objects", []):
            by_item.setdefault(entry["item"], []).append(entry)
        for item, entries in by_item.items():
            try:
                loaded = load_scenario([self.folder / item])
            except (ValueError, OSError) as exc:
                self.restore_warnings.append(f"{item}: cannot reload for the current scenario ({exc})")
                continue
            for entry in entries:
                match = [o for o in loaded.objects if o.name == entry["object"]]
                if not match:
                    self.restore_warnings.append(f"{item}: no object {entry['object']!r} any more")
                    continue
                attrs = match[0].as_dict()
                attrs["name"] = entry["name"]
                attrs["color"] = entry.get("color", attrs["color"])
                attrs["_item"], attrs["_object"] = item, entry["object"]
                objects.append(attrs)
        order = [e["name"] for e in self.history.get("objects", [])]
        objects.sort(key=lambda a: order.index(a["name"]))
        return objects

    @property
    def objects(self) -> list[dict]:
        if self._objects is None:
            self._objects = self._restore_objects()
        return self._objects

    def scenario(self, objects=None):
        """A fresh model Scenario of the current objects (a snapshot: the watcher never edits a shown one)."""
        from marsview.model.scenario import Scenario, ScenarioObject

        objects = self.objects if objects is None else objects
        objs = [ScenarioObject(**{k: v for k, v in a.items() if not k.startswith("_")}) for a in objects]
        sc = Scenario(f"{self.folder.name} (watched)", objs, threshold_km=self.threshold_km,
                      files=sorted({str(self.folder / a["_item"]) for a in objects}), path=str(self.folder))
        if objs:
            start = max(o.ephemeris.coverage[0] for o in objs)
            sc.set_window(start, self.duration_s)
        return sc

    # --- one delivery --------------------------------------------------------------------------------
    def poll(self, progress=None, cancel=None) -> DeliveryOutcome | None:
        """Process every ready item as one delivery; None when nothing was ready."""
        ready, _waiting = self.scan()
        if not ready:
            return None
        return self.process(ready, progress, cancel)

    def process(self, paths, progress=None, cancel=None) -> DeliveryOutcome:
        from marsview.core.screening import ScreeningSettings, screen
        from marsview.model.loading import load_scenario
        from marsview.model.identity import find_same_object
        from marsview.model.scenario import palette_color

        received = _utc_now(self.clock)
        objects = [dict(a) for a in self.objects]
        applied, rejected = [], []
        for path in sorted(paths, key=lambda p: (max((s[2] for s in item_signature(p)), default=0), p.name)):
            sig, sha = item_signature(path), item_sha256(path)
            record = {"sha256": sha, "signature": [list(s) for s in sig], "kind": "folder" if path.is_dir() else "file",
                      "first_seen_utc": received}
            try:
                loaded = load_scenario([path])
            except (ValueError, OSError) as exc:  # ParseError is a ValueError: file:line: KEYWORD: message
                record.update(status="rejected", error=str(exc))
                self.history["items"][path.name] = record
                rejected.append({"path": path.name, "sha256": sha, "error": str(exc)})
                continue
            names = []
            for obj in loaded.objects:
                attrs = obj.as_dict()
                attrs["_item"], attrs["_object"] = path.name, obj.name
                k = find_same_object(obj, objects)
                if k is None:
                    attrs["color"] = palette_color(len(objects))
                    objects.append(attrs)
                    names.append(obj.name)
                else:
                    keep = objects[k]
                    attrs["name"] = keep["name"]
                    attrs["color"] = keep["color"]
                    attrs["visible"] = keep["visible"]
                    if attrs.get("naif_id") is None:
                        attrs["naif_id"] = keep.get("naif_id")
                    objects[k] = attrs
                    names.append(keep["name"] + ("" if keep["name"] == obj.name else f" (as {obj.name})"))
            record.update(status="applied", objects=names)
            applied.append((path.name, record))
        outcome = DeliveryOutcome(None, rejected=rejected)
        if not applied:
            self._save()
            return outcome
        scenario = self.scenario(objects)
        previous = self.history["deliveries"][-1] if self.history["deliveries"] else None
        events, result, window = [], None, None
        if len(scenario.objects) >= 2:
            from marsview.core.time import format_epoch

            from .trend import common_window

            try:
                start, stop = common_window(scenario.objects, scenario.window_start_tdb_s, self.duration_s)
            except ValueError as exc:  # e.g. a delivery that ends before the others start: set it aside
                for name, r in applied:
                    error = f"{self.folder / name}:0: coverage: {exc} with this item"
                    r.update(status="rejected", error=error)
                    self.history["items"][name] = r
                    outcome.rejected.append({"path": name, "sha256": r["sha256"], "error": error})
                self._save()
                return outcome
            result = screen(screening_targets(scenario.objects), start, stop,
                            ScreeningSettings(threshold_km=self.threshold_km), progress=progress, cancel=cancel)
            events = event_records(result, self.serialize)
            window = {"start_utc": format_epoch(start, "UTC", 3), "stop_utc": format_epoch(stop, "UTC", 3),
                      "start_tdb_s": start, "stop_tdb_s": stop}
        changes = compare_events(previous["events"] if previous else [], events,
                                 window["start_tdb_s"] if window else 0.0, window["stop_tdb_s"] if window else 0.0)
        n = len(self.history["deliveries"]) + 1
        record = {"name": f"delivery-{n:03d}", "received_utc": received,
                  "items": [{"path": name, "sha256": r["sha256"], "kind": r["kind"], "objects": r["objects"]}
                            for name, r in applied],
                  "rejected": rejected, "threshold_km": self.threshold_km, "window": window,
                  "objects": [{"name": a["name"], "naif_id": a.get("naif_id"), "item": a["_item"]} for a in objects],
                  "events": events, "changes": [c.line for c in changes]}
        self._objects = objects
        for name, r in applied:
            r["delivery"] = record["name"]
            self.history["items"][name] = r
        self.history["deliveries"].append(record)
        self.history["objects"] = [{"name": a["name"], "item": a["_item"], "object": a["_object"], "color": a["color"]}
                                   for a in objects]
        self._save()
        outcome.record, outcome.changes, outcome.scenario, outcome.result = record, changes, scenario, result
        return outcome

    def _save(self) -> None:
        from marsview.io.atomic import atomic_write_text

        self.history_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.history_dir / HISTORY_FILE, json.dumps(self.history, indent=1) + "\n")

    def deliveries(self) -> list[Delivery]:
        return [Delivery(d["name"], d["received_utc"], list(d["events"]), list(d.get("objects", [])))
                for d in self.history["deliveries"]]

