"""What every sub-command does with its outputs and size arguments, so each refuses the same way.

``check_output_file`` / ``check_output_folder`` are called before any heavy work: an output that cannot be
written (a folder given as a file, a missing or read-only folder, a file given as a folder) is refused in one
line (``CliError``) instead of a traceback after minutes of screening. ``write_text_output`` writes ``-`` to
stdout, devices and pipes directly, and regular files atomically (through the target of a symlink) via
io.atomic. ``check_sample_count`` refuses a span/step that would not fit in memory before allocating it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MAX_SAMPLES = 10_000_000  # states per output (a 1e7-line OEM is ~1.5 GB of text)


class CliError(ValueError):
    """A bad argument or output, reported as one line."""


def check_output_file(path, option: str = "-o", suffixes: tuple[str, ...] = ()) -> None:
    """Refuse, before any work, an output file that cannot be written."""
    if path is None or str(path) == "-":
        return
    text = str(path)
    if not text.strip():
        raise CliError(f"{option}: empty file name")
    target = Path(os.path.realpath(text))
    if target.is_dir():
        raise CliError(f"{option} {text}: is a folder, not a file")
    if suffixes and not text.lower().endswith(suffixes):
        raise CliError(f"{option} {text}: the file name must end in {' or '.join(suffixes)}")
    folder = target.parent
    if not folder.is_dir():
        raise CliError(f"{option} {text}: the folder {folder} does not exist")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise CliError(f"{option} {text}: not writable (permission denied)")
        if not target.is_file():  # a device or pipe: written directly, no temporary file needed
            return
    _probe(folder, option, text)


def _probe(folder: Path, option: str, text: str) -> None:
    """Create and remove a temporary file in FOLDER: the only test that also holds for root and read-only
    file systems."""
    import tempfile

    try:
        fd, name = tempfile.mkstemp(prefix=".marsview-probe.", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise CliError(f"{option} {text}: cannot write into {folder} ({exc.strerror or exc})") from None


def check_output_folder(path, option: str) -> None:
    """Refuse an output folder that is a file, or cannot be created or written."""
    text = str(path)
    if not text.strip():
        raise CliError(f"{option}: empty folder name")
    target = Path(os.path.realpath(text))
    if target.exists() and not target.is_dir():
        raise CliError(f"{option} {text}: is a file, not a folder")
    existing = target
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CliError(f"{option} {text}: {existing} is a file, not a folder")
    _probe(existing, option, text)


def write_text_output(path, text: str) -> None:
    """TEXT to stdout (None or '-'), else to PATH (regular files atomically; devices and pipes directly)."""
    if path is None or str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from marsview.io.atomic import atomic_write_text

    atomic_write_text(path, text)


def check_sample_count(span_s: float, step_s: float, option: str = "--step") -> int:
    """Number of samples of SPAN_S every STEP_S, refused when it would not fit (before allocating)."""
    if not (step_s > 0 and step_s != float("inf")):
        raise CliError(f"{option} must be a finite duration > 0")
    if not span_s >= 0 or span_s == float("inf"):
        raise CliError("the span must be a finite duration >= 0")
    count = span_s / step_s
    if count > MAX_SAMPLES:
        raise CliError(f"{count:.3g} samples ({span_s / 86400.0:g} days every {step_s:g} s) is more than "
                       f"{MAX_SAMPLES:,}: use a longer {option} or a shorter span")
    return int(count)


def check_threshold_km(km: float) -> None:
    """--threshold-km: a positive, finite distance (inf would screen every local minimum, and is no JSON)."""
    if not 0 < km < float("inf"):
        raise CliError(f"--threshold-km must be a positive number of km, got {km}")
