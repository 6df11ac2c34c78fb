"""`python -m bench`: every benchmark at reduced scale (`--full` for full scale)."""

from __future__ import annotations

import sys

from bench.run_all import main

sys.exit(main())
