"""The AWS template: cfn-lint clean, deploys into moto's CloudFormation, outputs feed the plan,
and its policies answer concrete access questions the way the threat model needs
(tests/orchestration/iam_policy.py evaluates them)."""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import cfnlint.api
import pytest
from cfnlint.decode import cfn_yaml
from moto.server import ThreadedMotoServer

from ecs_render.batches import accepted_key, result_key
from orchestration.capacity import capacity_model
from orchestration.deploy import DeploySettings, render_plan
from orchestration.deploy.aws import (
    CONTAINER_PORT,
    INTERFACE_ENDPOINTS,
    KMS_PENDING_WINDOW_DAYS,
    LOG_RETENTION_DAYS,
    NONCURRENT_VERSION_DAYS,
    TRAIL_NAME,
    aws_template,
    thumbnail_write_prefixes,
)
from orchestration.local.loopback import free_port
from pixelforge_core import render_budget
from pixelforge_core.capacity import render_files_per_s
from pixelforge_core.render_budget import RENDER_BUDGET
from pixelforge_core.render_wire import thumbnail_key
from tests.orchestration.iam_policy import ACCOUNT, PARTITION, REGION, Request, Stack, decide

# Created by moto's CloudFormation: checked in the deployed stack.
MOTO_CREATED = {
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::S3::Bucket",
    "AWS::IAM::Role",
    "AWS::SNS::Topic",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Logs::LogGroup",
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::IAM::Policy",
    "AWS::Events::Rule",
    "AWS::ECS::Cluster",
    "AWS::ECS::TaskDefinition",
    "AWS::ECS::Service",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Deployment",
}
# moto 5.2 skips these types in CloudFormation (or rejects valid ones): checked statically.
MOTO_STATIC = {
    "AWS::S3::BucketPolicy",  # not implemented in moto's CloudFormation
    "AWS::CloudTrail::Trail",  # not implemented
    "AWS::SNS::Subscription",  # not implemented
    "AWS::CloudWatch::Alarm",  # not implemented
    "AWS::ApplicationAutoScaling::ScalableTarget",  # not implemented
    "AWS::ApplicationAutoScaling::ScalingPolicy",  # not implemented
    "AWS::ApiGateway::VpcLink",  # not implemented
    "AWS::ApiGateway::Stage",  # not implemented
    "AWS::ApiGateway::Account",  # not implemented
    "AWS::SNS::TopicPolicy",  # not implemented
}
# moto rejects valid resources: an NLB listener must be TCP, moto accepts only HTTP(S).
MOTO_REJECTED = {"RenderListener": "AWS::ElasticLoadBalancingV2::Listener"}

BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/pixelforge-break-glass"
# Someone else's principal and bucket: where an exploited renderer would copy designs to.
OUTSIDER = "arn:aws:iam::999999999999:user/mallory"
OUTSIDE_BUCKET = "arn:aws:s3:::mallory-loot"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/Administrator"


@pytest.fixture(scope="module")
def template_text() -> str:
    return aws_template()


@pytest.fixture(scope="module")
def template(template_text: str) -> dict[str, Any]:
    return cfn_yaml.loads(template_text)


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_is_clean(template_text: str) -> None:
    matches = cfnlint.api.lint(template_text, regions=["us-east-1"])
    assert not matches, "\n".join(str(m) for m in matches)


def test_every_resource_type_is_accounted_for(template: dict[str, Any]) -> None:
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert kinds == MOTO_CREATED | MOTO_STATIC | set(MOTO_REJECTED.values())


