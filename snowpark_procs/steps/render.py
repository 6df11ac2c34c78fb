"""Step "render_thumbnails": the pending readable file versions rendered by the renderer (the
external function in Snowflake), one raw.thumbnails row per file and size, and the visual
facet's raw.file_facets row of each file (merged by merge_file_facets.sql, which rewrites a
row only when it changed: a re-render of an unchanged file leaves it alone)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from pixelforge_core import reason_codes
from pixelforge_core.render_budget import RENDER_BUDGET, RenderBudget
from pixelforge_core.render_wire import THUMBNAIL_SIZES, RenderRequest
from pixelforge_core.write_batch import json_binds
from snowpark_procs.rendering import ThumbnailRenderer, failed_visual, thumbnail_rows
from snowpark_procs.run_config import RunConfig
from snowpark_procs.sql import read_sql
from snowpark_procs.steps.bounded import Budget, drain, pending_page
from snowpark_procs.steps.common import (
    PENDING_PAGE_ROWS,
    Clock,
    Retry,
    SqlSession,
    StepError,
    StepSummary,
    clear_retries,
    exhausted_message,
    exhausted_retries,
    is_outage,
    merge_batches,
    tally,
)


class ExternalFunctionRenderer:
    """Calls the renderer through Snowflake's external function raw.render_thumbnails."""

    def __init__(self, session: SqlSession) -> None:
        self._session = session

    def render(self, requests: Sequence[RenderRequest]) -> list[dict[str, Any]]:
        """One statement for the requests (more only where they would not fit one bind:
        pixelforge_core/write_batch.py), the results in the requests' order."""
        results: list[dict[str, Any]] = []
        for bind, _ in json_binds(asdict(request) for request in requests):
            rows = self._session.sql(read_sql("call_render_function"), params=[bind]).collect()
            results.extend(json.loads(row["RENDER_RESULT"]) for row in rows)
        return results


def statement_rows(config: RunConfig, budget: RenderBudget = RENDER_BUDGET) -> int:
    """Rows of one render statement for the renderer maximum the run counts on (the capacity
    model, orchestration/capacity.py, asks the same)."""
    return budget.statement_rows(config.render_max_tasks)


def render_thumbnails_with(
    session: SqlSession,
    run_id: str,
    renderer: ThumbnailRenderer,
    config: RunConfig | None = None,
    sizes: Sequence[int] = THUMBNAIL_SIZES,
    batch_rows: int | None = None,
    clock: Clock = time.monotonic,
    page_rows: int = PENDING_PAGE_ROWS,
) -> StepSummary:
    """Render the pending readable file versions, the run's own first, while the budget
    lasts; merge one row per file and size.

    Each statement carries RENDER_BUDGET.statement_rows(config.render_max_tasks) rows
    (`batch_rows` overrides it in tests): Snowflake splits it into batches of MAX_BATCH_ROWS
    and sends them at once, so the renderer's tasks fan out (pixelforge_core/render_budget.py
    states the statement's duration, the step's overshoot past its budget).

    A file whose rendering failed for a transient reason is retried by later runs; when most
    of a batch fails that way the renderer or its storage is down and the step fails.
    """
    config = config or RunConfig()
    succeeded = failed = retrying = 0

    def fetch() -> tuple[list[RenderRequest], int]:
        rows, pending = pending_page(
            session, "select_files_to_render", [run_id, len(sizes), page_rows]
        )
        requests = [
            RenderRequest(r["RELATIVE_PATH"], r["ETAG"], r["SHA256"], int(r["SIZE_BYTES"]))
            for r in rows
        ]
        return requests, pending

    def process(batch: list[RenderRequest]) -> None:
        nonlocal succeeded, failed, retrying
        outcome = thumbnail_rows(batch, renderer.render(batch), sizes, run_id)
        if is_outage(outcome.files_deferred, len(batch)):
            raise StepError(
                f"{outcome.files_deferred} of {len(batch)} files could not be rendered for a "
                f"transient reason ({tally(code for _, code, _ in outcome.deferred)})"
            )
        rows = list(outcome.thumbnail_rows)
        facet_rows = list(outcome.facet_rows)
        retries = [
            Retry(request.relative_path, request.etag, reason, message)
            for request, reason, message in outcome.deferred
        ]
        exhausted = exhausted_retries(session, "render_thumbnails", run_id, retries)
        for row in exhausted:
            rows.extend(
                {
                    "relative_path": row["RELATIVE_PATH"],
                    "etag": row["ETAG"],
                    "run_id": run_id,
                    "size_px": size,
                    "status": "failed",
                    "reason_code": reason_codes.RETRIES_EXHAUSTED,
                    "error_message": exhausted_message(row),
                }
                for size in sizes
            )
            facet_rows.append(
                failed_visual(reason_codes.RETRIES_EXHAUSTED, exhausted_message(row)).row(
                    row["RELATIVE_PATH"], row["ETAG"], run_id
                )
            )
        # Facets first: a step stopped between the two statements renders the file again (it
        # has no thumbnail row yet), and the identical facet row is left as it is.
        merge_batches(session, "merge_file_facets", facet_rows)
        merge_batches(session, "merge_thumbnails", rows)
        clear_retries(session, "render_thumbnails", {(r["relative_path"], r["etag"]) for r in rows})
        succeeded += outcome.files_succeeded
        failed += outcome.files_failed + len(exhausted)
        retrying += len(retries) - len(exhausted)

    drained = drain(
        fetch,
        process,
        batch_rows=batch_rows or statement_rows(config),
        page_rows=page_rows,
        budget=Budget(config.step_budget_s, clock),
    )
    return StepSummary(
        drained.attempted,
        succeeded,
        failed,
        {"retrying": max(retrying, 0), **drained.details(config.step_budget_s)},
    )
