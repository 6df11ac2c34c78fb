"""The privilege checker's rules on small plans written for each rule (no production plan, no
dbt, no recorded procedures): grants, ownership, the role hierarchy, caller's and owner's
rights, views, Scripting blocks, network rules and policies, and the inputs' readers (dbt's
selection arguments, statements attributed by query tag). The production plan's checks are in
test_privileges.py.
"""

from __future__ import annotations

import pytest

from orchestration.deploy.checks.dbt_nodes import dbt_invocations, selection_arguments
from orchestration.deploy.checks.privilege_inputs import Inputs
from orchestration.deploy.checks.privilege_model import DEPLOY_ROLE_PREREQUISITES, Securable
from orchestration.deploy.checks.privilege_results import PrivilegeReport
from orchestration.deploy.checks.privileges import Checker, check_plan
from orchestration.deploy.checks.procedure_statements import attribute_statements
from orchestration.deploy.checks.scripting import block_statements
from orchestration.local.warehouse_server import LoggedStatement
from orchestration.sql import read_sql as orchestration_sql
from snowpark_procs.sql import read_sql as procedure_sql

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


def test_dropping_an_overload_needs_ownership_and_if_exists_skips_a_missing_one() -> None:
    report = _check(
        "drop procedure if exists s.gone(varchar)",
        "grant create procedure on schema db.s to role writer",
        "use role writer",
        "create procedure s.p(a varchar) returns varchar language sql as 'select 1'",
        "use role reader",
        "drop procedure if exists s.p(varchar, boolean)",
    )
    assert not [u for u in report.unchecked if u.statement.startswith("drop")]
    assert _missing(report) == {
        (
            "drop procedure if exists s.p(varchar, boolean)",
            "reader",
            "OWNERSHIP on procedure db.s.p",
        )
    }


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
