"""What partner files do that the project's own files never did (issue 11), on files written here: GPS/TCB
epochs, REF_FRAME = J2000, Earth-centred OPMs, XML CDMs with nil/empty optional elements, compressed files,
OMMs, `info` on files marsview cannot use, the same object from two files, coverage outside the window,
CDMs as close approaches."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from marsview.cli import main
from marsview.core.time import epoch_to_tdb_s, format_epoch, utc_to_tdb_s
from marsview.core.twobody import TwoBodyEphemeris
from marsview.core.orbits import state_from_peri_apo
from marsview.io.errors import ParseError
from marsview.io.oem import write_oem
from marsview.io.oem_convert import ephemeris_to_oem
from marsview.io.opm import build_opm, write_opm
from marsview.model.loading import load_scenario

REPO = Path(__file__).resolve().parents[2]
T0 = utc_to_tdb_s("2024-04-15T00:00:00")


def _oem(path, name, t0=T0, hours=6.0, raan=0.0, replace=None):
    eph = TwoBodyEphemeris(name, state_from_peri_apo(300, 400, 93, raan, 0, 0), t0, t0, t0 + hours * 3600)
    write_oem(path, ephemeris_to_oem([eph], step_s=120.0))
    if replace:
        text = path.read_text()
        for old, new in replace:
            assert old in text
            text = text.replace(old, new)
        path.write_text(text)
    return path


@pytest.mark.parametrize("scale", ["GPS", "TCB"])
def test_gps_and_tcb_epochs_agree_with_astropy(scale):
    from astropy import units as u
    from astropy.time import Time

    text = "2024-04-15T12:34:56.789"
    ref = Time(text, scale="tai") + 19.0 * u.s if scale == "GPS" else Time(text, scale="tcb")
    ref = ref.tdb
    expected = (ref.jd1 - 2451545.0) * 86400.0 + ref.jd2 * 86400.0
    assert epoch_to_tdb_s(text, scale) == pytest.approx(expected, abs=2e-6)
    assert format_epoch(epoch_to_tdb_s(text, scale), scale, 3) == text   # and back


def test_oem_in_gps_and_j2000_loads_like_its_utc_eme2000_original(tmp_path):
    base = load_scenario([_oem(tmp_path / "a.oem", "ALPHA")], use_cache=False).objects[0].ephemeris
    gps = _oem(tmp_path / "b.oem", "ALPHA", replace=[("REF_FRAME = EME2000", "REF_FRAME = J2000"),
                                                      ("TIME_SYSTEM = UTC", "TIME_SYSTEM = GPS")])
    other = load_scenario([gps], use_cache=False).objects[0].ephemeris
    # same epoch texts read as GPS: GPS = UTC + 18 s in 2024 (TAI - UTC = 37 s, TAI - GPS = 19 s)
    assert other.coverage[0] - base.coverage[0] == pytest.approx(-18.0, abs=1e-6)
    t = base.coverage[0] + 3600.0
    np.testing.assert_allclose(other.state(t - 18.0), base.state(t), atol=1e-9)


def test_earth_centred_opm_is_refused_by_the_loader_with_its_line(tmp_path):
    path = tmp_path / "geo.opm"
    write_opm(path, build_opm("EUTELSAT W4", "2000-028A", "2024-04-15T00:00:00",
                              [6655.99, -40218.58, -82.92, 3.1155, 0.4700, -0.0012], center_name="EARTH",
                              ref_frame="ICRF"))
    with pytest.raises(ParseError) as err:
        load_scenario([path], use_cache=False)
    line = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln.startswith("CENTER_NAME"))
    assert (err.value.line, err.value.keyword) == (line, "CENTER_NAME")
    assert str(err.value).startswith(f"{path}:{line}: CENTER_NAME: centre 'EARTH' cannot be used")


CDM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<cdm id="CCSDS_CDM_VERS" version="1.0">
  <header><CREATION_DATE>2024-04-14T00:00:00</CREATION_DATE><ORIGINATOR>PARTNER</ORIGINATOR>
    <MESSAGE_ID>X1</MESSAGE_ID></header>
  <body>
    <relativeMetadataData>
      <TCA>2024-04-15T01:00:00</TCA><MISS_DISTANCE units="m">1000</MISS_DISTANCE>
      <START_SCREEN_PERIOD nil="true"/>
      <COLLISION_PROBABILITY/>
    </relativeMetadataData>
{objects}
  </body>
</cdm>
"""
CDM_OBJECT = """    <segment><metadata><OBJECT>OBJECT{n}</OBJECT><OBJECT_DESIGNATOR>{n}</OBJECT_DESIGNATOR>
      <CATALOG_NAME>X</CATALOG_NAME><OBJECT_NAME>OBJ{n}</OBJECT_NAME><INTERNATIONAL_DESIGNATOR>X</INTERNATIONAL_DESIGNATOR>
      <EPHEMERIS_NAME>NONE</EPHEMERIS_NAME><COVARIANCE_METHOD>CALCULATED</COVARIANCE_METHOD>
      <MANEUVERABLE>NO</MANEUVERABLE><ORBIT_CENTER>MARS</ORBIT_CENTER><REF_FRAME>J2000</REF_FRAME></metadata>
      <data><stateVector><X units="km">{x}</X><Y units="km">0</Y><Z units="km">0</Z>
        <X_DOT units="km/s">0</X_DOT><Y_DOT units="km/s">{vy}</Y_DOT><Z_DOT units="km/s">{vz}</Z_DOT></stateVector>
      <covarianceMatrix>{cov}</covarianceMatrix></data></segment>"""


