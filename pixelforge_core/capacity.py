"""THE capacity and cost model of a large job (a backfill, a re-processing, the initial load):
files, bytes read, CPU-hours, wall time and dollars at a warehouse size and a renderer maximum.

Pure and standard-library only. orchestration/capacity.py assembles the model from its one-owner
sources (the unit-prices seed, bench/prices.toml, the measured per-file figures, the render
budget, the run graph's step names); the dry runs and the benchmarks both call `estimate`.

Throughput (files per second), per step, with the job's average file size:
- extraction: the warehouse's parallel slots (vCPU of an XS x size multiplier x clusters x
  parallel efficiency) over the CPU seconds of one file (fixed + per MB read), bounded by what
  those slots read from the stage (slots x MB/s per read stream / MB per file);
- rendering: the renderer's vCPU in use over the derated CPU per file. In use: at most its
  maximum (tasks x task vCPU), and at most what one render statement fans out to: Snowflake
  splits the statement's rows into batches of MAX_BATCH_ROWS and one batch keeps at most one
  task's workers busy (one vCPU each), so a statement of 16 rows uses 4 vCPU however many tasks
  run. Whether Snowflake sends all of a statement's batches at once is its choice
  [UNCONFIRMED]; the model takes the statement's batches as the limit.
Both steps read every byte of every file. Besides that parallel work, each step spends fixed
seconds per file one after the other (`*_fixed_s_per_file`): the procedure's statements, each
batch's charge, MERGE and bookkeeping, sent one at a time; a step's time is files / throughput
+ files x its fixed seconds. For small files the fixed seconds, not CPU, make the step's time.

Wall time: the job goes through bounded runs (snowpark_procs/steps/bounded.py): in each run
extraction, then rendering, take new batches while the step budget lasts, and always one, so a
step's run takes max(the budget, one batch's seconds) and the job needs runs = ceil(the longer
step's busy seconds / that) (a batch of extract_batch_rows files, of render_statement_rows; the
last batch's overshoot past the budget is not counted). A run also spends the overhead
outside both steps (discovery, dbt, finalize), and runs start no closer than the root's
schedule interval. A run lasts run = (extraction + rendering) / runs + overhead, so
wall = (runs - 1) x max(interval, run) + run (the first run starts at once).

Dollars: the warehouse bills the steps' busy time (both statements hold it; the render step's
while its batches are out) at the size's credits x clusters x the serverless multiplier; the
renderer runs at its maximum for the whole wall (target tracking keeps the tasks a run started
through the next run); S3 GETs (one per file and reading step) and API Gateway calls (one per
rows_per_request rendered rows). The dbt warehouse, discovery and the always-on renderer floor
are the monthly model's (bench/cost.py), not counted again here.

Clusters multiply extraction only when it runs as that many concurrent statements: a
multi-cluster warehouse adds clusters for queued statements, not for one query.

About 330 lines on purpose: the inputs with their sources, the arithmetic and the printed lines
are one model, read and reviewed together.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

MB = 1_000_000
XSMALL = "XSMALL"
MEASURED_LABEL = "measured per-file figures"


@dataclass(frozen=True)
class JobSize:
    """What a job touches: file versions, their bytes, and the steps (orchestration/graph.py
    names) it runs over them."""

    files: int
    bytes: int
    steps: frozenset[str]

    def __post_init__(self) -> None:
        if self.files < 0 or self.bytes < 0:
            raise ValueError(f"a job has no negative size: {self}")


@dataclass(frozen=True)
class CapacityModel:
    """Every input of `estimate`, each with its source (orchestration/capacity.py fills them)."""

    # The steps that read files, by their names in orchestration/graph.py.
    extract_step: str
    render_step: str
    # Measured on this repository's benchmark host (bench/results/per_file_figures.json, written
    # by `make bench`): extraction CPU seconds of one file = fixed + per MB read (least squares
    # over the corpus), and the render service's CPU seconds per file (bench.render_batch).
    extract_cpu_s_per_file: float
    extract_cpu_s_per_mb: float
    render_cpu_s_per_file: float
    measured_on: str  # date, host and scale of the measurement above
    # Fargate vCPU vs the measuring host, S3 waits not overlapped (bench/prices.toml
    # fargate_cpu_derate) [ESTIMATE].
    render_cpu_derate: float
    # Warehouse of the extraction step: its size (Snowflake's size names, e.g. "LARGE"),
    # clusters, and the vCPU of one XS node (bench/prices.toml xs_warehouse_vcpu: Snowflake
    # publishes no node specs [UNCONFIRMED]) used at parallel_efficiency (xs_parallel_efficiency,
    # a Python UDF batch on them [ESTIMATE]).
    warehouse_size: str
    clusters: int
    xs_warehouse_vcpu: float
    parallel_efficiency: float
    # MB/s one extraction slot reads from the stage (bench/prices.toml stage_read_mb_per_s,
    # not published [UNCONFIRMED]).
    stage_read_mb_per_s: float
    # Seconds of a step per file spent one after the other, beside the parallel work above:
    # the statements of each batch (charge, the set-based statement's round trip, MERGEs,
    # bookkeeping) over its rows. Production: bench/prices.toml [assumptions] statement_s
    # [ESTIMATE] x the statements a file (a batch's over its rows, plus the bytes bound a file
    # over a bind's: orchestration/capacity.py fixed_s_per_file);
    # the local stack: measured by bench.scaled_load's calibration (its step seconds per file
    # beyond the CPU at its capacity).
    extract_fixed_s_per_file: float
    render_fixed_s_per_file: float
    # Run cadence: seconds a bounded step takes new batches per run (orchestration/graph.py
    # step_budget_s), the root's schedule interval (graph; bench/prices.toml [initial_load]
    # for the load), and a run's fixed seconds outside the steps' per-file work
    # (bench/prices.toml run_overhead_s: discovery, dbt, finalize [ESTIMATE]; locally
    # measured, with each step's own start).
    step_budget_s: float
    run_interval_s: float
    run_overhead_s: float
    # Renderer task size and autoscaling bounds, its workers per task and the external
    # function's MAX_BATCH_ROWS (pixelforge_core/render_budget.py), and the rows one render
    # statement carries (as built: snowpark_procs/steps/render.py statement_rows, the budget's
    # statement_rows for the graph CONFIG's render_max_tasks).
    task_vcpu: float
    task_memory_gb: float
    min_tasks: int
    max_tasks: int
    workers_per_task: int
    max_batch_rows: int
    render_statement_rows: int
    # The rows of one extraction batch (as built: the graph CONFIG's extract_batch_rows,
    # pixelforge_core/write_batch.py): the bounded step checks its budget between batches.
    extract_batch_rows: int
    # Unit prices (dbt_project/seeds/unit_prices.csv, sources there). credits_per_hour maps
    # each warehouse size to its credits per hour (Snowflake "Overview of warehouses": each
    # size doubles the compute and the credits of the one below, so the size multiplier of the
    # compute is the ratio of credits to an XS's).
    credit_usd: float
    credits_per_hour: dict[str, float]
    # 0.9 for a serverless task (Consumption Table, Table 5), 1 on a user-managed warehouse:
    # the run graph says which the extraction step is.
    credit_multiplier: float
    fargate_vcpu_hour_usd: float
    fargate_gb_hour_usd: float
    s3_get_per_1000_usd: float
    api_gateway_usd_per_million: float
    rows_per_request: float

    def __post_init__(self) -> None:
        if self.warehouse_size not in self.credits_per_hour:
            raise ValueError(
                f"no credits per hour for warehouse size {self.warehouse_size!r}: "
                f"known {sorted(self.credits_per_hour)}"
            )
        if XSMALL not in self.credits_per_hour:
            raise ValueError("credits_per_hour needs XSMALL, the size the vCPU figure is for")
        if min(self.extract_fixed_s_per_file, self.render_fixed_s_per_file) < 0:
            raise ValueError(f"a step's fixed seconds per file are not negative: {self}")
        if self.clusters < 1 or self.max_tasks < 1 or self.min_tasks > self.max_tasks:
            raise ValueError(
                f"need clusters >= 1, max_tasks >= 1 and min_tasks <= max_tasks: {self}"
            )

    @property
    def size_multiplier(self) -> float:
        return self.credits_per_hour[self.warehouse_size] / self.credits_per_hour[XSMALL]

    @property
    def warehouse_vcpu(self) -> float:
        return self.xs_warehouse_vcpu * self.size_multiplier * self.clusters

    @property
    def extraction_slots(self) -> float:
        return self.warehouse_vcpu * self.parallel_efficiency

    @property
    def renderer_vcpu(self) -> float:
        return self.max_tasks * self.task_vcpu

    @property
    def render_fanout_vcpu(self) -> float:
        """vCPU one render statement can keep busy: its batches x the workers each fills."""
        batches = math.ceil(self.render_statement_rows / self.max_batch_rows)
        rows = min(self.render_statement_rows, self.max_batch_rows)
        return batches * min(rows, self.workers_per_task) * self.task_vcpu / self.workers_per_task

    @property
    def render_vcpu_in_use(self) -> float:
        return min(self.renderer_vcpu, self.render_fanout_vcpu)

    def with_capacity(
        self, warehouse_size: str | None = None, clusters: int | None = None,
        max_tasks: int | None = None, run_interval_s: float | None = None,
        render_statement_rows: int | None = None,
    ) -> CapacityModel:  # fmt: skip
        """The same model at another warehouse size, cluster count, renderer maximum, run
        interval or render statement size."""
        changes: dict[str, Any] = {}
        if render_statement_rows is not None:
            changes["render_statement_rows"] = render_statement_rows
        if run_interval_s is not None:
            changes["run_interval_s"] = run_interval_s
        if warehouse_size is not None:
            changes["warehouse_size"] = warehouse_size.upper()
        if clusters is not None:
            changes["clusters"] = clusters
        if max_tasks is not None:
            changes["max_tasks"] = max_tasks
        values = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        return CapacityModel(**values)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CapacityModel:
        raw = json.loads(text)
        names = {f.name for f in fields(cls)}
        if set(raw) != names:
            raise ValueError(f"capacity model JSON: missing {names - set(raw)}, "
                             f"unknown {set(raw) - names}")  # fmt: skip
        raw["credits_per_hour"] = {k: float(v) for k, v in raw["credits_per_hour"].items()}
        return cls(**raw)


@dataclass(frozen=True)
class Estimate:
    files: int
    bytes_read: int
    extract_cpu_hours: float
    render_cpu_hours: float  # measured CPU, before the Fargate derate
    extract_wall_hours: float  # the steps' busy time, summed over the runs
    render_wall_hours: float
    fixed_hours: float  # of those, the steps' fixed seconds per file (one after the other)
    runs: int
    wall_hours: float
    warehouse_usd: float
    renderer_usd: float
    requests_usd: float  # S3 GETs and API Gateway calls
    usd: float
    model: CapacityModel

    def lines(self) -> list[tuple[str, str]]:
        """Label / value pairs a CLI prints, one figure a line."""
        m = self.model
        clusters = f" x {m.clusters} clusters" if m.clusters > 1 else ""
        return [
            ("files", f"{self.files:,}"),
            ("bytes to read", f"{self.bytes_read / 1e12:,.2f} TB ({self.bytes_read:,} bytes)"),
            ("extraction CPU-hours", f"{self.extract_cpu_hours:,.1f}"),
            ("render CPU-hours", f"{self.render_cpu_hours:,.1f} "
                                 f"(x {m.render_cpu_derate:g} Fargate derate)"),
            ("warehouse", f"{m.warehouse_size}{clusters} "
                          f"({m.warehouse_vcpu:g} vCPU at {m.parallel_efficiency:.0%})"),
            ("renderer maximum", f"{m.max_tasks} tasks x {m.task_vcpu:g} vCPU"),
            ("render statement", f"{m.render_statement_rows:,} rows: {m.render_vcpu_in_use:g} of "
                                 f"{m.renderer_vcpu:g} vCPU busy"),
            ("extraction time", f"{self.extract_wall_hours:,.1f} h"),
            ("render time", f"{self.render_wall_hours:,.1f} h"),
            ("of which fixed per file", f"{self.fixed_hours:,.1f} h "
                                        f"({m.extract_fixed_s_per_file * 1000:.3g} + "
                                        f"{m.render_fixed_s_per_file * 1000:.3g} ms a file)"),
            ("bounded runs", f"{self.runs:,} (a run every >= {m.run_interval_s / 60:g} min, "
                             f"{m.step_budget_s / 60:g} min a step)"),
            ("wall time", f"{self.wall_hours:,.1f} h"),
            ("warehouse cost", f"${self.warehouse_usd:,.2f}"),
            ("renderer cost", f"${self.renderer_usd:,.2f}"),
            ("S3 + API Gateway requests", f"${self.requests_usd:,.2f}"),
            ("total cost", f"${self.usd:,.2f}"),
            (MEASURED_LABEL, m.measured_on),
        ]  # fmt: skip


def extraction_files_per_s(model: CapacityModel, mb_per_file: float) -> float:
    """Files a second the warehouse extracts: CPU-bound, bounded by its stage reads."""
    cpu_s = model.extract_cpu_s_per_file + model.extract_cpu_s_per_mb * mb_per_file
    by_cpu = model.extraction_slots / cpu_s
    if mb_per_file <= 0:
        return by_cpu
    by_read = model.extraction_slots * model.stage_read_mb_per_s / mb_per_file
    return min(by_cpu, by_read)


def render_files_per_s(model: CapacityModel) -> float:
    """Files a second the renderer renders: vCPU in use / derated CPU per file."""
    return model.render_vcpu_in_use / (model.render_cpu_s_per_file * model.render_cpu_derate)


def _runs(step_s: float, files: int, batch_rows: int, budget_s: float) -> int:
    """Runs a bounded step needs for `step_s` seconds over `files`: a run takes batches while
    the budget lasts and at least one, so it takes max(budget, a batch's seconds)."""
    if step_s <= 0:
        return 0
    batch_s = step_s * min(batch_rows, files) / files
    return math.ceil(step_s / max(budget_s, batch_s))


def estimate(job: JobSize, model: CapacityModel) -> Estimate:
    files = job.files
    mb_per_file = job.bytes / files / MB if files else 0.0
    extracts = model.extract_step in job.steps
    renders = model.render_step in job.steps
    bytes_read = job.bytes * (int(extracts) + int(renders))

    extract_cpu_h = render_cpu_h = extract_h = render_h = fixed_h = 0.0
    if extracts and files:
        cpu_s = model.extract_cpu_s_per_file + model.extract_cpu_s_per_mb * mb_per_file
        extract_cpu_h = files * cpu_s / 3600
        fixed_h += files * model.extract_fixed_s_per_file / 3600
        extract_h = files / extraction_files_per_s(model, mb_per_file) / 3600
        extract_h += files * model.extract_fixed_s_per_file / 3600
    if renders and files:
        render_cpu_h = files * model.render_cpu_s_per_file / 3600
        fixed_h += files * model.render_fixed_s_per_file / 3600
        render_h = files / render_files_per_s(model) / 3600
        render_h += files * model.render_fixed_s_per_file / 3600

    busy_s = (extract_h + render_h) * 3600
    runs = (
        max(
            _runs(extract_h * 3600, files, model.extract_batch_rows, model.step_budget_s),
            _runs(render_h * 3600, files, model.render_statement_rows, model.step_budget_s),
        )
        if busy_s
        else 0
    )
    run_s = busy_s / runs + model.run_overhead_s if runs else 0.0
    wall_h = (max(runs - 1, 0) * max(model.run_interval_s, run_s) + run_s) / 3600

    credits_h = model.credits_per_hour[model.warehouse_size] * model.clusters
    warehouse_usd = (extract_h + render_h) * credits_h * model.credit_multiplier * model.credit_usd
    task_hour_usd = (
        model.task_vcpu * model.fargate_vcpu_hour_usd
        + model.task_memory_gb * model.fargate_gb_hour_usd
    )
    renderer_usd = wall_h * model.max_tasks * task_hour_usd if renders else 0.0
    gets = files * (int(extracts) + int(renders))
    calls = files / model.rows_per_request if renders else 0.0
    requests_usd = (
        gets / 1000 * model.s3_get_per_1000_usd + calls / 1e6 * model.api_gateway_usd_per_million
    )
    return Estimate(
        files=files,
        bytes_read=bytes_read,
        extract_cpu_hours=extract_cpu_h,
        render_cpu_hours=render_cpu_h,
        extract_wall_hours=extract_h,
        render_wall_hours=render_h,
        fixed_hours=fixed_h,
        runs=runs,
        wall_hours=wall_h,
        warehouse_usd=warehouse_usd,
        renderer_usd=renderer_usd,
        requests_usd=requests_usd,
        usd=warehouse_usd + renderer_usd + requests_usd,
        model=model,
    )
