"""dbt on the embedded stack: one command for the runner's dbt steps and the ops views.

dbt runs in this process (dbt's programmatic entry point, `dbtRunner`), one invocation at a
time, with the repo's profiles (target local) and the stack's client environment set for the
invocation's length. The arguments are the graph's (DbtStep.build_args: the selector and the
excluded unit tests; the graph facts are project vars), the same the production task passes to
EXECUTE DBT PROJECT; only the paths are local. In process, not as a child: a child pays for
Python's start and dbt's imports on every step (5-7 s a build against 1.5-3 s in process,
measured on the 2-core host), and every local pipeline run builds twice.

dbt's console output is off (`--log-level none`); its events reach `DbtRun.stdout` through a
callback instead, and its debug log goes to <data_dir>/logs/dbt as before. The node results
are the invocation's own (what run_results.json would hold), so no JSON artifact is written
(`--no-write-json`: writing manifest.json took about a fifth of a build's time).

The project is parsed once per process and target while its files stay as they were: each build
is handed the parsed manifest (`dbtRunner(manifest=...)`, dbt's "Reusing objects" for
programmatic invocations, https://docs.getdbt.com/reference/programmatic-invocations), so it
does not read and decode its partial-parse file again (about 1.2 s of a 2-core build). A change
to any file under dbt_project/, dbt_project.yml or selectors.yml (a stamp of their paths, sizes
and modification times, taken before every invocation) parses it again.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from orchestration.graph import DbtStep
from orchestration.local.settings import StackSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILES_DIR = REPO_ROOT / "dbt_project"
# node statuses (as run_results.json spells them) of a node that did not succeed or pass
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
# dbtRunner is not re-entrant (one event manager, one adapter registry per process)
INVOCATION = threading.Lock()
# the event levels a console at dbt's default level (info) shows
_CONSOLE_LEVELS = frozenset({"info", "warn", "error"})


class DbtStepError(Exception):
    """dbt build reported errors or failing tests."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class DbtRun:
    """One dbt invocation: its exit, its output and its nodes' results (unique_id, status,
    message, as run_results.json has them)."""

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


def dbt_arguments(settings: StackSettings, args: tuple[str, ...], target_name: str) -> list[str]:
    """One invocation's arguments; its target path is <data_dir>/dbt/<target_name>."""
    return [
        *args,
        "--project-dir",
        str(REPO_ROOT),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target-path",
        str(settings.data_dir / "dbt" / target_name),
        "--log-path",
        str(settings.data_dir / "logs" / "dbt"),
        "--log-level",
        "none",
        "--no-write-json",
        "--no-send-anonymous-usage-stats",
    ]


@dataclass(frozen=True)
class Invocation:
    """What one dbt invocation reported: success, its console lines, the exception it raised,
    its nodes' results."""

    success: bool
    output: str
    exception: str
    results: tuple[dict[str, Any], ...] = ()


def _project_stamp() -> tuple[tuple[str, int, int], ...]:
    """Every file dbt parses, with its size and modification time."""
    files = [
        REPO_ROOT / "dbt_project.yml",
        REPO_ROOT / "selectors.yml",
        *(REPO_ROOT / "dbt_project").rglob("*"),
    ]
    stamps = []
    for path in sorted(files):
        if path.is_file():
            status = path.stat()
            stamps.append((str(path), status.st_size, status.st_mtime_ns))
    return tuple(stamps)


def _target(arguments: list[str]) -> str | None:
    return arguments[arguments.index("--target") + 1] if "--target" in arguments else None


# (target, project stamp) -> the project parsed for it; one entry per target
_MANIFESTS: dict[str | None, tuple[tuple[tuple[str, int, int], ...], Any]] = {}


def parsed_manifest(runner_type: Any, arguments: list[str]) -> Any:
    """The project's manifest for the invocation's target, parsed when its files changed (or
    None when the parse fails: the invocation then parses, and reports, itself). The caller
    holds INVOCATION (orchestration/warehouse_profiler.py reuses it too)."""
    target = _target(arguments)
    stamp = _project_stamp()
    cached = _MANIFESTS.get(target)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    # the invocation's own paths and flags (target path, logs, profiles), parse instead of build
    command = ["parse", *arguments[arguments.index("--project-dir") :]]
    if target is not None and "--target" not in command:
        command += ["--target", target]
    parsed = runner_type().invoke(command)
    if not parsed.success or parsed.result is None:
        _MANIFESTS.pop(target, None)
        return None
    _MANIFESTS[target] = (stamp, parsed.result)
    return parsed.result


def invoke_in_process(arguments: list[str], env: Mapping[str, str]) -> Invocation:
    """Run dbt in this process with `env` added to os.environ for the invocation's length."""
    from dbt.cli.main import dbtRunner  # imported here: `make test-fast` must not import dbt

    lines: list[str] = []

    def collect(event: Any) -> None:
        if event.info.level in _CONSOLE_LEVELS and event.info.msg:
            lines.append(str(event.info.msg))

    with INVOCATION, mock.patch.dict(os.environ, env):  # restored afterwards
        manifest = parsed_manifest(dbtRunner, arguments)
        result = dbtRunner(manifest=manifest, callbacks=[collect]).invoke(arguments)
    error = result.exception
    exception = "" if error is None else f"{type(error).__name__}: {error}"
    nodes = getattr(result.result, "results", None) or ()
    results = tuple(
        {
            "unique_id": node.node.unique_id,
            "status": str(getattr(node.status, "value", node.status)),
            "message": node.message,
        }
        for node in nodes
    )
    return Invocation(result.success, "\n".join(lines) + "\n", exception, results)


def run_dbt(settings: StackSettings, args: tuple[str, ...], target_name: str) -> DbtRun:
    """Run dbt against the stack."""
    arguments = dbt_arguments(settings, args, target_name)
    invocation = invoke_in_process(arguments, settings.client_env())
    return DbtRun(
        0 if invocation.success else 1, invocation.output, invocation.exception, invocation.results
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
