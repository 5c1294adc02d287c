"""``python -m gens_tools.cli``: the command line."""

import sys

from gens_tools.cli import main

sys.exit(main())
