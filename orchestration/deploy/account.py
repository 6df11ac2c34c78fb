"""Account-level parameters the plan may set: ACCOUNTADMIN only, with
PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS=true."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountGuardrail:
    name: str
    reason: str


# What PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS sets ("Parameters",
# https://docs.snowflake.com/en/sql-reference/parameters). None breaks this plan: its two external
# stages name the storage integration, its one internal stage (ops.deploy_artifacts) is not a
# cloud storage location, and nothing in it or in the procedures unloads with COPY INTO
# (tests/orchestration/test_deploy_plan.py::test_security_the_plan_runs_under_its_guardrails).
ACCOUNT_GUARDRAILS: tuple[AccountGuardrail, ...] = (
    AccountGuardrail(
        "prevent_unload_to_inline_url",
        "COPY INTO <location> may unload to named stages only, never to a URL typed into the "
        "statement (settable by ACCOUNTADMIN only; a user-level parameter since the 2025_01 "
        "bundle, https://docs.snowflake.com/en/release-notes/bcr-bundles/2025_01/bcr-1841)",
    ),
    AccountGuardrail(
        "require_storage_integration_for_stage_creation",
        "an external stage must name a storage integration (no credentials in CREATE STAGE): "
        "ours name pixelforge_designs",
    ),
    AccountGuardrail(
        "require_storage_integration_for_stage_operation",
        "loading from or unloading to a private cloud location only through a named external "
        "stage that names a storage integration; internal stages are not concerned",
    ),
)
