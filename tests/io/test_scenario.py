"""Scenario files: the built-in fleet, scenario.toml errors (file:line: key), all-or-nothing loading, bare
folders of OEM/SPK files, atomic save round trip, and the propagation cache."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from marsview.core.frames import transform_states
from marsview.core.orbits import state_from_peri_apo
from marsview.core.time import utc_to_tdb_s
from marsview.core.twobody import TwoBodyEphemeris
from marsview.io.errors import ParseError
from marsview.io.scenario import default_scenario_path, save_scenario
from marsview.model.loading import load_scenario

DAY = 86400.0
EPOCH = utc_to_tdb_s("2024-04-15T00:00:00")


@pytest.fixture(scope="module")
def fleet():
    return load_scenario(None)  # uses (and fills) the user's orbit cache, shared with the rest of the suite


def _close_approaches(sc, limit_km=60.0, step_s=5.0):
    """Independent brute force: local minima of distance on a 5 s grid, each refined by a bounded scalar
    minimisation over the neighbouring grid interval (relative speeds reach ~4 km/s: 5 s = 20 km)."""
    from scipy.optimize import minimize_scalar

    t = np.arange(sc.window_start_tdb_s, sc.window_stop_tdb_s, step_s)
    eph = {o.name: o.ephemeris for o in sc.objects}
    pos = {n: e.state(t)[:, :3] for n, e in eph.items()}
    names, found = list(pos), []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = np.linalg.norm(pos[a] - pos[b], axis=1)
            k = np.where((d[1:-1] < d[:-2]) & (d[1:-1] <= d[2:]) & (d[1:-1] < limit_km + 25.0))[0] + 1
            for kk in k:
                def dist(dx, a=a, b=b, t_mid=t[kk]):  # offset from the grid point: Brent's tolerance is relative
                    x = t_mid + dx
                    return float(np.linalg.norm(eph[a].state([x])[0, :3] - eph[b].state([x])[0, :3]))

                res = minimize_scalar(dist, bounds=(-step_s, step_s), method="bounded", options={"xatol": 1e-5})
                if res.fun < limit_km:
                    found.append((a, b, float(t[kk] + res.x - t[0]) / DAY, float(res.fun)))
    return sorted(found, key=lambda e: e[2])


def test_default_fleet_matches_the_published_orbits(fleet, reference_dir):
    assert default_scenario_path().joinpath("scenario.toml").is_file()
    assert fleet.names() == ["MRO", "ODY", "MAVEN", "MEX", "TGO", "EMM", "TW1", "MGS", "Phobos", "Deimos"]
    assert "Approximate" in fleet.disclaimer and "invented" in fleet.description
    assert fleet.window_start_tdb_s == EPOCH and fleet.window_duration_s == 7 * DAY
    assert fleet.threshold_km == 10.0
    for o in fleet.objects:
        assert o.ephemeris.coverage == (EPOCH, EPOCH + 14 * DAY)
    kinds = {o.name: o.kind for o in fleet.objects}
    assert kinds["MGS"] == "inactive" and kinds["Phobos"] == kinds["Deimos"] == "moon"
    assert len({o.color for o in fleet.objects}) == len(fleet.objects)
    published = {s["short"]: s for s in json.loads((reference_dir / "mars_fleet.json").read_text())["spacecraft"]}
    for short in ("MRO", "ODY", "MAVEN", "MEX", "TGO", "EMM", "TW1"):
        obj, pub = fleet.object(short), published[short]
        assert obj.hbr_m == pub["hard_body_radius_m"]
        s_mci = transform_states(obj.ephemeris.state([EPOCH]), EPOCH, "EME2000", "MCI")[0]
        r = np.linalg.norm(s_mci[:3])
        h = np.cross(s_mci[:3], s_mci[3:])
        inc = np.degrees(np.arccos(h[2] / np.linalg.norm(h)))
        assert inc == pytest.approx(pub["inc_deg"], abs=0.1), short
        # osculating radius within the published periapsis..apoapsis band; J2 short-period terms move the
        # osculating apoapsis of the designed eccentric orbits (sized at their encounter epochs) by < 100 km
        assert pub["periapsis_alt_km"] - 15 <= r - 3396.19 <= pub["apoapsis_alt_km"] + 100, short
    # MRO is not a designed orbit: its epoch state is exactly the published size with the chosen angles
    mro = transform_states(np.asarray(state_from_peri_apo(255, 320, 92.6, 40, 270, 10)).reshape(1, 6), EPOCH,
                           "MCI", "EME2000")
    np.testing.assert_allclose(fleet.object("MRO").ephemeris.state([EPOCH]), mro, rtol=0, atol=1e-9)
    assert fleet.object("Phobos").hbr_m == 15000.0  # 30 km keep-out sphere


def test_default_fleet_holds_the_designed_training_encounters(fleet):
    # MEX passes inside Phobos' 15 km keep-out radius but outside its 13 km body
    under_15 = [e for e in _close_approaches(fleet) if e[3] < 15.0]
    assert [(a, b, round(day, 1)) for a, b, day, _ in under_15] == [
        ("MEX", "Phobos", 1.6), ("MRO", "MAVEN", 3.3), ("TGO", "TW1", 5.2)]
    assert [round(m, 2) for *_, m in under_15] == [14.0, 2.5, 4.0]


def test_default_fleet_screened_by_the_core(fleet):
    screening = pytest.importorskip("marsview.core.screening")
    targets = [screening.ScreeningTarget(o.name, o.ephemeris, hbr_km=o.hbr_km, threshold_km=None)
               for o in fleet.objects]
    settings = screening.ScreeningSettings(threshold_km=10.0, add_hard_body_radii=False)
    result = screening.screen(targets, fleet.window_start_tdb_s, fleet.window_stop_tdb_s, settings)
    events = sorted((e.tca_tdb_s, frozenset((e.object1, e.object2)), e.miss_km) for e in result.events)
    brute = [(fleet.window_start_tdb_s + day * DAY, frozenset((a, b)), m)
             for a, b, day, m in _close_approaches(fleet) if m < 10.0]
    assert [p for _, p, _ in events] == [p for _, p, _ in brute]
    for (t1, _, m1), (t2, _, m2) in zip(events, brute):
        assert abs(t1 - t2) < 0.01 and m1 == pytest.approx(m2, abs=1e-4)


def _write_toml(folder, body):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(textwrap.dedent(body))
    return folder


SMALL = """\
    name = "small"
    [window]
    start_utc = "2024-04-15T00:00:00"
    duration = "6h"
    coverage = "12h"
    threshold_km = 5.0

    [[objects]]
    name = "A"
    hbr_m = 3.0
    color = "#0072B2"
    threshold_km = 2.0
    [objects.orbit]
    source = "elements"
    force_model = "two-body"
    periapsis_alt_km = 300.0
    apoapsis_alt_km = 400.0
    inc_deg = 80.0
    raan_deg = 10.0
    argp_deg = 20.0
    true_anomaly_deg = 30.0

    [[objects]]
    name = "Moon"
    kind = "moon"
    hbr_m = 15000.0
    [objects.orbit]
    source = "moon"
    body = "Phobos"

    [[maneuvers]]
    object = "A"
    epoch_utc = "2024-04-15T02:00:00"
    dv_mps = [0.0, 0.5, 0.0]
    frame = "RTN"
