"""The heartbeat Lambda: counts the finalizer's run_succeeded notifications as a CloudWatch metric.

The template includes this file as the function's inline code (ZipFile, so the module is
`index` and the handler `index.handler`: templates/aws/heartbeat.yaml.j2). The metric's namespace
and name come from the function's environment, which the template sets from
orchestration/deploy/aws.py. Only the standard library and boto3, which the Lambda runtime has.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3


@cache
def cloudwatch() -> Any:
    """One client per execution environment, reused by its invocations."""
    return boto3.client("cloudwatch")


def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    """Put one data point of the count of run_succeeded messages in this SNS delivery."""
    records = [r for r in event.get("Records", []) if "run_succeeded" in r["Sns"]["Message"]]
    if records:
        cloudwatch().put_metric_data(
            Namespace=os.environ["METRIC_NAMESPACE"],
            MetricData=[
                {"MetricName": os.environ["METRIC_NAME"], "Value": len(records), "Unit": "Count"}
            ],
        )
    return {"counted": len(records)}
