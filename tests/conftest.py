"""What every test folder shares: the session's embedded stack, the statement log, the markers
that keep `make test-fast` free of dbt and of the stack, and the guard that proves it.

- `stack_pool` starts one embedded stack for the whole session, on first use; `fresh_stack` (and
  tests/integration's `start_stack`) hands it out reset, as a freshly started one would be.
- A test that uses the session's stack is marked `integration` here, whatever its module says.
- Parameter ids read as their values do (tests/param_ids.py), never `error0` or escapes.
- Tests that take seconds (their own server or benchmark process, 200 MB files) are marked
  `slow` here by the fixture they use (SLOW_FIXTURES).
- Tests that run dbt (in process or as a subprocess) are marked `dbt` here, by where they live
  or the fixture they use (DBT_PATHS, DBT_FIXTURES), so their modules need not say it.
- With PIXELFORGE_TEST_FAST=1 (`make test-fast`) the dbt folders are not collected, and starting
  a stack or importing dbt fails the test that tried, naming the marker it lacks.
- `make test` spreads the tests over pytest-xdist workers, one stack each: the fault totals
  (tests/fault_totals.py) are added up from every worker, the statement log is one file for
  all of them, and the test that reads it (LAST_TESTS) is collected last.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from tests.budget import SOAK_FAULT_SCHEDULES
from tests.fault_totals import FAULT_TOTALS
from tests.param_ids import readable_id

if TYPE_CHECKING:
    from orchestration.local.stack import LocalStack
    from tests.stack_pool import StackPool

# Tests that run dbt: every test under DBT_PATHS (never collected under test-fast, so dbt is not
# even imported), and every test that uses a DBT_FIXTURES fixture.
DBT_PATHS = ("tests/dbt/",)
DBT_FIXTURES = frozenset({"dbt_environment"})
STACK_FIXTURES = frozenset({"stack_pool", "fresh_stack", "start_stack"})
# Tests that take seconds each, not milliseconds: a server or benchmark process of their own, or
# 200 MB-class files. `make test` runs them; `make test-fast` leaves them out.
SLOW_FIXTURES = frozenset(
    {
        "large_files",  # tests/hostile: 200 MB PNG and TIFF
        "results",  # tests/bench: each benchmark's smoke run in its own process
        "moto_endpoint",  # tests/ecs_render, tests/hostile: a moto server and the render app
        "render_url",  # tests/orchestration/test_external_function: the render service
        "warehouse_server",  # tests/ops: a fakesnow server with the pipeline's schema
    }
)
# Tests that read what the rest of the session left (the statement log): collected last, so that
# under xdist they run when nearly every other test has.
LAST_TESTS = ("tests/integration/test_statements.py::test_every_statement_sent_",)
FAST_ENV = "PIXELFORGE_TEST_FAST"
FAST = bool(os.environ.get(FAST_ENV))
ROOT = Path(__file__).resolve().parents[1]


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    if FAST and any(
        collection_path.resolve().is_relative_to(ROOT / prefix) for prefix in DBT_PATHS
    ):
        return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.startswith(LAST_TESTS))  # stable: the rest keep order
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if STACK_FIXTURES & fixtures:
            item.add_marker(pytest.mark.integration)
        if DBT_FIXTURES & fixtures or item.nodeid.startswith(DBT_PATHS):
            item.add_marker(pytest.mark.dbt)
        if SLOW_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    del config, argname
    return readable_id(val)


@pytest.fixture(scope="session")
def statement_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every SQL text the pipeline sent to any test warehouse (read by test_statements): one
    file for all xdist workers (their base folders share a parent), appended line by line."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "statements"
    folder.mkdir(exist_ok=True)
    return folder / "statements.jsonl"


@pytest.fixture(scope="session")
def stack_pool(
    tmp_path_factory: pytest.TempPathFactory, statement_log: Path
) -> Iterator[StackPool]:
    """The session's embedded stack, started on first use and stopped at the end."""
    from tests.stack_pool import StackPool

    pool = StackPool(tmp_path_factory.mktemp("stack"), statement_log)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def fresh_stack(stack_pool: StackPool) -> LocalStack:
    """The session's stack, reset: empty buckets, the pipeline's schema and nothing else."""
    return stack_pool.fresh()


class _RefuseDbt(importlib.abc.MetaPathFinder):
    """Under test-fast, importing dbt fails the importer and names the marker it lacks."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> Any:
        if fullname == "dbt" or fullname.startswith("dbt."):
            raise ImportError(f"dbt imported under {FAST_ENV}: mark the test `dbt`")
        return None


@pytest.fixture(autouse=True, scope="session")
def _fast_suite_guard() -> Iterator[None]:
    """Under `make test-fast`, a test that starts a stack or imports dbt fails and says why."""
    if not FAST:
        yield
        return
    from orchestration.local.stack import LocalStack

    def refused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(f"started a stack under {FAST_ENV}: mark the test `integration`")

    finder = _RefuseDbt()
    sys.meta_path.insert(0, finder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalStack, "start", refused)
        try:
            yield
        finally:
            sys.meta_path.remove(finder)


# --- the fault totals: one line for the session, whatever the number of workers ------------


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller adds and judges
        workeroutput["fault_totals"] = FAULT_TOTALS.as_dict()
    elif FAULT_TOTALS.fell_short(SOAK_FAULT_SCHEDULES):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    del error
    FAULT_TOTALS.add(getattr(node, "workeroutput", {}).get("fault_totals", {}))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workeroutput"):
        return
    for line in FAULT_TOTALS.summary_lines(SOAK_FAULT_SCHEDULES):
        terminalreporter.write_line(line)
