"""``marsview movie``: frame counts of PNG sequences and MP4s, sizes, frame epochs, argument errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from marsview.render.movie_frames import frame_count, frame_epochs, png_frame_name

GUI_TESTS = Path(__file__).resolve().parents[1] / "gui"
# the CLI as users run it, in its own process, with the test scenario (tests/gui/fake_scenario.py) as default
RUNNER = f"""
import sys
sys.path.insert(0, {str(GUI_TESTS)!r})
from fake_scenario import fake_loader
import marsview.gui as gui
real = gui.launch
gui.launch = lambda paths=None, show=True, **o: real(paths, show, loader=fake_loader, **o)
from marsview.cli import main
sys.exit(main(sys.argv[1:]))
"""
START = "2025-05-08T21:00:00"


def run_cli(*args):
    return subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, timeout=300)


def _rgb(path):
    from PySide6.QtGui import QImage

    from marsview.gui.globe_view import qimage_to_rgb

    img = QImage(str(path))
    assert not img.isNull(), path
    return qimage_to_rgb(img)


def test_frame_schedule():
    t = frame_epochs(100.0, 2000.0, 10.0, 1000.0)
    assert len(t) == 20 and t[0] == 100.0 and np.allclose(np.diff(t), 100.0)
    assert frame_count(2.0, 10, 1) == 20 and frame_count(86400.0, 30, 3600) == 720
    with pytest.raises(ValueError, match="less than one frame"):
        frame_count(1.0, 10, 1000)
    with pytest.raises(ValueError, match="--fps"):
        frame_count(10.0, 0, 1)


def test_png_sequence_of_a_two_second_movie_has_20_frames(qapp, tmp_path):
    out = tmp_path / "frames"
    proc = run_cli("movie", "--start", START, "--duration", "2000s", "--warp", "1000", "--fps", "10",
                   "--size", "320x240", "--theme", "projector", "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == [png_frame_name(i) for i in range(20)]
    first, last = _rgb(files[0]), _rgb(files[-1])
    assert first.shape == (240, 320, 3)
    c = first[112:128, 152:168].astype(int)
    assert np.mean((c[..., 0] > 18) & (c[..., 0] > 1.3 * c[..., 1])) > 0.75  # Mars in the middle
    assert first[-3:, :].max() == 0  # projector: pure black sky
    assert np.abs(first.astype(int) - last.astype(int)).max() > 50  # 1900 s later: the fleet has moved


def test_mp4_of_a_two_second_movie_has_20_frames(qapp, tmp_path):
    import imageio_ffmpeg

    out = tmp_path / "brief.mp4"
    proc = run_cli("movie", "--start", START, "--duration", "2s", "--warp", "1", "--fps", "10",
                   "--size", "320x240", "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "20 frames" in proc.stdout
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(240, 320, 3) for f in reader]
    assert len(frames) == 20
    assert meta["fps"] == 10.0 and meta["size"] == (320, 240) and meta["duration"] == pytest.approx(2.0)
    assert imageio_ffmpeg.count_frames_and_secs(str(out)) == (20, pytest.approx(2.0))
    c = frames[0][112:128, 152:168].astype(int)
    assert np.mean((c[..., 0] > 18) & (c[..., 0] > 1.2 * c[..., 1])) > 0.7  # Mars, through H.264
    assert not list(tmp_path.glob("*.part.mp4"))


@pytest.mark.parametrize("args,message", [
    (["--size", "321x240", "-o", "x.mp4"], "even"),
    (["--fps", "0", "-o", "x.mp4"], "--fps"),
    (["--duration", "1s", "--warp", "1000", "-o", "x.mp4"], "less than one frame"),
    (["--start", "yesterday", "-o", "x.mp4"], "yesterday"),
])
def test_bad_arguments_are_clear_errors(args, message, capsys):
    from marsview.cli import main

    assert main(["movie", *args]) == 2
    assert message in capsys.readouterr().err
