"""Atomic file writes: a reader never sees a half-written file, and a crash never truncates the old one.

Only regular files are written atomically: a symlink is followed (its target is updated, the link stays), and
a character device, FIFO or socket (``/dev/null``, ``/dev/stdout``, a pipe) is written directly - replacing
such a node by a regular file would, run as root, replace /dev/null.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def resolve_output(path) -> tuple[Path, bool]:
    """(where to write, whether to write it directly): the symlink's final target; direct for an existing node
    that is not a regular file."""
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode
    except OSError:
        return target, False
    return target, not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write DATA to PATH via a temporary file in the same folder, fsync, then os.replace."""
    target, direct = resolve_output(path)
    if direct:
        with open(target, "wb") as fh:
            fh.write(data)
        return
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():  # keep the permissions of the file being replaced
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_folder(folder)


def fsync_folder(folder) -> None:
    """Make renames and new entries in FOLDER durable (best effort: some file systems refuse)."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> None:
    """Write TEXT atomically (newlines written as given: CCSDS files use '\\n')."""
    atomic_write_bytes(path, text.encode(encoding))


class atomic_open:
    """``with atomic_open(path) as fh: fh.write(...)``: stream a large text file, then fsync and os.replace.
    On an exception the target is left untouched."""

    def __init__(self, path, encoding: str = "utf-8"):
        self.target, self.direct = resolve_output(path)
        self.encoding = encoding

    def __enter__(self):
        if self.direct:
            self.fh = open(self.target, "w", encoding=self.encoding, newline="\n")
            return self.fh
        folder = self.target.parent if str(self.target.parent) else Path(".")
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=folder)
        self.fh = os.fdopen(fd, "w", encoding=self.encoding, newline="\n")
        return self.fh

    def __exit__(self, exc_type, exc, tb):
        if self.direct:
            self.fh.close()
            return False
        try:
            if exc_type is None:
                self.fh.flush()
                os.fsync(self.fh.fileno())
            self.fh.close()
        finally:
            if exc_type is not None:
                try:
                    os.unlink(self.tmp)
                except FileNotFoundError:
                    pass
        if exc_type is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = self.target.stat().st_mode & 0o7777 if self.target.exists() else 0o666 & ~umask
            os.chmod(self.tmp, mode)
            os.replace(self.tmp, self.target)
        return False
