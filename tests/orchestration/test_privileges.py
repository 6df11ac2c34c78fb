"""The offline privilege checker (orchestration/deploy/checks/privileges.py).

The rendered production plan is replayed against a model of Snowflake's access control with
every actor that runs in production: the plan's statements, the tasks, the procedures (their
statements recorded by running the handlers against an in-thread fakesnow), dbt's nodes (from a
`dbt parse` manifest), the alerts and the views they read. The seeded variants put back the
audit's findings 2, 3 and 6 (/work/shared/reference/production-audit.md) by editing the rendered
statement list, and the checker must name the statement, the role and the missing privilege.
The rules one by one, on small plans, are in test_privilege_rules.py.
Over 300 lines on purpose: the seeded findings and the guardrail variants share this module's
fixtures (the production plan, dbt's nodes and the recorded procedures take a minute to make).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from orchestration.deploy.checks.privilege_inputs import Inputs
from orchestration.deploy.checks.privilege_report import production_inputs
from orchestration.deploy.checks.privilege_results import PrivilegeReport, Violation
from orchestration.deploy.checks.privilege_rules import RULES
from orchestration.deploy.checks.privileges import check_plan, plan_sql
from orchestration.deploy.checks.procedure_statements import (
    attribute_statements,
    procedure_steps,
)
from orchestration.deploy.plan import PlanStatement, render_plan
from orchestration.deploy.settings import DeploySettings
from orchestration.graph import INCREMENTAL
from orchestration.local.warehouse_server import read_statement_log

SETTINGS = DeploySettings.with_placeholders()
DB = SETTINGS.database
ORCHESTRATOR = SETTINGS.orchestrator_role
TRANSFORMER = SETTINGS.transformer_role
LOADER = SETTINGS.loader_role

# Statements no rule covers, each for a reason the checker states: the heartbeat's integration
# is a bind (snowpark_procs/sql/send_heartbeat.sql), known only at run time.
KNOWN_UNCHECKED = {
    (
        "call system$send_snowflake_notification(",
        "notification integration named by a bind variable",
    ),
}

# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan() -> list[PlanStatement]:
    return render_plan(SETTINGS)


@pytest.fixture(scope="module")
def dbt_environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
        patch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        yield


@pytest.fixture(scope="module")
def inputs(
    plan: list[PlanStatement], dbt_environment: None, tmp_path_factory: pytest.TempPathFactory
) -> Inputs:
    """The dbt project from `dbt parse` / `dbt ls`, the procedures' statements from a run of
    their handlers against an in-thread fakesnow (both fresh, never a checked-in copy)."""
    return production_inputs(SETTINGS, plan_sql(plan), tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def baseline(plan: list[PlanStatement], inputs: Inputs) -> PrivilegeReport:
    return check_plan(plan_sql(plan), inputs)


def _lines(report: PrivilegeReport) -> str:
    return "\n".join(report.lines())


def _edited(
    plan: list[PlanStatement], drop: Callable[[PlanStatement], bool]
) -> tuple[list[PlanStatement], list[PlanStatement]]:
    kept = [s for s in plan if not drop(s)]
    dropped = [s for s in plan if drop(s)]
    assert dropped, "the seeded edit matched no statement of the plan"
    return kept, dropped


def _new_violations(seeded: PrivilegeReport, baseline: PrivilegeReport) -> list[Violation]:
    before = {(v.statement, v.role, v.missing) for v in baseline.violations}
    return [v for v in seeded.violations if (v.statement, v.role, v.missing) not in before]


def _find(
    violations: list[Violation], statement: str, role: str, missing: str, actor: str = ""
) -> Violation | None:
    return next(
        (
            v
            for v in violations
            if v.statement.startswith(statement)
            and v.role == role
            and v.missing == missing
            and actor in v.actor
        ),
        None,
    )


# --- the current plan --------------------------------------------------------------------


def test_the_current_plan_has_no_violations(baseline: PrivilegeReport) -> None:
    """Besides the audit's findings 2, 3 and 6, the checker found (and plan.py now grants): the
    loader's writes to ops.pipeline_runs and ops.run_requests, MONITOR on the tasks for
    raw.finalize's TASK_HISTORY read, USAGE on the heartbeat integration, ALERT_VIEWER for the
    alerts' owner, and the deploy's ops build reading marts that did not exist yet."""
    assert not baseline.violations, _lines(baseline)


def test_only_the_known_statements_are_unchecked(baseline: PrivilegeReport) -> None:
    unchecked = {(u.statement, u.reason) for u in baseline.unchecked}
    assert {
        (statement, reason)
        for statement, reason in unchecked
        if any(statement.startswith(s) and reason == r for s, r in KNOWN_UNCHECKED)
    } == unchecked, _lines(baseline)
    assert {r for _, r in unchecked} == {r for _, r in KNOWN_UNCHECKED}, _lines(baseline)


def test_every_procedure_of_the_graph_has_recorded_statements(inputs: Inputs) -> None:
    """The handlers ran under their steps' tags: each procedure's statements are its own."""
    procedures = set(procedure_steps().values())
    assert procedures <= set(inputs.procedure_statements), inputs.procedure_statements.keys()
    discover = inputs.procedure_statements["raw.discover"]
    assert any("merge into ops.reconciliation_checks" in s for s in discover)
    assert not any(
        "merge into ops.step_runs" in s
        for sqls in inputs.procedure_statements.values()
        for s in sqls
    )
    assert inputs.procedure_file_reads == {"raw.extract_metadata": ("raw.designs_stage",)}


# --- the audit's findings, seeded back into the rendered plan -----------------------------


def test_finding_2_put_as_the_orchestrator_lacks_write_on_the_artifact_stage(
    plan: list[PlanStatement], inputs: Inputs, baseline: PrivilegeReport
) -> None:
    puts = [s for s in plan if s.kind == "put"]
    rest = [s for s in plan if s.kind != "put"]
    use_orchestrator = next(i for i, s in enumerate(rest) if s.sql == f"use role {ORCHESTRATOR}")
    seeded = [*rest[: use_orchestrator + 1], *puts, *rest[use_orchestrator + 1 :]]
    assert puts
    report = check_plan(plan_sql(seeded), inputs)
    new = _new_violations(report, baseline)
    missing = f"WRITE on stage {DB}.ops.deploy_artifacts"
    assert _find(new, "put 'file://", ORCHESTRATOR, missing, "deploy plan"), _lines(report)
    assert {(v.role, v.missing) for v in new} == {(ORCHESTRATOR, missing)}, new
    assert all(v.statement.startswith("put ") for v in new)
    assert "security-access-control-privileges" in RULES[new[0].rule].source


def test_finding_3_transformer_without_select_on_ops(
    plan: list[PlanStatement], inputs: Inputs, baseline: PrivilegeReport
) -> None:
    grant = re.compile(
        rf"grant select on (all|future) (tables|views) in schema {DB}\.ops to role {TRANSFORMER}$"
    )
    seeded, dropped = _edited(plan, lambda s: bool(grant.match(s.sql)))
    assert len(dropped) == 4
    report = check_plan(plan_sql(seeded), inputs)
    new = _new_violations(report, baseline)
    ops_build = "execute dbt project ops.pixelforge_dbt args = 'build --selector ops"
    # the ops models read the run history as dbt's profile role
    assert _find(
        new, ops_build, TRANSFORMER, f"SELECT on view {DB}.ops.task_history", "stg_ops__task_runs"
    ), _lines(report)
    assert _find(
        new,
        ops_build,
        TRANSFORMER,
        f"SELECT on table {DB}.ops.pipeline_runs",
        "stg_ops__pipeline_runs",
    ), _lines(report)
    # the orchestrator's alert reads an ops_marts view, which runs as its owner, transformer
    alert = _find(
        new,
        "",
        TRANSFORMER,
        f"SELECT on table {DB}.ops.pipeline_runs",
        "alert ops.pixelforge_backlog_growth condition (owner) > view ops_marts.",
    )
    assert alert is not None, _lines(report)
    assert alert.rule in {"view-owner", "dbt-execute"}
    assert all(v.role == TRANSFORMER and f"{DB}.ops." in v.missing for v in new), new


def test_finding_6_loader_procedure_without_writes_on_reconciliation_checks(
    plan: list[PlanStatement], inputs: Inputs, baseline: PrivilegeReport
) -> None:
    seeded, dropped = _edited(
        plan,
        lambda s: (
            s.sql.startswith("grant ")
            and f"on table {DB}.ops.reconciliation_checks to role {LOADER}" in s.sql
        ),
    )
    assert len(dropped) == 1
    report = check_plan(plan_sql(seeded), inputs)
    new = _new_violations(report, baseline)
    for privilege in ("INSERT", "UPDATE"):
        found = _find(
            new,
            "merge into ops.reconciliation_checks",
            LOADER,
            f"{privilege} on table {DB}.ops.reconciliation_checks",
            "procedure raw.discover (owner's rights)",
        )
        assert found is not None, _lines(report)
        assert found.rule == "merge"
    assert all(v.role == LOADER and "ops.reconciliation_checks" in v.missing for v in new), new


def test_an_alert_owner_without_alert_viewer_cannot_read_its_schedule(
    plan: list[PlanStatement], inputs: Inputs, baseline: PrivilegeReport
) -> None:
    seeded, _ = _edited(
        plan, lambda s: s.sql.startswith("grant database role snowflake.alert_viewer")
    )
    new = _new_violations(check_plan(plan_sql(seeded), inputs), baseline)
    missing = "ROLE on database role snowflake.alert_viewer"
    assert {(v.role, v.missing) for v in new} == {(ORCHESTRATOR, missing)}, new
    assert all("alert ops.pixelforge_" in v.actor for v in new)


# --- account guardrails and the service users' network policy (issue 12) ------------------

GUARDED_ENV = {
    "PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS": "true",
    "PIXELFORGE_SERVICE_USERS": "pixelforge_ci,pixelforge_etl",
    "PIXELFORGE_SERVICE_NETWORK_CIDRS": "203.0.113.0/24",
}


def _guarded_report(inputs: Inputs, deploy_role: str) -> PrivilegeReport:
    """The plan with the guardrails and the network policy, deployed as `deploy_role`, with
    the same dbt nodes and procedure statements (neither depends on the deploying role)."""
    settings = DeploySettings.from_env(
        "prod", environ={**GUARDED_ENV, "SNOWFLAKE_ROLE": deploy_role}, placeholders=True
    )
    statements = plan_sql(render_plan(settings))
    assert any(s.startswith("alter user pixelforge_etl set network_policy") for s in statements)
    return check_plan(statements, replace(inputs, deploy_role=deploy_role))


def test_security_guardrails_and_network_policy_pass_as_accountadmin(inputs: Inputs) -> None:
    """Every new statement is checked by a documented rule (none unchecked) and ACCOUNTADMIN
    holds what they need: ALTER ACCOUNT itself, CREATE NETWORK POLICY through SECURITYADMIN,
    OWNERSHIP of the service users through USERADMIN (which creates them)."""
    report = _guarded_report(inputs, "accountadmin")
    assert not report.violations, _lines(report)
    assert {u.reason for u in report.unchecked} <= {r for _, r in KNOWN_UNCHECKED}, _lines(report)


def test_security_guardrails_as_sysadmin_name_what_is_missing(
    inputs: Inputs, baseline: PrivilegeReport
) -> None:
    report = _guarded_report(inputs, "sysadmin")
    new = _new_violations(report, baseline)
    parameters = (
        "prevent_unload_to_inline_url",
        "require_storage_integration_for_stage_creation",
        "require_storage_integration_for_stage_operation",
    )
    assert {(v.statement, v.role, v.missing, v.rule) for v in new} == {
        *(
            (f"alter account set {p} = true", "sysadmin", "ROLE on role accountadmin", rule)
            for p, rule in zip(parameters, ["account-parameters"] * 3, strict=True)
        ),
        (
            "create network policy if not exists pixelforge_service_users",
            "sysadmin",
            "CREATE NETWORK POLICY on account",
            "network-policy",
        ),
        *(
            (
                f"alter user {user} set network_policy = pixelforge_service_users",
                "sysadmin",
                f"OWNERSHIP on user {user}",
                "user-network-policy",
            )
            for user in ("pixelforge_ci", "pixelforge_etl")
        ),
    }, _lines(report)
    assert all("docs.snowflake.com" in v.source for v in new)


# --- the end-to-end run's statement log ----------------------------------------------------


@pytest.mark.integration
def test_the_end_to_end_runs_procedure_statements_pass_the_checker(
    tmp_path: Path, plan: list[PlanStatement], inputs: Inputs
) -> None:
    """The statement log of a run on the embedded stack (an incremental run, then a
    reconciliation), attributed per step, checked like the handlers' own run."""
    from orchestration.local.stack import LocalStack
    from snowpark_procs.run_config import RunConfig
    from tests.integration.conftest import runner_for, small_corpus, upload
    from tests.stack_pool import stack_settings

    log = tmp_path / "statements.jsonl"
    stack = LocalStack(stack_settings(tmp_path / "stack", log))
    stack.start()
    try:
        upload(stack, small_corpus())
        assert runner_for(stack).run().succeeded
        reconcile = runner_for(stack).run(kind="reconcile", config=RunConfig("reconcile"))
        assert reconcile.succeeded
    finally:
        stack.stop(save=False)
    statements = attribute_statements(read_statement_log(log))
    assert any("merge into ops.reconciliation_checks" in s for s in statements["raw.discover"])
    # every procedure a task calls ran (raw.estimate_request is called by OPS.BACKFILL/REPROCESS's
    # dry runs, not by a run: the handlers' own recording covers it)
    tasks = {step.name for step in (*INCREMENTAL.steps, INCREMENTAL.finalizer)}
    called = {proc for name, proc in procedure_steps().items() if name in tasks}
    assert called <= set(statements), statements.keys()
    # a procedure no run calls keeps its statements from the handlers' own recording
    from_stack = replace(inputs, procedure_statements={**inputs.procedure_statements, **statements})
    report = check_plan(plan_sql(plan), from_stack)
    assert not report.violations, _lines(report)
    known = {reason for _, reason in KNOWN_UNCHECKED}
    assert {u.reason for u in report.unchecked} <= known, _lines(report)
    seeded = [
        s
        for s in plan
        if not (
            s.sql.startswith("grant ")
            and f"on table {DB}.ops.reconciliation_checks to role {LOADER}" in s.sql
        )
    ]
    found = _find(
        list(check_plan(plan_sql(seeded), from_stack).violations),
        "merge into ops.reconciliation_checks",
        LOADER,
        f"INSERT on table {DB}.ops.reconciliation_checks",
        "procedure raw.discover (owner's rights)",
    )
    assert found is not None
