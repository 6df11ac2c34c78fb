"""The heartbeat Lambda (orchestration/deploy/aws_lambda/heartbeat.py): imported and run here
against moto's CloudWatch, and included unchanged as the template's inline code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from cfnlint.decode import cfn_yaml
from moto import mock_aws

from orchestration.deploy import aws
from orchestration.deploy.aws_lambda import heartbeat


def _delivery(*messages: str) -> dict:
    return {"Records": [{"Sns": {"Message": message}} for message in messages]}


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("METRIC_NAMESPACE", aws.METRIC_NAMESPACE)
    monkeypatch.setenv("METRIC_NAME", aws.HEARTBEAT_METRIC)
    heartbeat.cloudwatch.cache_clear()
    with mock_aws():
        yield boto3.client("cloudwatch")
    heartbeat.cloudwatch.cache_clear()


def _sum(client) -> float:
    now = datetime.now(UTC)
    points = client.get_metric_statistics(
        Namespace=aws.METRIC_NAMESPACE,
        MetricName=aws.HEARTBEAT_METRIC,
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    return sum(p["Sum"] for p in points)


def test_counts_only_successful_runs(cloudwatch) -> None:
    succeeded = json.dumps({"alert": "run_succeeded", "pipeline": "pixelforge"})
    failed = json.dumps({"alert": "run_failed", "pipeline": "pixelforge"})
    assert heartbeat.handler(_delivery(succeeded, failed, succeeded), None) == {"counted": 2}
    assert _sum(cloudwatch) == 2


def test_no_success_puts_no_data_point(cloudwatch) -> None:
    assert heartbeat.handler(_delivery(json.dumps({"alert": "run_failed"})), None) == {"counted": 0}
    assert heartbeat.handler({}, None) == {"counted": 0}
    assert cloudwatch.list_metrics(Namespace=aws.METRIC_NAMESPACE)["Metrics"] == []


def test_template_inlines_the_file_with_its_metric() -> None:
    function = cfn_yaml.loads(aws.aws_template())["Resources"]["HeartbeatFunction"]["Properties"]
    assert function["Code"]["ZipFile"] == aws.HEARTBEAT_LAMBDA.read_text()
    assert function["Handler"] == "index.handler"
    assert function["Environment"]["Variables"] == {
        "METRIC_NAMESPACE": aws.METRIC_NAMESPACE,
        "METRIC_NAME": aws.HEARTBEAT_METRIC,
    }
