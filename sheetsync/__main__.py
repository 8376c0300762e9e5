"""`python -m sheetsync` is the `sheetsync` command."""

import sys

from sheetsync.app.cli import main

sys.exit(main())
