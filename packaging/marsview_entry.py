"""Entry point frozen by PyInstaller (see marsview.spec)."""

import sys

from marsview.cli import main

if __name__ == "__main__":
    sys.exit(main())
