"""Movie export: a time span rendered off-screen at a chosen size and frame rate to MP4 (H.264 through
imageio-ffmpeg's bundled ffmpeg) or to a folder of PNG frames.

Frames are rendered on the GUI thread (the GL context lives there), one per timer tick, by an
``OffscreenView`` that mirrors the window's view, so the shown view is untouched and the GUI stays usable
between frames; encoding and file writing run as one job on a ``core.jobs.ThreadExecutor`` (the writer), fed
through a small bounded queue. Cancel (the job's cancel token) stops both and removes the partial output.
Frame epochs: ``marsview.render.movie_frames``.
"""

from __future__ import annotations

import os
import queue
import traceback
from concurrent.futures import wait as wait_futures
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLineEdit,
                               QProgressDialog)

from marsview.core.jobs import ThreadExecutor
from marsview.core.time import format_epoch, parse_duration_s, utc_to_tdb_s
from marsview.render.movie_frames import frame_epochs, parse_size, png_frame_name

from ..globe_view import rgb_to_qimage


# --- frame sinks (thread-safe to use from one writer thread) -----------------------------------------
class Mp4Sink:
    """H.264 yuv420p MP4 (plays everywhere); written to PATH.part.mp4 and renamed when complete."""

    def __init__(self, path, size, fps: float):
        import logging

        import imageio_ffmpeg

        quiet = logging.getLogger("imageio_ffmpeg")  # its warnings ("Error while attempting stop ffmpeg") would
        if not quiet.handlers:                       # reach stderr through logging's last resort: the failure is
            quiet.addHandler(logging.NullHandler())  # reported once, as our OSError
        w, h = size
        if w % 2 or h % 2:
            raise ValueError(f"MP4 (H.264, yuv420p) needs an even width and height, got {w}x{h}")
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".part.mp4")
        self.count = 0
        self._gen = imageio_ffmpeg.write_frames(str(self.tmp), (w, h), fps=fps, codec="libx264", quality=None,
                                                pix_fmt_in="rgb24", pix_fmt_out="yuv420p", macro_block_size=1,
                                                ffmpeg_log_level="error", output_params=["-crf", "18"])
        # ffmpeg inherits fd 2: point it at a log file while it starts, so its raw messages never reach the
        # user's terminal; a failure is reported as one line taken from that log
        import tempfile

        self._log = tempfile.TemporaryFile()
        saved = os.dup(2)
        try:
            os.dup2(self._log.fileno(), 2)
            self._guard(self._gen.send, None)
        finally:
            os.dup2(saved, 2)
            os.close(saved)

    def _guard(self, call, *args):
        try:
            return call(*args)
        except (OSError, RuntimeError, ValueError, BrokenPipeError) as exc:
            raise OSError(f"ffmpeg could not write {self.path}: {self._ffmpeg_message(exc)}") from None

    def _ffmpeg_message(self, exc) -> str:
        self._log.seek(0)
        lines = [ln.strip() for ln in self._log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        text = next((ln for ln in lines if "rror" in ln), lines[-1] if lines else "") or next(
            (ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        return text.split("Error while attempting stop")[0].strip()[:200]  # imageio-ffmpeg's own addendum

    def write(self, rgb: np.ndarray) -> None:
        self._guard(self._gen.send, np.ascontiguousarray(rgb[..., :3], dtype=np.uint8))
        self.count += 1

    def close(self) -> None:
        self._guard(self._gen.close)
        self._log.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self._gen.close()
        except (OSError, RuntimeError, ValueError):
            pass  # already failing: the first error is the one reported
        finally:
            self.tmp.unlink(missing_ok=True)
            self._log.close()


class PngSequenceSink:
    """frame_00000.png, frame_00001.png, ... in FOLDER (created if needed)."""

    def __init__(self, folder, size=None, fps=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def write(self, rgb: np.ndarray) -> None:
        path = self.folder / png_frame_name(self.count)
        if not rgb_to_qimage(rgb).save(str(path), "PNG"):
            raise OSError(f"{path}: could not write the PNG frame")
        self.count += 1

    def close(self) -> None:
        pass

    def abort(self) -> None:
        for i in range(self.count):
            (self.folder / png_frame_name(i)).unlink(missing_ok=True)


def open_sink(output, size, fps):
    """An MP4 sink for '*.mp4', else a PNG-sequence sink for the folder OUTPUT."""
    return (Mp4Sink if str(output).lower().endswith(".mp4") else PngSequenceSink)(output, size, fps)


def render_movie(window, output, start_tdb_s, duration_s, fps, warp, size, theme=None, progress=None,
                 cancelled=None, reference_height_px=1080) -> int:
    """Synchronous export (CLI, scripts): returns the number of frames written."""
    from .exports import OffscreenView

    epochs = frame_epochs(start_tdb_s, duration_s, fps, warp)
    sink = open_sink(output, size, fps)
    view = OffscreenView(window, size, theme=theme, reference_height_px=reference_height_px)
    try:
        for i, t in enumerate(epochs):
            if cancelled is not None and cancelled():
                sink.abort()
                return i
            sink.write(view.render(t))
            if progress is not None:
                progress(i + 1, len(epochs))
        sink.close()
    except BaseException:
        sink.abort()
        raise
    finally:
        view.close()
    return len(epochs)


# --- background export from the GUI ------------------------------------------------------------------
class MovieExport(QObject):
    """Renders one frame per timer tick; a writer job (``core.jobs``) encodes. Progress and completion are reported by
    the same timer on the GUI thread through plain callbacks (``on_progress(done, total)``,
    ``on_finished(output, frames)``, ``on_failed(message)``, ``on_canceled()``): no Qt signal is emitted
    per frame from Python (PySide6 6.12.0 loses a reference to True on every Python-side ``emit``)."""

    def __init__(self, window, output, start_tdb_s, duration_s, fps, warp, size, theme=None, parent=None):
        super().__init__(parent or window)
        from .exports import OffscreenView

        self.window, self.output = window, str(output)
        self.epochs = frame_epochs(start_tdb_s, duration_s, fps, warp)
        self.sink = open_sink(output, size, fps)
        self.view = OffscreenView(window, size, theme=theme, reference_height_px=1080)
        self._queue: queue.Queue = queue.Queue(maxsize=4)  # bounds memory: 4 frames in flight
        self._next = 0
        self._writer = ThreadExecutor("movie-writer", latest_wins=False)
        self._future = None  # the writer job; its token is the export's cancel flag
        self._error: str | None = None
        self._reported = -1
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)
        self.running = False
        self.on_progress = self.on_finished = self.on_failed = self.on_canceled = None

    def start(self) -> None:
        self.running = True
        self._future = self._writer.submit(self._write_loop)
        self._timer.start()

    def _cancelled(self) -> bool:
        return self._future is not None and self._future.token.is_set()

    def cancel(self) -> None:
        if self._future is not None:
            self._future.token.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass  # the writer sees the cancel flag after its current frame

    def wait(self, timeout_s: float = 60.0) -> bool:
        if self._future is None:
            return True
        done, _ = wait_futures([self._future], timeout=timeout_s)
        return bool(done)

    def _tick(self) -> None:
        if self.sink.count != self._reported and self.on_progress is not None:
            self._reported = self.sink.count
            self.on_progress(self.sink.count, len(self.epochs))
        if self._future.done():
            self._done()
            return
        if self._cancelled() or self._next > len(self.epochs) or self._queue.full():
            return  # the writer is behind: try at the next tick instead of blocking the GUI
        if self._next == len(self.epochs):
            self._queue.put(None)
        else:
            self._queue.put(self.view.render(self.epochs[self._next]))
        self._next += 1

    def _write_loop(self, cancel) -> None:
        try:
            while True:
                rgb = self._queue.get()
                if rgb is None or cancel.is_set():
                    break
                self.sink.write(rgb)
            if cancel.is_set():
                self.sink.abort()
            else:
                self.sink.close()
        except Exception as exc:  # shown to the user by the dialog's owner
            self._error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            cancel.set()
            try:
                self.sink.abort()
            except Exception:  # noqa: BLE001 -- the first error is the one to report
                pass

    def _done(self) -> None:
        self._timer.stop()
        self.view.close()
        self.running = False
        if self._error:
            callback, args = self.on_failed, (self._error,)
        elif self._cancelled():
            callback, args = self.on_canceled, ()
        else:
            callback, args = self.on_finished, (self.output, self.sink.count)
        self._writer.shutdown(0.0)  # the job is done: let its thread go
        if callback is not None:
            callback(*args)


def start_movie_export(window, output, start_tdb_s, duration_s, fps, warp, size, theme=None) -> MovieExport:
    """Start a background export with a non-modal progress dialog (objectName ``movieProgress``)."""
    export = MovieExport(window, output, start_tdb_s, duration_s, fps, warp, size, theme=theme)
    dialog = QProgressDialog(f"Rendering {len(export.epochs)} frames to {output}…", "Cancel", 0,
                             len(export.epochs), window)
    dialog.setObjectName("movieProgress")
    dialog.setWindowModality(Qt.NonModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.canceled.connect(export.cancel)

    def finished(out, n):
        dialog.close()
        window.statusBar().showMessage(f"Wrote {out} ({n} frames)", 10000)

    def failed(msg):
        dialog.close()
        window.report_error("Movie export failed: " + msg.splitlines()[0], msg)

    export.on_progress = lambda n, _total: dialog.setValue(n)
    export.on_finished, export.on_failed, export.on_canceled = finished, failed, dialog.close
    export.dialog = dialog
    window.movie_export = export
    dialog.show()
    export.start()
    return export


class MovieDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setObjectName("movieDialog")
        self.setWindowTitle("Export movie")
        form = QFormLayout(self)
        c = window.clock
        self.start = QLineEdit(format_epoch(c.tdb_s, "UTC", digits=0))
        span_s = max(c.stop_tdb_s - c.tdb_s, 60.0)
        self.duration = QLineEdit(f"{span_s:.0f}s")
        self.fps = QLineEdit("30")
        self.warp = QLineEdit(f"{max(round(span_s / 60.0), 1):g}")  # a one-minute movie of the rest of the window
        self.size = QLineEdit("1920x1080")
        self.theme = QComboBox()
        self.theme.addItems(["workstation", "projector"])
        self.theme.setCurrentText(window.theme.name)
        for label, w in (("Start (UTC)", self.start), ("Duration (e.g. 6h, 1d)", self.duration),
                         ("Frames per second", self.fps), ("Warp (sim s per movie s)", self.warp),
                         ("Size (WxH)", self.size), ("Theme", self.theme)):
            form.addRow(label, w)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        """Parsed values; ValueError naming the field."""
        from marsview.render.themes import theme_named

        try:
            start = utc_to_tdb_s(self.start.text())
        except ValueError as exc:
            raise ValueError(f"Start: {exc}") from None
        return dict(start_tdb_s=start, duration_s=parse_duration_s(self.duration.text()), fps=float(self.fps.text()),
                    warp=float(self.warp.text()), size=parse_size(self.size.text()),
                    theme=theme_named(self.theme.currentText()))


def open_movie_dialog(window):
    dlg = MovieDialog(window)
    if dlg.exec() != QDialog.Accepted:
        return None
    try:
        values = dlg.values()
        frame_epochs(values["start_tdb_s"], values["duration_s"], values["fps"], values["warp"])
    except ValueError as exc:
        window.report_error(f"Movie: {exc}")
        return None
    path, chosen = QFileDialog.getSaveFileName(window, "Save movie (MP4) or a folder name for PNG frames",
                                               "marsview.mp4", "MP4 video (*.mp4);;PNG frames (folder)")
    if not path:
        return None
    if chosen.startswith("MP4") and not path.lower().endswith(".mp4"):
        path += ".mp4"
    try:
        return start_movie_export(window, path, **values)
    except (OSError, ValueError) as exc:
        window.report_error(f"Movie: {exc}")
        return None
