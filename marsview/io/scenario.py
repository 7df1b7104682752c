"""Scenario files: a folder with ``scenario.toml`` and the ephemeris files it names, or a bare folder / list of
OEM, OPM and SPK files. Loading is all-or-nothing: every file is parsed and every orbit built before the
``Scenario`` (marsview.model.scenario) is returned; any problem raises ParseError ``file:line: key: why``.
This module is the public entry (the form below, ``save_scenario``, ``default_scenario_path``); reading and writing
the file is marsview.io.scenario_toml, building a Scenario from it marsview.model.loading (``load_scenario``).

scenario.toml (all epochs UTC, CCSDS form; durations like "7d", "36h"; see resources/default_scenario)::

    name = "..."; description = "..."; disclaimer = "..."
    [window]   start_utc, duration ("7d"), threshold_km (10), coverage ("14d": span built for element/OPM/moon
               objects, from start_utc)
    [[objects]] name, kind (spacecraft|moon|inactive), hbr_m, color "#rrggbb", threshold_km, sigma0_km,
               sigma_growth_km_per_day, radial_sigma_km, cross_track_sigma_km, mass_kg, drag_area_m2,
               drag_coeff, naif_id, visible
      [objects.orbit] source = "elements": epoch_utc, frame (MCI|EME2000), periapsis_alt_km + apoapsis_alt_km
                                or a_km + e, inc_deg, raan_deg, argp_deg, true_anomaly_deg, force_model (j2)
                      source = "file": path (OEM or SPK, relative to the folder), object (name in the file)
                      source = "opm": path, force_model
                      source = "moon": body (Phobos|Deimos)
    [[maneuvers]] object, epoch_utc, dv_mps [R,T,N], frame (RTN|VNB)   -- impulsive
                  object, start_utc, duration_s, direction, frame, accel_mps2 | thrust_n+isp_s+mass_kg -- finite

Object ephemerides are the nominal (unmaneuvered) trajectories; ``Scenario.maneuvers`` holds the planned
burns (core.maneuvers objects) that the planner applies on top.
"""

from __future__ import annotations

from pathlib import Path

from marsview.io.scenario_toml import DEFAULT_HBR_M, FILE_EXTENSIONS, SCENARIO_FILE, default_scenario_path

__all__ = ["DEFAULT_HBR_M", "FILE_EXTENSIONS", "SCENARIO_FILE", "default_scenario_path", "load_scenario",
           "save_scenario"]


# --- entry points ----------------------------------------------------------------------------------

def load_scenario(paths=None, use_cache: bool = True, allow_outside_paths: bool = False):
    """Kept importable here for tools written against the first public API (``marsview.io.scenario.load_scenario``);
    the loader is marsview.model.loading.load_scenario (it builds model objects, so it lives in model). Known
    layer exception: a function-local import, so importing io never imports model."""
    from marsview.model.loading import load_scenario as load

    return load(paths, use_cache, allow_outside_paths)


def save_scenario(scenario, folder) -> Path:
    """Atomic save of SCENARIO into FOLDER (see marsview.io.scenario_toml.save_scenario)."""
    from marsview.io.scenario_toml import save_scenario as save

    return save(scenario, folder)
