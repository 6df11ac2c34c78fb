"""Benchmark: a scaled initial load worked through in bounded runs (issue 13).

    python -m bench.scaled_load [--full]

On a fresh embedded stack (fakesnow, moto and the render service on loopback, as `pixelforge
up`), N small generated PNGs (each distinct, so no thumbnail is shared) are uploaded at once, as
a first deploy finds the bucket. The pipeline's own graph (orchestration.graph.INCREMENTAL:
discover, extract, render, dbt validate and load, the finalizer) then runs back to back with
its step budget scaled down (BUDGET_S per bounded step instead of half of 10 minutes; the step
timeout stays above a dbt step's time) until neither bounded step has a backlog. Before each run
after the first a few new files are uploaded (what a 15-minute run would find besides the
backlog; files there before the first run are the load): their upload -> queryable latency is
the new uploads' latency during the load.

Reported: runs taken, files/s over the load's wall time, lost and duplicated versions (metadata
rows, thumbnail rows and objects, and each version extracted and rendered once), the new
uploads' latency; beside two baselines measured in the same process on a second fresh stack:
the same N files in one unbounded run (files/s) and new uploads with no backlog (latency).

The capacity model's estimate for the same job is the one a dry run gives on this stack
(orchestration/capacity.py local_capacity_model, pixelforge_core/capacity.py `estimate`: the
local dry runs print it) for the load's pipeline (its step budget; runs back to back), from
figures a calibration measured first on a third fresh stack, not on the job: two unbounded runs
of CALIBRATION files each (fewer than the load), whose step seconds give each step's seconds per
file (the slope) and a run's fixed seconds (discovery, dbt, finalize and each step's start: the
intercept and the time outside the steps), besides the CPU per file. They are written into
per_file_figures.json's "local" (the committed one when the results go to bench/results), then
the estimate is printed beside the measured time with their ratio (target 0.75-1.25).

Scales: --smoke 60 files (tests/bench), reduced 1,000, --full 20,000; the calibration's
10 + 30, 200 + 800, 200 + 800.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import (
    median,
    parse_options,
    print_table,
    quiet_environment,
    write_results,
)
from bench.load_stack import (
    EXTRACT,
    RENDER,
    Audit,
    CpuMeter,
    backlog,
    calibrate,
    design_png,
    designs,
    files_in,
    fresh_stack,
    latencies,
    run_seconds,
    step_seconds,
    upload,
    write_local_figures,
)
from orchestration.capacity import Sources, local_capacity_model
from orchestration.graph import INCREMENTAL, Pipeline
from orchestration.local.runner import LocalRunner, RunReport
from orchestration.local.stack import LocalStack
from pixelforge_core.capacity import JobSize, estimate

# Seconds a bounded step takes new batches for, per scale: production's is 300 s (half of the
# 10-minute step timeout); scaled down so that the load takes several runs.
BUDGET_S = {"smoke": 1.0, "reduced": 20.0, "full": 60.0}
# The load's step timeout: above a dbt step's time on this host (the budget is what is scaled).
# The unbounded baseline's: above its whole extraction or rendering.
STEP_TIMEOUT_S = 600.0
UNBOUNDED_TIMEOUT_S = 24 * 3600.0
NEW_PER_RUN = {"smoke": 2, "reduced": 5, "full": 5}
# Runs with no backlog, new uploads before each, for the baseline latency.
IDLE_RUNS = {"smoke": 1, "reduced": 3, "full": 3}
MAX_RUNS = 400
# The calibration's two unbounded runs (files each), per scale: fewer than the load. The
# local steps' seconds per file grow with a run's files (at 1,000 files rendering took 0.045-0.06
# s a file, the slope between 100 and 400 files 0.024-0.039), so the slope is measured up to
# more than one extraction batch and render statement, as the load's runs take.
CALIBRATION = {"smoke": (10, 30), "reduced": (200, 800), "full": (200, 800)}


def bounded(pipeline: Pipeline, budget_s: float, timeout_s: float = STEP_TIMEOUT_S) -> Pipeline:
    return replace(
        pipeline,
        step_timeout_ms=int(timeout_s * 1000),
        step_budget_fraction=budget_s / timeout_s,
    )


def scaled_load(stack: LocalStack, files: int, budget_s: float, new_per_run: int) -> dict:
    """The load in bounded runs, new uploads before each; its figures."""
    upload(stack, designs("load", 0, files))
    runner = LocalRunner(
        stack,
        bounded(INCREMENTAL, budget_s),
        echo=lambda m: print(m) if " left" in m else None,  # the bounded steps' progress
        mirror_object_store=False,
    )
    reports: list[RunReport] = []
    table = []
    started = time.perf_counter()
    while len(reports) < MAX_RUNS:
        if reports:  # files there before the first run are the load itself
            upload(stack, designs("new", files + len(reports) * new_per_run, new_per_run))
        report = runner.run(kind="scheduled")
        if not report.succeeded:
            raise RuntimeError(f"run {len(reports) + 1} failed: {report.run.error_message}")
        reports.append(report)
        left = (backlog(report, "extract_metadata"), backlog(report, "render_thumbnails"))
        table.append(
            [len(reports), files_in(report, "extract_metadata"),
             files_in(report, "render_thumbnails"), *left, run_seconds(report)]
        )  # fmt: skip
        if left == (0, 0):
            break
    wall_s = time.perf_counter() - started
    sizes = sum(len(design_png(i)) for i in range(files + len(reports) * new_per_run))
    sizes -= sum(len(design_png(i)) for i in range(files, files + new_per_run))  # none in run 1
    print_table(
        "Bounded runs of the load",
        ["run", "extracted", "rendered", "extract left", "render left", "run s"],
        table,
    )
    extracted = sum(files_in(r, "extract_metadata") for r in reports)
    rendered = sum(files_in(r, "render_thumbnails") for r in reports)
    audit = Audit.of(stack, extracted, rendered)
    new = latencies(stack, "new/")
    return {
        "files": files,
        "budget_s": budget_s,
        "runs": len(reports),
        "wall_s": wall_s,
        "run_s": [run_seconds(r) for r in reports],
        "files_per_s": audit.versions / wall_s,
        "bounded_steps_s": sum(
            step_seconds(r, "extract_metadata", "render_thumbnails") for r in reports
        ),
        "bytes": sizes,
        "versions": audit.versions,
        "lost": sum(audit.lost.values()),
        "duplicated": sum(audit.duplicated.values()),
        "lost_by": audit.lost,
        "duplicated_by": audit.duplicated,
        "new_uploads": len(new),
        "new_latency_p50_s": median(new) if new else None,
        "new_latency_max_s": new[-1] if new else None,
    }


def baselines(stack: LocalStack, files: int, new_per_run: int, idle_runs: int) -> dict:
    """The same files in one unbounded run, then new uploads with no backlog."""
    upload(stack, designs("load", 0, files))
    # a budget longer than the whole job: one run takes everything
    unbounded = bounded(INCREMENTAL, UNBOUNDED_TIMEOUT_S / 2, UNBOUNDED_TIMEOUT_S)
    meter = CpuMeter(stack)
    started = time.perf_counter()
    report = LocalRunner(stack, unbounded, fault_hook=meter.hook, mirror_object_store=False).run(
        kind="scheduled"
    )
    wall_s = time.perf_counter() - started
    runner = LocalRunner(stack, unbounded, mirror_object_store=False)
    if not report.succeeded or backlog(report, "render_thumbnails"):
        raise RuntimeError(f"the unbounded run did not finish: {report.run.error_message}")
    audit = Audit.of(
        stack, files_in(report, "extract_metadata"), files_in(report, "render_thumbnails")
    )
    for run in range(idle_runs):
        start = 2 * files + run * new_per_run
        upload(stack, designs("idle", start, new_per_run))
        idle_report = runner.run(kind="scheduled")
        if not idle_report.succeeded:
            raise RuntimeError(f"a run with no backlog failed: {idle_report.run.error_message}")
    idle = latencies(stack, "idle/")
    return {
        "unbounded_wall_s": wall_s,
        "unbounded_extract_s": step_seconds(report, "extract_metadata"),
        "unbounded_render_s": step_seconds(report, "render_thumbnails"),
        "run_overhead_s": run_seconds(report)
        - step_seconds(report, "extract_metadata", "render_thumbnails"),
        "unbounded_bounded_steps_s": step_seconds(report, "extract_metadata", "render_thumbnails"),
        "extract_cpu_s_per_file": meter.cpu_s["extract_metadata"] / files,
        "render_cpu_s_per_file": meter.cpu_s["render_thumbnails"] / files,
        "unbounded_files_per_s": files / wall_s,
        "unbounded_lost": sum(audit.lost.values()),
        "unbounded_duplicated": sum(audit.duplicated.values()),
        "idle_latency_p50_s": median(idle) if idle else None,
        "idle_latency_max_s": idle[-1] if idle else None,
    }


def modelled(load: dict[str, Any], sources: Sources, render_vcpu: float) -> dict[str, Any]:
    """The estimate a dry run gives on this stack (local_capacity_model, `estimate`) for the
    load: every version extracted and rendered, the load's pipeline (its step budget), runs
    back to back (each starts when the last ends, not on the schedule)."""
    pipeline = bounded(INCREMENTAL, load["budget_s"])
    model = local_capacity_model(render_vcpu, replace(sources, pipeline=pipeline))
    model = model.with_capacity(run_interval_s=0.0)
    job = JobSize(load["versions"], load["bytes"], frozenset({EXTRACT, RENDER}))
    estimated = estimate(job, model)
    wall_s = estimated.wall_hours * 3600
    steps_s = (estimated.extract_wall_hours + estimated.render_wall_hours) * 3600
    return {
        "runs": estimated.runs,
        "wall_s": wall_s,
        "steps_s": steps_s,
        "measured_vs_estimated_wall": load["wall_s"] / wall_s,
        "measured_vs_estimated_steps": load["bounded_steps_s"] / steps_s,
        "lines": dict(estimated.lines()),
    }


def main() -> None:
    options = parse_options(__doc__ or "")
    quiet_environment()
    scale = options.scale_name
    files = options.row_count(smoke=60, reduced=1_000, full=20_000)
    budget_s, new_per_run = BUDGET_S[scale], NEW_PER_RUN[scale]
    with tempfile.TemporaryDirectory(prefix="pixelforge-scaled-load-") as root:
        with fresh_stack(Path(root), "calibration") as stack:
            unbounded = bounded(INCREMENTAL, UNBOUNDED_TIMEOUT_S / 2, UNBOUNDED_TIMEOUT_S)
            local = calibrate(stack, unbounded, CALIBRATION[scale])
            render_vcpu = float(stack.settings.render_workers)
        sources = write_local_figures(options, local)
        with fresh_stack(Path(root), "load") as stack:
            load = scaled_load(stack, files, budget_s, new_per_run)
        with fresh_stack(Path(root), "baseline") as stack:
            base = baselines(stack, files, new_per_run, IDLE_RUNS[scale])
    dry_run = modelled(load, sources, render_vcpu)
    figures = {**load, **base, "local_figures": local, "estimate": dry_run}
    print_table(
        f"Scaled initial load: {files:,} files, {budget_s:g} s step budget",
        ["figure", "bounded load", "baseline"],
        [
            ["runs", load["runs"], 1],
            ["wall s", load["wall_s"], base["unbounded_wall_s"]],
            ["files/s (baseline: one unbounded run)", load["files_per_s"],
             base["unbounded_files_per_s"]],
            ["lost versions", load["lost"], base["unbounded_lost"]],
            ["duplicated versions", load["duplicated"], base["unbounded_duplicated"]],
            ["new uploads' upload -> queryable p50 s (baseline: no backlog)",
             load["new_latency_p50_s"], base["idle_latency_p50_s"]],
            ["  max s", load["new_latency_max_s"], base["idle_latency_max_s"]],
        ],
    )  # fmt: skip
    print_table(
        "The dry run's estimate on this stack (local_capacity_model, estimate) vs measured, the "
        "same job",
        ["figure", "value"],
        [
            ["files (the load and the new uploads)", load["versions"]],
            [f"calibration ({local['source']['files']} files, unbounded): extraction CPU s "
             "per file", f"{local['extract_cpu_s_per_file']:.4f}"],
            ["  render CPU s per file (render service)", f"{local['render_cpu_s_per_file']:.4f}"],
            ["  extraction fixed s per file", f"{local['extract_fixed_s_per_file']:.4f}"],
            ["  render fixed s per file", f"{local['render_fixed_s_per_file']:.4f}"],
            ["  a run's fixed s", local["run_overhead_s"]],
            ["runs: measured / estimated", f"{load['runs']} / {dry_run['runs']}"],
            ["extraction + render step s: measured / estimated",
             f"{load['bounded_steps_s']:.1f} / {dry_run['steps_s']:.1f}"],
            ["load wall s: measured / estimated",
             f"{load['wall_s']:.1f} / {dry_run['wall_s']:.1f}"],
            ["measured / estimated wall (issue 13 target: 0.75-1.25)",
             f"{dry_run['measured_vs_estimated_wall']:.2f}"],
        ],
    )  # fmt: skip
    write_results(options, "scaled_load", figures)
    if load["lost"] or load["duplicated"]:
        raise SystemExit(
            f"the load lost {load['lost_by']} and duplicated {load['duplicated_by']} versions"
        )


if __name__ == "__main__":
    main()
