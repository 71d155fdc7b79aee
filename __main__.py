"""``python -m regsim``: the ``regsim`` command."""

import sys

from .cli import main

sys.exit(main())
