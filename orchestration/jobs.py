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
from snowpark_procs.run_config import RunConfig, RunConfigError
from snowpark_procs.steps.selections import estimate_selection


class EmptySelectionError(RunConfigError):
    """A re-processing whose filters select no current file version."""


@dataclass(frozen=True)
class JobEstimate:
    """A backfill or re-processing, priced before it runs."""

    config: RunConfig
    estimate: Estimate

    def lines(self) -> list[tuple[str, str]]:
        return [("job", describe(self.config)), *self.estimate.lines()]


def describe(config: RunConfig) -> str:
    """One line naming the job: its mode, and its window or steps and filters."""
    if config.mode == "backfill":
        return (
            f"backfill of the files last modified in [{config.window_start:%Y-%m-%dT%H:%M:%SZ}, "
            f"{config.window_end:%Y-%m-%dT%H:%M:%SZ})"
        )
    filters = [f"under {config.prefix!r}" if config.prefix else "every key"]
    if config.file_format:
        filters.append(f"format {config.file_format}")
    return f"re-processing ({', '.join(config.steps)}) of the current versions, " + ", ".join(
        filters
    )


def estimate_job(stack: LocalStack, config: RunConfig, model: CapacityModel) -> JobEstimate:
    """Count and price the job on the stack; a re-processing that selects nothing is refused
    (EmptySelectionError)."""
    with stack.session() as session:
        refresh_directory(session, stack.s3(), stack.settings.designs_bucket, "designs")
        estimate = estimate_selection(session, config, model)
    if config.mode == "reprocess" and estimate.files == 0:
        raise EmptySelectionError(
            f"no current file version matches: {describe(config)} selects nothing "
            '(`pixelforge sql "select relative_path, format from raw.file_metadata"` lists them)'
        )
    return JobEstimate(config, estimate)
