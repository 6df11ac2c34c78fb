"""The graph facts the dbt models read come from orchestration/graph.py, nowhere else.

dbt_vars renders them into dbt_project.yml's vars (orchestration/dbt_project_vars.py), so every
dbt command - the scheduled tasks, the deploy's builds, the local runner, a bare `dbt build` -
reads the same values and none passes `--vars`. The models declare no default, so a project
without the block fails to compile instead of silently using a stale copy.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from dbt.cli.main import dbtRunner

from orchestration import dbt_project_vars
from orchestration.alerts import LATENCY_OBJECTIVE_SECONDS
from orchestration.deploy.tasks import step_body
from orchestration.graph import (
    INCREMENTAL,
    OPS_VIEWS,
    ROOT_STEP,
    DbtStep,
    ExternalFunctionStep,
    dbt_vars,
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


def compile_model(work: Path, model: str, project: Path = REPO_ROOT) -> tuple[bool, str]:
    """Compile one model of `project`; (success, its compiled SQL or the error)."""
    target = work / model / project.name
    result = dbtRunner().invoke(
        [
            "compile",
            "--select",
            model,
            "--project-dir",
            str(project),
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


def test_dbt_project_yml_holds_the_graphs_render() -> None:
    """The golden test of the rendered block: what dbt reads back is exactly dbt_vars."""
    text = dbt_project_vars.DBT_PROJECT_FILE.read_text(encoding="utf-8")
    assert dbt_project_vars.render(text) == text, (
        "dbt_project.yml's graph facts are stale: python -m orchestration.dbt_project_vars"
    )
    project_vars = yaml.safe_load(text)["vars"]
    assert {name: project_vars[name] for name in dbt_vars()} == dbt_vars()


def test_a_changed_graph_changes_the_rendered_block() -> None:
    text = dbt_project_vars.DBT_PROJECT_FILE.read_text(encoding="utf-8")
    renamed = replace(INCREMENTAL, name="acme", success_objective=0.99)
    rendered = yaml.safe_load(dbt_project_vars.render(text, renamed))["vars"]
    assert rendered["task_name_prefix"] == "ACME_"
    assert rendered["success_objective"] == 0.99
    # the rest of the file is kept, and a file without the block is refused, not guessed at
    assert yaml.safe_load(text)["vars"]["backlog_window_days"] == rendered["backlog_window_days"]
    without = text.replace(dbt_project_vars.END + "\n", "")
    with pytest.raises(dbt_project_vars.ProjectVarsBlockError):
        dbt_project_vars.render(without)


DBT_STEPS = [*(s for s in INCREMENTAL.steps if isinstance(s, DbtStep)), OPS_VIEWS]


@pytest.mark.parametrize("step", DBT_STEPS, ids=lambda s: s.name)
def test_no_dbt_command_passes_vars(step: DbtStep) -> None:
    """The tasks' ARGS literal is plain words: nothing for Snowflake's split of ARGS to miss."""
    args = step.build_args("prod")
    assert "--vars" not in args
    line = step.command_line("prod")
    assert line.split(" ") == list(args) and not set("'\"{} ") & set("".join(args))
    assert f"args = '{line}'" in step_body(step)


def test_no_model_restates_a_graph_fact() -> None:
    """Each var the models read is either the graph's (declared only in the rendered block, no
    default anywhere) or dbt's own setting declared once in dbt_project.yml."""
    text = dbt_project_vars.DBT_PROJECT_FILE.read_text(encoding="utf-8")
    start = text.index(dbt_project_vars.BEGIN)
    end = text.index(dbt_project_vars.END) + len(dbt_project_vars.END)
    own_vars = yaml.safe_load(text[:start] + text[end:])["vars"]
    assert not set(own_vars) & set(dbt_vars())
    used: dict[str, list[str]] = {}
    for path in [*MODELS.rglob("*.sql"), *(REPO_ROOT / "dbt_project" / "macros").rglob("*.sql")]:
        for name, default in VAR_CALL.findall(path.read_text(encoding="utf-8")):
            assert not default, f"{path.name}: var('{name}', ...) declares a default"
            used.setdefault(name, []).append(path.name)
    assert set(dbt_vars()) <= set(used), "a graph fact no model reads"
    assert set(used) <= set(dbt_vars()) | set(own_vars), "a var nobody declares"


def test_a_model_compiled_without_the_block_fails(compile_dir: Path) -> None:
    """A copy of the project whose dbt_project.yml lost the graph's block does not compile."""
    project = compile_dir / "no-graph-facts"
    shutil.copytree(REPO_ROOT / "dbt_project", project / "dbt_project")
    shutil.copy(REPO_ROOT / "selectors.yml", project / "selectors.yml")
    text = dbt_project_vars.DBT_PROJECT_FILE.read_text(encoding="utf-8")
    start = text.index(dbt_project_vars.BEGIN)
    end = text.index(dbt_project_vars.END) + len(dbt_project_vars.END)
    (project / "dbt_project.yml").write_text(text[:start] + text[end:], encoding="utf-8")
    ok, error = compile_model(compile_dir, "fct_run_costs", project)
    assert not ok
    assert "Required var 'warehouse_steps' not found" in error, error


def test_a_model_compiled_reads_the_graphs_names(compile_dir: Path) -> None:
    ok, sql = compile_model(compile_dir, "fct_run_costs")
    assert ok, sql
    warehouse = ", ".join(f"'{name}'" for name in dbt_vars()["warehouse_steps"])
    assert f"step in ({warehouse})" in sql
    assert f"step = '{dbt_vars()['render_step']}'" in sql
    ok, sql = compile_model(compile_dir, "fct_slo_months")
    assert ok, sql
    assert f"{INCREMENTAL.success_objective} as success_objective" in sql
    ok, sql = compile_model(compile_dir, "stg_ops__task_runs")
    assert ok, sql
    assert f"regexp_replace(name, '^{INCREMENTAL.name.upper()}_', '')" in sql
