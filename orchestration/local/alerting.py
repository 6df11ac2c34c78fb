"""Local alerting: the production alert rules evaluated on the embedded stack after a run.

Snowflake ALERTs and the CloudWatch heartbeat alarm do this in production; locally the host that
ran the pipeline evaluates the same conditions (orchestration/alerts.py, LOCAL_CLOCK) on the
fakesnow server and publishes to SNS and CloudWatch on the moto server, which serves every AWS
service on the stack's S3 port. The topic, metric and alarm names are the AWS template's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from snowflake.snowpark import Session

from orchestration.alerts import (
    ALERTS,
    LOCAL_CLOCK,
    NO_SUCCESS_MINUTES,
    AlertRule,
    Clock,
    render_condition,
)
from orchestration.deploy.aws import HEARTBEAT_METRIC, METRIC_NAMESPACE
from orchestration.graph import OPS_VIEWS
from orchestration.history import PipelineRun, utc_now
from orchestration.local.dbt_command import REPO_ROOT, run_dbt
from orchestration.local.settings import AWS_LOCAL_CREDENTIALS, StackSettings
from orchestration.local.stack import LocalStack

# orchestration/deploy/templates/aws.yaml.j2: AlertsTopic, HeartbeatTopic, HeartbeatAlarm.
ALERTS_TOPIC = "pixelforge-alerts"
HEARTBEAT_TOPIC = "pixelforge-heartbeat"
HEARTBEAT_ALARM = "pixelforge-no-successful-run"
OPS_MARTS_DIR = REPO_ROOT / "dbt_project" / "models" / "ops" / "marts"
MAX_ROWS_PUBLISHED = 20
# Views are looked up in information_schema.views: fakesnow lists only tables in .tables.
TABLE_EXISTS_SQL = (
    "select count(*) as n from information_schema.tables where table_schema = ? and table_name = ?"
)
VIEW_EXISTS_SQL = (
    "select count(*) as n from information_schema.views where table_schema = ? and table_name = ?"
)
Echo = Callable[[str], None]


class OpsViewsError(Exception):
    """dbt could not build the ops views."""


@dataclass(frozen=True)
class AlertEvaluation:
    """One rule's outcome: the rows its condition returned, or why it could not run."""

    rule: AlertRule
    rows: tuple[dict[str, Any], ...] = ()
    error: str | None = None

    @property
    def firing(self) -> bool:
        return self.error is None and bool(self.rows)


@dataclass(frozen=True)
class AlertReport:
    evaluated_at: datetime
    evaluations: tuple[AlertEvaluation, ...]
    published: tuple[str, ...] = ()  # SNS message ids, one per firing alert
    heartbeat_sent: bool = False

    @property
    def firing(self) -> tuple[AlertEvaluation, ...]:
        return tuple(e for e in self.evaluations if e.firing)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def evaluate_alerts(
    session: Session, rules: tuple[AlertRule, ...] = ALERTS, clock: Clock = LOCAL_CLOCK
) -> tuple[AlertEvaluation, ...]:
    """Run every rule's condition; a rule that cannot run is reported, never raised."""
    evaluations = []
    for rule in rules:
        try:
            rows = session.sql(render_condition(rule, clock)).collect()
        except Exception as error:  # a missing view or a bad rule must not stop the others
            evaluations.append(AlertEvaluation(rule, error=f"{type(error).__name__}: {error}"))
            continue
        plain = tuple({k.lower(): _plain(v) for k, v in row.as_dict().items()} for row in rows)
        evaluations.append(AlertEvaluation(rule, plain))
    return tuple(evaluations)


# --- AWS on the moto server --------------------------------------------------------------


def aws_client(settings: StackSettings, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=settings.s3_endpoint,
        region_name=AWS_LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=AWS_LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5),
    )


@dataclass(frozen=True)
class AlarmResources:
    alerts_topic_arn: str
    heartbeat_topic_arn: str


def ensure_alarm_resources(settings: StackSettings) -> AlarmResources:
    """The template's topics and heartbeat alarm (create_topic and put_metric_alarm are
    idempotent; moto keeps them in memory, so a restarted stack gets them again here)."""
    sns = aws_client(settings, "sns")
    alerts_arn = sns.create_topic(Name=ALERTS_TOPIC)["TopicArn"]
    heartbeat_arn = sns.create_topic(Name=HEARTBEAT_TOPIC)["TopicArn"]
    aws_client(settings, "cloudwatch").put_metric_alarm(
        AlarmName=HEARTBEAT_ALARM,
        AlarmDescription=f"No successful PixelForge run reported for {NO_SUCCESS_MINUTES} minutes.",
        Namespace=METRIC_NAMESPACE,
        MetricName=HEARTBEAT_METRIC,
        Statistic="Sum",
        Period=NO_SUCCESS_MINUTES * 60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="breaching",
        AlarmActions=[alerts_arn],
        OKActions=[alerts_arn],
    )
    return AlarmResources(alerts_arn, heartbeat_arn)


