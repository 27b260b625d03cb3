"""`python -m camelops` is the same as the `camelops` console script."""

import sys

from camelops.cli import main

sys.exit(main())
