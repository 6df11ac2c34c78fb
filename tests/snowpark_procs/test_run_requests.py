"""Backfill and reconciliation requests (ops.run_requests) and the finalizer, on a warehouse.

The SQL runs on an in-thread fakesnow with the pipeline's tables: claiming (oldest first, a
retried discover keeps its claim, a run that never finished leaves its request to the next),
settling (DONE, pending again, FAILED once its attempts are spent), refusing a request whose
window breaks run_config.py's rules, and the finalizer's OPS.PIPELINE_RUNS row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import snowflake.connector
from snowflake.snowpark import Session

from orchestration.local.sql import pipeline_objects
from snowpark_procs.run_config import RunConfig, backfill_config
from snowpark_procs.sql import read_sql
from snowpark_procs.steps import finalize as finalizer
from snowpark_procs.steps import run_requests
from snowpark_procs.steps.common import StepSummary
from snowpark_procs.steps.finalize import GraphRun, StepResult
from tests.fakesnow_server import fakesnow_server

NOW = datetime(2026, 11, 26, 12, 0, 0)
GRAPH = RunConfig(step_budget_s=300.0)


@pytest.fixture
def session() -> Iterator[Session]:
    logging.getLogger("fakesnow").setLevel(logging.WARNING)
    with fakesnow_server() as parameters:
        connection = snowflake.connector.connect(**parameters)
        try:
            cursor = connection.cursor()
            cursor.execute("create database if not exists pixelforge")
            cursor.execute("use database pixelforge")
            for statement in pipeline_objects():
                cursor.execute(statement)
        finally:
            connection.close()
        session = Session.builder.configs(
            {**parameters, "database": "PIXELFORGE", "schema": "RAW"}
        ).create()
        session.cancel_all = lambda: None  # type: ignore[method-assign]  # fakesnow lacks it
        try:
            yield session
        finally:
            session.close()


def _window(hours_ago: int) -> RunConfig:
    start = (datetime.now(UTC) - timedelta(hours=hours_ago)).replace(tzinfo=None, microsecond=0)
    return backfill_config(f"{start.isoformat()}Z", f"{(start + timedelta(hours=1)).isoformat()}Z")


def _requests(session: Session) -> dict[str, dict[str, Any]]:
    rows = session.sql(
        "select request_id, mode, state, attempts, run_id, error_message from ops.run_requests"
    ).collect()
    return {row["REQUEST_ID"]: row.as_dict() for row in rows}


def _finish(session: Session, run_id: str, succeeded: bool) -> None:
    session.sql(
        read_sql("finish_run_request"),
        params=[
            succeeded,
            run_requests.MAX_REQUEST_ATTEMPTS,
            None if succeeded else "boom",
            run_id,
        ],
    ).collect()


def test_requests_are_served_oldest_first_and_a_retried_discover_keeps_its_claim(session):
    window = _window(5)
    first = run_requests.request_run(session, window, "req-1")
    second = run_requests.request_run(session, RunConfig("reconcile"), "req-2")

    served = run_requests.claim_run_request(session, "run-a", GRAPH)

    assert (served.mode, served.request_id) == ("backfill", first)
    assert (served.window_start, served.window_end) == (window.window_start, window.window_end)
    assert served.step_budget_s == GRAPH.step_budget_s  # the graph's budget, the request's mode
    again = run_requests.claim_run_request(session, "run-a", GRAPH)  # discover retried
    assert again.request_id == first
    assert _requests(session)[first]["ATTEMPTS"] == 1
    assert run_requests.run_config_for(session, "run-a", GRAPH) == served
    _finish(session, "run-a", succeeded=True)
    assert _requests(session)[first]["STATE"] == "DONE"

    assert run_requests.claim_run_request(session, "run-b", GRAPH).request_id == second
    _finish(session, "run-b", succeeded=True)
    # nothing pending: an incremental run, with the graph's config
    assert run_requests.claim_run_request(session, "run-c", GRAPH) == GRAPH
    assert run_requests.run_config_for(session, "run-c", GRAPH) == GRAPH
    assert {r["STATE"] for r in _requests(session).values()} == {"DONE"}


def test_a_failed_request_runs_again_until_its_attempts_are_spent(session):
    request = run_requests.request_run(session, RunConfig("reconcile"), "req-1")
    later = run_requests.request_run(session, _window(3), "req-2")
    for attempt in range(1, run_requests.MAX_REQUEST_ATTEMPTS + 1):
        run_id = f"run-{attempt}"
        assert run_requests.claim_run_request(session, run_id, GRAPH).request_id == request
        _finish(session, run_id, succeeded=False)
        row = _requests(session)[request]
        assert row["ATTEMPTS"] == attempt
        assert row["STATE"] == (
            "FAILED" if attempt == run_requests.MAX_REQUEST_ATTEMPTS else "PENDING"
        )
    assert run_requests.claim_run_request(session, "run-next", GRAPH).request_id == later


def test_a_request_left_running_by_a_run_that_never_finished_is_served_again(session):
    request = run_requests.request_run(session, RunConfig("reconcile"), "req-1")
    for attempt in range(1, run_requests.MAX_REQUEST_ATTEMPTS + 1):
        # the run claims it, then its finalizer never runs (the warehouse went away)
        assert (
            run_requests.claim_run_request(session, f"run-{attempt}", GRAPH).request_id == request
        )
        assert _requests(session)[request]["ATTEMPTS"] == attempt
    assert run_requests.claim_run_request(session, "run-last", GRAPH) == GRAPH  # none left to serve
    row = _requests(session)[request]
    assert row["STATE"] == "FAILED"
    assert "ended without finishing it" in row["ERROR_MESSAGE"]


def test_a_request_breaking_the_window_rules_is_refused_and_the_next_one_served(session):
    session.sql(  # written by hand, past OPS.BACKFILL's checks: a 40-day window
        read_sql("insert_run_request"),
        params=[
            "bad",
            "backfill",
            "2026-01-01 00:00:00",
            "2026-02-10 00:00:00",
            *[None] * 4,
        ],
    ).collect()
    good = run_requests.request_run(session, RunConfig("reconcile"), "good")

    served = run_requests.claim_run_request(session, "run-a", GRAPH)

    assert served.request_id == good
    bad = _requests(session)["bad"]
    assert bad["STATE"] == "FAILED"
    assert "split it into backfills" in bad["ERROR_MESSAGE"]
    assert bad["RUN_ID"] is None  # never this run's config


def test_an_incremental_run_needs_no_request(session):
    with pytest.raises(ValueError, match="needs no request"):
        run_requests.request_run(session, RunConfig(), "req")


def _graph_run(run_id: str, failing: str | None = None) -> GraphRun:
    summaries = {
        "discover": StepSummary(5, 5, 0),
        "extract_metadata": StepSummary(5, 4, 1, {"backlog": 0}),
        "render_thumbnails": StepSummary(4, 4, 0, {"backlog": 0}),
    }
    results = []
    for step, summary in summaries.items():
        if step == failing:
            results.append(StepResult(step, False, None, "RuntimeError: boom"))
            break
        results.append(StepResult(step, True, summary))
    return GraphRun(run_id, "scheduled", NOW, NOW, tuple(summaries), tuple(results))


def _pipeline_run(session: Session, run_id: str) -> dict[str, Any]:
    row = session.sql(
        "select kind, state, files_discovered, files_succeeded, files_failed, error_message, "
        "config, request_id from ops.pipeline_runs where run_id = ?",
        params=[run_id],
    ).collect()[0]
    return row.as_dict()


class Heartbeats:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def run_succeeded(self, run_id: str, kind: str) -> None:
        self.sent.append((run_id, kind))


def test_the_finalizer_records_a_served_backfill_and_settles_its_request(session):
    request = run_requests.request_run(session, _window(2), "req-1")
    config = run_requests.claim_run_request(session, "run-a", GRAPH)
    heartbeats = Heartbeats()

    summary = finalizer.finalize_with(session, _graph_run("run-a"), config, heartbeats)

    assert summary.details["committed"] is False  # a backfill never moves the state
    row = _pipeline_run(session, "run-a")
    assert (row["KIND"], row["STATE"], row["REQUEST_ID"]) == ("backfill", "SUCCEEDED", request)
    assert (row["FILES_DISCOVERED"], row["FILES_SUCCEEDED"], row["FILES_FAILED"]) == (5, 4, 1)
    assert json.loads(row["CONFIG"])["mode"] == "backfill"
    assert _requests(session)[request]["STATE"] == "DONE"
    assert heartbeats.sent == [("run-a", "backfill")]
    # a retried finalizer writes the same rows
    finalizer.finalize_with(session, _graph_run("run-a"), config, heartbeats)
    count = session.sql("select count(*) as n from ops.pipeline_runs").collect()[0]["N"]
    assert count == 1


def test_the_finalizer_records_a_failed_run_and_sends_no_heartbeat(session):
    request = run_requests.request_run(session, RunConfig("reconcile"), "req-1")
    config = run_requests.claim_run_request(session, "run-a", GRAPH)
    heartbeats = Heartbeats()

    summary = finalizer.finalize_with(
        session, _graph_run("run-a", failing="render_thumbnails"), config, heartbeats
    )

    assert summary.details["committed"] is False
    row = _pipeline_run(session, "run-a")
    assert (row["KIND"], row["STATE"]) == ("reconcile", "FAILED")
    assert row["ERROR_MESSAGE"] == "step render_thumbnails failed: RuntimeError: boom"
    assert _requests(session)[request]["STATE"] == "PENDING"  # the next run serves it again
    assert heartbeats.sent == []


def test_the_finalizer_commits_a_successful_incremental_run(session):
    session.sql(
        "insert into raw.file_changes (run_id, relative_path, etag, size, change_type, "
        "discovered_at) values ('run-a', 'a.png', 'e1', 10, 'new', sysdate())"
    ).collect()

    summary = finalizer.finalize_with(session, _graph_run("run-a"), GRAPH)

    assert summary.details["committed"] is True
    state = session.sql("select relative_path, etag from raw.directory_state").collect()
    assert [tuple(r) for r in state] == [("a.png", "e1")]
    assert _pipeline_run(session, "run-a")["KIND"] == "scheduled"
