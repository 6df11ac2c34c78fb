"""Step "discover": record the run's change set (and, for the nightly reconciliation, what
incremental runs missed)."""

from __future__ import annotations

from typing import Any

from pixelforge_core.render_wire import THUMBNAIL_SIZES
from snowpark_procs.run_config import RunConfig
from snowpark_procs.sql import read_sql
from snowpark_procs.steps.common import SqlSession, StepSummary, merge_batches
from snowpark_procs.steps.selections import count_stale_facets, discover_selection

# The check name of a facet's stale count in ops.reconciliation_checks.
STALE_FACET_CHECK = "stale_facet_{}"


def discover_with(session: SqlSession, run_id: str, config: RunConfig) -> StepSummary:
    """Record the run's change set.

    Incremental and reconcile runs: every difference between the directory table and the
    state of the last successful run. Backfills: every file last modified in their window;
    re-processings: the current versions they chose (steps/selections.py).
    """
    if config.reprocess:
        discover_selection(session, run_id, config)
    else:
        session.sql(read_sql("discover_file_changes"), params=[run_id]).collect()
    checks = _reconcile(session, run_id) if config.mode == "reconcile" else {}
    counts = _count_changes(session, run_id)
    total = sum(counts.values())
    details: dict[str, Any] = {
        "changes": counts,
        "mode": config.mode,
        "request_id": config.request_id,
    }
    if checks:
        details["reconciliation"] = checks
    return StepSummary(total, total, 0, details)


def _count_changes(session: SqlSession, run_id: str) -> dict[str, int]:
    return {
        row["CHANGE_TYPE"]: int(row["FILES"])
        for row in session.sql(read_sql("count_file_changes"), params=[run_id]).collect()
    }


def _reconcile(session: SqlSession, run_id: str) -> dict[str, int]:
    """The nightly full comparison, set-based: what incremental runs missed is added to the
    run's change set (the normal steps repair it) and every count is kept in OPS. Stale facets
    (per facet, the current versions it covers whose stored version is older or missing) are
    counted, not repaired: a facet whose extractor changed is re-processed on purpose
    (`pixelforge reprocess --facet NAME`), when its cost is known (its dry run)."""
    diff = _count_changes(session, run_id)
    lost = session.sql(read_sql("reconcile_forget_lost_thumbnails")).collect()
    session.sql(read_sql("discover_repairs"), params=[len(THUMBNAIL_SIZES), run_id]).collect()
    orphans = session.sql(read_sql("count_orphaned_thumbnails")).collect()[0]["FILES"]
    checks = {
        "changed_without_event": sum(diff.values()),
        "thumbnail_objects_lost": int(lost[0][0]) if lost else 0,
        "unfinished_files_repaired": _count_changes(session, run_id).get("repair", 0),
        "orphaned_thumbnail_objects": int(orphans),
        **{
            STALE_FACET_CHECK.format(name): files
            for name, files in count_stale_facets(session).items()
        },
    }
    merge_batches(
        session,
        "merge_reconciliation_checks",
        [{"run_id": run_id, "check_name": name, "files": files} for name, files in checks.items()],
    )
    return checks
