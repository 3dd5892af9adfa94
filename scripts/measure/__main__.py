"""python -m scripts.measure: measure one cell (see scripts.measure.run)."""

import sys

from scripts.measure.run import main

sys.exit(main())
