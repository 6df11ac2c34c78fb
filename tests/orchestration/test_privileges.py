"""The offline privilege checker (orchestration/deploy/checks/privileges.py).

The rendered production plan is replayed against a model of Snowflake's access control with
every actor that runs in production: the plan's statements, the tasks, the procedures (their
statements recorded by running the handlers against an in-thread fakesnow), dbt's nodes (from a
`dbt parse` manifest), the alerts and the views they read. The seeded variants put back the
audit's findings 2, 3 and 6 (/work/shared/reference/production-audit.md) by editing the rendered
statement list, and the checker must name the statement, the role and the missing privilege.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from orchestration.deploy.checks.dbt_nodes import dbt_invocations, selection_arguments
from orchestration.deploy.checks.privilege_inputs import Inputs
from orchestration.deploy.checks.privilege_model import DEPLOY_ROLE_PREREQUISITES, Securable
from orchestration.deploy.checks.privilege_report import production_inputs
from orchestration.deploy.checks.privilege_results import PrivilegeReport, Violation
from orchestration.deploy.checks.privilege_rules import RULES
from orchestration.deploy.checks.privileges import Checker, check_plan, plan_sql
from orchestration.deploy.checks.procedure_statements import (
    attribute_statements,
    procedure_steps,
)
from orchestration.deploy.checks.scripting import block_statements
from orchestration.deploy.plan import PlanStatement, render_plan
from orchestration.deploy.settings import DeploySettings
from orchestration.local.warehouse_server import LoggedStatement, read_statement_log
from orchestration.sql import read_sql as orchestration_sql
from snowpark_procs.sql import read_sql as procedure_sql

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


NETWORK_RULE = (
    "create or alter network rule s.r type = ipv4 mode = ingress value_list = ('10.0.0.0/8')"
)


def test_security_network_rules_engine() -> None:
    """The new shapes, one by one: a policy that lists a rule its creator does not own, a user
    owned by another role, ALTER ACCOUNT forms other than parameters (reported unchecked)."""
    report = _check(
        "grant create network rule on schema db.s to role writer",
        "use role writer",
        NETWORK_RULE,
        f"use role {ADMIN}",
        "grant create network policy on account to role reader",
        "use role reader",
        "create network policy if not exists p allowed_network_rule_list = ('db.s.r')",
        "alter user someone set network_policy = p",
        "alter account set network_policy = p",
        "alter user someone set password = 'x'",
        "alter account set prevent_unload_to_inline_url = true",
    )
    assert _missing(report) == {
        (
            "create network policy if not exists p allowed_network_rule_list = ('db.s.r')",
            "reader",
            "OWNERSHIP on network rule db.s.r",
        ),
        ("alter user someone set network_policy = p", "reader", "OWNERSHIP on user someone"),
        (
            "alter account set prevent_unload_to_inline_url = true",
            "reader",
            "ROLE on role accountadmin",
        ),
    }
    assert sorted(u.statement for u in report.unchecked) == [
        "alter account set network_policy = p",
        "alter user someone set password = 'x'",
    ]
    # without CREATE NETWORK RULE on the schema, the rule is refused
    refused = _check("use role reader", NETWORK_RULE)
    assert _missing(refused) == {(NETWORK_RULE, "reader", "CREATE NETWORK RULE on schema db.s")}


# --- the rule engine ----------------------------------------------------------------------

ADMIN = "admin"
BASE = [
    "create database if not exists db",
    "use database db",
    "create schema if not exists s",
    *(
        sql
        for role in ("reader", "writer", "parent", "child", "owner_role", "task_owner")
        for sql in (
            f"create role if not exists {role}",
            f"grant role {role} to role {ADMIN}",
            f"grant usage on database db to role {role}",
            f"grant usage on schema db.s to role {role}",
        )
    ),
]


def _check(*statements: str) -> PrivilegeReport:
    return check_plan([*BASE, *statements], Inputs(ADMIN), deploys=1)


def _missing(report: PrivilegeReport) -> set[tuple[str, str, str]]:
    return {(v.statement, v.role, v.missing) for v in report.violations}


def test_future_grants_apply_only_to_objects_created_after_them() -> None:
    report = _check(
        "create table s.before_grant (x int)",
        "grant select on future tables in schema db.s to role reader",
        "create table s.after_grant (x int)",
        "use role reader",
        "select x from s.before_grant",
        "select x from s.after_grant",
    )
    assert _missing(report) == {
        ("select x from s.before_grant", "reader", "SELECT on table db.s.before_grant")
    }


def test_all_grants_apply_only_to_objects_that_exist_then() -> None:
    report = _check(
        "create table s.before_grant (x int)",
        "grant select on all tables in schema db.s to role reader",
        "create table s.after_grant (x int)",
        "use role reader",
        "select x from s.before_grant",
        "select x from s.after_grant",
    )
    assert _missing(report) == {
        ("select x from s.after_grant", "reader", "SELECT on table db.s.after_grant")
    }


def test_ownership_follows_use_role() -> None:
    statements = [
        *BASE,
        "grant create table on schema db.s to role writer",
        "use role writer",
        "create table s.t (x int)",
        "insert into s.t (x) values (1)",
        "use role reader",
        "insert into s.t (x) values (2)",
        "create or replace table s.t (x int)",
    ]
    checker = Checker(Inputs(ADMIN))
    checker.run_plan(statements)
    assert checker.account.objects[Securable("table", "db.s.t")].owner == "writer"
    assert _missing(checker.report()) == {
        ("insert into s.t (x) values (2)", "reader", "INSERT on table db.s.t"),
        ("create or replace table s.t (x int)", "reader", "CREATE TABLE on schema db.s"),
        ("create or replace table s.t (x int)", "reader", "OWNERSHIP on table db.s.t"),
    }


def test_a_role_holds_what_the_roles_granted_to_it_hold() -> None:
    report = _check(
        "create table s.t (x int)",
        "grant select on table db.s.t to role child",
        "grant role child to role parent",
        "use role parent",
        "select x from s.t as from_parent",
        "use role reader",
        "select x from s.t as from_reader",
    )
    assert _missing(report) == {
        ("select x from s.t as from_reader", "reader", "SELECT on table db.s.t")
    }


@pytest.mark.parametrize(
    ("execute_as", "expected"),
    [
        ("caller", {("insert into s.t (x) values (1)", "task_owner", "INSERT on table db.s.t")}),
        ("owner", set()),
    ],
)
def test_a_callers_rights_procedure_runs_with_the_callers_privileges(
    execute_as: str, expected: set[tuple[str, str, str]]
) -> None:
    report = _check(
        "create table s.t (x int)",
        "grant insert on table db.s.t to role owner_role",
        "grant create procedure on schema db.s to role owner_role",
        "grant create task on schema db.s to role task_owner",
        "grant execute task, execute managed task on account to role task_owner",
        "use role owner_role",
        f"create or replace procedure s.p() returns varchar language sql execute as {execute_as}"
        " as $$ begin insert into s.t (x) values (1); return 'done'; end; $$",
        "grant usage on procedure db.s.p() to role task_owner",
        "use role task_owner",
        "create or alter task s.run as call s.p()",
    )
    assert _missing(report) == expected
    callers = [v for v in report.violations if "(caller's rights)" in v.actor]
    assert len(callers) == len(expected)


def test_a_view_runs_with_its_owners_privileges() -> None:
    report = _check(
        "create table s.base (x int)",
        "grant create view on schema db.s to role writer",
        "grant select on table db.s.base to role writer",
        "use role writer",
        "create view s.v as select x from s.base",
        "grant select on view db.s.v to role reader",
        "use role reader",
        "select x from s.v",
        "select x from s.base",
    )
    # reading the view needs only SELECT on it; the base table directly needs its own grant
    assert _missing(report) == {("select x from s.base", "reader", "SELECT on table db.s.base")}


def test_statements_no_rule_covers_are_reported_unchecked() -> None:
    report = _check("create sequence s.q", "undrop table s.t")
    assert [u.statement for u in report.unchecked] == ["create sequence s.q", "undrop table s.t"]
    assert report.violations == ()


def test_the_deploy_role_needs_its_documented_account_privileges() -> None:
    report = check_plan(
        ["create database if not exists db", "create role if not exists r"],
        Inputs("sysadmin", deploy_privileges=("CREATE DATABASE",)),
        deploys=1,
    )
    assert _missing(report) == {
        ("create role if not exists r", "sysadmin", "CREATE ROLE on account")
    }
    assert "CREATE ROLE" in DEPLOY_ROLE_PREREQUISITES


def test_scripting_blocks_are_read_statement_by_statement() -> None:
    block = """
    declare
        n integer default 0;
    begin
        select count(*) into :n from s.t;  -- a comment; with a semicolon
        if (n > 0) then
            insert into s.u select 1;
        end if;
        execute immediate 'delete from s.v';
        execute immediate 'select ' || n;
        return 'done';
    end;
    """
    statements = block_statements(block)
    assert statements.sql == (
        "select count(*) into :n from s.t",
        "insert into s.u select 1",
        "delete from s.v",
    )
    assert statements.dynamic == ("execute immediate 'select ' || n",)


def test_dbt_ls_takes_the_builds_selection_options() -> None:
    args = "build --selector load --exclude-resource-type unit_test --target prod"
    assert selection_arguments(args) == [
        "--selector",
        "load",
        "--exclude-resource-type",
        "unit_test",
    ]
    assert dbt_invocations(
        ["x", "execute dbt project ops.p args = 'build  --selector ops' dbt_version = '1'"]
    ) == ("build --selector ops",)


def test_statements_are_attributed_by_their_sessions_query_tag() -> None:
    log = [
        LoggedStatement("merge into raw.file_changes as t using x", "discover", "a"),
        LoggedStatement("alter session set query_tag = 'discover'", "discover", "a"),
        LoggedStatement("select 1 as untagged", "", "a"),
        LoggedStatement("merge into raw.thumbnails as t using y", "render_thumbnails", "b"),
        LoggedStatement("select 2 as dbt_step", "validate", "a"),
        # the runner's own history, sent in the tagged session: not the procedure's
        LoggedStatement(orchestration_sql("merge_step_run"), "discover", "a"),
        # the finalizer's own SQL file, even where the runner has the same text
        LoggedStatement(procedure_sql("merge_pipeline_run"), "finalize", "a"),
    ]
    assert attribute_statements(log) == {
        "raw.discover": ("merge into raw.file_changes as t using x",),
        "raw.render_thumbnails": ("merge into raw.thumbnails as t using y",),
        "raw.finalize": (procedure_sql("merge_pipeline_run"),),
    }


# --- the end-to-end run's statement log ----------------------------------------------------


@pytest.mark.integration
def test_the_end_to_end_runs_procedure_statements_pass_the_checker(
    tmp_path: Path, plan: list[PlanStatement], inputs: Inputs
) -> None:
    """The statement log of a run on the embedded stack (an incremental run, then a
    reconciliation), attributed per step, checked like the handlers' own run."""
    from orchestration.local.stack import LocalStack
    from snowpark_procs.run_config import RunConfig
    from tests.integration.conftest import runner_for, small_corpus, stack_settings, upload

    log = tmp_path / "statements.jsonl"
    stack = LocalStack(stack_settings(tmp_path / "stack", log))
    stack.start()
    try:
        upload(stack, small_corpus())
        assert runner_for(stack).run().succeeded
        reconcile = runner_for(stack).run(kind="reconciliation", config=RunConfig("reconcile"))
        assert reconcile.succeeded
    finally:
        stack.stop(save=False)
    statements = attribute_statements(read_statement_log(log))
    assert any("merge into ops.reconciliation_checks" in s for s in statements["raw.discover"])
    assert set(procedure_steps().values()) <= set(statements), statements.keys()
    from_stack = replace(inputs, procedure_statements=statements)
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
