"""Run every benchmark in order, each in its own process, then print the headline figures.

    python -m bench            # reduced scale: a few minutes on 2 cores
    python -m bench --full     # full scale (8M keys and rows, the whole corpus): much longer

Results: bench/results/<benchmark>.json (git-ignored) and bench/results/cost.md (committed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence

from bench.common import (
    QUIET_ENV,
    REPO_ROOT,
    BenchOptions,
    parse_options,
    print_table,
    read_results,
)

# Latency, the initial load and cost read the figures the first four wrote, so the order matters
# (initial_load refreshes the per-file figures the capacity model reads; cost prints its result).
BENCHMARKS = (
    "per_file",
    "facets",
    "render_batch",
    "discovery",
    "dbt_incremental",
    "extract_scaling",
    "latency",
    "initial_load",
    "scaled_load",
    "metadata_bytes",
    "near_duplicates",
    "cost",
)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    options = parse_options(__doc__ or "", arguments)
    timings = []
    failed = []
    for name in BENCHMARKS:
        print(f"\n===== bench.{name} ({options.scale_name} scale) =====", flush=True)
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-W", "ignore", "-m", f"bench.{name}", *arguments],
            cwd=REPO_ROOT,
            env={**os.environ, **QUIET_ENV},
            check=False,
        )
        timings.append([name, time.perf_counter() - started, completed.returncode])
        if completed.returncode != 0:
            failed.append(name)
    print_table("Benchmarks run", ["benchmark", "wall s", "exit code"], timings)
    print_headlines(options)
    return 1 if failed else 0


def print_headlines(options: BenchOptions) -> None:
    def pair(name: str, key: str) -> list[str]:
        document = read_results(options, name)
        value = (document.get("figures") or {}).get(key) if document else None
        return [str(v) for v in value] if value else [f"bench.{name}", "has not run"]

    def figure(name: str, *keys: str) -> float:
        document = read_results(options, name)
        value: object = document.get("figures") if document else None
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return float(value) if isinstance(value, (int, float)) else float("nan")

    rows = [
        ["ours vs naive Pillow (metadata + 2 thumbnails)",
         f"{figure('per_file', 'speedup_vs_naive'):.1f}x faster"],
        ["ours vs pyvips, render CPU (> 1: ours faster)",
         figure("per_file", "render_speedup_vs_pyvips")],
        ["min WebP PSNR vs full-resolution LANCZOS, dB", figure("per_file", "psnr_min_db")],
        ["extraction CPU, all facets on vs off, design mix (target <= 2x)",
         f"{figure('facets', 'ratio'):.2f}x"],
        ["extraction, set-based path: 2 workers vs 1 (target >= 1.7x)",
         f"{figure('extract_scaling', 'speedup_2_workers'):.2f}x"],
        ["render service CPU s per file", figure("render_batch", "cpu_s_per_file")],
        ["Fargate vCPU for 2,600 files in 600 s (derated)",
         figure("render_batch", "vcpu_for_budget_derated")],
        ["discover + commit at 8M keys, s", figure("discovery", "run_s_at_8m")],
        ["nightly reconciliation at 8M keys, s", figure("discovery", "nightly_s_at_8m")],
        ["dbt load step, s", figure("dbt_incremental", "load", "wall_s")],
        [f"upload -> queryable p50 / p95 / p99, min, {figure('latency', 'task_vcpu'):g} vCPU "
         "renderer (10-minute budget size)",
         " / ".join(f"{figure('latency', k) / 60:.1f}" for k in ("p50_s", "p95_s", "p99_s"))],
        [f"  with {figure('latency', 'slo_task_vcpu'):g} vCPU (smallest meeting the SLO)",
         " / ".join(f"{figure('latency', 'slo_sized', k) / 60:.1f}"
                    for k in ("p50_s", "p95_s", "p99_s"))],
        ["visual facet CPU ms per file (budget 10)",
         figure("near_duplicates", "visual_cpu_ms_per_file")],
        ["near-duplicates at the mart's setting: recall / precision",
         " / ".join(f"{figure('near_duplicates', 'mart', key):.1%}"
                    for key in ("recall", "precision"))],
        ["monthly cost, USD", figure("cost", "total_usd_month")],
        pair("initial_load", "headline"),
        [f"scaled initial load, {figure('scaled_load', 'versions'):,.0f} files in bounded runs: "
         "runs, files/s, lost + duplicated, measured / modelled wall (per-file CPU; step s)",
         f"{figure('scaled_load', 'runs'):.0f}, {figure('scaled_load', 'files_per_s'):.1f}, "
         f"{figure('scaled_load', 'lost') + figure('scaled_load', 'duplicated'):.0f}, "
         + "; ".join(
             f"{figure('scaled_load', f'estimate_{name}', 'measured_vs_estimated_wall'):.2f}"
             for name in ("cpu", "step_time"))],
    ]  # fmt: skip
    print_table("Headline figures", ["figure", "value"], rows)


if __name__ == "__main__":
    sys.exit(main())
