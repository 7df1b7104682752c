"""Close-approach report for partner teams: one self-contained HTML file (the table, a distance plot per pair
and a picture of each encounter, images embedded as base64 PNG), the same content as PDF (Qt's
QTextDocument + QPdfWriter), and the table as CSV (the table's own full-precision CSV).

Everything is rendered on the GUI thread (GL pictures and pyqtgraph exports need it); the distance samples
come from ``plots.sample_pair_distance`` like the window's own plot.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QFileDialog

from marsview.core.time import format_epoch
from marsview.io.atomic import atomic_write_bytes, atomic_write_text

from ..controller import screening_span
from ..globe_view import rgb_to_qimage, show_event_in
from ..panels.conjunction_table import ConjunctionModel, format_pc, severity
from ..panels.plots import UtcDateAxis, sample_pair_distance, tdb_to_posix_utc

MAX_PICTURES = 200  # encounter pictures beyond this are left out (and the report says so)
PLOT_SIZE = (900, 320)
PICTURE_SIZE = (640, 400)
PDF_LAYOUT_DPI = 96  # CSS pixels per inch


@dataclass
class ReportContent:
    title: str
    facts: list[tuple[str, str]]
    events: list
    plots: dict[tuple[str, str], QImage] = field(default_factory=dict)  # per pair
    pictures: dict[int, QImage] = field(default_factory=dict)  # per event index
    notes: list[str] = field(default_factory=list)


def _png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def distance_plot_image(eph1, eph2, start_tdb_s, stop_tdb_s, events, threshold_km, size=PLOT_SIZE) -> QImage:
    """Distance (log km) vs UTC for one pair with the threshold line and its TCAs marked."""
    t, d = sample_pair_distance(eph1, eph2, start_tdb_s, stop_tdb_s, [e.tca_tdb_s for e in events])
    w = pg.PlotWidget(axisItems={"bottom": UtcDateAxis()}, background="w")
    try:
        w.setAttribute(pg.QtCore.Qt.WA_DontShowOnScreen, True)
        w.resize(*size)
        w.show()  # laid out at SIZE (an unshown widget keeps a default geometry and the export's aspect)
        w.setTitle(f"Distance {events[0].object1} – {events[0].object2}", color="k", size="12pt")
        for side in ("left", "bottom"):
            w.getAxis(side).setPen("k")
            w.getAxis(side).setTextPen("k")
        w.setLabel("left", "distance (km, log)")
        w.setLabel("bottom", "UTC")
        w.showGrid(x=True, y=True, alpha=0.3)
        w.setLogMode(y=True)
        w.plot(tdb_to_posix_utc(t), np.maximum(d, 1e-6), pen=pg.mkPen("#0072B2", width=2))
        if threshold_km > 0:
            w.addItem(pg.InfiniteLine(angle=0, pos=math.log10(threshold_km),
                                      pen=pg.mkPen("#D55E00", width=2, style=pg.QtCore.Qt.DashLine)))
        w.addItem(pg.ScatterPlotItem(tdb_to_posix_utc([e.tca_tdb_s for e in events]),
                                     np.log10([max(e.miss_km, 1e-6) for e in events]), size=10,
                                     brush=pg.mkBrush("#E69F00"), pen=pg.mkPen("k")))
        from pyqtgraph.exporters import ImageExporter
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()

        exporter = ImageExporter(w.plotItem)
        exporter.parameters()["width"] = size[0]
        return exporter.export(toBytes=True)
    finally:
        w.close()
        w.deleteLater()


def build_report(window, events=None, pictures: bool = True) -> ReportContent:
    """Collect the table, plots and pictures for WINDOW's current screening (or EVENTS)."""
    from .exports import OffscreenView, login_name

    sc = window.scenario
    result = getattr(window, "planned_result", None) or window.controller.result  # what the table shows
    events = sorted(events if events is not None else (result.events if result else []), key=lambda e: e.tca_tdb_s)
    start, stop = screening_span(sc)
    thr = sc.threshold_km
    facts = [("Scenario", sc.name),
             ("Screening window (UTC)", f"{_utc(start)} → {_utc(stop)} ({(stop - start) / 86400.0:.2f} d)"),
             ("Threshold", f"{thr:g} km (per-object thresholds where the scenario sets them)"),
             ("Objects", ", ".join(o.name for o in sc.objects)),
             ("Close approaches", str(len(events))),
             ("Prepared", f"{_utc_now()} UTC by {login_name()} with marsview")]
    disclaimer = getattr(sc, "disclaimer", "")
    if disclaimer:
        facts.append(("Note", disclaimer))
    planned = getattr(window, "planned_label", None)
    if planned:  # the table shows a maneuver plan, not the delivered ephemerides
        facts.insert(0, ("PLANNED", planned))
    content = ReportContent(("PLANNED — " if planned else "") + f"Close approaches — {sc.name}", facts, events)
    pairs: dict[tuple[str, str], list] = {}
    for e in events:
        pairs.setdefault((e.object1, e.object2), []).append(e)
    indicator = getattr(window, "plan_indicator", None) if planned else None

    def trajectory(name):  # a planned report plots and draws the planned trajectory of the maneuvered object
        delivered = sc.object(name).ephemeris
        return indicator.ephemeris_of(name, delivered) if indicator is not None else delivered

    for (n1, n2), evs in pairs.items():
        pair_thr = getattr(evs[0], "threshold_km", 0.0) or thr
        content.plots[(n1, n2)] = distance_plot_image(trajectory(n1), trajectory(n2), start, stop, evs, pair_thr)
    if pictures and events:
        view = OffscreenView(window, PICTURE_SIZE, reference_height_px=PICTURE_SIZE[1] * 1.2)
        try:
            scene = view.scene
            scene.focus_name = None
            for i, e in enumerate(events[:MAX_PICTURES]):
                if e.object1 in scene.entries and e.object2 in scene.entries:
                    show_event_in(scene, e, sc)  # with its 1-/3-sigma ellipses and hard-body circle
                    if indicator is not None:
                        indicator.apply_to_scene(scene, e)  # the planned encounter of a planned event
                    content.pictures[i] = rgb_to_qimage(view.render(e.tca_tdb_s))
        finally:
            view.close()
        if len(events) > MAX_PICTURES:
            content.notes.append(f"Pictures are shown for the first {MAX_PICTURES} of {len(events)} close "
                                 f"approaches (by TCA); the table lists all of them.")
    return content


