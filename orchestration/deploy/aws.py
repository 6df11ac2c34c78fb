"""The CloudFormation template of the AWS side, with its sizing decided here, not in YAML.

Values that differ per account (bucket names, the image URI, Snowflake's handshake values) are
CloudFormation parameters; values that follow from the pipeline's definition and the render
budget (task size, autoscaling bounds, the heartbeat window, retention) are rendered in, and so
are the access rules that follow from the renderer's S3 key layout (ecs_render).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ecs_render.batches import BATCH_PREFIX
from orchestration.alerts import NO_SUCCESS_MINUTES
from orchestration.deploy import aws_lambda
from orchestration.deploy.render import render_text
from pixelforge_core.render_budget import RENDER_BUDGET, RenderBudget
from pixelforge_core.render_wire import thumbnail_key

API_STAGE = "prod"
# The heartbeat Lambda's code, included in the template as its inline code (ZipFile).
HEARTBEAT_LAMBDA = Path(aws_lambda.__file__).with_name("heartbeat.py")
API_RESOURCE = "render"
CONTAINER_PORT = 8080  # ecs_render/Dockerfile EXPOSE 8080
LISTENER_PORT = 80
METRIC_NAMESPACE = "PixelForge"
HEARTBEAT_METRIC = "SuccessfulRuns"
LOG_RETENTION_DAYS = 365  # one year of audit, like ACCOUNT_USAGE (semantics §7)
AUDIT_RETENTION_DAYS = 365
# The stack's Environment parameter: only production locks the audit log in COMPLIANCE mode
# (AWS "Using S3 Object Lock": no user, root included, can shorten a COMPLIANCE retention, so a
# test stack would leave an undeletable bucket for a year); the others use GOVERNANCE.
PRODUCTION_ENVIRONMENT = "production"
ENVIRONMENTS = (PRODUCTION_ENVIRONMENT, "staging", "test")
# API Gateway REST's default ceiling; a synchronous batch must answer within it (semantics §4.3).
INTEGRATION_TIMEOUT_MS = 29_000
# A deleted or overwritten design stays restorable as a noncurrent version for this many days,
# then lifecycle removes it, so a customer's deletion request is honoured within this window.
NONCURRENT_VERSION_DAYS = 30
# Parts of an upload that never completed are customer data nobody can see: drop them.
INCOMPLETE_UPLOAD_DAYS = 7
# The longest waiting period AWS KMS allows before a scheduled key deletion takes effect
# (AWS::KMS::Key PendingWindowInDays, 7-30): the most time to notice and cancel it.
KMS_PENDING_WINDOW_DAYS = 30
TRAIL_NAME = "pixelforge-designs-access"
# The break-glass role is a full IAM role ARN in this partition ("IAM identifiers", AWS).
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"
# REST API access-log fields ("$context variables for data models, authorizers, mapping templates
# and CloudWatch access logging", AWS API Gateway): who called, what, and the outcome. No request
# body or query string: a batch's rows carry customer file paths, which stay out of the logs.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "sourceIp": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
}


@dataclass(frozen=True)
class InterfaceEndpoint:
    """An interface VPC endpoint and what its endpoint policy lets the renderer's task do."""

    name: str
    policy: str  # "ecr-pull" or "logs-write", the statement set the template renders

    @property
    def logical_id(self) -> str:
        return "".join(part.capitalize() for part in self.name.split(".")) + "Endpoint"


# Interface endpoints the tasks need without a NAT gateway: pulling the image, shipping logs.
INTERFACE_ENDPOINTS = (
    InterfaceEndpoint("ecr.api", "ecr-pull"),
    InterfaceEndpoint("ecr.dkr", "ecr-pull"),
    InterfaceEndpoint("logs", "logs-write"),
)


@dataclass(frozen=True)
class ApiMethod:
    verb: str

    @property
    def logical_id(self) -> str:
        return f"Render{self.verb.capitalize()}Method"


# POST submits a batch; GET is Snowflake's poll in the asynchronous (202) protocol.
API_METHODS = (ApiMethod("POST"), ApiMethod("GET"))


@dataclass(frozen=True)
class AuditWatch:
    """An EventBridge rule on CloudTrail management events that mails the alerts topic.

    buckets: match only calls on this stack's buckets (detail.requestParameters.bucketName).
    """

    logical_id: str
    description: str
    source: str
    event_source: str
    event_names: tuple[str, ...]
    buckets: bool = False


