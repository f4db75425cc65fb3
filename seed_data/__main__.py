"""python -m seed_data [PATH ...] [--dry-run]"""

import sys

from seed_data.cli import main

# The guard matters: big loads render in spawned worker processes, which re-import __main__.
if __name__ == "__main__":
    sys.exit(main())
