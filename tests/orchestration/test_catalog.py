"""The catalog of Snowflake-owned objects and the check that qualifies the plan against it.

The check is offline: it runs on the rendered production plan, with the Snowflake-owned views,
table functions and functions described by orchestration/deploy/checks/snowflake_catalog.yml
(each entry cites its documentation page). It exists for the class of bug fakesnow cannot show:
production audit finding 5, NEXT_SCHEDULED_TIME read from SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY
("TASK_HISTORY view" has no such column; only the "TASK_HISTORY" table function has it).

Over 300 lines on purpose: most of it is the tables of seeded faults (one row a fault), which
share this module's fixtures (the rendered plan and its report). The catalog file and the
statement reader are tested without the plan in test_catalog_parts.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from orchestration.deploy import DeploySettings, render_plan
from orchestration.deploy.checks.catalog import Report, check_plan
from orchestration.deploy.checks.catalog_checker import Finding
from orchestration.deploy.checks.catalog_project import ProjectRelation, dbt_relations
from orchestration.deploy.checks.snowflake_catalog import Catalog, load_catalog
from orchestration.deploy.plan import PlanStatement

# Plan statements sqlglot 30 cannot parse, though Snowflake documents them verbatim (the same
# gaps as test_deploy_plan.SQLGLOT_ERRORS): they are not checked, and neither reads a column.
KNOWN_GAPS = {
    "create stage if not exists raw.designs_stage": "DIRECTORY = (ENABLE = TRUE AUTO_REFRESH = "
    "TRUE): sqlglot expects commas between options",
    "create stage if not exists raw.thumbnails_stage": "the same DIRECTORY options",
}
# Statements sqlglot keeps as an opaque Command. None of these forms reads a column or calls a
# function, so nothing is lost; a new form must be added here on purpose.
COMMAND_FORMS = (
    "grant ",
    "create role ",
    "alter warehouse ",
    "alter storage integration ",
    "create api integration ",
    "create notification integration ",
    "create stream ",
    "create dbt project ",
    "alter dbt project ",
    "execute dbt project ",
    "alter task ",
    "alter alert ",
    "alter stage ",
    "alter cortex search service ",
    "execute task ",
    # the reconcile task's SHOW TASKS: its output is read (and checked) through RESULT_SCAN
    "show tasks ",
)
# Columns the alert conditions read from dbt models whose properties files
# (dbt_project/models/**/_*.yml) do not list them: the model has the column
# (dbt_project/models/ops/marts/dim_file_states.sql), its documentation does not.
UNDOCUMENTED = {("pixelforge.ops_marts.dim_file_states", "last_modified_at")}

ARCHIVE_TASK = "create or alter task ops.pixelforge_archive_task_history\n"
DISCOVER_TASK = "create or alter task ops.pixelforge_discover\n"
RECONCILE_TASK = "create or alter task ops.pixelforge_reconcile\n"


@pytest.fixture(scope="module")
def plan() -> list[PlanStatement]:
    return render_plan(DeploySettings.with_placeholders())


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def dbt() -> dict[str, ProjectRelation]:
    return dbt_relations("pixelforge")


@pytest.fixture(scope="module")
def report(plan: list[PlanStatement], catalog: Catalog, dbt: dict[str, ProjectRelation]) -> Report:
    return check_plan(plan, catalog, dbt)


def mutated(
    plan: list[PlanStatement], statement_start: str, old: str, new: str
) -> list[PlanStatement]:
    """The plan with `old` replaced by `new` in the one statement starting with statement_start."""
    changed = [s for s in plan if s.sql.startswith(statement_start) and old in s.sql]
    assert len(changed) == 1, f"expected one statement starting {statement_start!r} with {old!r}"
    return [
        dataclasses.replace(s, sql=s.sql.replace(old, new, 1)) if s is changed[0] else s
        for s in plan
    ]


def label(plan: list[PlanStatement], statement_start: str) -> str:
    """How findings name the statement: its first line."""
    (statement,) = [s for s in plan if s.sql.startswith(statement_start)]
    return statement.sql.splitlines()[0].strip()


def new_violations(baseline: Report, seeded: Report) -> set[tuple[str, str, str]]:
    return {
        (f.statement, f.subject, f.name) for f in set(seeded.violations) - set(baseline.violations)
    }


def violations_of(
    plan: list[PlanStatement], catalog: Catalog, dbt: dict[str, ProjectRelation]
) -> list[Finding]:
    return list(check_plan(plan, catalog, dbt).violations)


# --- the fixed plan --------------------------------------------------------------------


def test_plan_passes(report: Report) -> None:
    assert report.violations == (), "\n".join(map(str, report.violations))


def test_unparsed_statements_are_exactly_the_known_gaps(report: Report) -> None:
    assert {gap.unit.statement for gap in report.gaps} == set(KNOWN_GAPS), [
        (gap.unit.statement, gap.reason) for gap in report.gaps
    ]


def test_opaque_commands_are_forms_without_columns(report: Report) -> None:
    unexpected = [u.sql for u in report.commands if not u.sql.lower().startswith(COMMAND_FORMS)]
    assert not unexpected


def test_task_bodies_procedures_and_alerts_are_checked(
    plan: list[PlanStatement], report: Report
) -> None:
    checked = {(u.statement, u.origin) for u in report.checked}
    alerts = [s for s in plan if s.kind == "alert"]
    assert alerts
    for alert in alerts:
        label = alert.sql.splitlines()[0]
        assert (label, "alert condition") in checked
        assert (label, "alert action") in checked
    origins = {origin for _, origin in checked}
    assert {
        "task body",
        "task body (execute immediate)",
        "procedure body expression",
        "statement",
    } <= origins
    assert ("create or alter task ops.pixelforge_archive_task_history", "task body") in checked
    reconcile = [u.sql for u in report.checked if u.statement == RECONCILE_TASK.strip()]
    assert any("result_scan(last_query_id())" in sql for sql in reconcile)
    assert any("table(flatten(" in sql for sql in reconcile)
    assert any(sql.startswith("insert into ops.run_requests") for sql in reconcile)


def test_no_relation_is_outside_the_catalog_and_undocumented_columns_are_pinned(
    report: Report,
) -> None:
    assert report.uncatalogued == (), "\n".join(map(str, report.uncatalogued))
    assert {(f.subject, f.name) for f in report.undocumented} == UNDOCUMENTED


# --- seeded faults -----------------------------------------------------------------------


def test_finding_5_seeded_fails(
    plan: list[PlanStatement], catalog: Catalog, dbt: dict[str, ProjectRelation], report: Report
) -> None:
    seeded = mutated(
        plan,
        ARCHIVE_TASK,
        "null::timestamp_ntz as next_scheduled_time",
        "history.next_scheduled_time::timestamp_ntz as next_scheduled_time",
    )
    assert new_violations(report, check_plan(seeded, catalog, dbt)) == {
        (
            "create or alter task ops.pixelforge_archive_task_history",
            "snowflake.account_usage.task_history",
            "next_scheduled_time",
        )
    }


def test_next_scheduled_time_belongs_to_the_table_function_only(
    catalog: Catalog, dbt: dict[str, ProjectRelation]
) -> None:
    def statements(source: str) -> list[PlanStatement]:
        return [
            PlanStatement("t", "use", "use database pixelforge"),
            PlanStatement("t", "task", f"select next_scheduled_time from {source}"),
        ]

    function = "table(information_schema.task_history(result_limit => 10))"
    assert violations_of(statements(function), catalog, dbt) == []
    (violation,) = violations_of(statements("snowflake.account_usage.task_history"), catalog, dbt)
    assert (violation.subject, violation.name) == (
        "snowflake.account_usage.task_history",
        "next_scheduled_time",
    )


def test_misspelled_directory_column_fails(
    plan: list[PlanStatement], catalog: Catalog, dbt: dict[str, ProjectRelation], report: Report
) -> None:
    seeded = mutated(
        plan, "create or replace view raw.designs_directory", "    md5,\n", "    md5sum,\n"
    )
    assert new_violations(report, check_plan(seeded, catalog, dbt)) == {
        (
            "create or replace view raw.designs_directory as",
            "directory(@raw.designs_stage)",
            "md5sum",
        )
    }


ROOT_TASK = "create or alter task ops.pixelforge_root\n"
RUN_GROUP = "system$task_runtime_info('CURRENT_TASK_GRAPH_RUN_GROUP_ID')"


def _assert_only_violation(
    plan: list[PlanStatement],
    catalog: Catalog,
    dbt: dict[str, ProjectRelation],
    report: Report,
    seed: tuple[str, str, str],
    subject: str,
    name: str,
) -> None:
    """Seeding one change (statement start, old text, new text) adds exactly one violation."""
    statement_start, old, new = seed
    seeded = mutated(plan, statement_start, old, new)
    assert new_violations(report, check_plan(seeded, catalog, dbt)) == {
        (label(seeded, statement_start), subject, name)
    }


@pytest.mark.parametrize(
    ("statement_start", "old", "new", "subject", "name"),
    [
        pytest.param(
            ROOT_TASK,
            RUN_GROUP,
            "system$task_graph_run_group_id()",
            "system$task_graph_run_group_id",
            "system$task_graph_run_group_id",
            id="unknown-system-function",
        ),
        pytest.param(
            ROOT_TASK,
            RUN_GROUP,
            "system$task_runtime_info('CURRENT_GRAPH_RUN_ID')",
            "system$task_runtime_info",
            "CURRENT_GRAPH_RUN_ID",
            id="undocumented-task-runtime-info-argument",
        ),
        pytest.param(
            "create or alter task ops.pixelforge_discover\n",
            "system$get_task_graph_config()",
            "system$get_task_graph_config('mode', 'window')",
            "system$get_task_graph_config",
            "2",
            id="wrong-arity",
        ),
        pytest.param(
            DISCOVER_TASK,
            "call system$set_return_value(:summary)",
            "call system$set_task_return_value(:summary)",
            "system$set_task_return_value",
            "system$set_task_return_value",
            id="unknown-system-procedure-in-execute-immediate",
        ),
        pytest.param(
            DISCOVER_TASK,
            RUN_GROUP,
            "system$task_runtime_info('CURRENT_GRAPH_RUN_ID')",
            "system$task_runtime_info",
            "CURRENT_GRAPH_RUN_ID",
            id="undocumented-argument-in-call-into",
        ),
        pytest.param(
            "create or replace alert ops.pixelforge_failed_run\n",
            "snowflake.alert.scheduled_time()",
            "snowflake.alert.scheduled_time(1)",
            "snowflake.alert.scheduled_time",
            "1",
            id="alert-function-arity-in-condition",
        ),
        pytest.param(
            "create or replace procedure ops.backfill(\n",  # the one with dry_run
            "window_start := convert_timezone('UTC', start_ts)::timestamp_ntz",
            "window_start := system$current_window_start()",
            "system$current_window_start",
            "system$current_window_start",
            id="unknown-system-function-in-sql-procedure",
        ),
    ],
)
def test_unknown_or_misused_snowflake_function_fails(
    plan: list[PlanStatement],
    catalog: Catalog,
    dbt: dict[str, ProjectRelation],
    report: Report,
    statement_start: str,
    old: str,
    new: str,
    subject: str,
    name: str,
) -> None:
    _assert_only_violation(plan, catalog, dbt, report, (statement_start, old, new), subject, name)


@pytest.mark.parametrize(
    ("statement_start", "old", "new", "subject", "name"),
    [
        pytest.param(
            "create or replace alert ops.pixelforge_failing_step\n",
            "max(completed_time) as last_failed_at",
            "max(complete_time) as last_failed_at",
            "subquery task_history",
            "complete_time",
            id="alert-condition-over-task-history-function",
        ),
        pytest.param(
            RECONCILE_TASK,
            "request_id, mode, requested_at, state, attempts",
            "request_id, mode, requested_on, state, attempts",
            "pixelforge.ops.run_requests",
            "requested_on",
            id="statement-inside-execute-immediate",
        ),
        pytest.param(
            RECONCILE_TASK,
            "flatten(input =>",
            "flatten(inputs =>",
            "flatten",
            "inputs",
            id="undocumented-table-function-argument",
        ),
        pytest.param(
            RECONCILE_TASK,
            "where contains(relative_path, '/')",
            "where contains(relative_name, '/')",
            "directory(@raw.designs_stage)",
            "relative_name",
            id="cursor-query-of-a-for-loop",
        ),
        pytest.param(
            RECONCILE_TASK,
            "select value::varchar as subpath",
            "select values::varchar as subpath",
            "flatten()",
            "values",
            id="flatten-output-column",
        ),
        pytest.param(
            RECONCILE_TASK,
            'select "state" from table(result_scan(',
            'select "status" from table(result_scan(',
            "show tasks (result_scan)",
            "status",
            id="show-output-read-through-result-scan",
        ),
        pytest.param(
            RECONCILE_TASK,
            'select "state" from table(result_scan(',
            "select state from table(result_scan(",
            "show tasks (result_scan)",
            "STATE",
            id="show-output-column-unquoted",
        ),
        pytest.param(
            ROOT_TASK,
            "metadata$isupdate as is_update",
            "metadata$is_update as is_update",
            "pixelforge.raw.designs_stream",
            "metadata$is_update",
            id="stream-on-stage-metadata-column",
        ),
        pytest.param(
            ARCHIVE_TASK,
            "    copied_at\n",
            "    copied_on\n",
            "pixelforge.ops.task_history_archive",
            "copied_on",
            id="merge-insert-column-list",
        ),
        pytest.param(
            ARCHIVE_TASK,
            "history.database_name = ",
            "history.database = ",
            "snowflake.account_usage.task_history",
            "database",
            id="account-usage-view-column",
        ),
    ],
)
def test_unknown_column_fails(
    plan: list[PlanStatement],
    catalog: Catalog,
    dbt: dict[str, ProjectRelation],
    report: Report,
    statement_start: str,
    old: str,
    new: str,
    subject: str,
    name: str,
) -> None:
    _assert_only_violation(plan, catalog, dbt, report, (statement_start, old, new), subject, name)


def test_result_scan_of_an_unknown_statement_is_reported(
    plan: list[PlanStatement], catalog: Catalog, dbt: dict[str, ProjectRelation]
) -> None:
    """RESULT_SCAN's columns are those of the statement it reads: where that is not a command
    the catalog describes (SHOW TERSE TASKS has other columns; a query id names any query),
    its columns cannot be checked, and the check says so."""
    query_id = "'01b71944-0001-b181-0000-0129032279f6'"
    unknown_reads = {
        ("show tasks like", "show terse tasks like"): (
            "show terse tasks like 'PIXELFORGE_ROOT' in schema ops"
        ),
        ("result_scan(last_query_id())", f"result_scan({query_id})"): query_id,
    }
    for (old, new), read in unknown_reads.items():
        seeded = check_plan(mutated(plan, RECONCILE_TASK, old, new), catalog, dbt)
        assert [(f.statement, f.subject, f.name) for f in seeded.uncatalogued] == [
            (RECONCILE_TASK.strip(), "result_scan", read)
        ]


def test_dbt_model_column_outside_its_documentation_is_reported(
    plan: list[PlanStatement], catalog: Catalog, dbt: dict[str, ProjectRelation], report: Report
) -> None:
    """A dbt model's properties file may list fewer columns than the model has: a column it
    does not list is reported apart (pinned by UNDOCUMENTED), not as a violation."""
    start = "create or replace alert ops.pixelforge_quarantine_spike\n"
    seeded = check_plan(
        mutated(
            plan,
            start,
            "count_if(is_quarantined) as quarantined_files",
            "count_if(is_quarantine) as quarantined_files",
        ),
        catalog,
        dbt,
    )
    assert seeded.violations == report.violations
    assert {
        (f.statement, f.subject, f.name)
        for f in set(seeded.undocumented) - set(report.undocumented)
    } == {(start.strip(), "pixelforge.marts.fct_file_versions", "is_quarantine")}


@pytest.mark.parametrize(
    ("old", "new", "column"),
    [
        ("attributes format, creator_tool", "attributes format, creator", "creator"),
        ("            name_tokens,", "            name_token,", "name_token"),
    ],
    ids=["an attribute the query lacks", "a column the mart lacks"],
)
def test_the_search_services_columns_are_checked(
    plan: list[PlanStatement],
    catalog: Catalog,
    dbt: dict[str, ProjectRelation],
    old: str,
    new: str,
    column: str,
) -> None:
    bad = check_plan(mutated(plan, "create cortex search service", old, new), catalog, dbt)
    # a column no dbt model documents is reported apart (UNDOCUMENTED pins that set)
    assert any(f.name == column for f in (*bad.violations, *bad.undocumented))
