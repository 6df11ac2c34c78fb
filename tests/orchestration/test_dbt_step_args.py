"""The scheduled dbt tasks and the local runner run one `dbt build` per step, without unit tests."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestration.deploy.tasks import step_body
from orchestration.graph import INCREMENTAL, DbtStep
from orchestration.local import dbt_command
from orchestration.local import runner as runner_module

DBT_STEPS = [step for step in INCREMENTAL.steps if isinstance(step, DbtStep)]


def test_the_graph_has_dbt_steps() -> None:
    assert [step.selector for step in DBT_STEPS] == ["validate", "load"]


def test_a_dbt_step_is_found_by_name_and_no_other_kind_is() -> None:
    assert [INCREMENTAL.dbt_step(step.name) for step in DBT_STEPS] == DBT_STEPS
    with pytest.raises(TypeError, match=r"'discover' .* is not a dbt step"):
        INCREMENTAL.dbt_step("discover")
    with pytest.raises(KeyError):
        INCREMENTAL.dbt_step("no such step")


@pytest.mark.parametrize("step", DBT_STEPS, ids=lambda step: step.name)
def test_build_args_exclude_unit_tests(step: DbtStep) -> None:
    args = step.build_args("prod")
    assert args[:3] == ("build", "--selector", step.selector)
    exclusions = [args[i + 1] for i, arg in enumerate(args) if arg == "--exclude-resource-type"]
    assert exclusions == ["unit_test"]
    assert args[-2:] == ("--target", "prod")


@pytest.mark.parametrize("step", DBT_STEPS, ids=lambda step: step.name)
def test_the_task_runs_the_build_args(step: DbtStep) -> None:
    body = step_body(step)
    assert f"args = '{step.command_line('prod')}'" in body
    assert "--exclude-resource-type unit_test" in body


@pytest.mark.parametrize("step", DBT_STEPS, ids=lambda step: step.name)
def test_the_local_runner_runs_the_build_args(
    step: DbtStep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []

    def fake_invoke(arguments: list[str], env: Any) -> dbt_command.Invocation:
        del env
        commands.append(arguments)
        return dbt_command.Invocation(success=True, output="", exception="")

    monkeypatch.setattr(dbt_command, "invoke_in_process", fake_invoke)
    settings = SimpleNamespace(data_dir=tmp_path, client_env=dict)
    fake_runner = SimpleNamespace(
        _stack=SimpleNamespace(settings=settings),
        _dbt_target="local",
        _file_counts=lambda _session, _run_id, _step, nodes: nodes,
    )
    runner_module.LocalRunner._run_dbt(fake_runner, None, "run-1", step)  # type: ignore[arg-type]

    (command,) = commands
    args = step.build_args("local")
    start = command.index("build")
    assert tuple(command[start : start + len(args)]) == args
    assert command.count("--selector") == 1 and command.count("--target") == 1
