"""What the fault-injection tests tried, added up over the session and printed at its end.

Under pytest-xdist every worker adds up its own tests; tests/conftest.py sends each worker's
totals to the controller (xdist's `workeroutput`), which adds them and prints one line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


class CheckedRun(Protocol):
    """What a consistency check reports (tests/integration/conftest.py's Consistency)."""

    files: int
    lost: list[str]
    duplicated: list[str]


@dataclass
class FaultTotals:
    schedules: int = 0
    faults: int = 0
    files: int = 0
    lost: int = 0
    duplicated: int = 0

    def record(self, schedules: int, faults: int, consistency: CheckedRun) -> None:
        self.schedules += schedules
        self.faults += faults
        self.files += consistency.files
        self.lost += len(consistency.lost)
        self.duplicated += len(consistency.duplicated)

    def add(self, other: dict[str, Any]) -> None:
        """Add a worker's totals (as `as_dict` wrote them)."""
        for name, value in other.items():
            setattr(self, name, getattr(self, name) + int(value))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def summary_lines(self, soak_fault_schedules: int) -> list[str]:
        lines = []
        if self.schedules:
            lines.append(
                f"fault injection: {self.schedules} schedules tried ({self.faults} with a fault), "
                f"{self.files} files, {self.lost} lost, {self.duplicated} duplicated"
            )
        if self.fell_short(soak_fault_schedules):
            lines.append(
                f"soak fell short: {self.faults} of {soak_fault_schedules} schedules with a fault"
            )
        return lines

    def fell_short(self, soak_fault_schedules: int) -> bool:
        return bool(soak_fault_schedules) and self.faults < soak_fault_schedules


FAULT_TOTALS = FaultTotals()
