"""The AWS template: cfn-lint clean, deploys into moto's CloudFormation, outputs feed the plan."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import cfnlint.api
import pytest
from cfnlint.decode import cfn_yaml
from moto.server import ThreadedMotoServer

from orchestration.deploy import DeploySettings, render_plan
from orchestration.deploy.aws import aws_template
from orchestration.deploy.budget import RENDER_BUDGET
from orchestration.local.loopback import free_port

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
}
# moto rejects valid resources: an NLB listener must be TCP, moto accepts only HTTP(S).
MOTO_REJECTED = {"RenderListener": "AWS::ElasticLoadBalancingV2::Listener"}


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


def test_trail_records_data_events_on_designs(template: dict[str, Any]) -> None:
    (trail,) = _resources(template, "AWS::CloudTrail::Trail").values()
    selector = trail["Properties"]["EventSelectors"][0]
    assert selector["DataResources"][0]["Type"] == "AWS::S3::Object"
    assert selector["DataResources"][0]["Values"] == [{"Fn::Sub": "${DesignsBucket.Arn}/"}]
    assert trail["Properties"]["EnableLogFileValidation"] is True


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
        RENDER_BUDGET.max_tasks,
    )
    for method in _resources(template, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        assert props["AuthorizationType"] == "AWS_IAM"
        assert props["Integration"]["ConnectionType"] == "VPC_LINK"
    scheme = template["Resources"]["RenderLoadBalancer"]["Properties"]["Scheme"]
    assert scheme == "internal"
    logs = _resources(template, "AWS::Logs::LogGroup").values()
    assert all(g["Properties"]["RetentionInDays"] == 365 for g in logs)


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
