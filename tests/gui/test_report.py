"""The close-approach report: every row of the table in the HTML, PDF and CSV, with plots and pictures."""

from __future__ import annotations

import base64
import csv
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

sys.path.insert(0, str(Path(__file__).parent))
from fake_scenario import MISS_KM, fake_loader  # noqa: E402

from marsview.gui.export.report import build_report, export_report  # noqa: E402


@pytest.fixture(scope="module")
def window(window_factory):
    return window_factory(fake_loader)


def _img(data_uri_b64: str) -> np.ndarray:
    from marsview.gui.globe_view import qimage_to_rgb

    img = QImage.fromData(base64.b64decode(data_uri_b64), "PNG")
    assert not img.isNull()
    return qimage_to_rgb(img)


def test_report_html_pdf_csv_list_every_close_approach(window, tmp_path):
    table = window.table
    rows = [(table.proxy.index(r, 0).data(), table.proxy.index(r, 1).data(), table.proxy.index(r, 2).data())
            for r in range(table.proxy.rowCount())]
    assert len(rows) == 3
    out = tmp_path / "report.html"
    content = export_report(window, out, tmp_path / "report.pdf", tmp_path / "report.csv")
    text = out.read_text(encoding="utf-8")
    body_rows = re.findall(r"<tr class='ca'.*?</tr>", text)
    assert len(body_rows) == len(rows)
    for pair, tca, miss in rows:  # every row of the window's table, as the table shows it
        assert any(pair in r and tca in r and f">{miss}<" in r for r in body_rows), (pair, tca, miss)
    red = [r for r in body_rows if f">{MISS_KM:.3f}<" in r]
    assert len(red) == 1 and "RED" in red[0]
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)
    assert len(images) == 1 + 3  # one distance plot for the one pair, one picture per encounter
    plot = _img(images[0])
    assert plot.shape[1] == 900 and (plot.min(axis=2) < 100).mean() > 0.003  # curves and axes drawn on white
    for b64 in images[1:]:
        pic = _img(b64)
        assert pic.shape == (400, 640, 3) and pic.max() > 150  # the encounter lines and labels are drawn
    assert len(content.pictures) == 3
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000 and b"/Image" in pdf
    with (tmp_path / "report.csv").open() as f:
        records = list(csv.DictReader(f))
    assert len(records) == 3
    assert sorted(float(r["miss_km"]) for r in records)[0] == pytest.approx(MISS_KM, abs=1e-6)
    assert not list(tmp_path.glob("*.part*"))


def test_report_without_events_says_so(window):
    content = build_report(window, events=[], pictures=True)
    assert content.events == [] and not content.pictures and ("Close approaches", "0") in content.facts


def test_pdf_first_page_is_filled(window, tmp_path):
    """The PDF's first page, rendered by poppler: the content spans the A4 page, with legible type (it used
    to sit at 1/12 scale in the top-left corner, text ~1 pt)."""
    import shutil
    import subprocess

    from marsview.gui.globe_view import qimage_to_rgb

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (apt package poppler-utils, installed by ./run) is not on PATH")
    content = build_report(window, pictures=False)
    from marsview.gui.export.report import write_pdf

    write_pdf(content, tmp_path / "r.pdf")
    dpi = 50
    subprocess.run([pdftoppm, "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile", str(tmp_path / "r.pdf"),
                    str(tmp_path / "page")], check=True, timeout=60)
    rgb = qimage_to_rgb(QImage(str(tmp_path / "page.png")))
    h, w = rgb.shape[:2]
    assert (w, h) == pytest.approx((297 / 25.4 * dpi, 210 / 25.4 * dpi), abs=2)  # A4 landscape
    ink = rgb.min(axis=2) < 200
    rows, cols = np.nonzero(ink.any(axis=1))[0], np.nonzero(ink.any(axis=0))[0]
    assert (cols[-1] - cols[0]) > 0.8 * w, "the content does not span the page width"
    assert (rows[-1] - rows[0]) > 0.5 * h, "the content does not fill the page height"
    # type: the title (h1, ~24 pt) is at least 12 pt tall in ink; a 1-pt title would be under 1 px here
    title_rows = np.nonzero(ink[: h // 5].any(axis=1))[0]
    first_line = title_rows[title_rows < title_rows[0] + 40]
    runs = np.split(first_line, np.nonzero(np.diff(first_line) > 1)[0] + 1)
    assert len(runs[0]) >= 12 / 72 * dpi, "the title is not legible"