"""


def test_small_scenario_loads_with_maneuvers(tmp_path, monkeypatch):
    monkeypatch.setenv("MARSVIEW_CACHE_DIR", str(tmp_path / "cache"))
    sc = load_scenario([_write_toml(tmp_path / "s", SMALL)])
    assert sc.names() == ["A", "Moon"] and sc.threshold_km == 5.0 and sc.window_duration_s == 6 * 3600.0
    a = sc.object("A")
    assert (a.hbr_m, a.color, a.threshold_km, a.kind) == (3.0, "#0072B2", 2.0, "spacecraft")
    (burn,) = sc.maneuvers["A"]
    assert burn.epoch_tdb_s == utc_to_tdb_s("2024-04-15T02:00:00") and burn.dv_mps == (0.0, 0.5, 0.0)
    # two-body elements: the cached tabulated orbit agrees with the universal-variable propagator
    s0 = transform_states(np.asarray(state_from_peri_apo(300, 400, 80, 10, 20, 30)).reshape(1, 6), EPOCH,
                          "MCI", "EME2000")[0]
    ref = TwoBodyEphemeris("A", s0, EPOCH, EPOCH, EPOCH + 0.5 * DAY)
    t = np.linspace(EPOCH, EPOCH + 0.5 * DAY, 301)
    assert np.max(np.linalg.norm(a.ephemeris.state(t)[:, :3] - ref.state(t)[:, :3], axis=1)) < 1e-5


@pytest.mark.parametrize("edit, line, key", [
    (lambda s: s.replace('threshold_km = 5.0', 'threshold_km = "five"'), 6, "threshold_km"),
    (lambda s: s.replace('hbr_m = 3.0', 'hbr_m = 3.0\ncolour = "#000000"'), 11, "colour"),
    (lambda s: s.replace('inc_deg = 80.0\n', ''), 13, "inc_deg"),
    (lambda s: s.replace('hbr_m = 15000.0\n', ''), 23, "hbr_m"),
    (lambda s: s.replace('"2024-04-15T02:00:00"', '"2024-13-15T02:00:00"'), 33, "epoch_utc"),
    (lambda s: s.replace('body = "Phobos"', 'body = "Moon"'), 29, "body"),
    (lambda s: s.replace('object = "A"', 'object = "B"'), 32, "object"),
    (lambda s: s.replace('source = "moon"', 'source = "ephemeris"'), 28, "source"),
    (lambda s: s.replace('color = "#0072B2"', 'color = "blue"'), 11, "color"),
    (lambda s: s.replace('duration = "6h"', 'duration = "6h'), 4, "toml"),
    (lambda s: s.replace('frame = "RTN"', 'frame = "LVLH"'), 31, "maneuvers.0"),
])
def test_toml_errors_name_file_line_and_key(tmp_path, edit, line, key):
    folder = _write_toml(tmp_path / "bad", edit(textwrap.dedent(SMALL)))
    with pytest.raises(ParseError) as exc:
        load_scenario([folder])
    err = exc.value
    assert (err.path, err.line, err.keyword) == (str(folder / "scenario.toml"), line, key), str(err)


def _oem(tmp_path, name, ephemeris):
    from marsview.io.oem import write_oem
    from marsview.io.oem_convert import ephemeris_to_oem

    path = tmp_path / name
    write_oem(path, ephemeris_to_oem([ephemeris], step_s=60.0))
    return path


def _two_body(name, alt_km=400.0, inc=74.0):
    s0 = np.asarray(state_from_peri_apo(alt_km, alt_km, inc, 0, 0, 0))
    return TwoBodyEphemeris(name, s0, EPOCH, EPOCH, EPOCH + 0.25 * DAY)


def test_bare_folder_of_oem_and_spk_files(tmp_path):
    from marsview.io.spk import write_spk

    folder = tmp_path / "bare"
    folder.mkdir()
    _oem(folder, "mro.oem", _two_body("MRO", 280.0, 92.6))
    write_spk(folder / "tgo.bsp", [(_two_body("TGO"), -143)])
    (folder / "README.md").write_text("notes")
    sc = load_scenario([folder])
    assert sorted(sc.names()) == ["EXOMARS 2016 TGO", "MRO"]
    assert sc.object("MRO").hbr_m == 7.5 and sc.object("EXOMARS 2016 TGO").hbr_m == 9.0
    assert sc.object("EXOMARS 2016 TGO").naif_id == -143
    assert any("README.md" in w for w in sc.warnings)
    # the OEM's epochs are written in UTC to the microsecond
    assert sc.window_start_tdb_s == pytest.approx(EPOCH, abs=1e-6)
    assert sc.window_duration_s == pytest.approx(0.25 * DAY, abs=1e-6)
    t = np.linspace(*sc.coverage(), 97)
    assert np.max(np.abs(sc.object("MRO").ephemeris.state(t)[:, :3] - _two_body("MRO", 280.0, 92.6).state(t)[:, :3])) < 1e-5


def test_one_bad_file_loads_nothing(tmp_path):
    good = _oem(tmp_path, "good.oem", _two_body("GOOD"))
    bad = tmp_path / "bad.oem"
    bad.write_text(good.read_text().replace("CENTER_NAME = MARS", "CENTER_NAME = EARTH"))
    with pytest.raises(ParseError) as exc:
        load_scenario([good, bad])
    assert exc.value.path == str(bad) and exc.value.keyword == "CENTER_NAME" and exc.value.line > 0
    folder = _write_toml(tmp_path / "sc", SMALL.replace('source = "moon"\n    body = "Phobos"',
                                                         f'source = "file"\n    path = "{bad}"'))
    with pytest.raises(ParseError, match="CENTER_NAME"):
        load_scenario([folder], allow_outside_paths=True)  # an absolute path outside the folder, allowed


def test_save_and_reload_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("MARSVIEW_CACHE_DIR", str(tmp_path / "cache"))
    _oem(tmp_path / "s", "c.oem", _two_body("C")) if (tmp_path / "s").mkdir() is None else None
    body = SMALL + '\n    [[objects]]\n    name = "C"\n    hbr_m = 2.0\n    [objects.orbit]\n' \
                   '    source = "file"\n    path = "c.oem"\n'
    sc = load_scenario([_write_toml(tmp_path / "s", body)])
    sc.object("A").hbr_m = 4.25
    from marsview.model import ScenarioObject

    sc.add_object(ScenarioObject("D", "spacecraft", _two_body("D", 500.0), hbr_m=1.0))
    out = save_scenario(sc, tmp_path / "saved")
    assert out.name == "scenario.toml"
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == ["data-v1", "scenario.toml"]
    assert sorted(p.name for p in (tmp_path / "saved" / "data-v1").iterdir()) == ["D.oem", "c.oem"]
    again = load_scenario([tmp_path / "saved"])
    assert again.names() == sc.names() and again.object("A").hbr_m == 4.25
    assert again.maneuvers["A"] == sc.maneuvers["A"]
    assert again.window_start_tdb_s == sc.window_start_tdb_s and again.threshold_km == sc.threshold_km
    t = np.linspace(*sc.coverage(), 50)
    for name in again.names():
        diff = again.object(name).ephemeris.state(t) - sc.object(name).ephemeris.state(t)
        assert np.max(np.abs(diff[:, :3])) < 1e-5, name
    # an interrupted save leaves no temporary files beside the scenario
    assert not [p for p in (tmp_path / "saved").iterdir() if p.name.startswith(".")]


def test_orbit_cache_reuses_and_invalidates(tmp_path, monkeypatch):
    from marsview.core.dynamics import ForceModel
    from marsview.io import orbit_cache

    monkeypatch.setenv("MARSVIEW_CACHE_DIR", str(tmp_path))
    s0 = tuple(np.asarray(state_from_peri_apo(400, 400, 74, 0, 0, 0)).tolist())
    req = orbit_cache.OrbitRequest("X", s0, EPOCH, EPOCH, EPOCH + 3 * 3600.0, ForceModel.j2())
    (first,) = orbit_cache.propagate_cached([req])
    assert len(list(tmp_path.glob("*.npz"))) == 1

    def boom(*args, **kwargs):
        raise AssertionError("propagated although cached")

    monkeypatch.setattr("marsview.core.dynamics.propagate_many", boom)
    (second,) = orbit_cache.propagate_cached([req])
    t = np.linspace(EPOCH, EPOCH + 3 * 3600.0, 77)
    np.testing.assert_array_equal(first.state(t), second.state(t))
    other = orbit_cache.OrbitRequest("X", s0, EPOCH, EPOCH, EPOCH + 3 * 3600.0, ForceModel.zonal())
    assert orbit_cache.request_key(other) != orbit_cache.request_key(req)
    with pytest.raises(AssertionError, match="propagated although cached"):
        orbit_cache.propagate_cached([other])


def test_opm_source_is_propagated_over_the_scenario_span(tmp_path, monkeypatch):
    from marsview.core.dynamics import ForceModel, propagate
    from marsview.io.opm import build_opm, write_opm

    monkeypatch.setenv("MARSVIEW_CACHE_DIR", str(tmp_path / "cache"))
    s0 = np.asarray(state_from_peri_apo(300.0, 400.0, 80.0, 10.0, 20.0, 30.0))
    folder = tmp_path / "opm"
    folder.mkdir()
    write_opm(folder / "b.opm", build_opm("B", "-99", "2024-04-15T01:00:00", s0, spacecraft={"MASS": 900.0}))
    body = SMALL + '\n    [[objects]]\n    name = "B"\n    hbr_m = 2.0\n    [objects.orbit]\n' \
                   '    source = "opm"\n    path = "b.opm"\n    force_model = "two-body"\n'
    sc = load_scenario([_write_toml(folder, body)])
    b = sc.object("B")
    assert b.ephemeris.coverage == (EPOCH, EPOCH + 0.5 * DAY) and b.mass_kg == 900.0
    t0 = utc_to_tdb_s("2024-04-15T01:00:00")
    t = np.linspace(EPOCH, EPOCH + 0.5 * DAY, 41)  # before and after the OPM epoch
    want = propagate(s0, t0, t, ForceModel.two_body())
    assert np.max(np.linalg.norm(b.ephemeris.state(t)[:, :3] - want[:, :3], axis=1)) < 1e-5
