"""Issue 17: outputs. `-o -` goes to stdout, a FIFO or device is written directly (never replaced by a regular
file), a symlink's target is updated (the link stays), a regular file is replaced atomically."""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from marsview.cli import main
from marsview.io.atomic import atomic_open, atomic_write_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from test_bad_input import OPM  # noqa: E402


@pytest.fixture
def opm(tmp_path):
    path = tmp_path / "in.opm"
    path.write_text(OPM)
    return path


def test_output_onto_a_symlink_updates_its_target(tmp_path, opm):
    target = tmp_path / "real.oem"
    target.write_text("old")
    link = tmp_path / "link.oem"
    link.symlink_to(target)
    assert main(["propagate", str(opm), "--duration", "10m", "-o", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("CCSDS_OEM_VERS")


def _fifo_reader(path, out):
    with open(path, "rb") as fh:
        out.append(fh.read())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("writer", ["bytes", "stream", "cli"])
def test_a_fifo_is_written_directly_not_replaced(tmp_path, opm, writer):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=_fifo_reader, args=(fifo, got))
    reader.start()
    if writer == "bytes":
        atomic_write_bytes(fifo, b"hello\n")
    elif writer == "stream":
        with atomic_open(fifo) as fh:
            fh.write("hello\n")
    else:
        assert main(["propagate", str(opm), "--duration", "10m", "-o", str(fifo)]) == 0
    reader.join(30)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still the pipe
    assert got and (got[0] == b"hello\n" or got[0].startswith(b"CCSDS_OEM_VERS"))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_dash_writes_stdout(tmp_path, capsys):
    from marsview.cli.output import write_text_output

    write_text_output("-", "a,b\n")
    assert capsys.readouterr().out == "a,b\n"
    assert not list(tmp_path.iterdir())


def test_regular_file_replaced_atomically_keeps_mode(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o640
