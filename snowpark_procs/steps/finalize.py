"""The finalizer: read a graph run (TASK_HISTORY in production, the runner's outcomes locally),
record it in OPS.PIPELINE_RUNS, commit the discovery state after a success, settle the run
request, send the heartbeat."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from snowpark_procs.run_config import REQUEST_MODES, RunConfig, RunConfigError
from snowpark_procs.sql import read_sql
from snowpark_procs.steps.common import SqlSession, StepError, StepSummary, utc_now
from snowpark_procs.steps.run_requests import MAX_REQUEST_ATTEMPTS


@dataclass(frozen=True)
class StepResult:
    """One step of a graph run as the finalizer sees it."""

    step: str
    succeeded: bool
    summary: StepSummary | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class GraphRun:
    """A graph run, read by the finalizer through a seam: TASK_HISTORY in production, the
    runner's outcomes locally. `expected` are the steps that must all succeed."""

    run_id: str
    trigger_kind: str  # scheduled | manual (an EXECUTE TASK, a CLI run)
    scheduled_at: datetime
    started_at: datetime | None
    expected: tuple[str, ...]
    results: tuple[StepResult, ...]

    def result(self, step: str) -> StepResult | None:
        return next((r for r in self.results if r.step == step), None)

    def failure(self) -> str | None:
        """Why the run failed, or None: the step that failed (the graph stops at it), else the
        first expected step that never ran."""
        for result in self.results:
            if result.step in self.expected and not result.succeeded:
                return f"step {result.step} failed: {result.error_message or 'no error message'}"
        missing = [step for step in self.expected if self.result(step) is None]
        return f"step {missing[0]} did not run" if missing else None

    def summary(self, step: str) -> StepSummary | None:
        result = self.result(step)
        return None if result is None else result.summary


@dataclass(frozen=True)
class GraphSettings:
    """The finalizer's part of the graph CONFIG (orchestration/deploy/tasks.py writes it):
    each step's task name in TASK_HISTORY ("root": the root's), and the heartbeat's
    integration."""

    pipeline: str
    task_names: Mapping[str, str]
    heartbeat_integration: str | None = None

    @classmethod
    def from_json(cls, text: str | None) -> GraphSettings:
        raw = json.loads(text) if text else {}
        names = raw.get("tasks") or {}
        if not isinstance(names, dict) or not names:
            raise RunConfigError("the graph CONFIG names no tasks for the finalizer to check")
        return cls(
            str(raw.get("pipeline") or "pixelforge"),
            {str(k): str(v) for k, v in names.items()},
            raw.get("heartbeat_integration"),
        )


def graph_run_from_task_history(
    run_id: str, rows: Sequence[Mapping[str, Any]], settings: GraphSettings
) -> GraphRun:
    """A graph run from its TASK_HISTORY rows (every attempt of every task of the run group).

    As the SQL finalizer did: a task succeeded when any attempt of it in this run group
    succeeded (automatic retries resume from the failed task). Its summary is the RETURN_VALUE
    of that attempt; its error the latest failed attempt's.
    """
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_name.setdefault(str(row["NAME"]).upper(), []).append(row)
    results = []
    for step, name in settings.task_names.items():
        attempts = sorted(by_name.get(name.upper(), []), key=lambda r: int(r["ATTEMPT_NUMBER"]))
        if not attempts:
            continue
        succeeded = [r for r in attempts if r["STATE"] == "SUCCEEDED"]
        failed = [r for r in attempts if r["STATE"] != "SUCCEEDED"]
        results.append(
            StepResult(
                step,
                bool(succeeded),
                _summary_of(succeeded[-1].get("RETURN_VALUE")) if succeeded else None,
                None if succeeded else (failed[-1].get("ERROR_MESSAGE") or failed[-1]["STATE"]),
            )
        )
    root_name = settings.task_names.get("root", "").upper()
    root = min(by_name.get(root_name, []), key=lambda r: int(r["ATTEMPT_NUMBER"]), default=None)
    if root is None:
        raise StepError(f"no TASK_HISTORY row of the root {root_name!r} for graph run {run_id}")
    return GraphRun(
        run_id=run_id,
        trigger_kind="scheduled" if root.get("SCHEDULED_FROM") == "SCHEDULE" else "manual",
        scheduled_at=root["SCHEDULED_TIME"],
        started_at=root.get("QUERY_START_TIME"),
        expected=tuple(settings.task_names),
        results=tuple(results),
    )


