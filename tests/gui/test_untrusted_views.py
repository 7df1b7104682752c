"""Issue 17: a views.toml from someone else. Strings are not booleans or name lists, and garbage gives one
clear file:line: key message (ParseError), never a traceback."""

from __future__ import annotations

import pytest

from marsview.gui.briefing.saved_views import read_views
from marsview.io.errors import ParseError

GOOD = '[[views]]\nname = "overview"\ntime_utc = "2024-04-01T00:00:00"\n'


@pytest.mark.parametrize("text,key", [
    (GOOD + 'visible = "false"\n', "visible"),
    (GOOD + "visible = true\n", "visible"),
    (GOOD + "visible = [1, 2]\n", "visible"),
    (GOOD + "focus = 3\n", "focus"),
    (GOOD + 'camera_center_km = "0,0,0"\n', "camera_center_km"),
    ('views = "x"\n', "views"),
    ("views = [1, 2]\n", "views"),
    (GOOD + "sequence = 5\n", "sequence"),
    ("x = " + "[" * 100_000 + "]" * 100_000 + "\n", "toml"),
    ("[[views]\nname=", "toml"),
])
def test_bad_views_give_one_parse_error(tmp_path, text, key):
    path = tmp_path / "views.toml"
    path.write_text(text)
    with pytest.raises(ParseError) as err:
        read_views(path)
    assert err.value.keyword == key and str(err.value).startswith(f"{path}:")


def test_binary_garbage_is_a_parse_error(tmp_path):
    path = tmp_path / "views.toml"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(ParseError):
        read_views(path)


def test_good_views_still_read(tmp_path):
    path = tmp_path / "views.toml"
    path.write_text(GOOD + 'visible = ["MRO"]\n')
    (view,), sequence = read_views(path)
    assert view.visible == ["MRO"] and sequence == ["overview"]
