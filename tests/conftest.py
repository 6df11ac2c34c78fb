"""What every test folder shares: the session's embedded stack, the statement log, the markers
that keep `make test-fast` free of dbt and of the stack, and the guard that proves it.

- `stack_pool` starts one embedded stack for the whole session, on first use; `fresh_stack` (and
  tests/integration's `start_stack`) hands it out reset, as a freshly started one would be.
- A test that uses the session's stack is marked `integration` here, whatever its module says.
- Parameter ids read as their values do (tests/param_ids.py), never `error0` or escapes.
- Tests that run dbt (in process or as a subprocess) are marked `dbt` here by where they live
  (DBT_TESTS), so their modules need not say it.
- With PIXELFORGE_TEST_FAST=1 (`make test-fast`) starting a stack or invoking dbt fails the test
  that tried, naming the marker it lacks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.local.stack import LocalStack
from tests.param_ids import readable_id
from tests.stack_pool import StackPool

# Node id prefixes of the tests that run dbt: the dbt project itself, and the offline checks
# that read the project through `dbt parse`.
DBT_TESTS = (
    "tests/dbt/",
    "tests/orchestration/test_privileges.py",
    "tests/orchestration/test_catalog.py",
    "tests/bench/test_benchmarks.py::test_dbt_incremental",
)
STACK_FIXTURES = frozenset({"stack_pool", "fresh_stack", "start_stack"})
FAST_ENV = "PIXELFORGE_TEST_FAST"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if STACK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        if item.nodeid.startswith(DBT_TESTS):
            item.add_marker(pytest.mark.dbt)


@pytest.fixture(scope="session")
def statement_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every SQL text the pipeline sent to any test warehouse (read by test_statements)."""
    return tmp_path_factory.mktemp("statements") / "statements.jsonl"


@pytest.fixture(scope="session")
def stack_pool(
    tmp_path_factory: pytest.TempPathFactory, statement_log: Path
) -> Iterator[StackPool]:
    """The session's embedded stack, started on first use and stopped at the end."""
    pool = StackPool(tmp_path_factory.mktemp("stack"), statement_log)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def fresh_stack(stack_pool: StackPool) -> LocalStack:
    """The session's stack, reset: empty buckets, the pipeline's schema and nothing else."""
    return stack_pool.fresh()


@pytest.fixture(autouse=True, scope="session")
def _fast_suite_guard() -> Iterator[None]:
    """Under `make test-fast`, a test that starts a stack or runs dbt fails and says why."""
    if not os.environ.get(FAST_ENV):
        yield
        return

    def refuse(what: str, marker: str) -> Any:
        def refused(*_args: object, **_kwargs: object) -> Any:
            raise AssertionError(f"{what} under {FAST_ENV}: mark the test `{marker}`")

        return refused

    from dbt.cli.main import dbtRunner

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalStack, "start", refuse("started a stack", "integration"))
        patch.setattr(dbtRunner, "invoke", refuse("invoked dbt", "dbt"))
        yield


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    del config, argname
    return readable_id(val)
