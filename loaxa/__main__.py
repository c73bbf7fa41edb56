"""``python -m loaxa``: the same as the ``loaxa`` command."""

import sys

from loaxa.cli import main

sys.exit(main())