def _utc(tdb_s: float, digits: int = 0) -> str:
    return format_epoch(tdb_s, "UTC", digits=digits).replace("T", " ")


def _utc_now() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _num(x, digits=3) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


ROW_COLOURS = {2: "#f7c6c0", 1: "#fde3b0", 0: "#ffffff"}  # light tints: black text stays >= 12:1


def report_html(content: ReportContent, image_src) -> str:
    """The report as HTML; IMAGE_SRC(key, QImage) returns the <img> src (data URI or resource name)."""
    e_ = html.escape
    out = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>", f"<title>{e_(content.title)}</title>",
           "<style>body{font-family:sans-serif;color:#000;background:#fff;margin:24px}"
           "table{border-collapse:collapse}td,th{border:1px solid #888;padding:3px 6px}"
           "td.n{text-align:right;font-family:monospace;white-space:nowrap}td.t{white-space:nowrap}"
           "small{font-size:small}th{background:#e8e8e8}</style></head><body>",
           f"<h1>{e_(content.title)}</h1>", "<table class='facts'>"]
    out += [f"<tr><th align='left'>{e_(k)}</th><td>{e_(v)}</td></tr>" for k, v in content.facts]
    out.append("</table>")
    out.append("<p>Epochs UTC; distances km in the RTN frame of the first object at TCA (R radial, T in-track, "
               "N cross-track); crossing Δt = seconds after the first object that the second "
               "passes the point where their paths cross; Pc as computed by marsview where covariances are "
               "known (— = not computed). "
               "Rows: red = miss &lt; 20 % of the threshold or Pc ≥ 1e-4, amber = &lt; 50 % or Pc ≥ 1e-6.</p>")
    out += [f"<p><i>{e_(n)}</i></p>" for n in content.notes]
    out.append("<h2>Close approaches</h2><table class='events'><tr><th>#</th><th>Pair</th><th>TCA (UTC)</th>"
               "<th>Miss (km)</th><th>Rel. speed (km/s)</th><th>R (km)</th><th>T (km)</th><th>N (km)</th>"
               "<th>Crossing Δt (s)</th><th>Miss / σ</th><th>Pc</th><th>Level</th></tr>")
    for i, ev in enumerate(content.events):
        lvl = severity(ev)
        # the method on its own small line, so the numbers never wrap (a PDF page is narrower than a screen)
        pc = e_(format_pc(ev.pc)) + (f"<br><small>{e_(ev.pc_method)}</small>" if ev.pc is not None and ev.pc_method
                                     else "")
        out.append(f"<tr class='ca' bgcolor='{ROW_COLOURS[lvl]}'><td class='n'>{i + 1}</td>"
                   f"<td>{e_(ev.object1)} – {e_(ev.object2)}</td><td class='t'>{_utc(ev.tca_tdb_s, 3)}</td>"
                   f"<td class='n'>{_num(ev.miss_km)}</td><td class='n'>{_num(ev.relative_speed_kms)}</td>"
                   f"<td class='n'>{_num(ev.radial_km)}</td><td class='n'>{_num(ev.in_track_km)}</td>"
                   f"<td class='n'>{_num(ev.cross_track_km)}</td>"
                   f"<td class='n'>{_num(getattr(ev, 'crossing_dt_s', float('nan')), 1)}</td>"
                   f"<td class='n'>{_num(getattr(ev, 'miss_sigma', float('nan')), 2)}</td>"
                   f"<td class='n'>{pc}</td><td>{('none', 'AMBER', 'RED')[lvl]}</td></tr>")
    out.append("</table>")
    # one plot or picture per page (an A4 landscape page holds one 320-px plot or 400-px picture with its
    # heading, not two): each starts a page, so no heading is left alone at the foot of the previous one
    new_page = " style='page-break-before:always'"
    if content.plots:
        out.append(f"<h2{new_page}>Distance between the objects of each pair</h2>")
        for k, ((n1, n2), img) in enumerate(content.plots.items()):
            out.append(f"<h3{new_page if k else ''}>{e_(n1)} – {e_(n2)}</h3><p><img width='{img.width()}' "
                       f"src='{e_(image_src(f'plot-{n1}-{n2}', img))}' alt='distance {e_(n1)} – {e_(n2)}'></p>")
    if content.pictures:
        out.append(f"<h2{new_page}>Encounters</h2><p>Each picture is centred between the two objects at TCA: their "
                   "relative path and the miss vector at metre scale.</p>")
        for k, (i, img) in enumerate(content.pictures.items()):
            ev = content.events[i]
            out.append(f"<h3{new_page if k else ''}>#{i + 1} {e_(ev.object1)} – {e_(ev.object2)}, TCA "
                       f"{_utc(ev.tca_tdb_s, 3)} UTC, miss {_num(ev.miss_km)} km</h3><p><img width='{img.width()}' "
                       f"src='{image_src(f'encounter-{i}', img)}' alt='encounter {i + 1}'></p>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html(content: ReportContent, path) -> None:
    def data_uri(_key, img):
        return "data:image/png;base64," + base64.b64encode(_png_bytes(img)).decode("ascii")

    atomic_write_text(Path(path), report_html(content, data_uri))


def write_pdf(content: ReportContent, path) -> None:
    """A4 landscape PDF of the same HTML (images as QTextDocument resources; Qt reads no data URIs)."""
    doc = QTextDocument()
    resources = {}

    def resource(key, img):
        name = f"res/{key}.png"
        resources[name] = img
        return name

    text = report_html(content, resource)
    for name, img in resources.items():
        doc.addResource(QTextDocument.ImageResource, QUrl(name), img)
    doc.setHtml(text)
    tmp = Path(str(path) + ".part")
    writer = QPdfWriter(str(tmp))
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.A4), QPageLayout.Landscape, QMarginsF(12, 12, 12, 12),
                                     QPageLayout.Millimeter))
    writer.setTitle(content.title)
    writer.setCreator("marsview")
    # Lay the document out in CSS pixels (96 per inch, the unit of the HTML's font sizes and image widths) on
    # a page as wide as A4's printable area; print_() then scales that page onto the writer's. Laid out in
    # the writer's own 1200-dpi pixels, everything came out at 96/1200 of its size in the page's corner.
    writer.setResolution(PDF_LAYOUT_DPI)
    doc.documentLayout().setPaintDevice(writer)
    doc.setPageSize(writer.pageLayout().paintRectPixels(PDF_LAYOUT_DPI).size().toSizeF())
    doc.print_(writer)
    del writer  # flushes and closes the file
    data = tmp.read_bytes()
    tmp.unlink()
    atomic_write_bytes(Path(path), data)


def write_csv(content: ReportContent, path) -> None:
    model = ConjunctionModel()
    model.set_events(content.events)
    atomic_write_text(Path(path), model.to_csv())


def export_report(window, html_path, pdf_path=None, csv_path=None, pictures: bool = True) -> ReportContent:
    content = build_report(window, pictures=pictures)
    write_html(content, html_path)
    if pdf_path:
        write_pdf(content, pdf_path)
    if csv_path:
        write_csv(content, csv_path)
    return content


def open_report_dialog(window):
    if window.controller.result is None:
        window.report_error("No screening result yet: the report needs the close approaches")
        return None
    path, _ = QFileDialog.getSaveFileName(window, "Save the close-approach report (HTML; PDF and CSV beside it)",
                                          "close_approaches.html", "HTML (*.html)")
    if not path:
        return None
    base = Path(path).with_suffix("")
    try:
        content = export_report(window, path, base.with_suffix(".pdf"), base.with_suffix(".csv"))
    except OSError as exc:
        window.report_error(f"Could not write the report: {exc}")
        return None
    window.statusBar().showMessage(f"Wrote {path} (+ .pdf, .csv): {len(content.events)} close approaches", 10000)
    return content
