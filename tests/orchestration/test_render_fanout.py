"""Render fan-out as built: the render step's statements are the render budget's
statement_rows for the renderer maximum the graph CONFIG carries; a statement's worst case fits
the graph's margin between step budget and step timeout; the runbook's ALTER TASK statements are
the deploy's own (orchestration/deploy/tasks.py set_config_sql)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from orchestration.capacity import REPO_ROOT
from orchestration.deploy.names import HEARTBEAT_INTEGRATION
from orchestration.deploy.tasks import graph_config, set_config_sql
from orchestration.graph import INCREMENTAL
from pixelforge_core.render_budget import RENDER_BUDGET
from pixelforge_core.render_wire import THUMBNAIL_SIZES, RenderRequest
from pixelforge_core.write_batch import EXTRACT_BATCH_ROWS, INITIAL_LOAD_EXTRACT_BATCH_ROWS
from snowpark_procs.run_config import RunConfig, RunConfigError
from snowpark_procs.sql import read_sql
from snowpark_procs.steps.common import PENDING_PAGE_ROWS
from snowpark_procs.steps.render import render_thumbnails_with, statement_rows

MAXIMA = (RENDER_BUDGET.max_tasks, RENDER_BUDGET.initial_load_max_tasks)


@pytest.mark.parametrize("tasks", MAXIMA)
def test_a_statement_at_a_deployed_maximum_fits_well_inside_the_step_timeout(tasks: int) -> None:
    budget = RENDER_BUDGET
    rows = budget.statement_rows(tasks)
    margin_s = INCREMENTAL.step_timeout_s - INCREMENTAL.step_budget_s
    # the step checks its budget between statements: a statement's worst case is its overshoot
    assert budget.statement_seconds(rows, tasks) <= budget.max_statement_s <= margin_s / 2
    # whole batches, at least one for every task: every task's workers are kept busy
    assert rows % budget.max_batch_rows() == 0
    assert rows >= tasks * budget.max_batch_rows()
    assert rows <= PENDING_PAGE_ROWS  # one pending page holds a statement


def test_the_statement_is_cut_only_where_the_worst_case_would_not_fit() -> None:
    roomy = dataclasses.replace(RENDER_BUDGET, max_statement_s=10_000.0)
    for tasks in MAXIMA:
        assert roomy.statement_rows(tasks) == roomy.max_batch_rows() * roomy.batches_in_flight(
            tasks
        )
        assert RENDER_BUDGET.statement_rows(tasks) < roomy.statement_rows(tasks)
    tight = dataclasses.replace(RENDER_BUDGET, max_statement_s=1.0)
    assert tight.statement_rows(4) == tight.max_batch_rows()  # never less than one batch
    with pytest.raises(ValueError, match="at least one task"):
        RENDER_BUDGET.statement_rows(0)


def test_the_graph_config_carries_the_budgets_maximum() -> None:
    config = RunConfig.from_json(json.dumps(graph_config(INCREMENTAL)))
    assert config.render_max_tasks == RENDER_BUDGET.max_tasks
    assert RunConfig.from_json(None).render_max_tasks == RENDER_BUDGET.max_tasks
    assert RunConfig.from_json('{"mode": "incremental"}').render_max_tasks == 4
    raised = RunConfig.from_json(json.dumps({**graph_config(INCREMENTAL), "render_max_tasks": 48}))
    assert raised.render_max_tasks == 48
    assert RunConfig.from_json(raised.to_json()) == raised
    # a claimed request runs with the graph's maximum, as with its budget
    request = RunConfig("reconcile", request_id="r1")
    assert raised.serving(request).render_max_tasks == 48


def test_the_graph_config_carries_the_extraction_batch() -> None:
    """Deployed: EXTRACT_BATCH_ROWS; raised for the load, a claimed request runs with it too."""
    assert RunConfig.from_json(json.dumps(graph_config(INCREMENTAL))).extract_batch_rows == (
        EXTRACT_BATCH_ROWS
    )
    assert RunConfig.from_json('{"mode": "incremental"}').extract_batch_rows == EXTRACT_BATCH_ROWS
    config = graph_config(INCREMENTAL, extract_batch_rows=INITIAL_LOAD_EXTRACT_BATCH_ROWS)
    raised = RunConfig.from_json(json.dumps(config))
    assert raised.extract_batch_rows == INITIAL_LOAD_EXTRACT_BATCH_ROWS
    assert RunConfig.from_json(raised.to_json()) == raised
    served = raised.serving(RunConfig("reconcile", request_id="r1"))
    assert served.extract_batch_rows == INITIAL_LOAD_EXTRACT_BATCH_ROWS
    with pytest.raises(RunConfigError, match=r"extract_batch_rows=0 must be a positive whole"):
        RunConfig.from_json('{"extract_batch_rows": 0}')


@pytest.mark.parametrize("value", [0, -4, 1.5, "48", True, [48]])
def test_a_render_maximum_that_is_not_a_positive_whole_number_is_refused(value: Any) -> None:
    with pytest.raises(RunConfigError, match=r"render_max_tasks=.* positive whole number"):
        RunConfig.from_json(json.dumps({"render_max_tasks": value}))


def test_the_runbooks_alter_task_statements_are_the_deploys() -> None:
    runbook = (REPO_ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    section = runbook[runbook.index("## Day zero: the initial load") :]
    for tasks in (16, RENDER_BUDGET.initial_load_max_tasks):
        raised = set_config_sql(
            INCREMENTAL, HEARTBEAT_INTEGRATION, tasks, INITIAL_LOAD_EXTRACT_BATCH_ROWS
        )
        assert raised in section, tasks
    # after the load: the deployed maximum and extraction batch
    back = set_config_sql(INCREMENTAL, HEARTBEAT_INTEGRATION, RENDER_BUDGET.max_tasks)
    assert back in section
    assert f'"extract_batch_rows": {EXTRACT_BATCH_ROWS},' in back
    assert f"RenderMaxTasks={RENDER_BUDGET.initial_load_max_tasks}" in section
    # the deployed plan's CONFIG is set_config_sql's at the budget's maximum
    deployed = json.loads(
        set_config_sql(INCREMENTAL, HEARTBEAT_INTEGRATION, RENDER_BUDGET.max_tasks).split("$$")[1]
    )
    assert deployed == graph_config(INCREMENTAL, HEARTBEAT_INTEGRATION)


class _Rows:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def collect(self) -> list[Any]:
        return [_Row(row) for row in self._rows]


class _Row(dict):
    def as_dict(self) -> dict[str, Any]:
        return dict(self)


class PendingFiles:
    """A session whose pending render set is `count` files (one page), every other statement
    answering nothing."""

    def __init__(self, count: int) -> None:
        self.pending = [
            {
                "RELATIVE_PATH": f"d/{n}.png",
                "ETAG": f"e{n}",
                "SHA256": "ab" * 32,
                "SIZE_BYTES": 10,
                "PENDING_FILES": count,
            }
            for n in range(count)
        ]

    def sql(self, text: str, params: list[Any] | None = None) -> _Rows:
        if text == read_sql("select_files_to_render"):
            page, self.pending = self.pending, []
            return _Rows(page)
        return _Rows([])


class RecordingRenderer:
    def __init__(self) -> None:
        self.statements: list[int] = []

    def render(self, requests: list[RenderRequest]) -> list[dict[str, Any]]:
        self.statements.append(len(requests))
        thumbnail = {"thumbnail_key": "k", "width_px": 1, "height_px": 1, "thumbnail_bytes": 1}
        return [
            {"status": "ok", "thumbnails": [{"size_px": s, **thumbnail} for s in THUMBNAIL_SIZES]}
            for _ in requests
        ]


@pytest.mark.parametrize("tasks", [RENDER_BUDGET.max_tasks, 16])
def test_the_render_step_sends_statements_of_the_budgets_rows(tasks: int) -> None:
    config = RunConfig(render_max_tasks=tasks)
    rows = statement_rows(config)
    assert rows == RENDER_BUDGET.statement_rows(tasks)
    renderer = RecordingRenderer()
    summary = render_thumbnails_with(PendingFiles(2 * rows + 3), "run-1", renderer, config)
    assert renderer.statements == [rows, rows, 3]
    assert (summary.files_in, summary.files_succeeded) == (2 * rows + 3, 2 * rows + 3)
