"""Maneuver planning in the GUI: the maneuver panel, its plan files, the trade space, who moves, and the plan
indicator (banner, ghost orbit, before/after columns). The computations run in ``model.planning_jobs`` (through ``gui.workers.JobBridge``)."""