def _cdm_xml(path, x2="3701.0"):
    names = [f"C{a}_{b}" for i, a in enumerate(("R", "T", "N", "RDOT", "TDOT", "NDOT"))
             for b in ("R", "T", "N", "RDOT", "TDOT", "NDOT")[: i + 1]]
    cov = "".join(f"<{k}>{100.0 if k in ('CR_R', 'CT_T', 'CN_N') else 1e-4 if k[1:].split('_')[0] == k.split('_')[1] else 0.0}</{k}>"
                  for k in names)
    objs = "\n".join(CDM_OBJECT.format(n=n, x=x, vy=vy, vz=vz, cov=cov)
                     for n, x, vy, vz in ((1, "3700.0", "3.4", "0.0"), (2, x2, "0.0", "3.4")))
    path.write_text(CDM_XML.format(objects=objs))
    return path


def test_xml_cdm_with_nil_and_empty_optional_elements_reads_and_assesses(tmp_path, capsys):
    path = _cdm_xml(tmp_path / "partner.xml")
    assert main(["assess", str(path), "--hbr-m", "20", "--format", "json"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert "cdm_pc" not in rec and rec["miss_km"] == pytest.approx(1.0) and rec["flags"] == []
    # a mandatory element written nil is still refused, at its own line
    text = path.read_text().replace('<X units="km">3701.0</X>', '<X units="km" nil="true"/>')
    path.write_text(text)
    assert main(["assess", str(path), "--hbr-m", "20"]) == 1
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if 'nil="true"/><Y' in ln)
    assert f"{path}:{line}: X: empty value" in capsys.readouterr().err


def test_inconsistent_cdm_is_flagged(tmp_path, capsys):
    path = _cdm_xml(tmp_path / "bad.xml", x2="3800.0")     # 100 km apart, MISS_DISTANCE says 1 km
    assert main(["assess", str(path), "--hbr-m", "20", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert "INCONSISTENT-CDM" in json.loads(out)[0]["flags"] and "MISS_DISTANCE = 1000 m" in err


def test_compressed_files_and_omms_are_named_for_what_they_are(tmp_path, capsys):
    oem = _oem(tmp_path / "a.oem", "ALPHA")
    gz = tmp_path / "a.oem.gz"
    gz.write_bytes(gzip.compress(oem.read_bytes()))
    omm = tmp_path / "x.omm"
    omm.write_text("CCSDS_OMM_VERS = 2.0\nCREATION_DATE = 2024-01-01T00:00:00\nORIGINATOR = X\n")
    assert main(["info", str(gz), str(omm)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"marsview info: error: {gz}:1: file: gzip-compressed file: decompress it first "
                   f"(gunzip a.oem.gz) and open the result",
                   f"marsview info: error: {omm}:1: CCSDS_OMM_VERS: OMM (mean elements) is not supported — "
                   "load an OEM/OPM"]


@pytest.mark.parametrize("key, value, rc", [("REF_FRAME", "BANANA", 1), ("REF_FRAME", "EME2OOO", 1),
                                            ("CENTER_NAME", "PLUTO", 1), ("REF_FRAME", "J2000", 0),
                                            ("CENTER_NAME", "EARTH", 0)])
def test_info_exits_non_zero_when_marsview_cannot_use_the_file(tmp_path, capsys, key, value, rc):
    old = {"REF_FRAME": "REF_FRAME = EME2000", "CENTER_NAME": "CENTER_NAME = MARS"}[key]
    path = _oem(tmp_path / "a.oem", "ALPHA", replace=[(old, f"{key} = {value}")])
    assert main(["info", str(path)]) == rc
    out, err = capsys.readouterr()
    assert f"{path}: OEM (KVN)" in out                        # still described
    line = path.read_text().splitlines().index(f"{key} = {value}") + 1
    if rc:
        assert err.strip() == err.strip().splitlines()[0]      # one line
        assert err.startswith(f"marsview info: warning: {path}:{line}: {key}: marsview cannot use this file")
    else:
        assert err == ""
    if value == "EARTH":
        assert "not Mars-centred" in out


def test_same_object_from_two_files_is_kept_once_from_the_later_file(tmp_path):
    first = _oem(tmp_path / "1.oem", "Phobos", raan=10.0)
    second = _oem(tmp_path / "2.oem", "PHOBOS", raan=20.0)
    mgs1 = _oem(tmp_path / "3.oem", "MGS", raan=30.0)
    mgs2 = _oem(tmp_path / "4.oem", "MARS GLOBAL SURVEYOR", raan=40.0)
    sc = load_scenario([first, second, mgs1, mgs2], use_cache=False)
    assert sc.names() == ["PHOBOS", "MARS GLOBAL SURVEYOR"]
    assert sc.object("PHOBOS").source_files == (str(second),)
    assert any("PHOBOS from" in w and "replaces Phobos" in w for w in sc.warnings)
    assert any("NAIF -94" in w for w in sc.warnings)


def test_same_cospar_id_under_two_names_is_one_object(tmp_path):
    paths = []
    for i, name in enumerate(("MRO-NAV", "RECON ORB")):
        eph = TwoBodyEphemeris(name, state_from_peri_apo(255, 320, 93, 10.0 * i, 0, 0), T0, T0, T0 + 7200.0)
        paths.append(tmp_path / f"{i}.oem")
        write_oem(paths[-1], ephemeris_to_oem([eph], step_s=120.0, object_ids={name: "2005-029A"}))
    sc = load_scenario(paths, use_cache=False)
    assert sc.names() == ["RECON ORB"] and sc.objects[0].cospar_id == "2005-029A"
    assert any("COSPAR 2005-029A" in w for w in sc.warnings)


def test_coverage_outside_the_window_is_named(tmp_path):
    a = _oem(tmp_path / "a.oem", "ALPHA")
    b = _oem(tmp_path / "b.oem", "BRAVO", raan=5.0)
    old = _oem(tmp_path / "c.oem", "CHARLIE", t0=utc_to_tdb_s("2019-12-28T00:00:00"))
    sc = load_scenario([a, b, old], use_cache=False)
    notes = sc.coverage_notes(T0, T0 + 6 * 3600.0)
    assert list(notes) == ["CHARLIE"]
    assert notes["CHARLIE"].startswith("not screened: its coverage [2019-12-28T00:00:00, 2019-12-28T06:00:00] UTC "
                                       "misses the screening window [2024-04-15T00:00:00, 2024-04-15T06:00:00] UTC")
    proc = subprocess.run([sys.executable, "-m", "marsview", "screen", str(a), str(b), str(old)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"CHARLIE ({old}): not screened" in proc.stderr and "2 objects" in proc.stdout


def test_mars_cdm_becomes_a_close_approach_with_markers_at_tca(tmp_path, capsys):
    """screen -> CDM -> load: the CDM's row has the same miss and Pc; its objects are drawn, not screened."""
    a = _oem(tmp_path / "a.oem", "ALPHA")
    b = _oem(tmp_path / "b.oem", "BRAVO", raan=0.5)
    assert main(["screen", str(a), str(b), "--threshold-km", "200", "--cdm-dir", str(tmp_path / "cdm"),
                 "--format", "json"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    cdm = sorted((tmp_path / "cdm").glob("*.cdm"))[0]
    sc = load_scenario([cdm], use_cache=False)
    (conj,) = sc.cdm_conjunctions
    assert conj.source == "CDM" and conj.mars_centred
    assert conj.miss_km == pytest.approx(events[0]["miss_km"], abs=1e-6)
    assert conj.pc == pytest.approx(conj.cdm_pc, rel=1e-6)
    assert sc.names() == ["ALPHA [CDM]", "BRAVO [CDM]"] and sc.screened_objects() == []
    np.testing.assert_allclose(sc.object("ALPHA [CDM]").ephemeris.state(conj.tca_tdb_s)[0], conj.states[0])
