"""`python -m tui`: the console (also what `textual serve "python -m tui"` serves)."""

import sys

from engine.cli.main import main

sys.exit(main(sys.argv[1:]))
