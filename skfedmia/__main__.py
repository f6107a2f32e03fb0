"""``python -m skfedmia``: the command line."""

import sys

from .experiments._cli import main

if __name__ == "__main__":
    sys.exit(main())
