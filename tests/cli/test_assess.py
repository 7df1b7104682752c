"""``marsview assess``: Pc of CDM files, HBR from option or comment, JSON/table contract, clear errors."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

from marsview.cli import assess, main
from marsview.io.cdm import build_cdm, write_cdm

# Alfano (2009) case 1 numbers live in tests/core/test_probability.py (one transcription, with its source)
_spec = importlib.util.spec_from_file_location(
    "_probability_cases", Path(__file__).resolve().parents[1] / "core" / "test_probability.py")
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
ALFANO1_COV1, ALFANO1_COV2 = _cases.ALFANO1_COV1, _cases.ALFANO1_COV2
ALFANO1_STATE1, ALFANO1_STATE2 = _cases.ALFANO1_STATE1, _cases.ALFANO1_STATE2
lower_to_full = _cases.lower_to_full

TERRA = "cdm_kvn_v1_operational_TERRA_vs_IRIDIUM33DEB_HBR15m_Pc2.117e-2.cdm"
CARA_PC2D_TERRA = 2.1173811560368256e-02


def run_assess(argv, capsys):
    """Parse exactly as the contract reads: ``assess CDM ... [options]``."""
    parser = argparse.ArgumentParser(prog="marsview")
    assess.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["assess", *argv])
    rc = args.func(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def alfano_case1_cdm(path, comments=("HBR = 15.0",)):
    meta = {"OBJECT_DESIGNATOR": "1001", "CATALOG_NAME": "SATCAT", "INTERNATIONAL_DESIGNATOR": "1001",
            "EPHEMERIS_NAME": "NONE", "COVARIANCE_METHOD": "CALCULATED", "MANEUVERABLE": "YES",
            "REF_FRAME": "EME2000"}
    objs = [dict(meta, OBJECT_NAME="A09-1001", state=ALFANO1_STATE1, covariance_rtn=lower_to_full(ALFANO1_COV1)),
            dict(meta, OBJECT_NAME="A09-1002", OBJECT_DESIGNATOR="1002", state=ALFANO1_STATE2,
                 covariance_rtn=lower_to_full(ALFANO1_COV2))]
    msg = build_cdm(tca_text="2000-01-01T00:00:00.000", miss_distance_m=5.049717, objects=objs,
                    message_id="A09_case_01", originator="JSPOC", creation_date="2000-01-01T00:00:00.000",
                    comments=comments)
    write_cdm(path, msg)
    return path


def test_json_contract_on_cara_operational_cdm(reference_dir, capsys):
    rc, out, _ = run_assess([str(reference_dir / "ccsds_samples" / TERRA), "--format", "json"], capsys)
    assert rc == 0
    (rec,) = json.loads(out)
    for key in ("file", "object1", "object2", "tca_utc", "miss_km", "pc", "method", "hbr_m", "cdm_pc",
                "cdm_pc_method"):
        assert key in rec
    assert rec["object1"] == "TERRA" and rec["object2"] == "IRIDIUM 33 DEB"
    assert rec["tca_utc"] == "2021-03-24T15:10:47.417"
    assert rec["hbr_m"] == 15.0                                   # from "COMMENT HBR = 15 [m]"
    assert rec["pc"] == pytest.approx(CARA_PC2D_TERRA, rel=1e-6)
    assert rec["method"] == "FOSTER-2D" and rec["covariance_source"] == "CDM"
    assert rec["cdm_pc"] == 2.117e-02 and rec["cdm_pc_method"] == "FOSTER-1992"
    assert rec["miss_km"] == pytest.approx(0.108, abs=5e-4)
    assert rec["pc"] < rec["pc_max_geometry"] < 1.0


def test_hbr_option_overrides_comment_and_changes_pc(reference_dir, capsys):
    path = str(reference_dir / "ccsds_samples" / TERRA)
    _, out, _ = run_assess([path, "--hbr-m", "20", "--format", "json"], capsys)
    (rec,) = json.loads(out)
    assert rec["hbr_m"] == 20.0
    assert CARA_PC2D_TERRA * 1.5 < rec["pc"] < CARA_PC2D_TERRA * (20 / 15) ** 2 * 1.01


def test_alfano_case_1_table_and_flag(tmp_path, capsys):
    path = alfano_case1_cdm(tmp_path / "alfano01.cdm")
    rc, out, _ = run_assess([str(path)], capsys)
    assert rc == 0
    assert "1.4675e-01" in out and "EXTENDED-ENCOUNTER" in out and "FOSTER-2D" in out
    rc, out, _ = run_assess([str(path), "--format", "json", "--method", "chan"], capsys)
    (rec,) = json.loads(out)
    assert rec["method"] == "CHAN" and rec["hbr_m"] == 15.0
    assert "cdm_pc" not in rec                                    # the CDM states no probability


def test_missing_hbr_is_a_clear_error(tmp_path, capsys):
    path = alfano_case1_cdm(tmp_path / "nohbr.cdm", comments=())
    rc, out, err = run_assess([str(path), "--format", "json"], capsys)
    assert rc == 1 and json.loads(out) == []
    assert str(path) in err and "HBR" in err and "--hbr-m" in err
    rc, out, _ = run_assess([str(path), "--hbr-m", "15", "--format", "json"], capsys)
    assert rc == 0 and json.loads(out)[0]["pc"] == pytest.approx(0.146749549, abs=1e-6)


def test_unreadable_cdm_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.cdm"
    bad.write_text("CCSDS_CDM_VERS = 1.0\nCREATION_DATE = 2021-01-01T00:00:00\nORIGINATOR = X\n")
    rc, _, err = run_assess([str(bad)], capsys)
    assert rc == 1 and str(bad) in err


def test_through_the_marsview_command(tmp_path, capsys):
    path = alfano_case1_cdm(tmp_path / "alfano01.cdm")
    assert main(["assess", "--format", "json", "--method", "MAX-PC", str(path)]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert rec["method"] == "MAX-PC" and rec["pc"] >= 0.146749549
    # the contract's order: CDM first, options after
    assert main(["assess", str(path), "--hbr-m", "15", "--format", "json"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert rec["method"] == "FOSTER-2D" and rec["pc"] == pytest.approx(0.146749549, abs=1e-6)
