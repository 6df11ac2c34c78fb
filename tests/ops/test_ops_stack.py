"""The ops layer on the embedded stack: real runs, the ops views, alerts published to SNS and
CloudWatch on moto, the operator commands, and the dashboard (AppTest, then headless Chromium)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from dashboard.charts import budget_delta
from orchestration.graph import INCREMENTAL, ROOT_STEP
from orchestration.local.alerting import (
    ALERTS_TOPIC,
    HEARTBEAT_ALARM,
    alert_after_run,
    aws_client,
    ensure_alarm_resources,
    ensure_ops_views,
)
from orchestration.local.stack import LocalStack
from orchestration.sql import read_sql
from tests.integration.conftest import query, runner_for, small_corpus, upload
from tests.ops.browser import APP, capture, chromium_or_skip, served_dashboard
from tests.ops.conftest import ops_command
from tests.stack_pool import StackPool

pytestmark = pytest.mark.integration


class InjectedFaultError(Exception):
    pass


@pytest.fixture(scope="module")
def stack(stack_pool: StackPool) -> LocalStack:
    """One successful run over the small corpus, then one whose render step fails twice (on
    the session's stack, reset; the tests here only read it)."""
    stack = stack_pool.fresh()
    upload(stack, small_corpus())
    assert runner_for(stack).run(kind="scheduled").succeeded

    def fault(step: str, phase: str) -> None:
        if step == "render_thumbnails" and phase == "before":
            raise InjectedFaultError("renderer unreachable")

    upload(stack, {"team-c/late.png": small_corpus()["team-a/alpha logo.png"]})
    failed = runner_for(stack, fault_hook=fault).run(kind="scheduled")
    assert failed.run.state == "FAILED"
    ensure_ops_views(stack)  # every test here may run alone
    return stack


@pytest.fixture(scope="module")
def alerts_queue(stack: LocalStack) -> str:
    """An SQS queue subscribed to the alerts topic, to read what was published."""
    topics = ensure_alarm_resources(stack.settings)
    sqs = aws_client(stack.settings, "sqs")
    url = sqs.create_queue(QueueName="ops-test-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    aws_client(stack.settings, "sns").subscribe(
        TopicArn=topics.alerts_topic_arn,
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    return str(url)


def test_after_a_failed_run_the_host_publishes_the_firing_alerts(stack, alerts_queue):
    with stack.session() as session:
        last = session.sql(
            "select run_id, state from ops.pipeline_runs order by started_at desc limit 1"
        ).collect()[0]
    from orchestration.history import list_pipeline_runs

    with stack.session() as session:
        failed_run = next(r for r in list_pipeline_runs(session) if r.run_id == last["RUN_ID"])
    report = alert_after_run(stack, failed_run)

    assert not report.heartbeat_sent
    assert all(e.error is None for e in report.evaluations), [e.error for e in report.evaluations]
    assert {e.rule.name for e in report.firing} == {"failed_run", "failing_step"}
    sqs = aws_client(stack.settings, "sqs")
    messages = sqs.receive_message(QueueUrl=alerts_queue, MaxNumberOfMessages=10).get(
        "Messages", []
    )
    published = {json.loads(m["Body"])["alert"] for m in messages}
    assert published == {"failed_run", "failing_step"}
    assert len(report.published) == 2


def test_a_successful_run_sends_the_heartbeat_metric(stack):
    report = runner_for(stack).run(kind="scheduled")
    assert report.succeeded
    outcome = alert_after_run(stack, report.run)
    assert outcome.heartbeat_sent
    cloudwatch = aws_client(stack.settings, "cloudwatch")
    metrics = cloudwatch.list_metrics(Namespace="PixelForge")["Metrics"]
    assert [m["MetricName"] for m in metrics] == ["SuccessfulRuns"]
    alarm = cloudwatch.describe_alarms(AlarmNames=[HEARTBEAT_ALARM])["MetricAlarms"][0]
    assert alarm["MetricName"] == "SuccessfulRuns" and alarm["Period"] == 1800
    assert alarm["AlarmActions"][0].endswith(f":{ALERTS_TOPIC}")
    # the failure is outside the alert window now? no: it still counts as a failing step
    assert "failed_run" in {e.rule.name for e in outcome.firing}


def test_the_ops_views_tell_where_each_file_is(stack):
    with stack.session() as session:
        rows = {
            r["RELATIVE_PATH"]: r["PIPELINE_STAGE"]
            for r in session.sql(
                "select relative_path, pipeline_stage from ops_marts.dim_file_states"
            ).collect()
        }
        runs = session.sql(
            "select state, failed_step from ops_marts.fct_pipeline_runs order by started_at"
        ).collect()
    assert rows["team-a/alpha logo.png"] == "queryable"
    assert rows["broken/empty.png"] == "quarantined"
    assert rows["team-c/late.png"] == "queryable"  # the failed run's file, loaded by the next
    assert [(r["STATE"], r["FAILED_STEP"]) for r in runs] == [
        ("SUCCEEDED", None),
        ("FAILED", "render_thumbnails"),
        ("SUCCEEDED", None),
    ]


def _cli(stack: LocalStack, *args: str) -> Any:
    return ops_command(stack, *args)


def test_explain_shows_a_files_lineage_across_runs(stack):
    result = _cli(stack, "explain", "team-c/late.png")
    assert result.exit_code == 0, result.output
    assert "stage: queryable" in result.output
    assert "(FAILED)" in result.output and "(SUCCEEDED)" in result.output
    assert "loaded     queryable" in result.output


def test_status_and_failures(stack):
    status = _cli(stack, "status")
    assert status.exit_code == 0, status.output
    assert "recent runs" in status.output and "SLO" in status.output
    assert "backlog: " in status.output  # its progress (ops_backlog_progress)
    failures = _cli(stack, "failures")
    assert failures.exit_code == 0, failures.output
    words = " ".join(failures.output.split())  # the table wraps long errors at 80 columns
    assert "render_thumbnails" in words and "renderer unreachable" in words


def test_dashboard_app_renders_every_chart_with_data(stack, monkeypatch):
    monkeypatch.setenv("PIXELFORGE_WAREHOUSE_PORT", str(stack.settings.warehouse_port))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 4  # timeline, latency, failures, backlog
    assert not at.info
    metrics = {m.label: m.value for m in at.metric}
    # the latest run's state, whichever test here ran last (they may run on several workers)
    (latest,) = query(
        stack, "select state from ops.pipeline_runs order by started_at desc nulls last limit 1"
    )
    assert metrics["last run"] == latest["STATE"]
    # the error budget's delta says and colours its state (red once spent: the fixture's
    # failed scheduled run overspends a month of two or three)
    (slo,) = query(stack, read_sql("ops_slo_budget"))
    budget = next(m for m in at.metric if m.label == "scheduled success (month)").proto
    expected = budget_delta({k.lower(): v for k, v in slo.items()})
    assert budget.delta == expected["delta"]
    assert MetricProto.MetricColor.Name(budget.color) == expected["delta_color"].upper()
    assert expected["delta_color"] == "red"
    # the timeline's steps in the graph's order
    specs = [json.loads(chart.proto.spec) for chart in charts]
    (timeline,) = [s for s in specs if s.get("mark", {}).get("type") == "rect"]
    assert timeline["encoding"]["y"]["sort"] == [
        step for step in INCREMENTAL.run_order() if step != ROOT_STEP
    ]
    at.radio[0].set_value("day").run()
    assert len(at.get("vega_lite_chart")) == 4


def test_dashboard_in_headless_chromium(stack):
    chromium_or_skip()
    with served_dashboard(stack) as url:
        page = capture(url, "dashboard.png", "PixelForge pipeline operations", charts=4)
    text = page.text
    assert "PixelForge pipeline operations" in text
    assert page.charts >= 4, "the four charts did not render"
    assert "no run in the last" not in text
    assert "budget overspent by 1 runs" in text  # in red (test_dashboard_app_renders_...)
    assert page.screenshot.stat().st_size > 20_000
