"""The packaged desktop app (PyInstaller one-folder, packaging/build.sh) starts and renders the globe.

Slow (a build takes 1-4 minutes): marked ``slow`` and run only when asked for, with ``pytest -m slow ...`` or
MARSVIEW_PACKAGING_TEST=1 (a plain ``pytest`` skips it).
The build goes to tmp_path (DISTPATH/WORKPATH) and the app runs ``snapshot`` under the test's Xvfb.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_packaged_app_builds_and_renders_the_globe(qapp, tmp_path, request):
    markexpr = request.config.getoption("markexpr") or ""
    wanted = os.environ.get("MARSVIEW_PACKAGING_TEST", "") not in ("", "0")  # MARSVIEW_PACKAGING_TEST=0 skips it
    if not (wanted or ("slow" in markexpr and "not slow" not in markexpr)):
        pytest.skip("packaging build: run with -m slow or MARSVIEW_PACKAGING_TEST=1")
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (pip install '.[package]')")
    env = dict(os.environ, DISTPATH=str(tmp_path / "dist"), WORKPATH=str(tmp_path / "work"))
    build = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], env=env, capture_output=True, text=True,
                           timeout=900)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-4000:]
    app = tmp_path / "dist" / "marsview" / "marsview"
    assert app.is_file() and os.access(app, os.X_OK)
    assert (tmp_path / "dist" / "marsview" / "marsview.desktop").is_file()
    out = tmp_path / "snap.png"
    # a clean environment: no venv on the path, so the bundle must carry everything it imports
    run_env = {k: v for k, v in os.environ.items() if k in ("DISPLAY", "XAUTHORITY", "HOME", "PATH", "LANG")}
    run_env["PATH"] = "/usr/bin:/bin"
    proc = subprocess.run([str(app), "snapshot", "--size", "640x360", "--theme", "projector", "-o", str(out)],
                          env=run_env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    from PySide6.QtGui import QImage

    from marsview.gui.globe_view import qimage_to_rgb

    img = QImage(str(out))
    assert (img.width(), img.height()) == (640, 360)
    rgb = qimage_to_rgb(img)
    c = rgb[180 - 30:180 + 30, 320 - 30:320 + 30].astype(int)
    assert np.mean((c[..., 0] > 18) & (c[..., 0] > 1.3 * c[..., 1])) > 0.6  # the globe in the middle
    assert rgb[-3:].max() == 0  # projector sky
    help_run = subprocess.run([str(app), "movie", "--help"], env=run_env, capture_output=True, text=True, timeout=120)
    assert help_run.returncode == 0 and "--warp" in help_run.stdout
