"""Entry point frozen by PyInstaller (see marsview.spec)."""

import multiprocessing
import sys

from marsview.cli import main

if __name__ == "__main__":
    # maneuver planning runs in spawned child processes; a frozen app must route them here
    multiprocessing.freeze_support()
    sys.exit(main())
