"""Every field of the capacity model comes from its one named source (orchestration/capacity.py):
change the source, the model changes; nothing is restated in the assembly."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from orchestration import capacity
from orchestration.capacity import Sources, capacity_model, initial_load, local_capacity_model
from orchestration.deploy.settings_rules import _WAREHOUSE_SIZES
from orchestration.deploy.tasks import graph_config
from orchestration.graph import INCREMENTAL
from pixelforge_core.capacity import CapacityModel, JobSize, estimate, render_files_per_s
from pixelforge_core.render_budget import RENDER_BUDGET
from pixelforge_core.write_batch import (
    EXTRACT_BATCH_ROWS,
    INITIAL_LOAD_EXTRACT_BATCH_ROWS,
    MAX_BIND_BYTES,
)
from snowpark_procs.run_config import RunConfig
from snowpark_procs.steps.render import statement_rows


@pytest.fixture
def sources(tmp_path: Path) -> Sources:
    copies = {}
    for name, path in (
        ("unit_prices", capacity.UNIT_PRICES),
        ("bench_prices", capacity.BENCH_PRICES),
        ("per_file_figures", capacity.PER_FILE_FIGURES),
    ):
        copies[name] = tmp_path / path.name
        shutil.copy(path, copies[name])
    return Sources(**copies)


def set_price(path: Path, code: str, amount: float) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    assert any(row["price_code"] == code for row in rows), code
    for row in rows:
        if row["price_code"] == code:
            row["amount"] = str(amount)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields or [])
        writer.writeheader()
        writer.writerows(rows)


# model field -> the seed's price code
SEED_FIELDS = {
    "credit_usd": "snowflake_credit_usd",
    "credit_multiplier": "serverless_task_multiplier",  # extraction is a serverless task
    "fargate_vcpu_hour_usd": "fargate_vcpu_hour_usd",
    "fargate_gb_hour_usd": "fargate_gb_hour_usd",
    "s3_get_per_1000_usd": "s3_get_per_1000_usd",
    "api_gateway_usd_per_million": "api_gateway_rest_usd_per_million",
    "rows_per_request": "external_function_rows_per_request",
}
# model field -> bench/prices.toml [assumptions] key
ASSUMPTION_FIELDS = {
    "render_cpu_derate": "fargate_cpu_derate",
    "xs_warehouse_vcpu": "xs_warehouse_vcpu",
    "parallel_efficiency": "xs_parallel_efficiency",
    "stage_read_mb_per_s": "stage_read_mb_per_s",
    "run_overhead_s": "run_overhead_s",
}
MEASURED_FIELDS = ("extract_cpu_s_per_file", "extract_cpu_s_per_mb", "render_cpu_s_per_file")
BUDGET_FIELDS = {
    "task_vcpu", "task_memory_gb", "min_tasks", "max_tasks", "workers_per_task", "max_batch_rows",
}  # fmt: skip
# snowpark_procs/steps/render.py statement_rows, pixelforge_core/write_batch.py EXTRACT_BATCH_ROWS
AS_BUILT_FIELDS = {"render_statement_rows", "extract_batch_rows"}
GRAPH_FIELDS = {"extract_step", "render_step", "step_budget_s", "run_interval_s"}
CHOSEN = {"warehouse_size", "clusters", "measured_on", "credits_per_hour"}
# model field -> the step whose bench/prices.toml [assumptions] statements a batch and bind
# bytes a file make it (x statement_s)
STATEMENT_FIELDS = {
    "extract_fixed_s_per_file": "extract",
    "render_fixed_s_per_file": "render",
}


def test_every_field_has_a_named_source() -> None:
    named = set(SEED_FIELDS) | set(ASSUMPTION_FIELDS) | set(MEASURED_FIELDS) | BUDGET_FIELDS
    named |= GRAPH_FIELDS | AS_BUILT_FIELDS | CHOSEN | set(STATEMENT_FIELDS)
    assert named == {f.name for f in dataclasses.fields(CapacityModel)}


@pytest.mark.parametrize("field", sorted(SEED_FIELDS))
def test_a_seed_price_changes_the_model(sources: Sources, field: str) -> None:
    before = getattr(capacity_model(sources), field)
    set_price(sources.unit_prices, SEED_FIELDS[field], 7.25)
    assert before != 7.25
    assert getattr(capacity_model(sources), field) == 7.25


def test_the_credits_of_every_size_come_from_the_seed(sources: Sources) -> None:
    per_size = capacity_model(sources).credits_per_hour
    assert per_size["XSMALL"] == 1 and per_size["XLARGE"] == 16  # the seed's table
    set_price(sources.unit_prices, "warehouse_credits_per_hour_xlarge", 17.5)
    assert capacity_model(sources).credits_per_hour["XLARGE"] == 17.5
    # every size the deploy settings accept has a price
    assert per_size.keys() >= _WAREHOUSE_SIZES


@pytest.mark.parametrize("field", sorted(ASSUMPTION_FIELDS))
def test_a_bench_assumption_changes_the_model(sources: Sources, field: str) -> None:
    key = ASSUMPTION_FIELDS[field]
    text = sources.bench_prices.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith(f"{key} =")]
    assert len(lines) == 1, key
    sources.bench_prices.write_text(text.replace(lines[0], f"{key} = 3.75"), encoding="utf-8")
    assert getattr(capacity_model(sources), field) == 3.75


def set_assumption(sources: Sources, key: str, value: float) -> None:
    text = sources.bench_prices.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith(f"{key} =")]
    assert len(lines) == 1, key
    sources.bench_prices.write_text(text.replace(lines[0], f"{key} = {value}"), encoding="utf-8")


@pytest.mark.parametrize("field", sorted(STATEMENT_FIELDS))
def test_the_fixed_seconds_per_file_are_the_statements_of_a_batch(
    sources: Sources, field: str
) -> None:
    """Production's fixed seconds per file: a statement's latency x the statements a file (the
    step's statements a batch over its rows, plus its bind bytes a file over a bind's), all
    declared in bench/prices.toml; the batch rows are the as-built ones."""
    step = STATEMENT_FIELDS[field]
    set_assumption(sources, "statement_s", 0.25)
    set_assumption(sources, f"{step}_statements_per_batch", 8)
    set_assumption(sources, f"{step}_bind_bytes_per_file", 0)
    deployed, load = capacity_model(sources), initial_load(sources)[1]
    rows = {"extract": "extract_batch_rows", "render": "render_statement_rows"}[step]
    assert getattr(deployed, field) == pytest.approx(8 * 0.25 / getattr(deployed, rows))
    set_assumption(sources, "statement_s", 0.5)
    assert getattr(capacity_model(sources), field) == pytest.approx(
        8 * 0.5 / getattr(deployed, rows)
    )
    # the load's larger batches make fewer statements a file
    assert getattr(initial_load(sources)[1], field) == pytest.approx(8 * 0.5 / getattr(load, rows))
    assert getattr(load, rows) > getattr(deployed, rows)
    # the bytes bound a file add their share of a bind's statements
    set_assumption(sources, f"{step}_bind_bytes_per_file", MAX_BIND_BYTES / 1000)
    found = getattr(capacity_model(sources), field)
    assert found == pytest.approx(0.5 * (8 / getattr(deployed, rows) + 1 / 1000))
    # per batch as built: the graph CONFIG's extraction batch, deployed and on day zero
    assert deployed.extract_batch_rows == EXTRACT_BATCH_ROWS
    assert load.extract_batch_rows == INITIAL_LOAD_EXTRACT_BATCH_ROWS


def write_local(sources: Sources, **figures: float) -> None:
    document = json.loads(sources.per_file_figures.read_text())
    source = {"benchmark": "scaled_load", "files": "100 + 400", "recorded_at": "2026-12-06",
              "host": {"cpu_count": 2, "cpu_model": "AMD EPYC"}}  # fmt: skip
    document["figures"]["local"] = {**figures, "source": source}
    sources.per_file_figures.write_text(json.dumps(document))


def test_the_local_model_is_the_stacks_capacity_with_its_calibrated_figures(
    sources: Sources,
) -> None:
    figures = dict(zip(capacity.LOCAL_FIGURES, (0.002, 0.011, 0.03, 0.04, 9.5), strict=True))
    write_local(sources, **figures)
    pipeline = dataclasses.replace(INCREMENTAL, step_timeout_ms=40_000)
    local = local_capacity_model(3.0, dataclasses.replace(sources, pipeline=pipeline))
    for name, value in figures.items():
        assert getattr(local, name) == value, name
    # the stack's capacity: one extraction vCPU, the render service's workers as one task
    assert local.extraction_slots == 1.0 and local.renderer_vcpu == 3.0
    assert (local.render_cpu_derate, local.max_tasks, local.workers_per_task) == (1.0, 1, 3)
    # the pipeline's cadence, production's unit prices and per-MB CPU (the same host's)
    assert local.step_budget_s == 20.0
    production = capacity_model(sources)
    assert local.extract_cpu_s_per_mb == production.extract_cpu_s_per_mb
    assert local.credit_usd == production.credit_usd
    assert "local: bench.scaled_load calibration (100 + 400 files)" in local.measured_on
    # one more second a run outside the steps: one more second of wall per run, back to back
    write_local(sources, **{**figures, "run_overhead_s": 10.5})
    later = local_capacity_model(3.0, dataclasses.replace(sources, pipeline=pipeline))
    job = JobSize(1_000, 500_000, frozenset({local.extract_step, local.render_step}))
    before = estimate(job, local.with_capacity(run_interval_s=0.0))
    after = estimate(job, later.with_capacity(run_interval_s=0.0))
    assert after.runs == before.runs > 1
    assert after.runs == before.runs
    assert (after.wall_hours - before.wall_hours) * 3600 == pytest.approx(after.runs * 1.0)


def test_the_local_model_needs_the_calibration(sources: Sources) -> None:
    document = json.loads(sources.per_file_figures.read_text())
    document["figures"].pop("local", None)
    sources.per_file_figures.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"bench\.scaled_load"):
        local_capacity_model(2.0, sources)


def test_the_committed_local_figures_are_a_calibration_of_this_stack() -> None:
    local = capacity.read_per_file_figures()["figures"]["local"]
    assert set(capacity.LOCAL_FIGURES) <= local.keys()
    assert local["source"]["benchmark"] == "scaled_load" and local["source"]["recorded_at"]
    assert all(float(local[name]) >= 0 for name in capacity.LOCAL_FIGURES)


@pytest.mark.parametrize("field", MEASURED_FIELDS)
def test_a_measured_figure_changes_the_model(sources: Sources, field: str) -> None:
    document = json.loads(sources.per_file_figures.read_text())
    document["figures"][field] = 0.125
    sources.per_file_figures.write_text(json.dumps(document))
    assert getattr(capacity_model(sources), field) == 0.125


def test_the_renderer_facts_are_the_budgets(sources: Sources) -> None:
    wider = dataclasses.replace(RENDER_BUDGET, max_tasks=9, min_tasks=2, task_cpu_units=2048,
                                task_memory_mib=4096, initial_load_max_tasks=50,
                                workers_per_task=2, worst_file_cpu_s=1.1)  # fmt: skip
    found = capacity_model(dataclasses.replace(sources, budget=wider))
    assert (found.max_tasks, found.min_tasks, found.task_vcpu, found.task_memory_gb) == (
        9, 2, 2.0, 4.0,
    )  # fmt: skip
    assert (found.workers_per_task, found.max_batch_rows) == (2, wider.max_batch_rows())
    load = initial_load(dataclasses.replace(sources, budget=wider))[1]
    assert load.max_tasks == 50
    assert load.render_statement_rows == wider.statement_rows(50)


def test_the_render_statement_is_the_render_steps_as_built(sources: Sources) -> None:
    """As built: the rows the render step sends for the deployed graph CONFIG's renderer
    maximum; the initial load's, for the maximum the runbook raises it to."""
    deployed = RunConfig.from_json(json.dumps(graph_config(INCREMENTAL)))
    assert capacity_model(sources).render_statement_rows == statement_rows(deployed)
    assert statement_rows(deployed) == RENDER_BUDGET.statement_rows(RENDER_BUDGET.max_tasks)
    day_zero = RunConfig(render_max_tasks=RENDER_BUDGET.initial_load_max_tasks)
    assert initial_load(sources)[1].render_statement_rows == statement_rows(day_zero)
    fewer = dataclasses.replace(RENDER_BUDGET, max_tasks=2)
    found = capacity_model(dataclasses.replace(sources, budget=fewer)).render_statement_rows
    assert found == fewer.statement_rows(2) < statement_rows(deployed)
    wider = capacity_model(dataclasses.replace(sources, render_statement_rows=1_440))
    assert wider.render_statement_rows == 1_440


