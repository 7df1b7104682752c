"""Where the shipped resources (default scenario, icons) are, in a checkout, an install or a frozen app."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The folder that holds ``default_scenario/`` and ``icons/``.

    A PyInstaller bundle unpacks it under ``sys._MEIPASS/resources``; a checkout or editable install keeps it
    beside the package (the repository's top-level ``resources/``).
    """
    frozen = getattr(sys, "_MEIPASS", None)
    candidates = []
    if frozen:
        candidates.append(Path(frozen) / "resources")
    candidates.append(Path(__file__).resolve().parent.parent / "resources")
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError("marsview resources folder not found (looked in: "
                            + ", ".join(str(c) for c in candidates) + ")")


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
