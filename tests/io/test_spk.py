"""SPICE SPK: reading JPL's real mar022 file and spiceypy-written type 9/13 files, writing type 13.

Type 1 (MDA, the JPL orbit-determination format) cannot be written with the SPICE toolkit's public API, so
it is not tested with a file here; the reader treats it like every other type (SPICE evaluates it, marsview
samples and verifies), and splits pieces at its record boundaries as for the Chebyshev types 2/3.
"""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core.constants import GM_MARS_KM3S2
from marsview.core.maneuvers import ImpulsiveBurn
from marsview.core.orbits import state_from_peri_apo
from marsview.core.twobody import TwoBodyEphemeris, propagate_twobody
from marsview.io.errors import ParseError
from marsview.io.spk import body_kind, read_spk, read_spk_summary, spice_session, write_spk

DAY = 86400.0
T0 = 7.66e8  # 2024-04-10 TDB s past J2000


def _spice_states(path, target, epochs, observer=499):
    with spice_session(path) as sp:
        return np.array([sp.spkezr(str(target), float(t), "J2000", "NONE", str(observer))[0] for t in epochs])


def test_mar022_phobos_deimos_match_spice_below_1_m(reference_dir):
    path = reference_dir / "data" / "mar022-1.bsp"
    info = read_spk_summary(path)
    assert {b.naif_id: b.kind for b in info.bodies.values()} == {
        3: "barycenter", 4: "barycenter", 10: "sun", 399: "planet", 401: "moon", 402: "moon", 499: "planet"}
    phobos_seg = info.bodies[401].segments[0]
    assert (phobos_seg.center, phobos_seg.frame_id, phobos_seg.data_type) == (4, 4, 3)
    assert len(phobos_seg.record_boundaries) == 1219  # 1220 Chebyshev records of 7.2 h
    start = info.bodies[401].coverage[0][0] + 100 * DAY
    trajs = read_spk(path, start_tdb_s=start, stop_tdb_s=start + 3 * DAY)
    assert [t.naif_id for t in trajs] == [401, 402]  # moons only: no planets or barycentres by default
    rng = np.random.default_rng(3)
    for tr in trajs:
        assert tr.observer == 499 and tr.warnings == []
        assert tr.ephemeris.coverage == (start, start + 3 * DAY)
        t = np.sort(rng.uniform(start, start + 3 * DAY, 400))
        want = _spice_states(path, tr.naif_id, t)
        got = tr.ephemeris.state(t)
        assert np.max(np.linalg.norm(got[:, :3] - want[:, :3], axis=1)) < 1e-6  # < 1 mm (spec: < 1 m)
        assert np.max(np.linalg.norm(got[:, 3:] - want[:, 3:], axis=1)) < 1e-8
    # Phobos at ~9376 km from Mars, in EME2000 (SPICE rotated FK4 -> J2000 for us)
    r = np.linalg.norm(trajs[0].ephemeris.state(start)[0, :3])
    assert 9200 < r < 9550


def _kepler_table(state0, t_start, t_stop, step):
    epochs = np.arange(t_start, t_stop + 0.5 * step, step)
    return epochs, propagate_twobody(state0, t_start, epochs, GM_MARS_KM3S2)


@pytest.mark.parametrize("spk_type", [9, 13])
def test_spiceypy_written_types_9_and_13_with_a_gap(tmp_path, spk_type):
    path = tmp_path / f"type{spk_type}.bsp"
    s0 = state_from_peri_apo(150.0, 4500.0, 75.0, 30.0, 120.0, 0.0)  # MAVEN-like, EME2000 for the test
    tables = [_kepler_table(s0, T0, T0 + 0.5 * DAY, 30.0), _kepler_table(s0, T0 + 0.7 * DAY, T0 + DAY, 30.0)]
    with spice_session() as sp:
        handle = sp.spkopn(str(path), "test", 0)
        for epochs, states in tables:
            if spk_type == 9:
                sp.spkw09(handle, -202, 499, "J2000", epochs[0], epochs[-1], "test", 7, len(epochs), states,
                          epochs)
            else:
                sp.spkw13(handle, -202, 499, "J2000", epochs[0], epochs[-1], "test", 7, len(epochs), states,
                          epochs)
        sp.spkcls(handle)
    (tr,) = read_spk(path)
    assert (tr.naif_id, tr.name, tr.kind) == (-202, "MAVEN", "spacecraft")
    assert tr.windows == [(T0, T0 + 0.5 * DAY), (T0 + 0.7 * DAY, T0 + DAY)]
    eph = tr.ephemeris
    assert len(eph.segments) == 2
    t = np.concatenate([np.linspace(T0, T0 + 0.5 * DAY, 777), np.linspace(T0 + 0.7 * DAY, T0 + DAY, 555)])
    got, want = eph.state(t), _spice_states(path, -202, t)
    assert np.max(np.linalg.norm(got[:, :3] - want[:, :3], axis=1)) < 1e-6
    from marsview.core.ephemeris import CoverageError

    with pytest.raises(CoverageError):
        eph.state([T0 + 0.6 * DAY])  # the gap is not bridged