def test_the_steps_cadence_and_serverless_rate_come_from_the_graph(sources: Sources) -> None:
    found = capacity_model(sources)
    assert (found.extract_step, found.render_step) == ("extract_metadata", "render_thumbnails")
    assert (found.step_budget_s, found.run_interval_s) == (INCREMENTAL.step_budget_s, 900)
    hourly = dataclasses.replace(INCREMENTAL, schedule_cron="0 * * * *", step_timeout_ms=1_200_000)
    changed = capacity_model(dataclasses.replace(sources, pipeline=hourly))
    assert (changed.step_budget_s, changed.run_interval_s) == (600, 3600)
    assert {found.extract_step, found.render_step} <= {s.name for s in INCREMENTAL.steps}
    on_a_warehouse = dataclasses.replace(
        INCREMENTAL,
        steps=tuple(
            dataclasses.replace(s, serverless=False) if s.name == found.extract_step else s
            for s in INCREMENTAL.steps
        ),
    )
    assert (
        capacity_model(dataclasses.replace(sources, pipeline=on_a_warehouse)).credit_multiplier
        == 1.0
    )


def test_the_committed_figures_say_when_and_where_they_were_measured() -> None:
    document = capacity.read_per_file_figures()
    for source in document["figures"]["sources"].values():
        assert source["recorded_at"] and source["host"]["cpu_count"] >= 1
        assert source["scale"] in {"reduced", "full"}
    model = capacity_model()
    assert "bench.per_file" in model.measured_on and "bench.render_batch" in model.measured_on


