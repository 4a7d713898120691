"""``python -m glassnet`` runs the command-line interface."""

import sys

from glassnet.cli import main

sys.exit(main())
