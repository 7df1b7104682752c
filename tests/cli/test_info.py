"""``marsview info``: objects, frames, centres, time systems, coverage, segment counts, warnings.

Note: the dispatcher in marsview/cli/__init__.py gives the GUI's ``paths`` positional priority, so
``marsview info FILE`` reads FILE as the sub-command; ``marsview info -- FILE`` works (reported to the
lead). The tests use the ``--`` form."""

from __future__ import annotations

import numpy as np

from marsview.cli import main
from marsview.core.orbits import state_from_peri_apo
from marsview.core.twobody import TwoBodyEphemeris
from marsview.io.spk import write_spk

T0 = 7.66e8


def test_info_on_spk_oem_and_bad_files(tmp_path, capsys, reference_dir):
    bsp = tmp_path / "x.bsp"
    write_spk(bsp, [(TwoBodyEphemeris("X", state_from_peri_apo(400, 400, 74, 0, 0, 0), T0, T0, T0 + 7200), -143)])
    oem = reference_dir / "ccsds_samples" / "oem_kvn_v3_example_with_covariance.oem"
    bad = tmp_path / "bad.oem"
    bad.write_text("CCSDS_OEM_VERS = 2.0\nCREATION_DATE = 2024-01-01T00:00:00\nORIGINATOR = ME\n"
                   "META_START\nOBJECT_NAME = X\n")
    rc = main(["info", "--", str(bsp), str(oem), str(bad)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert f"{bsp}: SPK (DAF)" in out
    assert "EXOMARS 2016 TGO (NAIF -143, spacecraft): 1 segment(s), type 13, centre 499, frame J2000" in out
    assert "coverage 2024-04-10T" in out
    assert f"{oem}: OEM (KVN)" in out and "covariance" in out and "time system" in out
    assert err.startswith(f"marsview info: error: {bad}:")  # file:line: keyword: message, path once
    assert err.count(str(bad)) == 1


def test_info_warns_about_gaps_and_barycentre(tmp_path, capsys, reference_dir):
    import numpy as np

    from marsview.core.twobody import propagate_twobody
    from marsview.io.spk import spice_session

    path = tmp_path / "gap.bsp"
    s0 = np.asarray(state_from_peri_apo(400, 400, 74, 0, 0, 0))
    with spice_session() as sp:
        h = sp.spkopn(str(path), "t", 0)
        for a in (T0, T0 + 7200.0):
            e = np.arange(a, a + 3600.0 + 1, 60.0)
            sp.spkw13(h, -53, 4, "J2000", e[0], e[-1], "s", 7, len(e), propagate_twobody(s0, T0, e), e)
        sp.spkcls(h)
    assert main(["info", "--", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 gap(s) in coverage" in out and "Mars barycentre" in out
    assert main(["info", "--", str(reference_dir / "data" / "mar022-1.bsp")]) == 0
    out = capsys.readouterr().out
    assert "PHOBOS (NAIF 401, moon): 1 segment(s), type 3, centre 4" in out


def test_a_segment_whose_span_reaches_past_its_states_is_used_over_its_states(tmp_path, capsys):
    """The CCSDS samples' MGS segment: a useable span ten days past its three states. The loader (GUI, screen)
    uses the states' span and says so; info says the same (it used to exit 0 without a word while the
    loader refused the file)."""
    from marsview.io.oem import write_oem
    from marsview.io.oem_convert import ephemeris_to_oem
    from marsview.model.loading import load_scenario

    t0 = 7.66e8
    eph = TwoBodyEphemeris("MGS", state_from_peri_apo(380.0, 440.0, 93.0, 0.0, 0.0, 0.0), t0, t0, t0 + 120.0)
    path = tmp_path / "mgs.oem"
    write_oem(path, ephemeris_to_oem([eph], step_s=60.0))
    text = path.read_text()
    stop = next(x for x in text.splitlines() if x.startswith("STOP_TIME")).split("=")[1].strip()
    text = text.replace(f"STOP_TIME = {stop}", "USEABLE_STOP_TIME = 2024-04-20T00:00:00\nSTOP_TIME = 2024-04-20T00:00:00")
    path.write_text(text)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("USEABLE_STOP_TIME"))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"warning: {path}:{line}: USEABLE_STOP_TIME: the segment's span" in out and "reaches past its states" in out
    sc = load_scenario([str(path)])
    assert np.allclose(sc.object("MGS").ephemeris.coverage, (t0, t0 + 120.0), rtol=0, atol=1e-5)  # us epochs
    assert any("reaches past its states" in w for w in sc.warnings)
    # nothing of the span on the states: refused, as before
    path.write_text(text.replace(f"START_TIME = ", "USEABLE_START_TIME = 2024-04-19T00:00:00\nSTART_TIME = ", 1))
    assert main(["info", str(path)]) == 1
    assert "marsview cannot use this file" in capsys.readouterr().err
