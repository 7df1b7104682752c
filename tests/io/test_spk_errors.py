"""Issue 17: SPICE errors are one line naming the file and what is wrong (never the ===== banner or the
toolkit traceback), and an SPK at an absolute path longer than SPICE's 255 characters reads and writes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from marsview.cli import main
from marsview.io.errors import ParseError
from marsview.io.spk import _spice_message, read_spk, write_spk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gui"))
from fake_scenario import make_scenario  # noqa: E402


@pytest.fixture(scope="module")
def spk(tmp_path_factory):
    path = tmp_path_factory.mktemp("spk") / "a.bsp"
    write_spk(path, [(make_scenario().objects[0].ephemeris, -74)])
    return path


@pytest.mark.parametrize("cut,words", [("half", "truncated"), ("records", "truncated or damaged"),
                                       ("header", "truncated or damaged"), ("empty", "empty file")])
def test_damaged_spk_is_one_line(spk, tmp_path, cut, words):
    data = spk.read_bytes()
    bad = tmp_path / f"{cut}.bsp"
    bad.write_bytes({"half": data[: len(data) // 2 + 7], "records": data[: (len(data) // 1024 - 3) * 1024],
                     "header": data[:1024], "empty": b""}[cut])
    with pytest.raises(ParseError) as err:
        read_spk(bad)
    text = str(err.value)
    assert words in text and "=====" not in text and "-->" not in text and "Toolkit" not in text
    assert "\n" not in text and text.startswith(str(bad))


def test_not_an_spk(tmp_path):
    bad = tmp_path / "x.bsp"
    bad.write_bytes(b"GIF89a" + bytes(2000))
    with pytest.raises(ParseError, match="not a SPICE SPK file"):
        read_spk(bad)


def test_spice_message_maps_codes_to_words():
    class Fake(Exception):
        short = "SPICE(SPKINSUFFDATA)"
        long = "Insufficient ephemeris data has been loaded to compute the state of -74. More text."

    assert _spice_message(Fake(), "MRO") == ("no data for MRO (SPICE(SPKINSUFFDATA): Insufficient ephemeris data "
                                             "has been loaded to compute the state of -74)")
    banner = ("================================================================================ Toolkit version: "
              "CSPICE_N0067 SPICE(UNKNOWNSPKTYPE) -- The SPK type 99 is not supported. spkgeo_c --> SPKR "
              "================================================================================")
    assert _spice_message(Exception(banner)) == ("unsupported SPK data type (SPICE(UNKNOWNSPKTYPE): The SPK type 99 "
                                                 "is not supported)")


def test_info_on_a_damaged_spk_prints_one_line(spk, tmp_path, capsys):
    bad = tmp_path / "d.bsp"
    bad.write_bytes(spk.read_bytes()[:1024])
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "=====" not in err


def test_spk_at_a_path_longer_than_255_characters(spk, tmp_path):
    deep = tmp_path.joinpath(*["f" * 60] * 5)
    deep.mkdir(parents=True)
    src = deep / "a.bsp"
    src.write_bytes(spk.read_bytes())
    assert len(str(src)) > 255
    (tr,) = read_spk(src)
    out = deep / "copy.bsp"
    write_spk(out, [(tr.ephemeris, -74)])
    (again,) = read_spk(out)
    t = np.linspace(*again.ephemeris.coverage, 20)
    assert np.max(np.abs(again.ephemeris.state(t)[:, :3] - tr.ephemeris.state(t)[:, :3])) < 1e-6
    assert sorted(p.name for p in deep.iterdir()) == ["a.bsp", "copy.bsp"]
