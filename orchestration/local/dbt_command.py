"""dbt on the embedded stack: one command for the runner's dbt steps and the ops views.

dbt runs in this process (dbt's programmatic entry point, `dbtRunner`), one invocation at a
time, with the repo's profiles (target local) and the stack's client environment set for the
invocation's length. The arguments are the graph's (DbtStep.build_args: the selector and the
excluded unit tests; the graph facts are project vars), the same the production task passes to
EXECUTE DBT PROJECT; only the paths are local. In process, not as a child: a child pays for
Python's start and dbt's imports on every step (5-7 s a build against 1.5-3 s in process,
measured on the 2-core host), and every local pipeline run builds twice.

dbt's console output is off (`--log-level none`); its events reach `DbtRun.stdout` through a
callback instead, and its debug log goes to <data_dir>/logs/dbt as before.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.graph import DbtStep
from orchestration.local.settings import StackSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILES_DIR = REPO_ROOT / "dbt_project"
# run_results.json statuses of a node that did not succeed or pass
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
# dbtRunner is not re-entrant (one event manager, one adapter registry per process)
_INVOCATION = threading.Lock()
# the event levels a console at dbt's default level (info) shows
_CONSOLE_LEVELS = frozenset({"info", "warn", "error"})


class DbtStepError(Exception):
    """dbt build reported errors or failing tests."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class DbtRun:
    """One dbt invocation: its exit, its output and the nodes of run_results.json."""

    returncode: int
    stdout: str
    stderr: str
    results: tuple[dict[str, Any], ...]

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] in FAILED_STATUSES]

    def output_tail(self, chars: int = 1500) -> str:
        return self.stdout[-chars:] + self.stderr[-chars:]

    def by_status(self) -> dict[str, int]:
        return dict(Counter(str(result["status"]) for result in self.results))


def dbt_arguments(
    settings: StackSettings, args: tuple[str, ...], target_name: str
) -> tuple[list[str], Path]:
    """One invocation's arguments, and its target path (<data_dir>/dbt/<target_name>)."""
    target_path = settings.data_dir / "dbt" / target_name
    arguments = [
        *args,
        "--project-dir",
        str(REPO_ROOT),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(settings.data_dir / "logs" / "dbt"),
        "--log-level",
        "none",
        "--no-send-anonymous-usage-stats",
    ]
    return arguments, target_path


@dataclass(frozen=True)
class Invocation:
    """What one dbt invocation reported: success, its console lines, the exception it raised."""

    success: bool
    output: str
    exception: str


def invoke_in_process(arguments: list[str], env: Mapping[str, str]) -> Invocation:
    """Run dbt in this process with `env` added to os.environ for the invocation's length."""
    from dbt.cli.main import dbtRunner  # imported here: `make test-fast` must not import dbt

    lines: list[str] = []

    def collect(event: Any) -> None:
        if event.info.level in _CONSOLE_LEVELS and event.info.msg:
            lines.append(str(event.info.msg))

    with _INVOCATION, _environment(env):
        result = dbtRunner(callbacks=[collect]).invoke(arguments)
    exception = "" if result.exception is None else f"{type(result.exception).__name__}: "
    exception += "" if result.exception is None else str(result.exception)
    return Invocation(result.success, "\n".join(lines) + "\n", exception)


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_dbt(settings: StackSettings, args: tuple[str, ...], target_name: str) -> DbtRun:
    """Run dbt against the stack; the results are this invocation's (a stale file is removed)."""
    arguments, target_path = dbt_arguments(settings, args, target_name)
    results_path = target_path / "run_results.json"
    results_path.unlink(missing_ok=True)
    invocation = invoke_in_process(arguments, settings.client_env())
    return DbtRun(
        0 if invocation.success else 1,
        invocation.output,
        invocation.exception,
        _read_results(results_path),
    )


def build_step(settings: StackSettings, step: DbtStep, target: str) -> DbtRun:
    """A graph step's `dbt build`; raises DbtStepError when a node errs or a test fails."""
    run = run_dbt(settings, step.build_args(target), step.name)
    failures = run.failures
    if run.returncode != 0 or failures:
        detail = (
            "; ".join(f"{r['unique_id']}: {str(r.get('message'))[:200]}" for r in failures[:5])
            or run.output_tail()
        )
        # no results at all: dbt could not connect or compile; failing nodes: data or SQL
        raise DbtStepError(
            f"dbt build --selector {step.selector} failed: {detail}",
            transient=not run.results and "Could not connect" in run.stdout + run.stderr,
        )
    return run


def _read_results(path: Path) -> tuple[dict[str, Any], ...]:
    if not path.exists():
        return ()
    return tuple(json.loads(path.read_text(encoding="utf-8"))["results"])
