"""Run history: PIPELINE_RUNS and STEP_RUNS records, their writer and reader.

States use Snowflake's TASK_HISTORY vocabulary so operators' queries read the same everywhere.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from snowflake.snowpark import Session

from orchestration.sql import read_sql

RunKind = Literal["scheduled", "manual", "backfill", "reconciliation"]
State = Literal["EXECUTING", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"]


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


def record_pipeline_run(session: Session, run: PipelineRun) -> None:
    """Upsert on run_id: re-recording the same run never adds a row."""
    session.sql(read_sql("merge_pipeline_run"), params=[_record_json(run)]).collect()


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
