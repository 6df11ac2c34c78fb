"""One dbt: the version the plan pins Snowflake to, the lock's and the installed one agree."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import yaml

from orchestration.deploy import DeploySettings, render_plan
from orchestration.deploy.dbt_versions import (
    PINNED,
    SUPPORTED,
    locked_version,
    parity_problems,
    plan_versions,
)

LOCK = Path(__file__).resolve().parents[2] / "requirements" / "lock.txt"
DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project.yml"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@pytest.fixture(scope="module")
def plan_sql() -> list[str]:
    return [s.sql for s in render_plan(DeploySettings.with_placeholders())]


def test_plan_lock_and_installed_dbt_agree(plan_sql: list[str]) -> None:
    problems = parity_problems(
        plan=plan_versions(plan_sql),
        locked=locked_version(LOCK.read_text(encoding="utf-8")),
        installed=importlib.metadata.version("dbt-core"),
    )
    assert not problems, problems


def test_dbt_project_requires_the_pinned_dbt() -> None:
    """dbt itself refuses to run the project on another version (require-dbt-version)."""
    project = yaml.safe_load(DBT_PROJECT.read_text(encoding="utf-8"))
    assert project["require-dbt-version"] == PINNED


def test_pyproject_pins_the_same_dbt() -> None:
    text = PYPROJECT.read_text(encoding="utf-8")
    assert f'"dbt-core=={PINNED}"' in text


def test_every_dbt_project_statement_and_dbt_task_carries_the_version(
    plan_sql: list[str],
) -> None:
    # CREATE (a new object), ALTER ... SET (an existing one) and each dbt task's EXECUTE
    dbt = [
        sql
        for sql in plan_sql
        if sql.startswith(("create dbt project", "alter dbt project ops.pixelforge_dbt set"))
        or (sql.startswith("create or alter task") and "execute dbt project" in sql)
        or sql.startswith("execute dbt project")
    ]
    # create, set, the validate and load tasks, and the deploy's build of validate, load, ops
    assert len(dbt) == 7
    assert all(f"dbt_version = '{PINNED}'" in sql for sql in dbt), [
        sql.splitlines()[0] for sql in dbt if f"dbt_version = '{PINNED}'" not in sql
    ]
    create = next(sql for sql in plan_sql if sql.startswith("create dbt project"))
    assert create.startswith("create dbt project if not exists ")  # never OR REPLACE


def test_the_redeploy_adds_a_version_from_the_staged_files(plan_sql: list[str]) -> None:
    create = next(sql for sql in plan_sql if sql.startswith("create dbt project"))
    add = [sql for sql in plan_sql if " add version" in sql]
    assert len(add) == 1
    assert add[0].startswith("alter dbt project ops.pixelforge_dbt add version")
    source = create.split("from ", 1)[1].splitlines()[0]
    assert f"from {source}" in add[0]
    # the new version comes after the object exists and before the pin is (re)set
    order = [plan_sql.index(create), plan_sql.index(add[0])]
    set_version = next(sql for sql in plan_sql if " set dbt_version = " in sql)
    assert order == sorted(order) and plan_sql.index(set_version) > order[1]


LOCK_TEXT = f"# header\nagate==1.9.1\ndbt-core=={PINNED}\ndbt_snowflake==1.10.8\n"


@pytest.mark.parametrize(
    ("plan", "lock_text", "installed", "pinned", "expected"),
    [
        pytest.param({PINNED}, LOCK_TEXT, PINNED, PINNED, [], id="agree"),
        pytest.param(
            {PINNED},
            LOCK_TEXT.replace(f"dbt-core=={PINNED}", "dbt-core==1.11.16"),
            PINNED,
            PINNED,
            ["requirements/lock.txt pins dbt-core 1.11.16"],
            id="lock-differs",
        ),
        pytest.param(
            {PINNED},
            "agate==1.9.1\n",
            PINNED,
            PINNED,
            ["requirements/lock.txt pins dbt-core None"],
            id="lock-has-no-dbt",
        ),
        pytest.param(
            {PINNED},
            LOCK_TEXT,
            "1.11.16",
            PINNED,
            ["the installed dbt-core is 1.11.16"],
            id="installed-differs",
        ),
        pytest.param(
            set(),
            LOCK_TEXT,
            PINNED,
            PINNED,
            ["the plan sets DBT_VERSION nowhere"],
            id="plan-sets-none",
        ),
        pytest.param(
            {PINNED, "1.9.4"},
            LOCK_TEXT,
            PINNED,
            PINNED,
            ["the plan sets DBT_VERSION ['1.10.15', '1.9.4']"],
            id="plan-sets-two",
        ),
        pytest.param(
            {"1.11.16"},
            LOCK_TEXT.replace(f"dbt-core=={PINNED}", "dbt-core==1.11.16"),
            "1.11.16",
            "1.11.16",
            ["pinned dbt 1.11.16 is not one Snowflake runs"],
            id="pin-not-supported",
        ),
    ],
)
def test_parity_problems_name_each_disagreement(
    plan: set[str], lock_text: str, installed: str, pinned: str, expected: list[str]
) -> None:
    problems = parity_problems(
        plan=plan, locked=locked_version(lock_text), installed=installed, pinned=pinned
    )
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem


def test_the_pin_is_a_version_snowflake_runs() -> None:
    assert PINNED in SUPPORTED


def test_locked_version_reads_pip_freeze_lines() -> None:
    text = "# comment\nDBT_Core == 1.10.15  # pinned\ndbt-core-extra==9\n-e .\n"
    assert locked_version(text) == "1.10.15"
    assert locked_version(text, "dbt-snowflake") is None


def test_plan_versions_reads_every_spelling() -> None:
    statements = [
        "create dbt project p from '@s' dbt_version = '1.10.15'",
        "alter dbt project p set DBT_VERSION='1.9.4'",
        "execute dbt project p args = 'build'",
    ]
    assert plan_versions(statements) == {"1.10.15", "1.9.4"}