# Tampering with the audit trail or the controls this template sets. EventBridge receives these
# as "AWS API Call via CloudTrail" events while a trail is logging (AWS EventBridge "Events from
# AWS services"), so StopLogging is the last call the trail reports and it is reported. For a
# multi-region trail StopLogging, UpdateTrail and DeleteTrail must be called in its home region
# (AWS CloudTrail API "StopLogging": InvalidHomeRegionException elsewhere), where this rule is.
AUDIT_WATCHES = (
    AuditWatch(
        "TrailTamperingRule",
        "The audit trail was stopped, deleted or changed.",
        "aws.cloudtrail",
        "cloudtrail.amazonaws.com",
        ("StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"),
    ),
    AuditWatch(
        "KeyTamperingRule",
        "A KMS key was disabled, scheduled for deletion or got a new key policy.",
        "aws.kms",
        "kms.amazonaws.com",
        ("DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"),
    ),
    AuditWatch(
        "BucketPolicyChangeRule",
        "A bucket policy or lifecycle of the designs, thumbnails or audit bucket changed.",
        "aws.s3",
        "s3.amazonaws.com",
        ("PutBucketPolicy", "DeleteBucketPolicy", "PutBucketLifecycle", "DeleteBucketLifecycle"),
        buckets=True,
    ),
)
# What an audit alert mail says: the call, who made it, where and when. Nothing from the request
# parameters: no object keys (file paths) leave AWS.
AUDIT_ALERT_FIELDS = {
    "event": "$.detail.eventName",
    "actor": "$.detail.userIdentity.arn",
    "region": "$.detail.awsRegion",
    "time": "$.detail.eventTime",
}
AUDIT_ALERT_TEMPLATE = (
    '"PixelForge audit alert: <event> by <actor> in <region> at <time>. '
    'Check CloudTrail before anything else."'
)


def thumbnail_write_prefixes() -> tuple[str, ...]:
    """The thumbnails bucket's key prefixes the renderer writes, from ecs_render's own layout:
    content-addressed thumbnails (storage.thumbnail_key, v1/...) and the asynchronous batch
    records (batches.BATCH_PREFIX)."""
    sample = thumbnail_key("0" * 64, 1, 1)
    prefixes = (sample[: sample.index("/") + 1], BATCH_PREFIX)
    for prefix in prefixes:
        if not prefix.endswith("/") or any(c in prefix for c in "*?$"):
            raise ValueError(f"not a literal folder prefix for a bucket policy: {prefix!r}")
    return prefixes


def aws_template(budget: RenderBudget = RENDER_BUDGET) -> str:
    """The CloudFormation template (YAML) for the designs/thumbnails/renderer/audit stack."""
    return render_text(
        "aws.yaml.j2",
        api_stage=API_STAGE,
        api_resource=API_RESOURCE,
        container_port=CONTAINER_PORT,
        listener_port=LISTENER_PORT,
        metric_namespace=METRIC_NAMESPACE,
        heartbeat_metric=HEARTBEAT_METRIC,
        heartbeat_lambda=HEARTBEAT_LAMBDA.read_text(),
        heartbeat_minutes=NO_SUCCESS_MINUTES,
        heartbeat_period_s=NO_SUCCESS_MINUTES * 60,
        log_retention_days=LOG_RETENTION_DAYS,
        audit_retention_days=AUDIT_RETENTION_DAYS,
        environments=ENVIRONMENTS,
        production_environment=PRODUCTION_ENVIRONMENT,
        # lifecycle expiry one day after the lock ends: a locked object cannot be deleted
        audit_expiration_days=AUDIT_RETENTION_DAYS + 1,
        noncurrent_version_days=NONCURRENT_VERSION_DAYS,
        incomplete_upload_days=INCOMPLETE_UPLOAD_DAYS,
        kms_pending_window_days=KMS_PENDING_WINDOW_DAYS,
        trail_name=TRAIL_NAME,
        role_arn_pattern=ROLE_ARN_PATTERN,
        thumbnail_prefixes=thumbnail_write_prefixes(),
        batch_prefix=BATCH_PREFIX,
        access_log_format=json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":")),
        audit_watches=AUDIT_WATCHES,
        audit_alert_fields=AUDIT_ALERT_FIELDS,
        audit_alert_template=AUDIT_ALERT_TEMPLATE,
        task_cpu=budget.task_cpu_units,
        task_memory=budget.task_memory_mib,
        workers=budget.workers_per_task,
        min_tasks=budget.min_tasks,
        max_tasks=budget.max_tasks,
        initial_load_max_tasks=budget.initial_load_max_tasks,
        target_cpu=budget.target_cpu_percent,
        scale_in_cooldown_s=budget.scale_in_cooldown_s,
        scale_out_cooldown_s=budget.scale_out_cooldown_s,
        api_throttle_burst=budget.api_throttle_burst(),
        api_throttle_rate=budget.api_throttle_rate(),
        integration_timeout_ms=INTEGRATION_TIMEOUT_MS,
        # alarm before batches hit the integration timeout
        latency_threshold_ms=int(INTEGRATION_TIMEOUT_MS * 0.8),
        api_5xx_threshold=5,
        api_methods=API_METHODS,
        interface_endpoints=INTERFACE_ENDPOINTS,
    )
