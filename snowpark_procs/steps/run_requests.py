"""Run requests: backfills, reconciliations and re-processings queued in ops.run_requests,
claimed by a run's discover step and served by its other steps."""

from __future__ import annotations

from typing import Any

from snowpark_procs.run_config import RunConfig, RunConfigError
from snowpark_procs.sql import read_sql
from snowpark_procs.steps.common import SqlSession, StepError

# A request is served by up to this many runs; when all of them
# fail it is FAILED (a poison request must not fail every run until the root suspends).
MAX_REQUEST_ATTEMPTS = 3


def request_run(session: SqlSession, config: RunConfig, request_id: str) -> str:
    """Queue a backfill, reconciliation or re-processing (what OPS.BACKFILL, OPS.REPROCESS and
    the nightly task insert)."""
    if config.mode == "incremental":
        raise RunConfigError("an incremental run needs no request: every scheduled run is one")
    window = [
        None if t is None else t.isoformat(sep=" ")
        for t in (config.window_start, config.window_end)
    ]
    chosen = (
        [",".join(config.steps), config.prefix, config.file_format, config.facet or None]
        if config.mode == "reprocess"
        else [None, None, None, None]
    )
    session.sql(
        read_sql("insert_run_request"), params=[request_id, config.mode, *window, *chosen]
    ).collect()
    return request_id


def claim_run_request(session: SqlSession, run_id: str, graph: RunConfig) -> RunConfig:
    """The config this run serves: the oldest pending request, claimed for this run (a retried
    discover keeps its claim), or the graph's incremental config when none is pending."""
    session.sql(read_sql("abandon_run_requests"), params=[run_id, MAX_REQUEST_ATTEMPTS]).collect()
    refused: set[str] = set()
    while True:
        session.sql(read_sql("claim_run_request"), params=[run_id, MAX_REQUEST_ATTEMPTS]).collect()
        row = _claimed_request(session, run_id)
        if row is None:
            return graph
        try:
            return graph.serving(RunConfig.from_request(row))
        except RunConfigError as error:
            if row["REQUEST_ID"] in refused:
                raise StepError(
                    f"request {row['REQUEST_ID']} was refused but claimed again"
                ) from error
            refused.add(row["REQUEST_ID"])
            message = f"run {run_id} refused it: {error}"[:2000]
            session.sql(
                read_sql("reject_run_request"), params=[message, row["REQUEST_ID"]]
            ).collect()


def run_config_for(session: SqlSession, run_id: str, graph: RunConfig) -> RunConfig:
    """The config of a run whose discover step has claimed (or not) a request."""
    row = _claimed_request(session, run_id)
    return graph if row is None else graph.serving(RunConfig.from_request(row))


def _claimed_request(session: SqlSession, run_id: str) -> dict[str, Any] | None:
    rows = session.sql(read_sql("select_run_request"), params=[run_id]).collect()
    return rows[0].as_dict() if rows else None
