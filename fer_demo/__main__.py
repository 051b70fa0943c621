"""``python -m fer_demo``: see :mod:`fer_demo.cli`."""

import sys

from fer_demo.cli import main

sys.exit(main())
