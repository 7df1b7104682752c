import sys

from marsview.cli import main

sys.exit(main())
