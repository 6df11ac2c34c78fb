"""Each alert rule fires on the history that should page or warn, and stays quiet when healthy.

The conditions run exactly as locally evaluated (LOCAL_CLOCK) on a fakesnow server whose run
history is written through ops.pipeline_runs / ops.step_runs and read through the local
ops.task_history view.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlglot
from sqlglot import exp

from orchestration.alerts import (
    ALERTS,
    LATENCY_OBJECTIVE_SECONDS,
    LOCAL_CLOCK,
    PRODUCTION_CLOCK,
    QUARANTINE_SPIKE_MIN_FILES,
    alert_rule,
    pipeline_task_names,
    render_condition,
)
from orchestration.deploy import DeploySettings, render_plan
from orchestration.graph import INCREMENTAL
from orchestration.local.alerting import evaluate_alerts
from tests.ops.conftest import HEALTHY_STEPS, Warehouse


def firing(warehouse: Warehouse) -> set[str]:
    evaluations = evaluate_alerts(warehouse.session)
    errors = {e.rule.name: e.error for e in evaluations if e.error}
    assert not errors, errors
    return {e.rule.name for e in evaluations if e.firing}


def healthy_history(warehouse: Warehouse, now: datetime) -> None:
    """Runs every 15 minutes for 2 hours, all successful; loads fast, no backlog."""
    for index in range(8):
        warehouse.run(f"ok-{index}", now - timedelta(minutes=15 * index + 1), HEALTHY_STEPS)
    for index in range(4):
        warehouse.execute(
            "insert into ops_marts.fct_backlog_snapshots values (%s, 0, null, %s)",
            (f"ok-{index}", now - timedelta(minutes=15 * index + 1)),
        )
    for index in range(20):
        warehouse.execute(
            "insert into marts.fct_file_versions values (%s, %s, %s, %s)",
            (f"v{index}", 120, now - timedelta(minutes=5), index == 0),
        )
    warehouse.execute(
        "insert into ops_marts.dim_file_states values ('a.png', 'queryable', false, %s)",
        (now - timedelta(minutes=50),),
    )


def test_every_rule_is_quiet_on_a_healthy_history(warehouse, now):
    healthy_history(warehouse, now)
    assert firing(warehouse) == set()


def test_no_recent_success_fires_after_30_minutes_without_a_successful_run(warehouse, now):
    warehouse.run("old", now - timedelta(minutes=31), HEALTHY_STEPS)
    assert "no_recent_success" in firing(warehouse)


def test_no_recent_success_fires_on_an_empty_history(warehouse):
    assert "no_recent_success" in firing(warehouse)


def test_a_recent_run_that_only_failed_does_not_count_as_success(warehouse, now):
    warehouse.run("old", now - timedelta(minutes=40), HEALTHY_STEPS)
    failed = [*HEALTHY_STEPS[:4], ("load", 1, "FAILED"), ("finalize", 1, "SUCCEEDED")]
    warehouse.run("bad", now - timedelta(minutes=1), failed)
    assert {"no_recent_success", "failed_run"} <= firing(warehouse)


def test_failed_run_fires_for_a_run_that_failed_in_the_window(warehouse, now):
    healthy_history(warehouse, now)
    failed = [*HEALTHY_STEPS[:2], ("render_thumbnails", 1, "FAILED"), ("finalize", 1, "SUCCEEDED")]
    warehouse.run("bad", now - timedelta(seconds=30), failed)
    assert firing(warehouse) == {"failed_run"}
    evaluation = next(e for e in evaluate_alerts(warehouse.session) if e.rule.name == "failed_run")
    assert [row["graph_run_group_id"] for row in evaluation.rows] == ["bad"]


def test_failed_run_stays_quiet_for_a_failure_before_the_window(warehouse, now):
    healthy_history(warehouse, now)
    failed = [*HEALTHY_STEPS[:2], ("render_thumbnails", 1, "FAILED"), ("finalize", 1, "SUCCEEDED")]
    warehouse.run("bad", now - timedelta(minutes=20), failed)
    assert "failed_run" not in firing(warehouse)


def test_a_retried_step_that_succeeded_does_not_fail_the_run(warehouse, now):
    healthy_history(warehouse, now)
    retried = [("discover", 1, "FAILED"), ("discover", 2, "SUCCEEDED"), *HEALTHY_STEPS[1:]]
    warehouse.run("retried", now - timedelta(seconds=30), retried)
    assert firing(warehouse) == set()


def test_failing_step_fires_on_repeated_failed_attempts_even_when_retries_save_the_runs(
    warehouse, now
):
    healthy_history(warehouse, now)
    for index in range(2):
        retried = [("discover", 1, "FAILED"), ("discover", 2, "SUCCEEDED"), *HEALTHY_STEPS[1:]]
        warehouse.run(f"flaky-{index}", now - timedelta(minutes=10 * index + 1), retried)
    assert firing(warehouse) == {"failing_step"}


def test_backlog_growth_fires_when_the_backlog_grew_at_each_of_the_last_runs(warehouse, now):
    healthy_history(warehouse, now)
    warehouse.execute("delete from ops_marts.fct_backlog_snapshots")
    for index, files in enumerate([40, 30, 20, 10]):  # newest first
        warehouse.execute(
            "insert into ops_marts.fct_backlog_snapshots values (%s, %s, 600, %s)",
            (f"r{index}", files, now - timedelta(minutes=15 * index + 1)),
        )
    assert firing(warehouse) == {"backlog_growth"}


def test_backlog_growth_stays_quiet_when_the_backlog_shrank_once(warehouse, now):
    healthy_history(warehouse, now)
    warehouse.execute("delete from ops_marts.fct_backlog_snapshots")
    for index, files in enumerate([40, 30, 35, 10]):
        warehouse.execute(
            "insert into ops_marts.fct_backlog_snapshots values (%s, %s, 600, %s)",
            (f"r{index}", files, now - timedelta(minutes=15 * index + 1)),
        )
    assert "backlog_growth" not in firing(warehouse)


def test_latency_objective_fires_on_a_slow_p95(warehouse, now):
    healthy_history(warehouse, now)
    warehouse.execute(
        "update marts.fct_file_versions set upload_to_queryable_seconds = %s",
        (LATENCY_OBJECTIVE_SECONDS + 60,),
    )
    assert firing(warehouse) == {"latency_objective_breached"}


def test_latency_objective_fires_on_a_file_waiting_too_long(warehouse, now):
    healthy_history(warehouse, now)
    warehouse.execute(
        "insert into ops_marts.dim_file_states values ('stuck.png', 'awaiting_extraction', "
        "true, %s)",
        (now - timedelta(seconds=LATENCY_OBJECTIVE_SECONDS + 60),),
    )
    assert firing(warehouse) == {"latency_objective_breached"}


def test_quarantine_spike_fires_when_many_new_versions_are_quarantined(warehouse, now):
    healthy_history(warehouse, now)
    for index in range(QUARANTINE_SPIKE_MIN_FILES):
        warehouse.execute(
            "insert into marts.fct_file_versions values (%s, 60, %s, true)",
            (f"q{index}", now - timedelta(minutes=2)),
        )
    assert firing(warehouse) == {"quarantine_spike"}


def test_old_quarantined_versions_are_no_spike(warehouse, now):
    healthy_history(warehouse, now)
    for index in range(QUARANTINE_SPIKE_MIN_FILES):
        warehouse.execute(
            "insert into marts.fct_file_versions values (%s, 60, %s, true)",
            (f"q{index}", now - timedelta(hours=3)),
        )
    assert firing(warehouse) == set()


# --- the rules as data, and their production form -------------------------------------


def test_every_rule_has_a_runbook_section_and_a_quote_free_message():
    runbook = (INCREMENTAL_ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    for rule in ALERTS:
        assert f'<a id="{rule.runbook}"></a>' in runbook, rule.runbook
        assert "'" not in rule.message  # rendered inside a SQL string literal


def test_task_names_follow_the_deploy_renderer():
    from orchestration.deploy import tasks

    names = pipeline_task_names(INCREMENTAL)
    assert tasks.root_task_name(INCREMENTAL).split(".")[-1].upper() in names
    for step in (*INCREMENTAL.ordered_steps(), INCREMENTAL.finalizer):
        assert tasks.task_name(INCREMENTAL, step.name).split(".")[-1].upper() in names


def test_conditions_are_snowflake_sql_in_both_clocks():
    for rule in ALERTS:
        for clock in (LOCAL_CLOCK, PRODUCTION_CLOCK):
            tree = sqlglot.parse_one(render_condition(rule, clock), read="snowflake")
            assert not isinstance(tree, exp.Command), rule.name
            unknown = {n.name.lower() for n in tree.find_all(exp.Anonymous)}
            # alert-only functions (semantics 5.1) and the INFORMATION_SCHEMA table function
            assert unknown <= {"scheduled_time", "last_successful_scheduled_time", "task_history"}


def test_the_deploy_plan_creates_and_resumes_one_alert_per_rule():
    plan = render_plan(DeploySettings.with_placeholders())
    created = [s.sql for s in plan if s.kind == "alert"]
    assert len(created) == len(ALERTS)
    for rule, sql in zip(ALERTS, created, strict=True):
        assert sql.startswith(f"create or replace alert ops.pixelforge_{rule.name}\n")
        assert "information_schema.task_history" in sql or "ops_marts." in sql or "marts." in sql
        assert "${" not in sql
    resumed = "\n".join(s.sql for s in plan if s.section == "resume")
    for rule in ALERTS:
        assert f"alter alert ops.pixelforge_{rule.name} resume" in resumed
    assert alert_rule("failed_run").severity == "page"


INCREMENTAL_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
