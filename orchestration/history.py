"""Run history: PIPELINE_RUNS and STEP_RUNS records, their writer and reader, and the local
graph's state (ops.graph_state: started, or suspended after consecutive failed runs).

States use Snowflake's TASK_HISTORY vocabulary so operators' queries read the same everywhere.
A run's final PIPELINE_RUNS row is the finalizer's (snowpark_procs.steps.finalize.finalize_with,
the same MERGE as here); the local runner records the run as it starts, and SKIPPED runs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from snowflake.snowpark import Session

from orchestration.sql import read_sql
from snowpark_procs import sql as procedure_sql

# A request's kind is its mode (snowpark_procs/run_config.py REQUEST_MODES): backfill,
# reconcile, reprocess.
RunKind = Literal["scheduled", "manual", "backfill", "reconcile", "reprocess"]
State = Literal["EXECUTING", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"]
GraphState = Literal["STARTED", "SUSPENDED"]
# Runs whose outcome is indeterminate for SUSPEND_TASK_AFTER_NUM_FAILURES: "Task runs that are
# skipped, canceled, or that fail due to a system error ... aren't included in the count"
# ("CREATE TASK", https://docs.snowflake.com/en/sql-reference/sql/create-task).
UNCOUNTED_STATES = frozenset({"SKIPPED", "CANCELLED", "EXECUTING"})


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class PipelineRun:
    run_id: str
    kind: RunKind
    scheduled_at: datetime
    state: State
    started_at: datetime | None = None
    ended_at: datetime | None = None
    files_discovered: int | None = None
    files_succeeded: int | None = None
    files_failed: int | None = None
    error_message: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PipelineRun:
        """The run from its OPS.PIPELINE_RUNS record (the finalizer's JSON)."""
        times = {
            name: _parse_time(record.get(name))
            for name in ("scheduled_at", "started_at", "ended_at")
        }
        return cls(
            run_id=record["run_id"],
            kind=record["kind"],
            scheduled_at=times["scheduled_at"] or utc_now(),
            state=record["state"],
            started_at=times["started_at"],
            ended_at=times["ended_at"],
            files_discovered=_as_int(record.get("files_discovered")),
            files_succeeded=_as_int(record.get("files_succeeded")),
            files_failed=_as_int(record.get("files_failed")),
            error_message=record.get("error_message"),
            config=dict(record.get("config") or {}),
            request_id=record.get("request_id"),
        )

    def finished(
        self, state: State, error_message: str | None = None, **counts: int
    ) -> PipelineRun:
        return replace(self, state=state, ended_at=utc_now(), error_message=error_message, **counts)


@dataclass(frozen=True)
class StepRun:
    run_id: str
    step: str
    attempt: int
    state: State
    started_at: datetime | None = None
    ended_at: datetime | None = None
    files_in: int | None = None
    files_succeeded: int | None = None
    files_failed: int | None = None
    error_message: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


def _record_json(record: PipelineRun | StepRun) -> str:
    return json.dumps(asdict(record), default=lambda value: value.isoformat(sep=" "))


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def record_pipeline_run(session: Session, run: PipelineRun) -> None:
    """Upsert on run_id: re-recording the same run never adds a row (the finalizer's MERGE)."""
    session.sql(procedure_sql.read_sql("merge_pipeline_run"), params=[_record_json(run)]).collect()


def record_step_run(session: Session, step_run: StepRun) -> None:
    """Upsert on (run_id, step, attempt)."""
    session.sql(read_sql("merge_step_run"), params=[_record_json(step_run)]).collect()


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def list_pipeline_runs(session: Session, limit: int = 20) -> list[PipelineRun]:
    rows = session.sql(read_sql("select_pipeline_runs"), params=[limit]).collect()
    return [
        PipelineRun(
            run_id=row["RUN_ID"],
            kind=row["KIND"],
            scheduled_at=row["SCHEDULED_AT"],
            state=row["STATE"],
            started_at=row["STARTED_AT"],
            ended_at=row["ENDED_AT"],
            files_discovered=_as_int(row["FILES_DISCOVERED"]),
            files_succeeded=_as_int(row["FILES_SUCCEEDED"]),
            files_failed=_as_int(row["FILES_FAILED"]),
            error_message=row["ERROR_MESSAGE"],
        )
        for row in rows
    ]


def list_step_runs(session: Session, run_id: str) -> list[StepRun]:
    rows = session.sql(read_sql("select_step_runs"), params=[run_id]).collect()
    return [
        StepRun(
            run_id=row["RUN_ID"],
            step=row["STEP"],
            attempt=int(row["ATTEMPT"]),
            state=row["STATE"],
            started_at=row["STARTED_AT"],
            ended_at=row["ENDED_AT"],
            files_in=_as_int(row["FILES_IN"]),
            files_succeeded=_as_int(row["FILES_SUCCEEDED"]),
            files_failed=_as_int(row["FILES_FAILED"]),
            error_message=row["ERROR_MESSAGE"],
        )
        for row in rows
    ]


# --- the local graph's state (Snowflake: the root task's state) -------------------------


@dataclass(frozen=True)
class GraphStatus:
    pipeline: str
    state: GraphState
    reason: str | None
    changed_at: datetime | None

    @property
    def suspended(self) -> bool:
        return self.state == "SUSPENDED"


def graph_status(session: Session, pipeline: str) -> GraphStatus:
    """STARTED unless a row says otherwise (a fresh stack's graph runs)."""
    rows = session.sql(read_sql("select_graph_state"), params=[pipeline]).collect()
    if not rows:
        return GraphStatus(pipeline, "STARTED", None, None)
    row = rows[0]
    return GraphStatus(pipeline, row["STATE"], row["REASON"], row["CHANGED_AT"])


def set_graph_state(session: Session, pipeline: str, state: GraphState, reason: str) -> None:
    """Upsert on pipeline."""
    session.sql(read_sql("merge_graph_state"), params=[pipeline, state, reason[:2000]]).collect()


def consecutive_failures(states: list[str]) -> int:
    """Failed runs in a row, newest first, skipping indeterminate ones (skipped, cancelled,
    still executing), as SUSPEND_TASK_AFTER_NUM_FAILURES counts them."""
    count = 0
    for state in states:
        if state in UNCOUNTED_STATES:
            continue
        if state != "FAILED":
            break
        count += 1
    return count


def consecutive_failed_runs(session: Session, since: datetime | None, limit: int) -> int:
    """Consecutive failed runs of the graph started after `since` (its last resume)."""
    rows = session.sql(
        read_sql("select_recent_run_states"),
        params=[(since or datetime(1970, 1, 1)).isoformat(sep=" "), limit],
    ).collect()
    return consecutive_failures([row["STATE"] for row in rows])
