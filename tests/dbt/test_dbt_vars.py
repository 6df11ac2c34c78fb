"""The graph facts the dbt models read come from orchestration/graph.py, nowhere else.

dbt_vars renders them; every dbt command passes them (DbtStep.build_args: the scheduled tasks,
the deploy's builds, the local runner and the ops views). The models declare no default, so a
model compiled without them fails instead of silently using a stale copy.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dbt.cli.main import dbtRunner

from orchestration.alerts import LATENCY_OBJECTIVE_SECONDS
from orchestration.deploy.tasks import step_body
from orchestration.graph import (
    INCREMENTAL,
    ROOT_STEP,
    DbtStep,
    ExternalFunctionStep,
    dbt_vars,
    dbt_vars_yaml,
)
from tests.fakesnow_server import fakesnow_server

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS = REPO_ROOT / "dbt_project" / "models"
VAR_CALL = re.compile(r"""\bvar\(\s*['"](\w+)['"]\s*(,)?""")


@pytest.fixture(scope="module")
def compile_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`dbt compile` needs a warehouse to connect to (a fresh in-process fakesnow)."""
    with pytest.MonkeyPatch.context() as patch, fakesnow_server() as kwargs:
        patch.setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
        patch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        patch.setenv("PIXELFORGE_WAREHOUSE_PORT", str(kwargs["port"]))
        yield tmp_path_factory.mktemp("dbt-vars")


def compile_model(work: Path, model: str, *extra: str) -> tuple[bool, str]:
    """Compile one model; (success, its compiled SQL or the error)."""
    target = work / model / str(len(extra))
    result = dbtRunner().invoke(
        [
            "compile",
            "--select",
            model,
            *extra,
            "--project-dir",
            str(REPO_ROOT),
            "--profiles-dir",
            str(REPO_ROOT / "dbt_project"),
            "--target",
            "local",
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
        ]
    )
    if not result.success:
        return False, str(result.exception)
    (compiled,) = (target / "compiled").rglob(f"{model}.sql")
    return True, compiled.read_text(encoding="utf-8")


def test_the_vars_are_the_graphs_facts() -> None:
    rendered = dbt_vars()
    assert rendered["task_name_prefix"] + "DISCOVER" == INCREMENTAL.task_history_name("discover")
    assert rendered["root_step"] == ROOT_STEP
    assert rendered["finalizer_step"] == INCREMENTAL.finalizer.name
    assert rendered["warehouse_steps"] == [
        s.name for s in INCREMENTAL.ordered_steps() if isinstance(s, DbtStep)
    ]
    (render,) = [s for s in INCREMENTAL.steps if isinstance(s, ExternalFunctionStep)]
    assert rendered["render_step"] == render.name
    assert rendered["success_objective"] == INCREMENTAL.success_objective
    assert rendered["latency_objective_seconds"] == LATENCY_OBJECTIVE_SECONDS
    # --vars is YAML: what dbt reads back is exactly the dict
    assert yaml.safe_load(dbt_vars_yaml()) == rendered


DBT_STEPS = [s for s in INCREMENTAL.steps if isinstance(s, DbtStep)]


@pytest.mark.parametrize("step", DBT_STEPS, ids=lambda s: s.name)
def test_every_dbt_command_passes_them(step: DbtStep) -> None:
    args = step.build_args("prod")
    assert args[args.index("--vars") + 1] == dbt_vars_yaml()
    # the task's ARGS literal splits back into the same words (no quote to escape in SQL)
    line = step.command_line("prod")
    assert "'" not in line and shlex.split(line) == list(args)
    assert f"args = '{line}'" in step_body(step)


def test_no_model_or_project_file_restates_a_graph_fact() -> None:
    """Each var the models read is either the graph's (no default anywhere) or declared once
    in dbt_project.yml (dbt's own settings, such as the absurd_dimensions bounds)."""
    project_vars = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())["vars"]
    assert not set(project_vars) & set(dbt_vars())
    used: dict[str, list[str]] = {}
    for path in [*MODELS.rglob("*.sql"), *(REPO_ROOT / "dbt_project" / "macros").rglob("*.sql")]:
        for name, default in VAR_CALL.findall(path.read_text(encoding="utf-8")):
            assert not default, f"{path.name}: var('{name}', ...) declares a default"
            used.setdefault(name, []).append(path.name)
    assert set(dbt_vars()) <= set(used), "a graph fact no model reads"
    assert set(used) <= set(dbt_vars()) | set(project_vars), "a var nobody declares"


def test_a_model_compiled_without_the_vars_fails(compile_dir: Path) -> None:
    ok, error = compile_model(compile_dir, "fct_run_costs")
    assert not ok
    assert "Required var 'warehouse_steps' not found" in error, error


def test_a_model_compiled_with_the_vars_reads_the_graphs_names(compile_dir: Path) -> None:
    ok, sql = compile_model(compile_dir, "fct_run_costs", "--vars", dbt_vars_yaml())
    assert ok, sql
    warehouse = ", ".join(f"'{name}'" for name in dbt_vars()["warehouse_steps"])
    assert f"step in ({warehouse})" in sql
    assert f"step = '{dbt_vars()['render_step']}'" in sql
    ok, sql = compile_model(compile_dir, "fct_slo_months", "--vars", dbt_vars_yaml())
    assert ok, sql
    assert f"{INCREMENTAL.success_objective} as success_objective" in sql
    ok, sql = compile_model(compile_dir, "stg_ops__task_runs", "--vars", dbt_vars_yaml())
    assert ok, sql
    assert f"regexp_replace(name, '^{INCREMENTAL.name.upper()}_', '')" in sql
