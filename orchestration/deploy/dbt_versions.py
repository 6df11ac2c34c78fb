"""The dbt Core versions dbt Projects on Snowflake runs, and the one this project is pinned to.

Source: "Supported dbt Core versions for dbt Projects on Snowflake" (SOURCE; stored copies read
READ_ON). Its table lists dbt Core 1.10.15 and 1.9.4, both in Snowflake's active support, and
SYSTEM$SUPPORTED_DBT_VERSIONS() returns the same two:
[{"dbt_version":"1.9.4","type":"dbt Core"},{"dbt_version":"1.10.15","type":"dbt Core"}].
A project object created without DBT_VERSION runs the account's DEFAULT_DBT_VERSION (same page),
1.9.4 when none is set ("EXECUTE DBT PROJECT", DBT_VERSION parameter,
https://docs.snowflake.com/en/sql-reference/sql/execute-dbt-project).

One later copy of the page ("Supported dbt versions for dbt Projects on Snowflake") also lists
dbt Core 1.11.11 and dbt Fusion 2.0.0 previews. Every copy lists 1.10.15, so it is the pin until
`select system$supported_dbt_versions()` on the production account shows a 1.11; then move
PINNED, requirements/lock.txt and pyproject.toml together (tests/orchestration/
test_dbt_version.py fails while they disagree).

The local dbt (the lock: tests/dbt, the local runner, the sqlfluff templater) is the same dbt
Core version, so what passes locally is what Snowflake compiles and runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SOURCE = "https://docs.snowflake.com/en/user-guide/data-engineering/dbt-projects-on-snowflake-dbt-core-versions"
READ_ON = "2026-12-06"
SUPPORTED: tuple[str, ...] = ("1.9.4", "1.10.15")
PINNED = "1.10.15"

# `dbt_version = '<v>'`, as the plan spells the DBT_VERSION parameter (CREATE / ALTER / EXECUTE
# DBT PROJECT); the keyword is case-insensitive in Snowflake.
_PLAN_VERSION = re.compile(r"\bdbt_version\s*=\s*'([^']*)'", re.IGNORECASE)


def locked_version(lock_text: str, package: str = "dbt-core") -> str | None:
    """The `package==<version>` pin in a pip-freeze style lock, or None when it is missing."""
    wanted = _canonical(package)
    for line in lock_text.splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep and _canonical(name.strip()) == wanted:
            return version.strip()
    return None


def plan_versions(sql_statements: Iterable[str]) -> set[str]:
    """Every DBT_VERSION the plan's statements set or pass."""
    return {match for sql in sql_statements for match in _PLAN_VERSION.findall(sql)}


def parity_problems(
    *,
    plan: set[str],
    locked: str | None,
    installed: str | None,
    pinned: str = PINNED,
    supported: tuple[str, ...] = SUPPORTED,
) -> list[str]:
    """Why Snowflake's dbt, the lock's and the installed one could differ; empty when they agree."""
    problems: list[str] = []
    if pinned not in supported:
        problems.append(f"pinned dbt {pinned} is not one Snowflake runs ({', '.join(supported)})")
    if plan != {pinned}:
        problems.append(f"the plan sets DBT_VERSION {sorted(plan) or 'nowhere'}, not {pinned}")
    if locked != pinned:
        problems.append(f"requirements/lock.txt pins dbt-core {locked}, not {pinned}")
    if installed != pinned:
        problems.append(f"the installed dbt-core is {installed}, not {pinned} (run make install)")
    return problems


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