def test_written_type13_reads_back_through_spice_below_1_mm(tmp_path):
    s0 = state_from_peri_apo(255.0, 320.0, 92.6, 10.0, 270.0, 0.0)
    mro = TwoBodyEphemeris("MRO", s0, T0, T0, T0 + DAY)
    eph_moon = TwoBodyEphemeris("PHOBOS", state_from_peri_apo(5836.0, 5977.0, 1.1, 0, 0, 0), T0, T0, T0 + DAY)
    path = tmp_path / "out.bsp"
    errors = write_spk(path, [(mro, -74), (eph_moon, 401)], comment="test file")
    assert max(errors.values()) < 1e-6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bsp"]  # no temporary left behind
    t = np.random.default_rng(0).uniform(T0, T0 + DAY, 500)
    for eph, naif in ((mro, -74), (eph_moon, 401)):
        got = _spice_states(path, naif, t)
        assert np.max(np.linalg.norm(got[:, :3] - eph.state(t)[:, :3], axis=1)) < 1e-6
        assert np.max(np.linalg.norm(got[:, 3:] - eph.state(t)[:, 3:], axis=1)) < 1e-9
    info = read_spk_summary(path)
    assert {s.data_type for s in info.segments} == {13}
    assert {(s.center, s.frame) for s in info.segments} == {(499, "J2000")}
    assert "Mars-centred" in info.comments and "test file" in info.comments


def test_write_splits_segments_at_maneuvers(tmp_path):
    from marsview.core.dynamics import ForceModel, PropagatedEphemeris

    s0 = state_from_peri_apo(400.0, 400.0, 74.0, 0.0, 0.0, 0.0)
    burn = ImpulsiveBurn(T0 + 3000.0, (0.0, 5.0, 0.0), "RTN")
    eph = PropagatedEphemeris("TGO", s0, T0, T0 + 0.25 * DAY, ForceModel.two_body(), maneuvers=(burn,))
    path = tmp_path / "tgo.bsp"
    write_spk(path, [(eph, -143)])
    info = read_spk_summary(path)
    assert [(s.start_tdb_s, s.stop_tdb_s) for s in info.segments] == [(T0, T0 + 3000.0),
                                                                     (T0 + 3000.0, T0 + 0.25 * DAY)]
    after = _spice_states(path, -143, [T0 + 3000.0 + 1e-3, T0 + 0.2 * DAY])
    assert np.max(np.abs(after - eph.state([T0 + 3000.0 + 1e-3, T0 + 0.2 * DAY]))) < 1e-6


def test_bad_files_name_the_file_and_keyword(tmp_path):
    empty = tmp_path / "empty.bsp"
    empty.write_bytes(b"")
    text = tmp_path / "notes.bsp"
    text.write_text("CCSDS_OEM_VERS = 2.0\n")
    truncated = tmp_path / "cut.bsp"
    truncated.write_bytes(b"DAF/SPK " + b"\0" * 100)
    for path, keyword in ((empty, "FILE"), (text, "IDWORD"), (tmp_path / "missing.bsp", "FILE"),
                          (truncated, "DAF")):
        with pytest.raises(ParseError) as exc:
            read_spk(path)
        assert exc.value.path == str(path) and exc.value.keyword == keyword
        assert str(exc.value).startswith(f"{path}:0: {keyword}: ")
    good = tmp_path / "g.bsp"
    write_spk(good, [(TwoBodyEphemeris("X", state_from_peri_apo(400, 400, 74, 0, 0, 0), T0, T0, T0 + 3600), -143)])
    with pytest.raises(ParseError, match="no body 'MRO'.*EXOMARS 2016 TGO \\(-143\\)"):
        read_spk(good, objects=["MRO"])


def test_kernel_pool_is_left_as_the_caller_had_it(tmp_path, reference_dir):
    import spiceypy as sp

    lsk = reference_dir / "data" / "naif0012.tls"
    sp.kclear()
    sp.furnsh(str(lsk))
    try:
        path = tmp_path / "k.bsp"
        write_spk(path, [(TwoBodyEphemeris("X", state_from_peri_apo(400, 400, 74, 0, 0, 0), T0, T0, T0 + 3600),
                          -143)])
        read_spk(path)
        assert sp.ktotal("ALL") == 1 and sp.kdata(0, "ALL")[0] == str(lsk)
    finally:
        sp.kclear()


def test_barycentre_fallback_warns(tmp_path):
    path = tmp_path / "bary.bsp"
    epochs, states = _kepler_table(state_from_peri_apo(400, 400, 74, 0, 0, 0), T0, T0 + 3600.0, 60.0)
    with spice_session() as sp:
        handle = sp.spkopn(str(path), "test", 0)
        sp.spkw13(handle, -53, 4, "J2000", epochs[0], epochs[-1], "bary", 7, len(epochs), states, epochs)
        sp.spkcls(handle)
    (tr,) = read_spk(path)
    assert tr.observer == 4 and "Mars barycentre" in tr.warnings[0]
    np.testing.assert_allclose(tr.ephemeris.state(epochs)[:, :3], states[:, :3], atol=1e-9)


def test_body_kinds():
    assert [body_kind(i) for i in (-74, 4, 10, 499, 401, 2000001)] == [
        "spacecraft", "barycenter", "sun", "planet", "moon", "small body"]
