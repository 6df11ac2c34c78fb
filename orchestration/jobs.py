"""Backfills and re-processings from the command line: count what the run would discover (the
selection the discover step records, snowpark_procs/steps/selections.py), price it with the
capacity model, refuse an empty re-processing, then (unless a dry run) queue the request and run.

The embedded stack's directory table is refreshed from the bucket first, as Snowflake keeps its
auto-refreshed one current; nothing else is written (no request, no run, no change set).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.local.directory_table import refresh_directory
from orchestration.local.stack import LocalStack
from pixelforge_core.capacity import CapacityModel, Estimate
from snowpark_procs.run_config import RunConfig
from snowpark_procs.steps.selections import EmptySelectionError, describe, estimate_selection

__all__ = ["EmptySelectionError", "JobEstimate", "estimate_job"]


@dataclass(frozen=True)
class JobEstimate:
    """A backfill or re-processing, priced before it runs: at `model`'s capacity, and at the
    embedded stack's (`local`) when given."""

    config: RunConfig
    estimate: Estimate
    local: Estimate | None = None

    def lines(self) -> list[tuple[str, str]]:
        lines = [("job", describe(self.config)), *self.estimate.lines()]
        if self.local is not None:
            local = self.local
            lines.append(
                (
                    "on this stack",
                    f"{local.wall_hours * 3600:,.0f} s wall in {local.runs:,} bounded runs "
                    f"({local.model.measured_on})",
                )
            )
        return lines


def estimate_job(
    stack: LocalStack,
    config: RunConfig,
    model: CapacityModel,
    local_model: CapacityModel | None = None,
) -> JobEstimate:
    """Count and price the job on the stack (and at `local_model`'s capacity, the stack's); a
    re-processing that selects nothing is refused (EmptySelectionError)."""
    with stack.session() as session:
        refresh_directory(session, stack.s3(), stack.settings.designs_bucket, "designs")
        found = estimate_selection(session, config, model)
        local = estimate_selection(session, config, local_model) if local_model else None
        return JobEstimate(config, found, local)
