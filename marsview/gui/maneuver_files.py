"""Saving, autosaving, restoring and exporting the maneuver panel's plan (a mixin of ``ManeuverPanel``).

Plans live in the scenario: ``save`` puts them into ``Scenario.maneuvers`` and writes scenario.toml through
io.scenario.save_scenario (atomic). An unsaved plan is autosaved (model.plan.autosave_path) and wins over the
saved one on reopen. Exports always write the exact planned trajectory (never the live preview).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from marsview.model.plan import ManeuverPlan, apply_to_scenario, autosave_path, load_plan, plan_from_scenario, save_plan


class PlanFilesMixin:
    def _restore_plan(self, scenario) -> ManeuverPlan:
        """The scenario's saved burns, unless an autosave holds newer, unsaved ones."""
        plan = plan_from_scenario(scenario)
        try:
            auto = autosave_path(self._writable_folder(scenario))
            if auto.exists():
                plan = load_plan(auto)
                plan.dirty = True
                self.status.setText(f"Restored an unsaved plan from {auto}")
        except (OSError, ValueError) as exc:
            self._report(f"Could not read the autosaved plan: {exc}", "")
        plan.subscribe(lambda _p, _n: self.planChanged.emit())
        return plan

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
    def save(self, folder=None) -> None:
        """Put the plan into the scenario and save the scenario (scenario.toml [[maneuvers]], atomic) in its
        own folder, or FOLDER, or a folder the user picks (the shipped default scenario is never overwritten)."""
        from marsview.io.scenario import save_scenario

        old_auto = autosave_path(self._writable_folder(self.scenario))
        folder = folder or self._writable_folder(self.scenario)
        if not folder:
            folder = QFileDialog.getExistingDirectory(self, "Save the scenario with its plan in folder")
            if not folder:
                return
        apply_to_scenario(self.plan, self.scenario)
        save_scenario(self.scenario, folder)
        self.plan.mark_saved()
        old_auto.unlink(missing_ok=True)
        self.status.setText(f"Plan saved in {Path(folder) / 'scenario.toml'}")

    def autosave(self):
        """Keep an unsaved plan (beside the scenario or in the user's state folder)."""
        if self.scenario is None or not self.plan.dirty:
            return None
        path = autosave_path(self._writable_folder(self.scenario))
        save_plan(self.plan, path, mark_saved=False)
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
