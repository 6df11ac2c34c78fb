"""What a backfill or a re-processing selects, defined once: the discover step records it as the
run's change set, and the dry runs count it (files, bytes) and price it with the capacity model
(pixelforge_core/capacity.py) before anything runs: `pixelforge backfill/reprocess --dry-run`
here, OPS.BACKFILL / OPS.REPROCESS(..., dry_run => TRUE) through the procedure
raw.estimate_request in Snowflake.

Each selection is one SELECT file (snowpark_procs/sql/select_backfill_files.sql,
select_reprocess_files.sql, select_stale_facet_files.sql for a facet re-processing, whose
count per facet is also the nightly reconciliation's stale-facet check); the statements that
use it name it `selected_files` (discover_selected_files.sql, count_selected_files.sql) and
get it put in place here, so the count a dry run prints is over the very rows the real run
would discover.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pixelforge_core.capacity import CapacityModel, Estimate, JobSize, estimate
from pixelforge_core.facets import FACET_NAMES, facet
from snowpark_procs.run_config import REPROCESS_STEPS, RunConfig, RunConfigError
from snowpark_procs.sql import read_sql
from snowpark_procs.steps.common import SqlSession

# The name the using statements give the selection.
PLACEHOLDER = "from selected_files"


class EmptySelectionError(RunConfigError):
    """A re-processing whose filters select no current file version (a backfill of an empty
    window is allowed: it finds nothing, as the scheduled runs would)."""


@dataclass(frozen=True)
class Selection:
    """A selection's SQL file, its binds and the steps the run redoes over it."""

    sql_name: str
    params: tuple[Any, ...]
    steps: tuple[str, ...]

    def into(self, statement_name: str) -> str:
        """The statement `statement_name` reading this selection as `selected_files`."""
        text = read_sql(statement_name)
        if text.count(PLACEHOLDER) != 1:
            raise ValueError(f"{statement_name}.sql must read `{PLACEHOLDER}` exactly once")
        selection = read_sql(self.sql_name).strip()
        return text.replace(PLACEHOLDER, f"from (\n{selection}\n) as selected_files")


@dataclass(frozen=True)
class SelectionSize:
    """What a selection holds now: file versions and their bytes (one read of each by each
    step that reads files)."""

    files: int
    bytes: int
    steps: tuple[str, ...]


def selection_for(config: RunConfig) -> Selection:
    """The selection of a backfill or re-processing config (other modes select nothing)."""
    if config.mode == "backfill":
        window = (str(config.window_start), str(config.window_end))
        return Selection("select_backfill_files", window, config.redone_steps)
    if config.mode == "reprocess":
        prefix, fmt = config.prefix, config.file_format
        if config.facet:
            return Selection(
                "select_stale_facet_files",
                stale_facet_params(config.facet, prefix, fmt),
                config.steps,
            )
        return Selection("select_reprocess_files", (prefix, fmt, fmt), config.steps)
    raise RunConfigError(f"a {config.mode} run selects no files by a rule: it has no dry run")


def stale_facet_params(name: str, prefix: str = "", fmt: str = "") -> tuple[Any, ...]:
    """The binds of select_stale_facet_files.sql for facet `name` at its current version (read
    from the registry when called, so a bumped version is what it compares with)."""
    current = facet(name)
    covered = json.dumps(sorted(current.formats))
    return (covered, current.name, prefix, fmt, fmt, current.version)


def count_stale_facets(session: SqlSession) -> dict[str, int]:
    """Per facet, the current file versions it covers whose stored version is older or
    missing: what `pixelforge reprocess --facet NAME` would select (the nightly
    reconciliation keeps these counts)."""
    counts: dict[str, int] = {}
    for name in FACET_NAMES:
        selection = Selection("select_stale_facet_files", stale_facet_params(name), ())
        first = session.sql(
            selection.into("count_selected_files"), params=list(selection.params)
        ).collect()[0]
        counts[name] = int(first["FILES"])
    return counts


def discover_selection(session: SqlSession, run_id: str, config: RunConfig) -> None:
    """Record the selection as the run's change set (change type: the mode); the steps the run
    does not redo are marked redone at once."""
    selection = selection_for(config)
    extract_step, render_step = REPROCESS_STEPS  # the statement's two marks, in this order
    skip = [extract_step not in selection.steps, render_step not in selection.steps]
    session.sql(
        selection.into("discover_selected_files"),
        params=[run_id, config.mode, *skip, *selection.params],
    ).collect()


def count_selection(session: SqlSession, config: RunConfig) -> SelectionSize:
    """How many file versions and bytes the run of `config` would discover now; reads only."""
    selection = selection_for(config)
    row = session.sql(selection.into("count_selected_files"), params=list(selection.params))
    first = row.collect()[0]
    return SelectionSize(int(first["FILES"]), int(first["BYTES"] or 0), selection.steps)


def estimate_selection(session: SqlSession, config: RunConfig, model: CapacityModel) -> Estimate:
    """The dry run: what the run of `config` would read and cost, from the files it would
    discover now and the capacity model; reads only. A re-processing that selects nothing is
    refused (EmptySelectionError)."""
    size = count_selection(session, config)
    if config.mode == "reprocess" and size.files == 0:
        if config.facet:
            raise EmptySelectionError(
                f"no current file version has a stale {config.facet} facet (every one it "
                f"covers is at version {facet(config.facet).version}): {describe(config)}"
            )
        raise EmptySelectionError(f"no current file version matches: {describe(config)}")
    return estimate(JobSize(size.files, size.bytes, frozenset(size.steps)), model)


def describe(config: RunConfig) -> str:
    """One line naming a backfill or re-processing: its window, or its steps and filters."""
    if config.mode == "backfill":
        return (
            f"backfill of the files last modified in [{config.window_start:%Y-%m-%dT%H:%M:%SZ}, "
            f"{config.window_end:%Y-%m-%dT%H:%M:%SZ})"
        )
    filters = [f"under {config.prefix!r}" if config.prefix else "every key"]
    if config.file_format:
        filters.append(f"format {config.file_format}")
    if config.facet:
        redone = facet(config.facet)
        return (
            f"re-processing of facet {redone.name} v{redone.version} ({', '.join(config.steps)}) "
            "of the current versions it covers whose stored version is older or missing, "
            + ", ".join(filters)
        )
    return f"re-processing ({', '.join(config.steps)}) of the current versions, " + ", ".join(
        filters
    )


def dry_run_result(config: RunConfig, result: Estimate) -> dict[str, Any]:
    """What OPS.BACKFILL / OPS.REPROCESS return for a dry run (and what they insert for a real
    re-processing: the request's normalized steps and filters)."""
    return {
        "dry_run": True,
        "job": describe(config),
        "mode": config.mode,
        "redo_steps": ",".join(config.redone_steps),
        "path_prefix": config.prefix,
        "format_filter": config.file_format,
        "redo_facet": config.facet,
        "files": result.files,
        "bytes_read": result.bytes_read,
        "extract_cpu_hours": result.extract_cpu_hours,
        "render_cpu_hours": result.render_cpu_hours,
        "wall_hours": result.wall_hours,
        "usd": result.usd,
        "estimate": dict(result.lines()),
    }
