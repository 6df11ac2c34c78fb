"""How hard the property-based tests look: the suite's numbers, raised by `make soak`.

- PIXELFORGE_SOAK_FACTOR multiplies the examples of the hostile-input generators (`examples`).
- PIXELFORGE_SOAK_FAULT_SCHEDULES: the fault sequences keep drawing until that many schedules
  with a fault injected were tried (tests/integration/test_fault_sequences.py); the session fails
  if they fell short.
"""

from __future__ import annotations

import os

SOAK_FACTOR = max(1, int(os.environ.get("PIXELFORGE_SOAK_FACTOR", "1")))
SOAK_FAULT_SCHEDULES = int(os.environ.get("PIXELFORGE_SOAK_FAULT_SCHEDULES", "0"))


def examples(suite: int) -> int:
    """The examples a property-based test tries: `suite` in the suite, more in a soak."""
    return suite * SOAK_FACTOR
