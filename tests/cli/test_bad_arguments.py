"""Issue 17: every sub-command, given bad arguments or an output it cannot write, exits non-zero with exactly
one line on stderr and no traceback (the real `marsview` command in a subprocess), and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from test_bad_input import CDM, OEM, OPM  # noqa: E402

UNWRITABLE = "/proc"  # a folder no one (root included) can create files in

CASES = {  # id: (argv with {tmp} placeholders, a fragment the one line must hold)
    "propagate-missing-input": (["propagate", "{tmp}/none.opm", "-o", "{tmp}/o.oem"], "none.opm"),
    "propagate-tiny-step": (["propagate", "{tmp}/in.opm", "--step", "1e-9s", "-o", "{tmp}/o.oem"], "samples"),
    "propagate-huge-duration": (["propagate", "{tmp}/in.opm", "--duration", "100000d", "-o", "{tmp}/o.oem"],
                                "samples"),
    "propagate-output-is-folder": (["propagate", "{tmp}/in.opm", "-o", "."], "is a folder"),
    "propagate-missing-folder": (["propagate", "{tmp}/in.opm", "-o", "{tmp}/no/such/o.oem"], "does not exist"),
    "propagate-unwritable": (["propagate", "{tmp}/in.opm", "-o", UNWRITABLE + "/o.oem"], "cannot write"),
    "convert-bad-extension": (["convert", "{tmp}/in.oem", "{tmp}/o.xyz"], "extension"),
    "convert-output-is-folder": (["convert", "{tmp}/in.oem", "{tmp}/dir.oem"], "is a folder"),
    "convert-unwritable": (["convert", "{tmp}/in.oem", UNWRITABLE + "/o.oem"], "cannot write"),
    "convert-spk-tiny-step": (["convert", "{tmp}/in.bsp", "{tmp}/o.oem", "--step", "1e-9s"], "samples"),
    "convert-not-ccsds": (["convert", "{tmp}/passwd.oem", "{tmp}/o.xml"], "not a CCSDS message"),
    "info-missing": (["info", "{tmp}/none.oem"], "none.oem"),
    "info-not-ccsds": (["info", "{tmp}/passwd.oem"], "not a CCSDS message"),
    "screen-empty-path": (["screen", ""], "empty path"),
    "screen-output-is-folder": (["screen", "{tmp}/in.oem", "-o", "."], "is a folder"),
    "screen-missing-folder": (["screen", "-o", "{tmp}/no/such/x.csv"], "does not exist"),
    "screen-unwritable": (["screen", "-o", UNWRITABLE + "/x.csv"], "cannot write"),
    "screen-cdm-dir-is-file": (["screen", "--cdm-dir", "{tmp}/in.oem"], "is a file"),
    "screen-cdm-dir-unwritable": (["screen", "--cdm-dir", UNWRITABLE + "/cdms"], "cannot write"),
    "screen-bad-start": (["screen", "--start", "yesterday"], "yesterday"),
    "screen-bad-threshold": (["screen", "--threshold-km", "-1"], "threshold"),
    "screen-infinite-threshold": (["screen", "--threshold-km", "inf"], "threshold"),
    "trend-infinite-threshold": (["trend", "x.oem", "y.oem", "--threshold-km", "inf"], "threshold"),
    "screen-outside-paths": (["screen", "{tmp}/outside"], "outside the scenario folder"),
    "assess-missing": (["assess", "{tmp}/none.cdm"], "none.cdm"),
    "assess-no-hbr": (["assess", "{tmp}/in.cdm"], "HBR"),
    "snapshot-bad-size": (["snapshot", "--size", "0x0", "-o", "{tmp}/s.png"], "--size"),
    "snapshot-output-is-folder": (["snapshot", "-o", "."], "is a folder"),
    "snapshot-unwritable": (["snapshot", "-o", UNWRITABLE + "/s.png"], "cannot write"),
    "snapshot-not-png": (["snapshot", "-o", "{tmp}/s.jpg"], ".png"),
    "snapshot-time-outside-coverage": (["snapshot", "--time", "2030-01-01T00:00:00", "-o", "{tmp}/s.png"],
                                       "outside the coverage"),
    "movie-avi": (["movie", "-o", "{tmp}/m.avi"], "mp4"),
    "movie-unwritable": (["movie", "-o", UNWRITABLE + "/m.mp4"], "cannot write"),
    "movie-frames-into-file": (["movie", "-o", "{tmp}/in.oem"], "mp4"),
    "movie-zero-fps": (["movie", "--fps", "0", "-o", "{tmp}/m.mp4"], "--fps"),
    "movie-huge-duration": (["movie", "--duration", "100000d", "-o", "{tmp}/m.mp4"], "frames"),
    "screen-read-only-folder": (["screen", "-o", "{tmp}/ro/x.csv"], "cannot write"),
    "unknown-failure-is-one-line": (["info", "{tmp}/dir.oem"], "dir.oem"),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli_bad")
    (tmp / "in.opm").write_text(OPM)
    (tmp / "in.oem").write_text(OEM)
    (tmp / "in.cdm").write_text(CDM)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gui"))
    from fake_scenario import make_scenario

    from marsview.io.spk import write_spk

    write_spk(tmp / "in.bsp", [(make_scenario().objects[0].ephemeris, -74)])
    (tmp / "passwd.oem").write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/bin/sh\n")
    (tmp / "dir.oem").mkdir()
    (tmp / "ro").mkdir()
    (tmp / "ro").chmod(0o500)
    (tmp / "outside").mkdir()
    (tmp / "outside" / "scenario.toml").write_text(
        'name = "x"\n[window]\nstart_utc = "2024-04-01T00:00:00"\nduration = "1h"\n'
        '[[objects]]\nname = "A"\nhbr_m = 1.0\n[objects.orbit]\nsource = "file"\npath = "../in.oem"\n'
        '[[objects]]\nname = "B"\nhbr_m = 1.0\n[objects.orbit]\nsource = "file"\npath = "/etc/passwd"\n')
    return tmp


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_argument_exits_non_zero_with_one_line(inputs, case):
    argv, fragment = CASES[case]
    if case == "screen-read-only-folder" and os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder (the /proc cases cover root)")
    argv = [a.replace("{tmp}", str(inputs)) for a in argv]
    before = sorted(p.name for p in inputs.rglob("*"))
    env = {**os.environ, "MARSVIEW_DEBUG": ""}
    proc = subprocess.run([sys.executable, "-m", "marsview", *argv], capture_output=True, text=True,
                          cwd=inputs, env=env, timeout=240)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode != 0, (case, proc.stdout, proc.stderr)
    assert len(lines) == 1, (case, proc.stderr)
    assert "Traceback" not in proc.stderr and "root:x:0" not in proc.stderr
    assert fragment.lower() in lines[0].lower(), (case, lines[0])
    assert sorted(p.name for p in inputs.rglob("*")) == before  # nothing written, no temporary left behind


def test_dispatcher_turns_an_unexpected_exception_into_one_line(monkeypatch, capsys):
    """Whatever a sub-command did not expect: one line with the MARSVIEW_DEBUG hint, exit 1; the traceback
    only with MARSVIEW_DEBUG=1."""
    from marsview.cli import info, main

    def boom(_args):
        raise RuntimeError("internal\nstate broken")

    monkeypatch.setattr(info, "run", boom)
    monkeypatch.delenv("MARSVIEW_DEBUG", raising=False)
    assert main(["info", "x.oem"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RuntimeError: internal state broken" in err and "MARSVIEW_DEBUG=1" in err
    monkeypatch.setenv("MARSVIEW_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["info", "x.oem"])


@pytest.mark.timeout(120)
def test_ffmpeg_failure_is_one_line_and_its_stderr_is_not_shown(tmp_path, capfd):
    import numpy as np

    from marsview.gui.export.movie import Mp4Sink

    bad = tmp_path / "gone" / "m.mp4"  # the folder does not exist: ffmpeg cannot open its output
    with pytest.raises(OSError) as err:
        sink = Mp4Sink(bad, (64, 64), 10.0)
        try:
            for _ in range(50):
                sink.write(np.zeros((64, 64, 3), np.uint8))
            sink.close()
        except BaseException:
            sink.abort()
            raise
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"ffmpeg could not write {bad}")
    assert capfd.readouterr().err == ""  # ffmpeg's own messages went to its log, not the terminal


@pytest.mark.parametrize("argv", [["--allow-outside-paths", "a", "b"], ["a", "--allow-outside-paths", "b"],
                                  ["--allow-outside-paths"]])
def test_gui_takes_allow_outside_paths(monkeypatch, argv):
    import marsview.gui
    from marsview.cli import main

    calls = []
    monkeypatch.setattr(marsview.gui, "launch_app", lambda paths=None, **kw: calls.append((paths, kw)) or 0)
    assert main(argv) == 0
    assert calls == [([a for a in argv if a != "--allow-outside-paths"], {"allow_outside_paths": True})]


@pytest.mark.parametrize("env, reason", [({"QT_QPA_PLATFORM": "offscreen"}, "QT_QPA_PLATFORM=offscreen"),
                                         ({"QT_QPA_PLATFORM": None, "DISPLAY": None, "WAYLAND_DISPLAY": None},
                                          "no display")])
@pytest.mark.parametrize("argv", [["snapshot", "-o", "{tmp}/x.png"], ["movie", "-o", "{tmp}/x.mp4"],
                                  ["{tmp}/missing.oem"]], ids=["snapshot", "movie", "gui"])
def test_the_3d_view_without_a_display_is_a_one_line_error(monkeypatch, capsys, tmp_path, env, reason, argv):
    """Qt's offscreen platform gave a segfault (rc 139), no display a multi-line Qt abort (rc 134)."""
    import sys

    from marsview.cli import main

    if not sys.platform.startswith("linux") and "DISPLAY" in env:
        pytest.skip("DISPLAY is how Linux finds a display")
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    rc = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and reason in err and "xvfb-run" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
