"""dbt on the embedded stack: one command for the runner's dbt steps and the ops views.

dbt runs as a child process (`python -m dbt.cli.main`) from the repository root with the repo's
profiles (target local) and the stack's client environment. The arguments are the graph's
(DbtStep.build_args: the selector and the excluded unit tests; the graph facts are project
vars), the same the production task passes to EXECUTE DBT PROJECT; only the paths are local.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.graph import DbtStep
from orchestration.local.settings import StackSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILES_DIR = REPO_ROOT / "dbt_project"
# run_results.json statuses of a node that did not succeed or pass
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


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


def dbt_command(
    settings: StackSettings, args: tuple[str, ...], target_name: str
) -> tuple[list[str], Path]:
    """The child's command line, and its target path (<data_dir>/dbt/<target_name>)."""
    target_path = settings.data_dir / "dbt" / target_name
    command = [
        sys.executable,
        "-m",
        "dbt.cli.main",
        *args,
        "--project-dir",
        str(REPO_ROOT),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(settings.data_dir / "logs" / "dbt"),
    ]
    return command, target_path


def run_dbt(settings: StackSettings, args: tuple[str, ...], target_name: str) -> DbtRun:
    """Run dbt against the stack; the results are this invocation's (a stale file is removed)."""
    command, target_path = dbt_command(settings, args, target_name)
    results_path = target_path / "run_results.json"
    results_path.unlink(missing_ok=True)
    env = {**os.environ, **settings.client_env()}
    completed = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=False
    )
    return DbtRun(
        completed.returncode, completed.stdout, completed.stderr, _read_results(results_path)
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
            transient=not run.results and "Could not connect" in run.stdout,
        )
    return run


def _read_results(path: Path) -> tuple[dict[str, Any], ...]:
    if not path.exists():
        return ()
    return tuple(json.loads(path.read_text(encoding="utf-8"))["results"])
