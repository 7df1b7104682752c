"""Saving, autosaving, restoring and exporting the maneuver panel's plan (a mixin of ``ManeuverPanel``).

Plans live in the scenario: ``save`` puts them into ``Scenario.maneuvers`` and writes scenario.toml through
io.scenario.save_scenario (atomic). An unsaved plan is autosaved (model.plan.autosave_path, keyed by the
scenario and its object set) and offered on reopen of the same data only, after asking. Exports always write
the exact planned trajectory (never the live preview).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from marsview.model.plan import (ManeuverPlan, apply_to_scenario, autosave_path, plan_from_scenario, read_autosave,
                                 save_autosave, scenario_key)


class PlanFilesMixin:
    # restore_question(text, restore, discard): asks whether to restore an autosaved plan and calls one of
    # the two (or neither). None = a non-modal question box; tests (and scripts) put a function here.
    restore_question = None

    def _restore_plan(self, scenario) -> ManeuverPlan:
        """The scenario's saved burns. An unsaved plan autosaved on the same data (model.plan.scenario_key) is
        offered, never applied silently: the user is asked, and only a yes replaces the plan."""
        plan = plan_from_scenario(scenario)
        plan.subscribe(lambda _p, _n: self.planChanged.emit())
        self._pending_autosave = None
        try:
            path = autosave_path(self._writable_folder(scenario), scenario_key(scenario))
            auto = read_autosave(path, scenario)
        except (OSError, ValueError) as exc:
            self._report(f"Could not read the autosaved plan: {exc}", "")
            return plan
        if auto is not None:
            self._pending_autosave = (scenario, path, auto)
        return plan

    def _offer_autosave(self) -> None:
        """Ask about the autosave ``_restore_plan`` found (once the panel shows the scenario)."""
        pending = getattr(self, "_pending_autosave", None)
        if pending is None:
            return
        _, path, auto = pending
        names = ", ".join(f"{n} ({auto.total_dv_mps(n):.4f} m/s)" for n in sorted(auto.burns))
        text = (f"An unsaved maneuver plan for this scenario was kept when marsview closed: {names}.\n\n"
                f"Restore it? (It is shown as PLANNED; the delivered ephemerides are not changed.)\n{path}")
        ask = self.restore_question or self._ask_restore
        ask(text, self.restore_autosave, self.discard_autosave)

    def _ask_restore(self, text, restore, discard) -> None:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Question, "Restore the unsaved plan?", text, parent=self)
        box.setObjectName("restorePlanQuestion")
        yes = box.addButton("Restore", QMessageBox.AcceptRole)
        no = box.addButton("Discard", QMessageBox.DestructiveRole)
        box.addButton("Not now", QMessageBox.RejectRole)

        def answered(_result):
            if box.clickedButton() is yes:
                restore()
            elif box.clickedButton() is no:
                discard()

        box.finished.connect(answered)
        box.open()  # non-modal: nothing waits on it (and a test never hangs on it)

    def restore_autosave(self) -> bool:
        """Apply the offered autosave (if it is still for the shown scenario)."""
        pending = getattr(self, "_pending_autosave", None)
        self._pending_autosave = None
        if pending is None or pending[0] is not self.scenario:
            return False
        _, path, auto = pending
        auto.dirty = True
        auto.subscribe(lambda _p, _n: self.planChanged.emit())
        self.plan = auto
        names = [n for n in auto.burns if n in self.scenario.names()]
        if names and self.target.currentText() != names[0]:
            self.target.setCurrentText(names[0])  # refreshes the widgets from the plan
        else:
            self._on_target_changed(self.target.currentText())
        self.planChanged.emit()
        self.status.setText(f"Restored the unsaved plan from {path}")
        return True

    def discard_autosave(self) -> None:
        pending = getattr(self, "_pending_autosave", None)
        self._pending_autosave = None
        if pending is not None:
            Path(pending[1]).unlink(missing_ok=True)

    @staticmethod
    def _writable_folder(scenario):
        """The scenario's own folder, unless it is the shipped default scenario (never written to)."""
        folder = getattr(scenario, "path", None)
        if not folder:
            return None
        try:
            from marsview.io.scenario import default_scenario_path

            if Path(folder).resolve() == Path(default_scenario_path()).resolve():
                return None
        except (ImportError, OSError):
            pass
        return folder

    # --- saving and export ---------------------------------------------------------------------------------
    def save(self, folder=None) -> bool:
        """Put the plan into the scenario and save the scenario (scenario.toml [[maneuvers]], atomic) in its
        own folder, or FOLDER, or a folder the user picks (the shipped default scenario is never overwritten)."""
        from marsview.io.scenario import save_scenario

        old_auto = autosave_path(self._writable_folder(self.scenario), scenario_key(self.scenario))
        folder = folder or self._writable_folder(self.scenario)
        if not folder:
            folder = QFileDialog.getExistingDirectory(self, "Save the scenario with its plan in folder")
            if not folder:
                return False
        apply_to_scenario(self.plan, self.scenario)
        try:
            save_scenario(self.scenario, folder)
        except OSError as exc:  # a read-only or vanished folder: the user must know the plan is NOT saved
            self._report(f"Plan NOT saved: cannot write in {folder}: {exc.strerror or exc}", "")
            return False
        self.plan.mark_saved()
        old_auto.unlink(missing_ok=True)
        self.status.setText(f"Plan saved in {Path(folder) / 'scenario.toml'}")
        return True

    def autosave(self):
        """Keep an unsaved plan (beside the scenario or in the user's state folder)."""
        if self.scenario is None or not self.plan.dirty:
            return None
        path = autosave_path(self._writable_folder(self.scenario), scenario_key(self.scenario))
        save_autosave(self.plan, path, self.scenario)
        return path

    def _export_dialog(self, kind):
        def run():
            suffix = {"oem": "OEM (*.oem)", "spk": "SPK (*.bsp)", "opm": "OPM (*.opm)"}[kind]
            path, _ = QFileDialog.getSaveFileName(self, f"Export {kind.upper()}", "", suffix)
            if path:
                try:
                    self.export(kind, path)
                except (OSError, ValueError, RuntimeError) as exc:
                    import traceback

                    self._report(f"Export failed: {exc}", traceback.format_exc())
        return run

    def export(self, kind: str, path) -> str:
        """Write the shown plan: the planned trajectory over the screening window as OEM or SPK (always the
        exact trajectory, never the preview), or the maneuver as an OPM. Returns a status line."""
        from marsview.core.planning import planned_ephemeris
        from marsview.io import plan_export

        o = self.outcome
        if o is None or not o.request.burns:
            raise ValueError("no planned burn to export yet")
        name, burns, obj = o.request.spacecraft, list(o.request.burns), self.scenario.object(o.request.spacecraft)
        planned = o.planned
        if o.mode != "exact" or planned is None or getattr(planned, "from_samples", False):
            # a child process sends back only a sampled trajectory (for display): export the exact one
            base = obj.ephemeris
            planned = planned_ephemeris(base, [b.to_core() for b in burns], o.request.force_model,
                                        stop_tdb_s=min(o.request.stop_tdb_s, base.coverage[1]),
                                        method=o.request.method)
        start, stop = self._span()
        fm = self.force_model.currentText()
        if kind == "opm":
            plan_export.write_maneuver_opm(path, name, planned, burns, mass_kg=obj.mass_kg, isp_s=self.isp.value())
            note = ""
        elif kind == "oem":
            plan_export.write_planned_oem(path, planned, start, stop, burns=burns, force_model=fm,
                                          method=o.request.method)
            note = ""
        else:
            naif = obj.naif_id if obj.naif_id is not None else -999
            plan_export.write_planned_spk(path, planned, start, stop, naif, burns=burns)
            note = "" if obj.naif_id is not None else " (no NAIF id in the scenario: written as -999)"
        message = f"Wrote {path}{note}"
        self.status.setText(message)
        return message