def test_buckets_are_private_encrypted_versioned_tls_only(template: dict[str, Any]) -> None:
    buckets = _resources(template, "AWS::S3::Bucket")
    policies = {
        p["Properties"]["Bucket"]["Ref"]: p["Properties"]["PolicyDocument"]["Statement"]
        for p in _resources(template, "AWS::S3::BucketPolicy").values()
    }
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"]["Status"] == "Enabled"
        assert all(props["PublicAccessBlockConfiguration"].values())
        tls = [s for s in policies[name] if s["Sid"] == "TlsOnly"]
        assert tls[0]["Effect"] == "Deny"
        assert tls[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        expected = "AES256" if name == "AuditLogBucket" else "aws:kms"
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == expected
    audit = buckets["AuditLogBucket"]["Properties"]
    assert audit["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Days"] == 365
    assert audit["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 366
    events = buckets["DesignsBucket"]["Properties"]["NotificationConfiguration"]["Fn::If"][1]
    assert {c["Event"] for c in events["QueueConfigurations"]} == {
        "s3:ObjectCreated:*",
        "s3:ObjectRemoved:*",
    }


def test_audit_lock_is_compliance_only_in_production(template: dict[str, Any]) -> None:
    """AWS "Using S3 Object Lock": nobody can shorten a COMPLIANCE retention, so only the
    production stack uses it; test and staging stacks stay deletable (GOVERNANCE)."""
    parameter = template["Parameters"]["Environment"]
    assert "Default" not in parameter, "the environment must be chosen, never defaulted"
    assert parameter["AllowedValues"] == ["production", "staging", "test"]
    assert template["Conditions"]["IsProduction"] == {
        "Fn::Equals": [{"Ref": "Environment"}, "production"]
    }
    audit = _resources(template, "AWS::S3::Bucket")["AuditLogBucket"]["Properties"]
    mode = audit["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"]
    assert mode == {"Fn::If": ["IsProduction", "COMPLIANCE", "GOVERNANCE"]}


@pytest.fixture(scope="module")
def stack(template: dict[str, Any]) -> Stack:
    return Stack(
        template,
        {
            "DesignsBucketName": "acme-designs",
            "ThumbnailsBucketName": "acme-thumbnails",
            "AuditLogBucketName": "acme-audit",
            "Environment": "production",
            "BreakGlassRoleArn": BREAK_GLASS,
            "RenderImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/render:1",
        },
    )


def _role(name: str) -> str:
    return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"


TASK_ROLE = _role("RenderTaskRole")
EXECUTION_ROLE = _role("RenderExecutionRole")
STORAGE_ROLE = _role("StorageIntegrationRole")
API_ROLE = _role("ApiIntegrationRole")
SNS_ROLE = _role("SnsPublishRole")
DESIGNS = "arn:aws:s3:::acme-designs"
THUMBNAILS = "arn:aws:s3:::acme-thumbnails"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL_NAME}"


def _identity(stack: Stack, role: str) -> list[dict[str, Any]]:
    """Every identity-policy statement attached to the role (inline and AWS::IAM::Policy)."""
    inline = stack.properties(role).get("Policies", [])
    attached = [
        stack.properties(name)
        for name, r in stack.template["Resources"].items()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    ]
    return [s for p in [*inline, *attached] for s in p["PolicyDocument"]["Statement"]]


def test_s3_endpoint_admits_only_this_accounts_buckets(stack: Stack) -> None:
    """The gateway endpoint is the renderer's only way to S3: nothing it passes can reach a
    bucket outside the account, with the task's credentials or with credentials brought in."""
    policy = stack.statements("S3GatewayEndpoint", "PolicyDocument")
    design = f"{DESIGNS}/customer/poster.psd"
    thumb = f"{THUMBNAILS}/{thumbnail_key('ab' * 32, 10, 1024)}"
    layers = f"arn:aws:s3:::prod-{REGION}-starport-layer-bucket/sha256/layer"
    admitted = [
        Request(TASK_ROLE, "s3:GetObject", design),
        Request(TASK_ROLE, "s3:PutObject", thumb),
        Request(TASK_ROLE, "s3:GetObject", thumb),
        Request(TASK_ROLE, "s3:ListBucket", THUMBNAILS),
        # image layers come through URLs ECR presigns: any principal, that one bucket
        Request("arn:aws:sts::000000000000:assumed-role/ecr/x", "s3:GetObject", layers),
    ]
    refused = [
        Request(TASK_ROLE, "s3:PutObject", f"{OUTSIDE_BUCKET}/poster.psd"),
        Request(TASK_ROLE, "s3:GetObject", f"{OUTSIDE_BUCKET}/x"),
        Request(OUTSIDER, "s3:PutObject", f"{OUTSIDE_BUCKET}/poster.psd"),
        Request(OUTSIDER, "s3:GetObject", design),
        Request(TASK_ROLE, "s3:PutObject", design),
        Request(TASK_ROLE, "s3:DeleteObject", thumb),
        Request(TASK_ROLE, "s3:PutObject", f"{THUMBNAILS}/elsewhere/poster.psd"),
        Request(TASK_ROLE, "s3:PutObject", layers),
        Request(TASK_ROLE, "s3:GetObject", "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/x"),
        Request(TASK_ROLE, "s3:GetObject", "arn:aws:s3:::acme-audit/AWSLogs/x"),
    ]
    assert [decide(policy, r) for r in admitted] == ["Allow"] * len(admitted)
    assert [decide(policy, r) for r in refused] == ["NoMatch"] * len(refused)


def test_interface_endpoints_admit_only_image_pulls_and_render_logs(stack: Stack) -> None:
    endpoints = {
        n: r for n, r in stack.template["Resources"].items() if r["Type"] == "AWS::EC2::VPCEndpoint"
    }
    assert set(endpoints) == {"S3GatewayEndpoint"} | {e.logical_id for e in INTERFACE_ENDPOINTS}
    repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/render"
    render_logs = stack.get_att("RenderLogs", "Arn").removesuffix(":*")
    stream = f"{render_logs}:log-stream:render/render/abc"
    for endpoint in INTERFACE_ENDPOINTS:
        policy = stack.statements(endpoint.logical_id, "PolicyDocument")
        pulls = [
            Request(EXECUTION_ROLE, "ecr:GetAuthorizationToken", "*"),
            Request(EXECUTION_ROLE, "ecr:BatchGetImage", repository),
            Request(EXECUTION_ROLE, "ecr:GetDownloadUrlForLayer", repository),
        ]
        writes = [
            Request(EXECUTION_ROLE, "logs:CreateLogStream", stream),
            Request(EXECUTION_ROLE, "logs:PutLogEvents", stream),
        ]
        admitted = pulls if endpoint.policy == "ecr-pull" else writes
        refused = [
            *(writes if endpoint.policy == "ecr-pull" else pulls),
            Request(EXECUTION_ROLE, "ecr:PutImage", repository),
            Request(
                EXECUTION_ROLE,
                "ecr:BatchGetImage",
                "arn:aws:ecr:us-east-1:999999999999:repository/x",
            ),
            Request(
                EXECUTION_ROLE,
                "logs:PutLogEvents",
                "arn:aws:logs:us-east-1:999999999999:log-group:x:log-stream:y",
            ),
            Request(TASK_ROLE, "ecr:BatchGetImage", repository),
            Request(OUTSIDER, "logs:PutLogEvents", stream),
        ]
        assert [decide(policy, r) for r in admitted] == ["Allow"] * len(admitted), endpoint
        assert [decide(policy, r) for r in refused] == ["NoMatch"] * len(refused), endpoint


def test_designs_are_read_only_by_three_principals(stack: Stack) -> None:
    """Renderer (through this VPC's endpoint only), Snowflake's storage role, break-glass."""
    policy = stack.statements("DesignsBucketPolicy", "PolicyDocument")
    design = f"{DESIGNS}/customer/poster.psd"
    endpoint = {"aws:SourceVpce": stack.ref("S3GatewayEndpoint")}
    not_denied = [
        Request(TASK_ROLE, "s3:GetObject", design, endpoint),
        Request(STORAGE_ROLE, "s3:GetObject", design),
        Request(STORAGE_ROLE, "s3:GetObjectVersion", design),
        Request(BREAK_GLASS, "s3:GetObject", design),
        Request(STORAGE_ROLE, "s3:ListBucket", DESIGNS),
    ]
    denied = [
        Request(TASK_ROLE, "s3:GetObject", design),  # stolen credentials, outside the VPC
        Request(TASK_ROLE, "s3:GetObject", design, {"aws:SourceVpce": "vpce-elsewhere"}),
        Request(TASK_ROLE, "s3:ListBucket", DESIGNS),
        Request(ADMIN, "s3:GetObject", design),
        Request(ADMIN, "s3:GetObjectVersion", design),
        Request(f"arn:aws:iam::{ACCOUNT}:root", "s3:GetObject", design),
        Request(OUTSIDER, "s3:GetObject", design),
        Request(STORAGE_ROLE, "s3:GetObject", design, {"aws:SecureTransport": "false"}),
    ]
    assert [decide(policy, r) for r in not_denied] == ["NoMatch"] * len(not_denied)
    assert [decide(policy, r) for r in denied] == ["Deny"] * len(denied)
    # and the roles' own policies grant what the bucket policy leaves them
    assert decide(_identity(stack, "RenderTaskRole"), not_denied[0], identity=True) == "Allow"
    for request in not_denied[1:3]:
        assert decide(_identity(stack, "StorageIntegrationRole"), request, identity=True) == "Allow"


def test_renderer_writes_thumbnails_only_in_its_layout_and_only_if_absent(stack: Stack) -> None:
    """Every key ecs_render writes passes; anything else, or a write that could overwrite, is
    denied by the bucket policy (AWS S3 "Enforce conditional writes on Amazon S3 buckets")."""
    bucket = stack.statements("ThumbnailsBucketPolicy", "PolicyDocument")
    endpoint_policy = stack.statements("S3GatewayEndpoint", "PolicyDocument")
    role = _identity(stack, "RenderTaskRole")
    via_endpoint = {"aws:SourceVpce": stack.ref("S3GatewayEndpoint")}
    if_absent = {**via_endpoint, "s3:if-none-match": "*"}
    keys = [thumbnail_key("0f" * 32, 123, 256), result_key("batch-1"), accepted_key("batch-1")]
    assert all(k.startswith(thumbnail_write_prefixes()) for k in keys)
    for key in keys:
        put = Request(TASK_ROLE, "s3:PutObject", f"{THUMBNAILS}/{key}", if_absent)
        assert decide(bucket, put) == "NoMatch", key
        assert decide(endpoint_policy, put) == "Allow", key
        assert decide(role, put, identity=True) == "Allow", key
        overwrite = Request(TASK_ROLE, "s3:PutObject", f"{THUMBNAILS}/{key}", via_endpoint)
        assert decide(bucket, overwrite) == "Deny", key
        outside = Request(
            TASK_ROLE, "s3:PutObject", f"{THUMBNAILS}/{key}", {"s3:if-none-match": "*"}
        )
        assert decide(bucket, outside) == "Deny", key
    for stray in ("poster.psd", "v2/x.webp", "batchesX/y.json", "designs/customer/poster.psd"):
        put = Request(TASK_ROLE, "s3:PutObject", f"{THUMBNAILS}/{stray}", if_absent)
        assert decide(bucket, put) == "Deny", stray
    # the layout rules bind the renderer only: Snowflake's reconciliation, operators are untouched
    assert decide(bucket, Request(ADMIN, "s3:PutObject", f"{THUMBNAILS}/poster.psd")) == "NoMatch"


def test_kms_keys_outlive_the_stack(stack: Stack) -> None:
    keys = _resources(stack.template, "AWS::KMS::Key")
    assert set(keys) == {"DataKey", "AuditKey"}
    for name, key in keys.items():
        assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain", name
        assert key["Properties"]["PendingWindowInDays"] == KMS_PENDING_WINDOW_DAYS == 30
        assert key["Properties"]["EnableKeyRotation"] is True
    # the data key admits no service; its users are granted through IAM
    (statement,) = stack.statements("DataKey", "KeyPolicy")
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def test_audit_key_serves_this_trail_and_the_topics_only(stack: Stack) -> None:
    """AWS CloudTrail "Configure AWS KMS key policies for CloudTrail"; AWS SNS "Encryption at
    rest" (CloudWatch alarms and EventBridge publishing to an encrypted topic)."""
    policy = stack.statements("AuditKey", "KeyPolicy")
    context = {"aws:SourceArn": TRAIL_ARN, "kms:EncryptionContext:aws:cloudtrail:arn": TRAIL_ARN}
    key = "*"
    assert (
        decide(policy, Request("cloudtrail.amazonaws.com", "kms:GenerateDataKey", key, context))
        == "Allow"
    )
    assert (
        decide(policy, Request("cloudtrail.amazonaws.com", "kms:DescribeKey", key, context))
        == "Allow"
    )
    other_trail = {**context, "aws:SourceArn": f"arn:aws:cloudtrail:{REGION}:999999999999:trail/x"}
    assert (
        decide(policy, Request("cloudtrail.amazonaws.com", "kms:GenerateDataKey", key, other_trail))
        == "NoMatch"
    )
    assert (
        decide(policy, Request("cloudtrail.amazonaws.com", "kms:Decrypt", key, context))
        == "NoMatch"
    )
    for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert decide(policy, Request(service, action, key)) == "Allow", (service, action)
        assert decide(policy, Request(service, "kms:ScheduleKeyDeletion", key)) == "NoMatch"
    assert decide(policy, Request("s3.amazonaws.com", "kms:Decrypt", key)) == "NoMatch"
    # who may decrypt customer files gets nothing on the audit key, and the other way round
    audit_key = stack.get_att("AuditKey", "Arn")
    data_key = stack.get_att("DataKey", "Arn")
    for role in ("RenderTaskRole", "StorageIntegrationRole"):
        decrypt = Request(_role(role), "kms:Decrypt", audit_key)
        assert decide(_identity(stack, role), decrypt, identity=True) == "NoMatch", role
    sns = _identity(stack, "SnsPublishRole")
    assert decide(sns, Request(SNS_ROLE, "kms:Decrypt", data_key), identity=True) == "NoMatch"


def test_topics_are_encrypted_and_published_to_by_named_sources(stack: Stack) -> None:
    topics = _resources(stack.template, "AWS::SNS::Topic")
    assert {n: t["Properties"]["KmsMasterKeyId"] for n, t in topics.items()} == {
        "AlertsTopic": {"Ref": "AuditKey"},
        "HeartbeatTopic": {"Ref": "AuditKey"},
    }
    # Snowflake's role may use the key for these two topics only (SNS's encryption context)
    sns = _identity(stack, "SnsPublishRole")
    audit_key = stack.get_att("AuditKey", "Arn")
    context_key = "kms:EncryptionContext:aws:sns:topicArn"
    for topic in ("AlertsTopic", "HeartbeatTopic"):
        request = Request(
            SNS_ROLE, "kms:GenerateDataKey", audit_key, {context_key: stack.ref(topic)}
        )
        assert decide(sns, request, identity=True) == "Allow"
    elsewhere = {context_key: f"arn:aws:sns:{REGION}:{ACCOUNT}:other"}
    assert (
        decide(sns, Request(SNS_ROLE, "kms:GenerateDataKey", audit_key, elsewhere), identity=True)
        == "NoMatch"
    )
    # the alerts topic's policy: this account's alarms, and exactly the audit-watch rules
    (topic_policy,) = _resources(stack.template, "AWS::SNS::TopicPolicy")
    policy = stack.statements(topic_policy, "PolicyDocument")
    alerts = stack.ref("AlertsTopic")
    rules = [stack.get_att(n, "Arn") for n in _resources(stack.template, "AWS::Events::Rule")]
    for rule in rules:
        publish = Request("events.amazonaws.com", "sns:Publish", alerts, {"aws:SourceArn": rule})
        assert decide(policy, publish) == "Allow", rule
    stranger = {"aws:SourceArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/other"}
    assert (
        decide(policy, Request("events.amazonaws.com", "sns:Publish", alerts, stranger))
        == "NoMatch"
    )
    alarm = Request(
        "cloudwatch.amazonaws.com", "sns:Publish", alerts, {"aws:SourceAccount": ACCOUNT}
    )
    assert decide(policy, alarm) == "Allow"
    foreign = Request(
        "cloudwatch.amazonaws.com", "sns:Publish", alerts, {"aws:SourceAccount": "999999999999"}
    )
    assert decide(policy, foreign) == "NoMatch"
    for alarm_resource in _resources(stack.template, "AWS::CloudWatch::Alarm").values():
        assert alarm_resource["Properties"]["AlarmActions"] == [{"Ref": "AlertsTopic"}]


def test_old_versions_of_customer_files_expire(stack: Stack) -> None:
    """A deletion request is honoured within NONCURRENT_VERSION_DAYS: whole-bucket rules."""
    assert NONCURRENT_VERSION_DAYS == 30
    for bucket in ("DesignsBucket", "ThumbnailsBucket"):
        rules = stack.properties(bucket)["LifecycleConfiguration"]["Rules"]
        whole_bucket = [r for r in rules if r["Status"] == "Enabled" and "Prefix" not in r]
        noncurrent = [
            r["NoncurrentVersionExpiration"]["NoncurrentDays"]
            for r in whole_bucket
            if "NoncurrentVersionExpiration" in r
        ]
        assert noncurrent == [NONCURRENT_VERSION_DAYS], bucket
    rules = stack.properties("DesignsBucket")["LifecycleConfiguration"]["Rules"]
    assert any(r.get("ExpiredObjectDeleteMarker") is True and "Prefix" not in r for r in rules)


def test_trail_records_both_buckets_in_every_region_encrypted(stack: Stack) -> None:
    (name,) = _resources(stack.template, "AWS::CloudTrail::Trail")
    trail = stack.properties(name)
    assert trail["TrailName"] == TRAIL_NAME
    assert trail["IsMultiRegionTrail"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    assert trail["EnableLogFileValidation"] is True
    assert trail["IsLogging"] is True
    assert trail["KMSKeyId"] == stack.get_att("AuditKey", "Arn")
    (selector,) = trail["EventSelectors"]
    assert (selector["ReadWriteType"], selector["IncludeManagementEvents"]) == ("All", True)
    (data,) = selector["DataResources"]
    assert data["Type"] == "AWS::S3::Object"
    assert sorted(data["Values"]) == [f"{DESIGNS}/", f"{THUMBNAILS}/"]
    # the audit bucket takes this trail's files only
    policy = stack.statements("AuditLogBucketPolicy", "PolicyDocument")
    write = Request(
        "cloudtrail.amazonaws.com",
        "s3:PutObject",
        f"arn:aws:s3:::acme-audit/AWSLogs/{ACCOUNT}/CloudTrail/x.json.gz",
        {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": TRAIL_ARN},
    )
    assert decide(policy, write) == "Allow"
    other = Request(
        write.principal,
        write.action,
        write.resource,
        {**write.context, "aws:SourceArn": "arn:aws:cloudtrail:us-east-1:999999999999:trail/x"},
    )
    assert decide(policy, other) == "NoMatch"


def test_api_access_logs_are_kept_a_year_without_bodies(stack: Stack) -> None:
    stage = stack.properties("RenderApiStage")
    assert stack.template["Resources"]["RenderApiStage"]["DependsOn"] == "ApiGatewayAccount"
    group = stack.ref("ApiAccessLogs")
    assert (
        stage["AccessLogSetting"]["DestinationArn"]
        == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    )
    assert stack.properties("ApiAccessLogs")["RetentionInDays"] == LOG_RETENTION_DAYS == 365
    fields = json.loads(stage["AccessLogSetting"]["Format"])
    assert {"requestId", "userArn", "sourceIp", "status", "httpMethod"} <= set(fields)
    # only $context variables (no request body, no mapping-template input)
    assert all(v.startswith("$context.") for v in fields.values()), fields
    for setting in stage["MethodSettings"]:
        assert setting.get("DataTraceEnabled", False) is False
        assert "LoggingLevel" not in setting
    account = stack.properties("ApiGatewayAccount")
    assert account["CloudWatchRoleArn"] == stack.get_att("ApiGatewayLogsRole", "Arn")


def test_every_log_group_is_retained_a_year(template: dict[str, Any]) -> None:
    groups = _resources(template, "AWS::Logs::LogGroup")
    assert set(groups) == {"RenderLogs", "HeartbeatFunctionLogs", "ApiAccessLogs"}
    for name, group in groups.items():
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain", name
        assert group["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS, name


def _matches(pattern: Any, event: Any) -> bool:
    """EventBridge matching for the patterns used here: lists of exact values, nested objects."""
    if isinstance(pattern, list):
        return event in pattern
    return isinstance(event, dict) and all(
        key in event and _matches(value, event[key]) for key, value in pattern.items()
    )


def _cloudtrail_event(source: str, event_name: str, **parameters: str) -> dict[str, Any]:
    service = source.removeprefix("aws.")
    return {
        "source": source,
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventSource": f"{service}.amazonaws.com",
            "eventName": event_name,
            "awsRegion": REGION,
            "eventTime": "2027-01-01T00:00:00Z",
            "userIdentity": {"arn": ADMIN},
            "requestParameters": parameters,
        },
    }


def test_tampering_with_the_audit_mails_the_alerts_topic(stack: Stack) -> None:
    """StopLogging, DeleteTrail, UpdateTrail, PutEventSelectors (and key and bucket-policy
    changes) reach the alerts topic within seconds, saying who did what, no object keys."""
    rules = {n: stack.properties(n) for n in _resources(stack.template, "AWS::Events::Rule")}

    def mailed(event: dict[str, Any]) -> list[str]:
        return [
            n
            for n, r in rules.items()
            if r["State"] == "ENABLED" and _matches(r["EventPattern"], event)
        ]

    for name in ("StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"):
        assert mailed(_cloudtrail_event("aws.cloudtrail", name, name=TRAIL_NAME)) == [
            "TrailTamperingRule"
        ]
    for name in ("DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"):
        assert mailed(_cloudtrail_event("aws.kms", name, keyId="x")) == ["KeyTamperingRule"]
    for bucket in ("acme-designs", "acme-thumbnails", "acme-audit"):
        event = _cloudtrail_event("aws.s3", "PutBucketPolicy", bucketName=bucket)
        assert mailed(event) == ["BucketPolicyChangeRule"], bucket
    quiet = [
        _cloudtrail_event("aws.s3", "PutBucketPolicy", bucketName="someone-elses"),
        _cloudtrail_event("aws.cloudtrail", "DescribeTrails"),
        _cloudtrail_event("aws.cloudtrail", "StartLogging", name=TRAIL_NAME),
    ]
    assert [mailed(e) for e in quiet] == [[]] * len(quiet)
    for rule in rules.values():
        (target,) = rule["Targets"]
        assert target["Arn"] == stack.ref("AlertsTopic")
        paths = set(target["InputTransformer"]["InputPathsMap"].values())
        assert paths <= {
            "$.detail.eventName",
            "$.detail.userIdentity.arn",
            "$.detail.awsRegion",
            "$.detail.eventTime",
        }


def test_render_api_admits_only_snowflakes_role(stack: Stack) -> None:
    api = stack.ref("RenderApi")
    prefix = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/"
    # API Gateway expands "execute-api:/" to this API's ARN
    policy = json.loads(
        json.dumps(stack.properties("RenderApi")["Policy"]["Statement"]).replace(
            "execute-api:/", prefix
        )
    )
    post, get = f"{prefix}prod/POST/render", f"{prefix}prod/GET/render"
    for method in (post, get):
        assert decide(policy, Request(API_ROLE, "execute-api:Invoke", method)) == "Allow"
        assert (
            decide(
                _identity(stack, "ApiIntegrationRole"),
                Request(API_ROLE, "execute-api:Invoke", method),
                identity=True,
            )
            == "Allow"
        )
    for caller in (ADMIN, TASK_ROLE, f"arn:aws:iam::{ACCOUNT}:root", OUTSIDER):
        assert decide(policy, Request(caller, "execute-api:Invoke", post)) == "Deny", caller
    assert (
        decide(policy, Request(API_ROLE, "execute-api:Invoke", f"{prefix}prod/DELETE/render"))
        == "NoMatch"
    )
    # the role's own policy names this API, not every API of the account
    other_api = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:otherapi/prod/POST/render"
    assert (
        decide(
            _identity(stack, "ApiIntegrationRole"),
            Request(API_ROLE, "execute-api:Invoke", other_api),
            identity=True,
        )
        == "NoMatch"
    )


def test_renderer_is_reachable_only_through_the_load_balancer(stack: Stack) -> None:
    """AWS ELB "Update the security groups for your Network Load Balancer" (groups on NLBs,
    2023): the NLB's group admits nothing from the VPC, the VPC link's PrivateLink traffic is
    exempt from inbound rules; the tasks admit only the NLB's group on the container port."""
    template = stack.template
    balancer = template["Resources"]["RenderLoadBalancer"]["Properties"]
    assert balancer["SecurityGroups"] == [{"Ref": "LoadBalancerSecurityGroup"}]
    assert balancer["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] == "off"
    nlb_group = template["Resources"]["LoadBalancerSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in nlb_group
    assert nlb_group["SecurityGroupEgress"] == [
        {
            "IpProtocol": "tcp",
            "FromPort": CONTAINER_PORT,
            "ToPort": CONTAINER_PORT,
            "DestinationSecurityGroupId": {"Ref": "RenderSecurityGroup"},
        }
    ]
    assert "SecurityGroupIngress" not in template["Resources"]["RenderSecurityGroup"]["Properties"]
    to_tasks = [
        r["Properties"]
        for r in _resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Ref": "RenderSecurityGroup"}
    ]
    assert to_tasks == [
        {
            "GroupId": {"Ref": "RenderSecurityGroup"},
            "IpProtocol": "tcp",
            "FromPort": CONTAINER_PORT,
            "ToPort": CONTAINER_PORT,
            "SourceSecurityGroupId": {"Ref": "LoadBalancerSecurityGroup"},
        }
    ]
    network = template["Resources"]["RenderService"]["Properties"]["NetworkConfiguration"]
    assert network["AwsvpcConfiguration"]["SecurityGroups"] == [{"Ref": "RenderSecurityGroup"}]
    # no security group in the stack admits an address range
    for group in _resources(template, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert "CidrIp" not in rule and "CidrIpv6" not in rule, rule


def test_storage_role_is_read_only_on_designs(template: dict[str, Any]) -> None:
    role = template["Resources"]["StorageIntegrationRole"]["Properties"]
    actions = {
        a
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for a in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    assert actions == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "kms:Decrypt",
    }
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"]["StringEquals"]["sts:ExternalId"] == {
        "Ref": "SnowflakeStorageExternalId"
    }


def test_alarms_heartbeat_autoscaling_and_api(template: dict[str, Any]) -> None:
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in _resources(template, "AWS::CloudWatch::Alarm").values()
    }
    heartbeat = alarms["SuccessfulRuns"]
    assert heartbeat["TreatMissingData"] == "breaching"
    assert heartbeat["Period"] * heartbeat["EvaluationPeriods"] == 30 * 60
    assert {"5XXError", "Latency"} <= set(alarms)
    policy = template["Resources"]["RenderCpuScaling"]["Properties"]
    metric = policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
    assert metric["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    target = template["Resources"]["RenderScalableTarget"]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (
        RENDER_BUDGET.min_tasks,
        {"Ref": "RenderMaxTasks"},
    )
    maximum = template["Parameters"]["RenderMaxTasks"]
    assert maximum["Default"] == RENDER_BUDGET.max_tasks
    for method in _resources(template, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        assert props["AuthorizationType"] == "AWS_IAM"
        assert props["Integration"]["ConnectionType"] == "VPC_LINK"
    scheme = template["Resources"]["RenderLoadBalancer"]["Properties"]["Scheme"]
    assert scheme == "internal"
    logs = _resources(template, "AWS::Logs::LogGroup").values()
    assert all(g["Properties"]["RetentionInDays"] == 365 for g in logs)
    assert template["Parameters"]["BreakGlassRoleArn"].get("Default") is None


def test_the_renderers_scaling_and_throttle_are_the_budgets(template: dict[str, Any]) -> None:
    """Every capacity number of the template is the render budget's (pixelforge_core)."""
    budget = RENDER_BUDGET
    maximum = template["Parameters"]["RenderMaxTasks"]
    assert (maximum["Type"], maximum["Default"], maximum["MinValue"], maximum["MaxValue"]) == (
        "Number", budget.max_tasks, budget.min_tasks, budget.initial_load_max_tasks,
    )  # fmt: skip
    service = template["Resources"]["RenderService"]["Properties"]
    assert service["DesiredCount"] == budget.min_tasks
    task = template["Resources"]["RenderTaskDefinition"]["Properties"]
    assert (task["Cpu"], task["Memory"]) == (
        str(budget.task_cpu_units),
        str(budget.task_memory_mib),
    )
    workers = {e["Name"]: e["Value"] for e in task["ContainerDefinitions"][0]["Environment"]}[
        "PIXELFORGE_RENDER_WORKERS"
    ]
    assert workers == str(budget.workers_per_task)
    policy = template["Resources"]["RenderCpuScaling"]["Properties"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert (tracking["TargetValue"], tracking["ScaleOutCooldown"], tracking["ScaleInCooldown"]) == (
        budget.target_cpu_percent, budget.scale_out_cooldown_s, budget.scale_in_cooldown_s,
    )  # fmt: skip
    (stage,) = _resources(template, "AWS::ApiGateway::Stage").values()
    (setting,) = stage["Properties"]["MethodSettings"]
    burst, rate = setting["ThrottlingBurstLimit"], setting["ThrottlingRateLimit"]
    assert burst == budget.initial_load_max_tasks * budget.concurrent_batches_per_task
    assert rate == burst * budget.requests_per_batch_per_s
    # below API Gateway's account-level default (10,000 requests/s, burst 5,000 per Region,
    # AWS "Throttle requests to your REST APIs for better throughput in API Gateway")
    assert rate <= 10_000 and burst <= 5_000


def test_a_budget_change_moves_the_template() -> None:
    wider = dataclasses.replace(RENDER_BUDGET, max_tasks=6, initial_load_max_tasks=40,
                                scale_in_cooldown_s=600, concurrent_batches_per_task=4)  # fmt: skip
    changed = cfn_yaml.loads(aws_template(wider))
    maximum = changed["Parameters"]["RenderMaxTasks"]
    assert (maximum["Default"], maximum["MaxValue"]) == (6, 40)
    tracking = changed["Resources"]["RenderCpuScaling"]["Properties"][
        "TargetTrackingScalingPolicyConfiguration"
    ]
    assert tracking["ScaleInCooldown"] == 600
    (stage,) = _resources(changed, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["MethodSettings"][0]["ThrottlingBurstLimit"] == 160


def test_the_budget_states_its_throughput_from_the_committed_measurement() -> None:
    """The budget's docstring gives files an hour at its maxima from tasks x vCPU / (measured
    render CPU per file x derate); recomputed here, so the text follows the measurement."""
    model = capacity_model()
    doc = " ".join((render_budget.__doc__ or "").split())
    assert f"{model.render_cpu_s_per_file:.3f} CPU-s per file" in doc
    assert f"{model.render_cpu_derate:g} Fargate derate" in doc
    for tasks in (RENDER_BUDGET.max_tasks, RENDER_BUDGET.initial_load_max_tasks):
        fanned_out = model.with_capacity(
            max_tasks=tasks, render_statement_rows=RENDER_BUDGET.statement_rows(tasks)
        )
        per_hour = render_files_per_s(fanned_out) * 3600
        assert f"about {round(per_hour, -3):,.0f} files an hour" in doc, (tasks, per_hour)
    as_built = render_files_per_s(model) * 3600  # the render step's own statement size
    assert f"{model.render_statement_rows}-row statements" in doc
    assert f"about {round(as_built, -3):,.0f} files an hour" in doc, as_built


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _for_moto(template: dict[str, Any]) -> str:
    """The template minus the resources moto rejects (checked statically above)."""
    resources = {n: dict(r) for n, r in template["Resources"].items() if n not in MOTO_REJECTED}
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if isinstance(depends, str) and depends in MOTO_REJECTED:
            resource.pop("DependsOn")
    return json.dumps({**template, "Resources": resources})


def test_stack_deploys_into_moto(template: dict[str, Any], moto_endpoint: str) -> None:
    client = boto3.client(
        "cloudformation",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto warns for each type it skips
        client.create_stack(
            StackName="pixelforge",
            TemplateBody=_for_moto(template),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=[
                {"ParameterKey": "DesignsBucketName", "ParameterValue": "acme-designs"},
                {"ParameterKey": "ThumbnailsBucketName", "ParameterValue": "acme-thumbnails"},
                {"ParameterKey": "AuditLogBucketName", "ParameterValue": "acme-audit"},
                {"ParameterKey": "Environment", "ParameterValue": "test"},
                {"ParameterKey": "BreakGlassRoleArn", "ParameterValue": BREAK_GLASS},
                {
                    "ParameterKey": "RenderImageUri",
                    "ParameterValue": "123456789012.dkr.ecr.us-east-1.amazonaws.com/render:1",
                },
                {
                    "ParameterKey": "SnowflakeDirectoryQueueArn",
                    "ParameterValue": "arn:aws:sqs:us-east-1:123456789012:sf-snowpipe-x",
                },
            ],
        )
    stack = client.describe_stacks(StackName="pixelforge")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    summaries = client.list_stack_resources(StackName="pixelforge")["StackResourceSummaries"]
    created = {r["ResourceType"] for r in summaries if r.get("LogicalResourceId")}
    assert created == MOTO_CREATED
    assert all(r["ResourceStatus"] == "CREATE_COMPLETE" for r in summaries)
    # the stack's outputs are exactly the deploy settings the Snowflake plan needs
    outputs = {o["Description"]: o["OutputValue"] for o in stack["Outputs"]}
    environ = {
        **outputs,
        "PIXELFORGE_AWS_ACCOUNT_ID": "123456789012",
        "PIXELFORGE_AWS_REGION": "us-east-1",
    }
    settings = DeploySettings.from_env("prod", environ=environ)
    text = "\n".join(s.sql for s in render_plan(settings))
    assert f"storage_aws_role_arn = '{outputs['PIXELFORGE_STORAGE_ROLE_ARN']}'" in text
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {"acme-designs", "acme-thumbnails", "acme-audit"} <= buckets
