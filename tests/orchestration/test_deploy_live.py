"""Live contract tests: the plan against a real Snowflake account, the stack against real AWS.

They run only when credentials exist (SNOWFLAKE_ACCOUNT and the deploy settings; AWS
credentials plus PIXELFORGE_LIVE_STACK_* names) and skip with the reason otherwise.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from orchestration.deploy import DeploySettings, SettingsError, render_plan
from orchestration.deploy.apply import apply_plan, prod_connection_parameters
from orchestration.deploy.artifacts import build_artifacts
from orchestration.deploy.aws import aws_template
from orchestration.deploy.procedures import load_procedures

pytestmark = pytest.mark.live


def _snowflake_settings() -> tuple[dict[str, object], DeploySettings]:
    if not os.environ.get("SNOWFLAKE_ACCOUNT"):
        pytest.skip("SNOWFLAKE_ACCOUNT is not set: no Snowflake account to deploy to")
    try:
        return prod_connection_parameters(), DeploySettings.from_env("prod")
    except SettingsError as error:
        pytest.skip(f"deploy settings incomplete: {error}")


def test_procedure_packages_install_in_the_account() -> None:
    """What `make check-packages` cannot settle offline (the runtime's glibc, the artifact
    repository's reach): a throwaway procedure with the procedures' exact PACKAGES, IMPORTS and
    ARTIFACT_REPOSITORY imports every handler module and answers 'ok'. Run after a deploy
    (the zip must be on the stage)."""
    import snowflake.connector

    parameters, settings = _snowflake_settings()
    spec = load_procedures()[0]
    packages = ", ".join(f"'{pin}'" for pin in spec.packages)
    imports = ", ".join(f"'{item}'" for item in spec.imports)
    probe = f"{spec.schema}.pixelforge_packages_probe_{uuid.uuid4().hex[:8]}"
    connection = snowflake.connector.connect(**parameters)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"use database {settings.database}")
            cursor.execute(f"use role {settings.loader_role}")
            cursor.execute(
                f"create procedure {probe}() returns varchar language python "
                f"runtime_version = '{spec.runtime}' artifact_repository = "
                f"{spec.artifact_repository} packages = ({packages}) imports = ({imports}) "
                "handler = 'probe' as $$\n"
                "def probe(session):\n"
                "    import snowpark_procs.handlers  # noqa: F401\n"
                "    import snowpark_procs.udf_extract  # noqa: F401\n"
                "    return 'ok'\n$$"
            )
            try:
                cursor.execute(f"call {probe}()")
                row = cursor.fetchone()
                assert row is not None and row[0] == "ok", row
            finally:
                cursor.execute(f"drop procedure if exists {probe}()")
    finally:
        connection.close()


def test_the_extraction_udf_reads_a_staged_file_through_its_scoped_url() -> None:
    """After a deploy: the set-based statement's shape over one file of the designs stage, as
    the procedures' owner (the loader) runs it: the scoped URL is readable by the UDF and the
    outcome is a metadata or failure row (not a retry or a hung marker)."""
    import json

    import snowflake.connector

    from snowpark_procs.handlers import DESIGNS_STAGE, FUNCTIONS

    parameters, settings = _snowflake_settings()
    function = FUNCTIONS["extract_file_metadata"]
    connection = snowflake.connector.connect(**parameters)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"use database {settings.database}")
            cursor.execute(f"use role {settings.loader_role}")
            cursor.execute(f"use warehouse {settings.warehouse}")
            cursor.execute(
                f"select raw.{function.name}(build_scoped_file_url('@{DESIGNS_STAGE}', "
                "relative_path), relative_path, etag, 'live-probe', 60)::varchar "
                f"from directory(@{DESIGNS_STAGE}) order by size limit 1"
            )
            row = cursor.fetchone()
            if row is None:
                pytest.skip("the designs stage lists no file yet")
            outcome = json.loads(row[0])
            assert outcome["status"] in {"ok", "failed"}, outcome
            assert outcome["run_id"] == "live-probe"
    finally:
        connection.close()


def test_plan_applies_twice_to_the_account(tmp_path: Path) -> None:
    parameters, settings = _snowflake_settings()
    build_artifacts(
        Path(settings.artifact_dir),
        settings.transformer_role,
        settings.warehouse,
        settings.database,
    )
    statements = render_plan(settings)
    first = apply_plan(parameters, statements, "prod")
    second = apply_plan(parameters, statements, "prod")
    assert first.applied == second.applied == len(statements)


def test_stack_deploys_to_aws() -> None:
    boto3 = pytest.importorskip("boto3")
    names = {
        key: os.environ.get(f"PIXELFORGE_LIVE_STACK_{key}")
        for key in ("DESIGNS_BUCKET", "THUMBNAILS_BUCKET", "AUDIT_BUCKET", "IMAGE_URI")
    }
    if missing := [k for k, v in names.items() if not v]:
        pytest.skip(f"PIXELFORGE_LIVE_STACK_{', '.join(missing)} not set: no AWS stack to deploy")
    session = boto3.session.Session()
    if session.get_credentials() is None:
        pytest.skip("no AWS credentials in the environment")
    client = session.client("cloudformation")
    account = session.client("sts").get_caller_identity()["Account"]
    stack = f"pixelforge-contract-{uuid.uuid4().hex[:8]}"
    client.create_stack(
        StackName=stack,
        TemplateBody=aws_template(),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[
            {"ParameterKey": "DesignsBucketName", "ParameterValue": names["DESIGNS_BUCKET"]},
            {"ParameterKey": "ThumbnailsBucketName", "ParameterValue": names["THUMBNAILS_BUCKET"]},
            {"ParameterKey": "AuditLogBucketName", "ParameterValue": names["AUDIT_BUCKET"]},
            {"ParameterKey": "RenderImageUri", "ParameterValue": names["IMAGE_URI"]},
            # GOVERNANCE lock: the contract stack's audit bucket stays deletable
            {"ParameterKey": "Environment", "ParameterValue": "test"},
            # a bucket policy may name a role that does not exist (a condition value)
            {
                "ParameterKey": "BreakGlassRoleArn",
                "ParameterValue": f"arn:aws:iam::{account}:role/pixelforge-contract-break-glass",
            },
        ],
    )
    try:
        client.get_waiter("stack_create_complete").wait(StackName=stack)
        outputs = client.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
        assert {o["Description"] for o in outputs} >= {"PIXELFORGE_STORAGE_ROLE_ARN"}
    finally:
        client.delete_stack(StackName=stack)