def test_the_initial_load_is_declared_once_and_changes_with_its_declaration(
    sources: Sources,
) -> None:
    job, model = initial_load(sources)
    assert (job.files, job.bytes) == (8_000_000, 40 * 10**12)
    assert job.steps == {model.extract_step, model.render_step}
    assert model.max_tasks == RENDER_BUDGET.initial_load_max_tasks
    assert model.run_interval_s == 60  # [initial_load] schedule_minutes
    text = sources.bench_prices.read_text(encoding="utf-8")
    sources.bench_prices.write_text(
        text.replace('warehouse_size = "XLARGE"', 'warehouse_size = "LARGE"'), encoding="utf-8"
    )
    smaller = initial_load(sources)[1]
    assert smaller.warehouse_size == "LARGE"
    assert estimate(job, smaller).extract_wall_hours > estimate(job, model).extract_wall_hours


def test_the_runbook_states_the_models_day_zero() -> None:
    """docs/runbook.md "Day zero" restates the plan (what to set, how long, how much): each
    figure is recomputed here from its owner, so the text cannot drift from the model."""
    runbook = (capacity.REPO_ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    section = " ".join(runbook[runbook.index("## Day zero: the initial load") :].split())
    job, model = initial_load()
    planned, baseline = estimate(job, model), estimate(job, capacity_model())
    budget = RENDER_BUDGET
    expected = [
        f"RenderMaxTasks={budget.initial_load_max_tasks}",
        f"RenderMaxTasks={budget.max_tasks}",
        f"{budget.initial_load_max_tasks} tasks x {model.task_vcpu:g} vCPU = "
        f"{budget.initial_load_max_tasks * model.task_vcpu:g} vCPU",
        f"serverless_task_min_statement_size = '{model.warehouse_size}'",
        f"schedule = '{model.run_interval_s / 60:g} MINUTE'",
        f"burst {budget.api_throttle_burst()}, {budget.api_throttle_rate():g} requests/s",
        f"take **{planned.wall_hours:.1f} h** in {planned.runs} bounded runs",
        f"cost **${planned.usd:,.0f} once** (warehouse ${planned.warehouse_usd:,.0f}, "
        f"renderer ${planned.renderer_usd:,.0f}, S3 and API Gateway ${planned.requests_usd:,.0f})",
        f"takes {baseline.wall_hours:.1f} h",
        f"for ${baseline.usd:,.0f}",
        f"render statements of {model.render_statement_rows:,} rows",
        f"`RenderBudget.statement_rows({budget.initial_load_max_tasks})` = "
        f"{budget.statement_rows(budget.initial_load_max_tasks):,} rows",
        f"sends {statement_rows(RunConfig()):,} rows a statement",
        f"MAX_BATCH_ROWS ({budget.max_batch_rows()})",
        f"about {render_files_per_s(baseline.model):.1f} files/s",
        f"{model.run_overhead_s:g} s a run outside the two steps",
    ]
    missing = [text for text in expected if text not in section]
    assert not missing, missing
