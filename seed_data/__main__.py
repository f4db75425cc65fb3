"""python -m seed_data [PATH ...] [--dry-run]"""

import sys

from seed_data.cli import main

sys.exit(main())
