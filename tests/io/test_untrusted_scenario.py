"""Issue 17: scenario.toml from someone else. Paths outside the scenario folder are refused unless allowed
(and never echo the target's content), strings are not booleans, absurd nesting and spans are refused with a
message, an error on a non-CCSDS file quotes at most a keyword, and comments may precede CCSDS_OEM_VERS."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from marsview.io.errors import ParseError
from marsview.io.formats import detect_format, read_any
from marsview.model.loading import load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_bad_input import OEM  # noqa: E402

HEAD = 'name = "x"\n[window]\nstart_utc = "2024-04-01T00:00:00"\nduration = "1h"\n'


def _scenario(tmp_path, path_value, extra=""):
    folder = tmp_path / "sc"
    folder.mkdir(exist_ok=True)
    (folder / "scenario.toml").write_text(
        HEAD + f'[[objects]]\nname = "MAVEN"\nhbr_m = 1.0\n{extra}[objects.orbit]\nsource = "file"\n'
               f'path = "{path_value}"\n')
    return folder


@pytest.mark.parametrize("target", ["../../../../../../etc/passwd", "/etc/passwd", "link"])
def test_paths_outside_the_folder_are_refused_without_echo(tmp_path, target):
    folder = _scenario(tmp_path, target)
    if target == "link":
        secret = tmp_path / "shadow"
        secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
        (folder / "link").symlink_to(secret)
    with pytest.raises(ParseError) as err:
        load_scenario([folder])
    assert err.value.keyword == "path" and err.value.line == 10
    assert "outside the scenario folder" in err.value.message and "root:" not in str(err.value)


def test_outside_paths_when_allowed_still_never_echo_content(tmp_path):
    folder = _scenario(tmp_path, "/etc/passwd")
    with pytest.raises(ParseError) as err:
        load_scenario([folder], allow_outside_paths=True)
    assert "root:" not in str(err.value) and "not a CCSDS message" in str(err.value)
    ok = tmp_path / "maven.oem"
    ok.write_text(OEM)
    assert load_scenario([_scenario(tmp_path, str(ok))], allow_outside_paths=True).names() == ["MAVEN"]


def test_a_non_ccsds_file_is_named_by_keyword_only(tmp_path):
    path = tmp_path / "notes.oem"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(ParseError) as err:
        read_any(path)
    assert str(err.value) == (f"{path}:1: file: not a CCSDS message (expected CCSDS_OEM_VERS, CCSDS_OPM_VERS or "
                              "CCSDS_CDM_VERS first)")
    path.write_text("OBJECT_NAME = MRO\n")
    with pytest.raises(ParseError) as err:
        read_any(path)
    assert err.value.keyword == "OBJECT_NAME"


@pytest.mark.parametrize("value", ['"false"', '"true"', "0", '"no"'])
def test_visible_must_be_a_boolean(tmp_path, value):
    (tmp_path / "sc").mkdir()
    (tmp_path / "sc" / "m.oem").write_text(OEM)
    folder = _scenario(tmp_path, "m.oem", extra=f"visible = {value}\n")
    with pytest.raises(ParseError) as err:
        load_scenario([folder])
    assert (err.value.keyword, err.value.line) == ("visible", 8)
    assert str(err.value).startswith(f"{folder / 'scenario.toml'}:8: visible: must be true or false")


def test_visible_false_hides(tmp_path):
    (tmp_path / "sc").mkdir()
    (tmp_path / "sc" / "m.oem").write_text(OEM)
    assert load_scenario([_scenario(tmp_path, "m.oem", extra="visible = false\n")]).object("MAVEN").visible is False


def test_deeply_nested_toml_is_refused(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    (folder / "scenario.toml").write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ParseError) as err:
        load_scenario([folder])
    assert err.value.keyword == "toml" and "nested too deeply" in err.value.message


def test_ten_year_span_is_refused_before_propagating(tmp_path):
    folder = tmp_path / "long"
    folder.mkdir()
    (folder / "scenario.toml").write_text(
        'name = "x"\n[window]\nstart_utc = "2024-04-01T00:00:00"\nduration = "3650d"\n[[objects]]\nname = "A"\n'
        'hbr_m = 1.0\n[objects.orbit]\nsource = "moon"\nbody = "Phobos"\n')
    with pytest.raises(ParseError) as err:
        load_scenario([folder])
    assert (err.value.keyword, err.value.line) == ("duration", 4) and "366 days" in err.value.message


def test_empty_path_is_not_the_default_scenario():
    with pytest.raises(ParseError, match="empty path"):
        load_scenario([""])


def test_twelve_kilobytes_of_comments_before_the_header(tmp_path):
    path = tmp_path / "c.oem"
    comments = "".join(f"COMMENT partner note {i:03d}: " + "x" * 40 + "\n" for i in range(200))
    assert len(comments) > 12_000
    path.write_text(comments + OEM)
    assert detect_format(path) == ("OEM", "KVN")
    msg = read_any(path)
    assert len(msg.comments) == 200 and msg.segments[0].object_name == "MAVEN"
    only = tmp_path / "only.oem"
    only.write_text(comments)
    with pytest.raises(ParseError, match="only comments"):
        detect_format(only)


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_symlink_inside_the_folder_to_a_file_inside_is_fine(tmp_path):
    (tmp_path / "sc").mkdir()
    (tmp_path / "sc" / "m.oem").write_text(OEM)
    (tmp_path / "sc" / "alias.oem").symlink_to(tmp_path / "sc" / "m.oem")
    assert load_scenario([_scenario(tmp_path, "alias.oem")]).names() == ["MAVEN"]
