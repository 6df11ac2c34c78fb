"""The catalog check's parts without the plan: the catalog file (snowflake_catalog.yml) lints
clean, a broken entry is named, the catalog keeps the documented columns the check relies on,
and Scripting blocks are read into the units the check parses. The plan's check is in
test_catalog.py.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from orchestration.deploy.checks.catalog_units import statement_units
from orchestration.deploy.checks.snowflake_catalog import (
    CATALOG_PATH,
    Catalog,
    CatalogError,
    catalog_from_data,
    lint_catalog,
    load_catalog,
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


# --- statements into units -------------------------------------------------------------------


def test_execute_immediate_block_is_split_into_its_statements() -> None:
    units = statement_units(
        "create or alter task ops.t\n    schedule = '1 MINUTE'\nas\n    execute immediate $$\n"
        "    declare\n        n integer default 0;\n    begin\n"
        "        select count(*) into :n from ops.step_runs;\n"
        "        if (n > 0) then\n            call system$task_dependents_enable('a.b.c');\n"
        "        end if;\n        return 'done; really';\n    end;\n    $$"
    )
    assert [(u.origin, " ".join(u.sql.split())) for u in units] == [
        ("task body (execute immediate) expression", "select 0"),
        ("task body (execute immediate)", "select count(*) into :n from ops.step_runs"),
        ("task body (execute immediate) expression", "select n > 0"),
        ("task body (execute immediate)", "select system$task_dependents_enable('a.b.c')"),
        ("task body (execute immediate) expression", "select 'done; really'"),
    ]


def test_cursor_for_loop_block_is_split_into_its_statements() -> None:
    units = statement_units(
        "create or alter task ops.t\n    schedule = '1 MINUTE'\nas\n    execute immediate $$\n"
        "    declare\n"
        "        folders cursor for select value::varchar as p from table(flatten(input => x));\n"
        "        summary varchar;\n"
        "    begin\n"
        "        for folder in folders do\n"
        "            execute immediate 'alter stage s refresh subpath = ''' || folder.p || '''';\n"
        "        end for;\n"
        "        call raw.p(1) into :summary;\n"
        "        show tasks like 'T' in schema ops;\n"
        '        summary := (select "state" from table(result_scan(last_query_id())));\n'
        "    end;\n    $$"
    )
    origin = "task body (execute immediate)"
    flatten = "select value::varchar as p from table(flatten(input => x))"
    assert [(u.origin, " ".join(u.sql.split()), u.previous) for u in units] == [
        (origin, flatten, ""),
        (f"{origin} expression", "select folder.p", flatten),
        (origin, "alter stage s refresh subpath = 'x'", flatten),
        (origin, "select raw.p(1) into :summary", "alter stage s refresh subpath = 'x'"),
        (origin, "show tasks like 'T' in schema ops", "call raw.p(1) into :summary"),
        (
            origin,
            'select "state" from table(result_scan(last_query_id()))',
            "show tasks like 'T' in schema ops",
        ),
    ]


# --- the catalog file ------------------------------------------------------------------------


def test_catalog_file_lints_clean() -> None:
    assert lint_catalog(yaml.safe_load(CATALOG_PATH.read_text())) == []


@pytest.mark.parametrize(
    ("section", "name"),
    [
        ("views", "snowflake.account_usage.task_history"),
        ("table_functions", "directory"),
        ("stage_streams", "on_stage"),
        ("functions", "system$task_runtime_info"),
        ("table_functions", "result_scan"),
        ("commands", "show tasks"),
    ],
)
@pytest.mark.parametrize("removed", ["url", "title"])
def test_entry_without_its_source_fails_lint(section: str, name: str, removed: str) -> None:
    data = copy.deepcopy(yaml.safe_load(CATALOG_PATH.read_text()))
    del data[section][name]["source"][removed]
    problems = lint_catalog(data)
    assert len(problems) == 1
    assert problems[0].startswith(f"{section}.{name}: source")
    with pytest.raises(CatalogError):
        catalog_from_data(data)


@pytest.mark.parametrize(
    ("name", "change", "problem"),
    [
        pytest.param(
            "result_scan",
            {"columns_of": "next_statement"},
            "columns_of must be previous_statement, without columns",
            id="columns-of",
        ),
        pytest.param(
            "result_scan",
            {"columns": {"state": "UNKNOWN"}},
            "columns_of must be previous_statement, without columns",
            id="columns-of-and-columns",
        ),
        pytest.param(
            "flatten",
            {"positional": -1},
            "positional must be a count of positional arguments",
            id="positional",
        ),
    ],
)
def test_table_function_entry_lint(name: str, change: dict[str, object], problem: str) -> None:
    data = copy.deepcopy(yaml.safe_load(CATALOG_PATH.read_text()))
    data["table_functions"][name].update(change)
    assert lint_catalog(data) == [f"table_functions.{name}: {problem}"]


def test_catalog_keeps_the_documented_difference_of_finding_5(catalog: Catalog) -> None:
    view = catalog.views["snowflake.account_usage.task_history"]
    function = catalog.table_functions["information_schema.task_history"]
    assert "next_scheduled_time" not in view.columns
    assert "next_scheduled_time" in function.columns
    assert set(view.columns) - set(function.columns) == {
        "task_schema_id",
        "task_database_id",
        "instance_id",
    }
    assert catalog.stage_stream.columns.keys() >= {
        *catalog.table_functions["directory"].columns,
        "metadata$action",
        "metadata$isupdate",
        "metadata$row_id",
    }


def test_catalog_has_the_documented_outputs_of_flatten_result_scan_and_show_tasks(
    catalog: Catalog,
) -> None:
    assert list(catalog.table_functions["flatten"].columns) == [
        "seq",
        "key",
        "path",
        "index",
        "value",
        "this",
    ]
    result_scan = catalog.table_functions["result_scan"]
    assert result_scan.columns_of_previous
    assert not result_scan.columns
    assert "state" in catalog.commands["show tasks"].columns
