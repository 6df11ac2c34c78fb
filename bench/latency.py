"""Benchmark 5: upload -> queryable latency over one day, modelled from the measured steps.

    python -m bench.latency

250K uploads spread over a day with a daytime peak (twice the mean rate at 15:00 UTC, a
third of it at 03:00); a scheduled run every 15 minutes that takes the files the directory
table has registered when it starts (S3 event delay: 5-60 s). A run lasts
    start-up + discover + extraction(n) + render(n) + dbt validate + dbt load
with extraction on the warehouse (per-file CPU from bench.per_file over the XS warehouse's
effective cores) and rendering on the Fargate task (per-file CPU from bench.render_batch,
derated, over the task's vCPUs). A run still going at the next tick makes that tick skip,
as Snowflake's task graph does. Latency = end of the run that loaded the file - upload.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from bench.common import (
    parse_options,
    percentile,
    print_table,
    write_results,
)
from bench.inputs import extraction_s_per_file, step_figures
from bench.workload import load_prices

RUN_STARTUP_S = 30.0  # root task start, warehouse resume, procedure start [assumed]
EVENT_DELAY_S = (5.0, 60.0)  # S3 event -> directory table, uniform [assumed from S3's docs]
SEED = 20260115


def upload_times(files: int, rng: random.Random) -> list[float]:
    """Seconds into the day; rate(t) = 1 + 0.67 cos(2 pi (t - 15h) / 24h), thinned sampling."""
    day = 86_400.0
    times: list[float] = []
    while len(times) < files:
        t = rng.uniform(0, day)
        rate = 1 + 0.67 * math.cos(2 * math.pi * (t - 15 * 3600) / day)
        if rng.uniform(0, 1.67) <= rate:
            times.append(t)
    return sorted(times)


def simulate(
    uploads: Sequence[float],
    interval_s: float,
    run_seconds: Any,
    rng: random.Random,
) -> dict[str, Any]:
    # (registered in the directory table, uploaded), in registration order
    files = sorted((t + rng.uniform(*EVENT_DELAY_S), t) for t in uploads)
    registered = [seen for seen, _ in files]
    latencies: list[float] = []
    durations: list[float] = []
    sizes: list[int] = []
    skipped = 0
    position = 0
    busy_until = 0.0
    tick = 0.0
    horizon = registered[-1] + 4 * 3600
    while position < len(registered) and tick < horizon:
        tick += interval_s
        if tick < busy_until:
            skipped += 1
            continue
        taken = position
        while taken < len(registered) and registered[taken] <= tick:
            taken += 1
        count = taken - position
        if count == 0:
            continue
        duration = run_seconds(count)
        end = tick + duration
        latencies.extend(end - uploaded for _, uploaded in files[position:taken])
        durations.append(duration)
        sizes.append(count)
        position = taken
        busy_until = end
    return {
        "p50_s": percentile(latencies, 50),
        "p95_s": percentile(latencies, 95),
        "p99_s": percentile(latencies, 99),
        "max_s": max(latencies),
        "runs": len(durations),
        "skipped_ticks": skipped,
        "run_s_p50": percentile(durations, 50),
        "run_s_max": max(durations),
        "files_per_run_max": max(sizes),
        "files_per_run_p95": percentile(sizes, 95),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options = parse_options(__doc__ or "", argv)
    prices = load_prices()
    workload, assumptions = prices["workload"], prices["assumptions"]
    steps = step_figures(options)
    warehouse_cores = assumptions["xs_warehouse_vcpu"] * assumptions["xs_parallel_efficiency"]
    vcpu = steps.fargate_task_vcpu.value
    derate = assumptions["fargate_cpu_derate"]
    fixed_s = RUN_STARTUP_S + steps.discover_s.value + steps.validate_s.value + steps.load_s.value

    def run_seconds_with(task_vcpu: float) -> Any:
        def run_seconds(files: int) -> float:
            extraction = files * extraction_s_per_file(steps, prices) / warehouse_cores
            render = files * steps.render_cpu_s_per_file.value * derate / task_vcpu
            return fixed_s + extraction + render

        return run_seconds

    files = 2_000 if options.smoke else workload["files_per_day"]
    interval_s = workload["run_interval_min"] * 60
    uploads = upload_times(files, random.Random(SEED))

    def model(task_vcpu: float) -> dict[str, Any]:
        return simulate(uploads, interval_s, run_seconds_with(task_vcpu), random.Random(SEED))

    result = model(vcpu)
    sweep = {size: model(size) for size in (2.0, 4.0, 8.0, 16.0)}
    slo_s = workload["upload_to_queryable_slo_min"] * 60
    fitting = [size for size, r in sweep.items() if r["p99_s"] <= slo_s]
    slo_vcpu = min(fitting) if fitting else None
    print_table("Inputs", ["figure", "value", "source"], steps.rows())
    print_table(
        f"Upload -> queryable over one day: {files:,} uploads, a run every "
        f"{workload['run_interval_min']} min, {vcpu:g} vCPU renderer, XS warehouse",
        ["figure", "value"],
        [
            ["p50 latency, min", result["p50_s"] / 60],
            ["p95 latency, min", result["p95_s"] / 60],
            ["p99 latency, min", result["p99_s"] / 60],
            ["max latency, min", result["max_s"] / 60],
            [f"within the {slo_s / 60:.0f}-minute SLO at p99", "yes" if result["p99_s"] <= slo_s
             else "NO"],
            ["runs", result["runs"]],
            ["ticks skipped (previous run still going)", result["skipped_ticks"]],
            ["run duration p50 / max, s",
             f"{result['run_s_p50']:.0f} / {result['run_s_max']:.0f}"],
            ["files per run p95 / max",
             f"{result['files_per_run_p95']:.0f} / {result['files_per_run_max']}"],
            ["fixed part of a run, s (start-up, discover, dbt)", fixed_s],
        ],
    )  # fmt: skip
    print_table(
        "The same day with other renderer sizes (same derate and per-file CPU)",
        ["task vCPU", "p50 min", "p95 min", "p99 min", "skipped ticks", "longest run s"],
        [
            [size, r["p50_s"] / 60, r["p95_s"] / 60, r["p99_s"] / 60, r["skipped_ticks"],
             r["run_s_max"]]
            for size, r in sweep.items()
        ],
    )  # fmt: skip
    if slo_vcpu is None:
        print(f"no modelled renderer size keeps p99 within {slo_s / 60:.0f} min")
    else:
        print(
            f"smallest renderer meeting the SLO at p99: {slo_vcpu:g} vCPU "
            f"(p50/p95/p99 {sweep[slo_vcpu]['p50_s'] / 60:.1f} / "
            f"{sweep[slo_vcpu]['p95_s'] / 60:.1f} / {sweep[slo_vcpu]['p99_s'] / 60:.1f} min)"
        )
    figures = {
        **result,
        "task_vcpu": vcpu,
        "slo_task_vcpu": slo_vcpu,
        "slo_sized": sweep[slo_vcpu] if slo_vcpu is not None else None,
        "by_task_vcpu": sweep,
        "uploads": files,
        "fixed_run_s": fixed_s,
        "inputs": {row[0]: {"value": row[1], "source": row[2]} for row in steps.rows()},
    }
    write_results(options, "latency", figures)
    return figures


if __name__ == "__main__":
    main()
