"""``python -m slavc_lite``: the same as the ``slavc-lite`` command."""

import sys

from slavc_lite.cli import main

sys.exit(main())