def send_heartbeat(settings: StackSettings, resources: AlarmResources, run: PipelineRun) -> None:
    """What production's finalizer + heartbeat Lambda do for a successful run: the
    run_succeeded notification on the heartbeat topic and one SuccessfulRuns datapoint."""
    message = {"event": "run_succeeded", "pipeline": "pixelforge", "run_id": run.run_id}
    aws_client(settings, "sns").publish(
        TopicArn=resources.heartbeat_topic_arn, Message=json.dumps(message)
    )
    aws_client(settings, "cloudwatch").put_metric_data(
        Namespace=METRIC_NAMESPACE,
        MetricData=[{"MetricName": HEARTBEAT_METRIC, "Value": 1, "Unit": "Count"}],
    )


def alert_message(evaluation: AlertEvaluation, evaluated_at: datetime) -> dict[str, Any]:
    return {
        **evaluation.rule.payload("pixelforge"),
        "evaluated_at": evaluated_at.isoformat(sep=" "),
        "rows": list(evaluation.rows[:MAX_ROWS_PUBLISHED]),
    }


def publish_alerts(
    settings: StackSettings,
    resources: AlarmResources,
    evaluations: tuple[AlertEvaluation, ...],
    evaluated_at: datetime,
) -> tuple[str, ...]:
    """One SNS message per firing alert on the alerts topic; returns the message ids."""
    sns = aws_client(settings, "sns")
    ids = []
    for evaluation in evaluations:
        if not evaluation.firing:
            continue
        rule = evaluation.rule
        response = sns.publish(
            TopicArn=resources.alerts_topic_arn,
            Subject=f"[{rule.severity}] pixelforge {rule.name}"[:100],
            Message=json.dumps(alert_message(evaluation, evaluated_at)),
            MessageAttributes={
                "alert": {"DataType": "String", "StringValue": rule.name},
                "severity": {"DataType": "String", "StringValue": rule.severity},
            },
        )
        ids.append(str(response["MessageId"]))
    return tuple(ids)


# --- the ops views ---------------------------------------------------------------------


def _exists(session: Session, sql: str, schema: str, name: str) -> bool:
    rows = session.sql(sql, params=[schema.upper(), name.upper()]).collect()
    return int(rows[0]["N"]) > 0


def ops_views_missing(stack: LocalStack) -> list[str]:
    """The ops marts (one view per model file) not in the warehouse yet."""
    names = sorted(path.stem for path in OPS_MARTS_DIR.glob("*.sql"))
    with stack.session() as session:
        return [name for name in names if not _exists(session, VIEW_EXISTS_SQL, "ops_marts", name)]


def ensure_ops_views(stack: LocalStack, echo: Echo | None = None) -> bool:
    """Build the ops views (dbt, selector ops, without tests) if any is missing.

    They are views, so one build serves every later run. They read the marts, so nothing is
    built before the first load; returns whether the views exist afterwards.
    """
    say = echo or (lambda _message: None)
    if not ops_views_missing(stack):
        return True
    with stack.session() as session:
        if not _exists(session, TABLE_EXISTS_SQL, "marts", "fct_file_versions"):
            say("ops views wait for the first load (marts.fct_file_versions does not exist)")
            return False
    say("building the ops views: dbt build --selector ops")
    # the deploy's ops build (DbtStep ops), without tests: the views, not their data, are needed
    args = (*OPS_VIEWS.build_args("local"), "--exclude-resource-type", "test")
    run = run_dbt(stack.settings, args, OPS_VIEWS.name)
    if run.returncode != 0:
        raise OpsViewsError(
            "dbt build --selector ops failed:\n" + (run.stdout + run.stderr)[-2000:]
        )
    return not ops_views_missing(stack)


# --- after a run -----------------------------------------------------------------------


def alert_after_run(
    stack: LocalStack, run: PipelineRun | None = None, echo: Echo | None = None
) -> AlertReport:
    """The host's duty after each run: heartbeat for a success, then every rule, published.

    `run` is the run just finished (None: evaluate only, as `pixelforge alerts` does).
    """
    say = echo or (lambda _message: None)
    settings = stack.settings
    resources = ensure_alarm_resources(settings)
    heartbeat = run is not None and run.state == "SUCCEEDED"
    if heartbeat:
        assert run is not None
        send_heartbeat(settings, resources, run)
    try:
        ensure_ops_views(stack, say)
    except OpsViewsError as error:  # reported through the rules that need the views
        say(str(error))
    evaluated_at = utc_now()
    with stack.session() as session:
        evaluations = evaluate_alerts(session)
    published = publish_alerts(settings, resources, evaluations, evaluated_at)
    for evaluation in evaluations:
        if evaluation.firing:
            say(
                f"ALERT [{evaluation.rule.severity}] {evaluation.rule.name}: "
                f"{evaluation.rule.message}"
            )
        elif evaluation.error:
            say(f"alert {evaluation.rule.name} not evaluated: {evaluation.error[:200]}")
    return AlertReport(evaluated_at, evaluations, published, heartbeat)
