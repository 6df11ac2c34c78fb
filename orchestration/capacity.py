"""THE capacity model (pixelforge_core/capacity.py) assembled from its one-owner sources:

- unit prices: dbt_project/seeds/unit_prices.csv (read through bench/workload.py's reader
  contract: price_code -> amount, sources in the seed), credits per hour of every warehouse size;
- workload assumptions: bench/prices.toml [assumptions] (derate, XS vCPU, parallel efficiency,
  stage read throughput, the statements a step sends one at a time per batch, the bytes it
  binds a file, and a statement's latency)
  and [initial_load] (the day-zero job and the warehouse it runs on);
- measured per-file CPU: bench/results/per_file_figures.json, committed, written by `make bench`
  (bench/inputs.py write_per_file_figures) with the date, host and scale it was measured on;
- renderer task size and autoscaling bounds: pixelforge_core/render_budget.py; the extraction
  batch (scheduled and day zero) and a bind's bytes: pixelforge_core/write_batch.py;
- the steps that read files and whether extraction is serverless: orchestration/graph.py.

The dry runs (`pixelforge backfill --dry-run`, `pixelforge reprocess --dry-run`) and the
benchmarks (bench/initial_load.py) call `capacity_model()` and `estimate` from here. The same
model at the embedded stack's capacity, `local_capacity_model`, takes the local figures
bench.scaled_load's calibration measured on this host (per_file_figures.json "local"): the
local dry runs print its estimate beside production's, and bench.scaled_load checks it against
a measured load.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from croniter import croniter

from orchestration.graph import INCREMENTAL, ExternalFunctionStep, Pipeline
from pixelforge_core.capacity import CapacityModel, JobSize
from pixelforge_core.render_budget import RENDER_BUDGET, RenderBudget
from pixelforge_core.write_batch import (
    EXTRACT_BATCH_ROWS,
    INITIAL_LOAD_EXTRACT_BATCH_ROWS,
    MAX_BIND_BYTES,
)
from snowpark_procs.run_config import RunConfig
from snowpark_procs.steps.render import statement_rows

REPO_ROOT = Path(__file__).resolve().parents[1]
UNIT_PRICES = REPO_ROOT / "dbt_project" / "seeds" / "unit_prices.csv"
BENCH_PRICES = REPO_ROOT / "bench" / "prices.toml"
# Committed (bench/results/.gitignore lets it through): the figures the models start from.
PER_FILE_FIGURES = REPO_ROOT / "bench" / "results" / "per_file_figures.json"
TB = 10**12
# The embedded stack in the model's terms (its render vCPU, the render service's worker
# processes, is the stack's setting: local_capacity_model's argument). Extraction: one Python
# process whose reader threads share one GIL, so one vCPU fully used; rendering: one "task",
# the render service, with a vCPU a worker process; the figures are this host's: no derate.
LOCAL_CAPACITY: dict[str, Any] = {
    "warehouse_size": "XSMALL",
    "clusters": 1,
    "xs_warehouse_vcpu": 1.0,
    "parallel_efficiency": 1.0,
    "render_cpu_derate": 1.0,
    "max_tasks": 1,
    "min_tasks": 1,
}
# The figures of per_file_figures.json "local" the local model takes (bench.scaled_load writes
# them, with "source").
LOCAL_FIGURES = (
    "extract_cpu_s_per_file",
    "render_cpu_s_per_file",
    "extract_fixed_s_per_file",
    "render_fixed_s_per_file",
    "run_overhead_s",
)


@dataclass(frozen=True)
class Sources:
    """Where capacity_model reads from (tests point it at copies)."""

    unit_prices: Path = UNIT_PRICES
    bench_prices: Path = BENCH_PRICES
    per_file_figures: Path = PER_FILE_FIGURES
    budget: RenderBudget = RENDER_BUDGET
    pipeline: Pipeline = INCREMENTAL
    # rows the render step sends in one statement; None: as built, the step's statement_rows
    # for the graph CONFIG's default renderer maximum (the budget's max_tasks)
    render_statement_rows: int | None = None


def read_unit_prices(path: Path = UNIT_PRICES) -> dict[str, float]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["price_code"]: float(row["amount"]) for row in csv.DictReader(handle)}


def read_bench_prices(path: Path = BENCH_PRICES) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def read_per_file_figures(path: Path = PER_FILE_FIGURES) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def file_steps(pipeline: Pipeline) -> tuple[str, str]:
    """(extraction, rendering): the external-function step renders, and the step it runs after
    extracts: both read every file."""
    renders = [s for s in pipeline.steps if isinstance(s, ExternalFunctionStep)]
    if len(renders) != 1 or len(renders[0].after) != 1:
        raise ValueError(f"pipeline {pipeline.name}: expected one render step after one step")
    return renders[0].after[0], renders[0].name


def schedule_interval_s(pipeline: Pipeline = INCREMENTAL) -> int:
    """Seconds between two scheduled runs of the root (its cron)."""
    ticks = croniter(pipeline.schedule_cron, datetime(2026, 1, 1))
    first, second = ticks.get_next(datetime), ticks.get_next(datetime)
    return int((second - first).total_seconds())


def warehouse_credits(price: dict[str, float]) -> dict[str, float]:
    """Credits per hour of each standard warehouse size (the seed's rows, one per size)."""
    return {
        "XSMALL": price["warehouse_credits_per_hour"],
        "SMALL": price["warehouse_credits_per_hour_small"],
        "MEDIUM": price["warehouse_credits_per_hour_medium"],
        "LARGE": price["warehouse_credits_per_hour_large"],
        "XLARGE": price["warehouse_credits_per_hour_xlarge"],
        "XXLARGE": price["warehouse_credits_per_hour_xxlarge"],
        "XXXLARGE": price["warehouse_credits_per_hour_xxxlarge"],
        "X4LARGE": price["warehouse_credits_per_hour_x4large"],
    }


def measured_on(document: dict[str, Any]) -> str:
    parts = []
    for name, source in sorted(document["figures"]["sources"].items()):
        host = source.get("host", {})
        parts.append(
            f"{name}: bench.{source['benchmark']}, {source['scale']} scale, "
            f"{str(source['recorded_at'])[:10]}, {host.get('cpu_count', '?')} x "
            f"{host.get('cpu_model', '?')}"
        )
    return "; ".join(parts)


def fixed_s_per_file(assume: dict[str, Any], step: str, batch_rows: int) -> float:
    """A step's seconds per file spent on statements one at a time (bench/prices.toml
    [assumptions]): a statement's latency x the statements a file, at most the step's
    statements a batch over its rows plus the bytes it binds a file over a bind's
    (pixelforge_core/write_batch.py MAX_BIND_BYTES: a write of x binds' bytes takes at most
    1 + x statements)."""
    statements = float(assume[f"{step}_statements_per_batch"]) / batch_rows
    binds = float(assume[f"{step}_bind_bytes_per_file"]) / MAX_BIND_BYTES
    return float(assume["statement_s"]) * (statements + binds)


def capacity_model(sources: Sources = Sources()) -> CapacityModel:
    """The deployed capacity: the warehouse size of the deploy settings' default (XS), one
    cluster, the renderer's steady maximum. `initial_load_model` is the day-zero capacity."""
    price = read_unit_prices(sources.unit_prices)
    assume = read_bench_prices(sources.bench_prices)["assumptions"]
    measured = read_per_file_figures(sources.per_file_figures)
    figures = measured["figures"]
    extract_step, render_step = file_steps(sources.pipeline)
    serverless = sources.pipeline.step(extract_step).serverless
    budget = sources.budget
    render_rows = sources.render_statement_rows or statement_rows(
        RunConfig(render_max_tasks=budget.max_tasks), budget
    )
    return CapacityModel(
        extract_step=extract_step,
        render_step=render_step,
        extract_cpu_s_per_file=float(figures["extract_cpu_s_per_file"]),
        extract_cpu_s_per_mb=float(figures["extract_cpu_s_per_mb"]),
        render_cpu_s_per_file=float(figures["render_cpu_s_per_file"]),
        measured_on=measured_on(measured),
        render_cpu_derate=float(assume["fargate_cpu_derate"]),
        warehouse_size="XSMALL",
        clusters=1,
        xs_warehouse_vcpu=float(assume["xs_warehouse_vcpu"]),
        parallel_efficiency=float(assume["xs_parallel_efficiency"]),
        stage_read_mb_per_s=float(assume["stage_read_mb_per_s"]),
        extract_fixed_s_per_file=fixed_s_per_file(assume, "extract", EXTRACT_BATCH_ROWS),
        render_fixed_s_per_file=fixed_s_per_file(assume, "render", render_rows),
        step_budget_s=sources.pipeline.step_budget_s,
        run_interval_s=float(schedule_interval_s(sources.pipeline)),
        run_overhead_s=float(assume["run_overhead_s"]),
        task_vcpu=budget.task_vcpu,
        task_memory_gb=budget.task_memory_gb,
        min_tasks=budget.min_tasks,
        max_tasks=budget.max_tasks,
        workers_per_task=budget.workers_per_task,
        max_batch_rows=budget.max_batch_rows(),
        render_statement_rows=render_rows,
        extract_batch_rows=EXTRACT_BATCH_ROWS,
        credit_usd=price["snowflake_credit_usd"],
        credits_per_hour=warehouse_credits(price),
        credit_multiplier=price["serverless_task_multiplier"] if serverless else 1.0,
        fargate_vcpu_hour_usd=price["fargate_vcpu_hour_usd"],
        fargate_gb_hour_usd=price["fargate_gb_hour_usd"],
        s3_get_per_1000_usd=price["s3_get_per_1000_usd"],
        api_gateway_usd_per_million=price["api_gateway_rest_usd_per_million"],
        rows_per_request=price["external_function_rows_per_request"],
    )


def initial_load(sources: Sources = Sources()) -> tuple[JobSize, CapacityModel]:
    """The day-zero job (bench/prices.toml [initial_load]: every file through every
    file-reading step) and the capacity it runs on: the load's warehouse size, clusters and
    root schedule (declared there), the renderer's initial-load maximum, and the graph CONFIG
    the runbook raises with it (docs/runbook.md "Day zero"): the render statements the render
    step sends for that maximum and the load's extraction batch, with the statements a file
    each makes."""
    prices = read_bench_prices(sources.bench_prices)
    load, assume = prices["initial_load"], prices["assumptions"]
    raised = RunConfig(
        render_max_tasks=sources.budget.initial_load_max_tasks,
        extract_batch_rows=INITIAL_LOAD_EXTRACT_BATCH_ROWS,
    )
    render_rows = statement_rows(raised, sources.budget)
    model = dataclasses.replace(
        capacity_model(sources).with_capacity(
            warehouse_size=str(load["warehouse_size"]),
            clusters=int(load["clusters"]),
            max_tasks=sources.budget.initial_load_max_tasks,
            run_interval_s=float(load["schedule_minutes"]) * 60,
            render_statement_rows=render_rows,
        ),
        extract_batch_rows=raised.extract_batch_rows,
        extract_fixed_s_per_file=fixed_s_per_file(assume, "extract", raised.extract_batch_rows),
        render_fixed_s_per_file=fixed_s_per_file(assume, "render", render_rows),
    )
    job = JobSize(
        files=int(load["files"]),
        bytes=int(float(load["terabytes"]) * TB),
        steps=frozenset({model.extract_step, model.render_step}),
    )
    return job, model


def local_capacity_model(render_vcpu: float, sources: Sources = Sources()) -> CapacityModel:
    """The model at the embedded stack's capacity (LOCAL_CAPACITY, `render_vcpu` render worker
    processes), with this host's figures: per-file CPU, the steps' fixed seconds per file and a
    run's fixed seconds, measured by bench.scaled_load's calibration (not the job it predicts);
    extraction's CPU per MB is bench.per_file's (same host). The cadence is the pipeline's."""
    document = read_per_file_figures(sources.per_file_figures)
    local = document["figures"].get("local")
    if not local:
        raise ValueError(
            f"{sources.per_file_figures} has no local figures: run python -m bench.scaled_load"
        )
    source = local["source"]
    return dataclasses.replace(
        capacity_model(sources),
        **{name: float(local[name]) for name in LOCAL_FIGURES},
        measured_on=(
            f"local: bench.{source['benchmark']} calibration ({source['files']} files), "
            f"{str(source['recorded_at'])[:10]}, {source['host'].get('cpu_count', '?')} x "
            f"{source['host'].get('cpu_model', '?')}"
        ),
        task_vcpu=render_vcpu,
        workers_per_task=max(int(render_vcpu), 1),  # a worker process a vCPU
        **LOCAL_CAPACITY,
    )