def _summary_of(return_value: Any) -> StepSummary | None:
    """A step task's RETURN_VALUE: its procedure's summary (the root and dbt tasks set none)."""
    if not return_value:
        return None
    try:
        return StepSummary.from_json(str(return_value))
    except (ValueError, KeyError, TypeError):
        return None


def run_kind(trigger_kind: str, mode: str) -> str:
    """The run's kind in OPS.PIPELINE_RUNS: the request it served (its mode, one word for both:
    backfill, reconcile), else what started it."""
    if mode in REQUEST_MODES:
        return mode
    return trigger_kind if trigger_kind in {"scheduled", "manual"} else "manual"


def run_counts(run: GraphRun) -> dict[str, int]:
    """Files discovered, and of those extracted how many succeeded or failed (extraction or
    rendering), from the step summaries."""
    discovered = run.summary("discover")
    extracted = run.summary("extract_metadata")
    rendered = run.summary("render_thumbnails")
    failed = sum(s.files_failed for s in (extracted, rendered) if s is not None)
    return {
        "files_discovered": discovered.files_in if discovered else 0,
        "files_succeeded": max((extracted.files_in if extracted else 0) - failed, 0),
        "files_failed": failed,
    }


def pipeline_run_record(
    run: GraphRun, config: RunConfig, failure: str | None, ended_at: datetime
) -> dict[str, Any]:
    """The OPS.PIPELINE_RUNS row of a finished run (the MERGE's JSON bind)."""
    return {
        "run_id": run.run_id,
        "kind": run_kind(run.trigger_kind, config.mode),
        "scheduled_at": _timestamp(run.scheduled_at),
        "started_at": _timestamp(run.started_at),
        "ended_at": _timestamp(ended_at),
        "state": "FAILED" if failure else "SUCCEEDED",
        "error_message": failure[:4000] if failure else None,
        "config": json.loads(config.to_json()),
        "request_id": config.request_id,
        **run_counts(run),
    }


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(sep=" ")


class Heartbeat(Protocol):
    def run_succeeded(self, run_id: str, kind: str) -> None:
        """Tell the monitoring outside Snowflake that a run succeeded."""
        ...


class NotificationHeartbeat:
    """The run_succeeded message on the heartbeat topic (a Lambda turns it into the
    SuccessfulRuns metric the heartbeat alarm watches), sent with
    SYSTEM$SEND_SNOWFLAKE_NOTIFICATION as JSON, which queue (SNS) integrations take
    ("SYSTEM$SEND_SNOWFLAKE_NOTIFICATION",
    https://docs.snowflake.com/en/sql-reference/stored-procedures/system_send_snowflake_notification).
    """

    def __init__(self, session: SqlSession, integration: str, pipeline: str) -> None:
        self._session = session
        self._integration = integration
        self._pipeline = pipeline

    def run_succeeded(self, run_id: str, kind: str) -> None:
        message = {"event": "run_succeeded", "pipeline": self._pipeline, "run_id": run_id}
        self._session.sql(
            read_sql("send_heartbeat"),
            params=[json.dumps({**message, "kind": kind}), self._integration],
        ).collect()


def finalize_with(
    session: SqlSession,
    run: GraphRun,
    config: RunConfig,
    heartbeat: Heartbeat | None = None,
    now: Callable[[], datetime] = utc_now,
) -> StepSummary:
    """Record the run: advance the discovery state when every step succeeded (a backfill
    leaves the scheduled runs' state where it is), settle the request it served, MERGE its
    OPS.PIPELINE_RUNS row, and send the heartbeat after a success. Idempotent: a retried
    finalizer writes the same rows."""
    failure = run.failure()
    committed = failure is None and config.advances_discovery_state
    if committed:
        session.sql(read_sql("commit_directory_state"), params=[run.run_id]).collect()
    if config.request_id:
        session.sql(
            read_sql("finish_run_request"),
            params=[failure is None, MAX_REQUEST_ATTEMPTS, failure and failure[:2000], run.run_id],
        ).collect()
    record = pipeline_run_record(run, config, failure, now())
    session.sql(read_sql("merge_pipeline_run"), params=[json.dumps(record)]).collect()
    if failure is None and heartbeat is not None:
        heartbeat.run_succeeded(run.run_id, record["kind"])
    return StepSummary(
        0,
        0,
        0,
        {
            "committed": committed,
            "state": record["state"],
            "request_id": config.request_id,
            "run": record,
        },
    )
