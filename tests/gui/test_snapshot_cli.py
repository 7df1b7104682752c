"""``marsview snapshot`` writes a PNG of exactly WxH showing the globe (run in-process under Xvfb)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

sys.path.insert(0, str(Path(__file__).parent))


HERE = Path(__file__).parent
# the CLI as users run it, in its own process (one GL context per process, as in real use), with the
# test scenario's loader in place of the default-scenario files
RUNNER = f"""
import sys
sys.path.insert(0, {str(HERE)!r})
from fake_scenario import fake_loader
import marsview.gui as gui
real = gui.launch
gui.launch = lambda paths=None, show=True, **o: real(paths, show, loader=fake_loader, **o)
from marsview.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_cli(*args):
    import subprocess

    return subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, timeout=300)


def _rgb(path):
    img = QImage(str(path)).convertToFormat(QImage.Format_RGB888)
    from marsview.gui.globe_view import qimage_to_rgb

    return img.width(), img.height(), qimage_to_rgb(img)


@pytest.mark.parametrize("theme,size", [("projector", (500, 420))])  # the workstation look: test_main_window
def test_snapshot_has_the_exact_size_and_shows_mars(qapp, tmp_path, theme, size):
    out = tmp_path / "view.png"
    # snapshot loads its PATHs itself (here: the default scenario, April 2024), so --time must lie in that
    # coverage: a time outside every object's coverage is refused (issue 17)
    proc = run_cli("snapshot", "--size", f"{size[0]}x{size[1]}", "--theme", theme, "--time", "2024-04-17T03:00:00",
                   "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    w, h, rgb = _rgb(out)
    assert (w, h) == size
    c = rgb[h // 2 - 8:h // 2 + 8, w // 2 - 8:w // 2 + 8].astype(int)
    assert np.mean((c[..., 0] > 18) & (c[..., 0] > 1.3 * c[..., 1])) > 0.75  # Mars in the middle
    if theme == "projector":
        assert rgb[-3:, :3].max() == 0  # the briefing look has a pure black sky


def test_snapshot_rejects_a_bad_size(tmp_path, capsys):
    from marsview.cli import main

    assert main(["snapshot", "--size", "big", "-o", str(tmp_path / "x.png")]) == 2
    assert "--size" in capsys.readouterr().err
