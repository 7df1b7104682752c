"""Partner files, end to end: every file of ../shared/peers through `info`, the scenario loader, `convert` and
`assess` (../shared/tools/peer_corpus.py, one run for the module), one test id per file; then the commands as
subprocesses, batched, on the corpus and on ../shared/reference/ccsds_samples.

peer_corpus.py classifies each file against an independent reader (the `oem` package / astropy / a plain
keyword reader) and the judgement in expected.json: a file must read exactly (READ-OK) or be refused with
``file:line: KEYWORD: why`` when it is malformed on purpose or outside marsview's scope (REFUSED-CLEAR);
never CRASH, READ-WRONG or REFUSED-WRONGLY. Skipped when ../shared is absent.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
PEERS = SHARED / "peers"
TOOL = SHARED / "tools" / "peer_corpus.py"
SAMPLES = SHARED / "reference" / "ccsds_samples"
SKIP_NAMES = {"MANIFEST.txt", "LICENSE.txt", "LICENSE", "NOTICE.txt", "expected.json"}
FILE_LINE = re.compile(r":(\d+): ([^:\n]+): ")
BAD_CLASSES = ("CRASH", "READ-WRONG", "REFUSED-WRONGLY")


def _peer_files():
    if not PEERS.is_dir():
        return []
    return sorted(p.relative_to(PEERS).as_posix() for p in PEERS.rglob("*")
                  if p.is_file() and p.name not in SKIP_NAMES)


PEER_FILES = _peer_files()
needs_shared = pytest.mark.skipif(not (PEERS.is_dir() and TOOL.is_file()), reason="../shared/peers is not present")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """{rel: row} from one peer_corpus.py run over every file (~10 s; its workers use this venv's python)."""
    if not (PEERS.is_dir() and TOOL.is_file()):
        pytest.skip("../shared/peers is not present")
    out = tmp_path_factory.mktemp("corpus") / "corpus.json"
    proc = subprocess.run([sys.executable, str(TOOL), sys.executable, "--quiet", "--json", str(out)],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {row["rel"]: row for row in json.loads(out.read_text())}


@needs_shared
@pytest.mark.parametrize("rel", PEER_FILES or ["(no corpus)"])
def test_peer_file(corpus, rel):
    row = corpus[rel]
    assert row["class"] not in BAD_CLASSES, f"{row['class']}: {row['detail']}"
    if row["class"] == "REFUSED-CLEAR":
        assert FILE_LINE.search(row["detail"]), row["detail"]
        assert "Traceback" not in row["detail"] and " TDB s" not in row["detail"]
    for note in row["notes"]:
        assert "Traceback" not in note and "TRACEBACK" not in note and " TDB s" not in note, note


def _run(*argv, timeout=600):
    return subprocess.run([sys.executable, "-m", "marsview", *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def _cdm_files():
    files = sorted((PEERS / "orekit/src/test/resources/ccsds/cdm").glob("*")) if PEERS.is_dir() else []
    return files + (sorted(SAMPLES.glob("*.cdm")) if SAMPLES.is_dir() else [])


@needs_shared
def test_assess_every_cdm_exits_cleanly_and_matches_published_pcs():
    """One `assess` over every CDM: each gives a JSON record or one clear file:line: keyword line; where the
    file states its HBR, the recomputed Pc matches the published one (CARA/Orekit references, the CARA
    operational CDM's own COLLISION_PROBABILITY); CDMExample3's contradictory states are flagged."""
    files = _cdm_files()
    proc = _run("assess", *files, "--hbr-m", "10", "--format", "json")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr
    records = {Path(r["file"]).name: r for r in json.loads(proc.stdout)}
    errors = [ln for ln in proc.stderr.splitlines() if ": warning: " not in ln]
    for path in files:
        mentioned = [ln for ln in errors if str(path) in ln]
        assert (path.name in records) != bool(mentioned), (path.name, mentioned)
        for line in mentioned:
            assert FILE_LINE.search(line) and line.count(str(path)) == 1, line
    assert records["CDMExample3.txt"]["flags"].count("INCONSISTENT-CDM") == 1
    assert "INCONSISTENT-CDM" not in records["CDMExample2.txt"]["flags"]
    assert records["CDMExample2.txt"]["flags"].count("PC-DIFFERS-FROM-CDM") == 1
    assert any("CDMExample3.txt: INCONSISTENT-CDM" in ln for ln in proc.stderr.splitlines())

    # with each file's own HBR comment: Alfano cases vs the published values, CARA's CDM vs its own Pc
    expected = json.loads((PEERS / "expected.json").read_text())["files"]
    with_hbr = [p for p in files if p.name.startswith("AlfanoTestCase") or p.suffix == ".cdm" and "HBR" in p.name]
    proc = _run("assess", *with_hbr, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    checked = 0
    for r in json.loads(proc.stdout):
        rel = Path(r["file"]).resolve().relative_to(PEERS.resolve()).as_posix() if PEERS.resolve() in \
            Path(r["file"]).resolve().parents else None
        ref = (expected.get(rel) or {}).get("ref_pc") if rel else None
        if ref is not None:
            assert abs(r["pc"] - ref) <= expected[rel]["ref_pc_tol"], (rel, r["pc"], ref)
            checked += 1
        elif "cdm_pc" in r:   # the CARA operational CDM: FOSTER-1992, HBR 15 m in its comment
            assert r["cdm_pc_method"] == "FOSTER-1992" and r["pc"] == pytest.approx(r["cdm_pc"], rel=1e-3)
            assert "PC-DIFFERS-FROM-CDM" not in r["flags"]
            checked += 1
    assert checked == len(with_hbr) >= 11


@needs_shared
def test_info_on_every_corpus_file_in_one_run():
    """`info` on all 251 files at once: exit 2 (some are broken on purpose); every file is either described
    on stdout or named by exactly one clear error line; no path printed twice, no traceback, no TDB count."""
    files = [PEERS / rel for rel in PEER_FILES]
    proc = _run("info", *files)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    described = {ln.split(": ")[0] for ln in proc.stdout.splitlines() if ln and not ln.startswith(" ")}
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("marsview info: error: ")]
    assert " TDB s" not in proc.stdout + proc.stderr
    for path in files:
        hits = [ln for ln in errors if str(path) + ":" in ln]
        assert (str(path) in described) != bool(hits), path
        for line in hits:
            assert line.count(str(path)) == 1 and FILE_LINE.search(line), line
    for name in ("CDMExample1.xml", "OEMExample3.xml", "OPM-frame-mapper-gcrf.txt"):
        assert any(d.endswith(name) for d in described), name
    compressed = [ln for ln in errors if re.search(r"\.(gz|bz2|xz|lzma):\d+: ", ln)]
    assert len(compressed) == 8 and all("-compressed file: decompress it first" in ln for ln in compressed)
    omm = [ln for ln in errors if ": CCSDS_OMM_VERS: " in ln or re.search(r":\d+: omm: ", ln)]
    assert len(omm) >= 90 and all("OMM (mean elements) is not supported — load an OEM/OPM" in ln for ln in omm)
    # an Earth-centred OPM is described with a warning, never loaded as a Mars orbiter
    assert "CENTER_NAME = EARTH: not Mars-centred" in proc.stdout


@needs_shared
def test_convert_round_trips_real_mars_oems(tmp_path):
    """`convert` KVN -> XML -> KVN on the MGS OEMs of the corpus and of the reference samples: same states."""
    from marsview.io.oem import read_oem

    sources = [PEERS / "orekit/src/test/resources/ccsds/odm/oem/OEMExample3.xml",
               PEERS / "orekit/src/test/resources/ccsds/odm/oem/OEMExample5.txt",
               SAMPLES / "oem_kvn_v3_example_with_covariance.oem"]
    for i, src in enumerate(sources):
        xml_in = src.read_bytes().lstrip().startswith(b"<")
        mid = tmp_path / f"{i}.{'oem' if xml_in else 'xml'}"
        proc = _run("convert", src, mid)
        assert proc.returncode == 0, proc.stderr
        a, b = read_oem(src), read_oem(mid)
        assert [s.states.tolist() for s in a.segments] == [s.states.tolist() for s in b.segments]
        assert [s.epochs_tdb_s.tolist() for s in a.segments] == [s.epochs_tdb_s.tolist() for s in b.segments]


@needs_shared
def test_screen_on_real_files_says_what_it_could_not_screen(tmp_path):
    """`screen` on the 2019 MGS OEM and the 1971-72 Phobos/Deimos SPK over a 1972 window: the moons are
    screened, MGS is named on stderr as not screened (its coverage misses the window), and a CDM given
    alongside becomes a row with source CDM and its own Pc beside the recomputed one."""
    mgs = SAMPLES / "oem_kvn_v3_example_with_covariance.oem"
    spk = SHARED / "reference" / "data" / "mar022-1.bsp"
    terra = next(SAMPLES.glob("cdm_kvn_v1_operational_TERRA*.cdm"))
    proc = _run("screen", mgs, spk, terra, "--start", "1972-01-01T00:00:00", "--duration", "1d",
                "--threshold-km", "30000", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["objects"] == ["PHOBOS", "DEIMOS"]
    screened = [e for e in report["events"] if e["source"] == "screening"]
    assert screened and all({e["object1"], e["object2"]} == {"PHOBOS", "DEIMOS"} for e in screened)
    (cdm_row,) = [e for e in report["events"] if e["source"] == "CDM"]
    assert cdm_row["object1"] == "TERRA" and cdm_row["cdm_pc"] == 0.02117
    assert math.isclose(cdm_row["pc"], 2.1173811560368256e-02, rel_tol=1e-9)   # CARA's Pc2D
    warnings = proc.stderr.splitlines()
    assert any("MARS GLOBAL SURVEYOR" in w and "not screened" in w and "1972-01-01T00:00:00" in w
               for w in warnings), warnings
    assert any("EARTH-centred" in w for w in warnings)
