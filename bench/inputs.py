"""The measured step figures the latency and cost models start from.

Each figure comes from the JSON a benchmark of this run wrote (bench/results/*.json); when that
benchmark has not run, the anchor figure from ../shared/reference/thumbnail-performance.md (or
the design's assumption) is used instead, and the source says so.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import BenchOptions, read_results, write_results
from orchestration.capacity import PER_FILE_FIGURES


@dataclass(frozen=True)
class Figure:
    value: float
    source: str


@dataclass(frozen=True)
class StepFigures:
    meta_cpu_s_per_file: Figure  # extraction, one core
    render_cpu_s_per_file: Figure  # render service process tree, per file
    thumbnail_bytes_per_file: Figure
    fargate_task_vcpu: Figure
    slo_task_vcpu: Figure  # smallest renderer size meeting the SLO at p99 (bench.latency)
    discover_s: Figure  # discover + commit at 8M keys, per 15-minute run
    nightly_s: Figure  # refresh + discover + repairs + commit at 8M keys
    validate_s: Figure  # dbt build --selector validate, wall
    load_s: Figure  # dbt build --selector load, wall

    def rows(self) -> list[list[object]]:
        return [
            [name, figure.value, figure.source]
            for name, figure in (
                ("extraction CPU s / file", self.meta_cpu_s_per_file),
                ("render CPU s / file", self.render_cpu_s_per_file),
                ("thumbnail bytes / file", self.thumbnail_bytes_per_file),
                ("Fargate task vCPU (10-minute budget)", self.fargate_task_vcpu),
                ("Fargate task vCPU (SLO at the daily peak)", self.slo_task_vcpu),
                ("discover + commit s (8M keys)", self.discover_s),
                ("nightly reconciliation s (8M keys)", self.nightly_s),
                ("dbt validate s", self.validate_s),
                ("dbt load s", self.load_s),
            )
        ]


def _measured(document: dict[str, Any] | None, *keys: str) -> Any:
    value: Any = document.get("figures") if document else None
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def extraction_s_per_file(steps: StepFigures, prices: dict[str, Any]) -> float:
    """Warehouse seconds one file holds a slot: its CPU plus reading it from the stage."""
    read_s = prices["workload"]["average_file_mb"] / prices["assumptions"]["stage_read_mb_per_s"]
    return steps.meta_cpu_s_per_file.value + read_s


def _slo_task_vcpu(latency: dict[str, Any] | None, slo_s: float) -> Figure:
    sizes = _measured(latency, "by_task_vcpu")
    if not isinstance(sizes, dict):
        return Figure(0.0, "bench.latency has not run")
    fitting = sorted(float(size) for size, r in sizes.items() if r["p99_s"] <= slo_s)
    if not fitting:
        return Figure(max(float(size) for size in sizes), "none of the modelled sizes meets it")
    return Figure(fitting[0], "bench.latency, p99 within the SLO")


def _rows_noted(figure: Figure, dbt: dict[str, Any] | None) -> Figure:
    versions = _measured(dbt, "versions")
    if versions is None:
        return figure
    return Figure(figure.value, f"{figure.source}, marts of {versions:,} rows")


def step_figures(options: BenchOptions, slo_s: float = 1800.0) -> StepFigures:
    per_file = read_results(options, "per_file")
    batch = read_results(options, "render_batch")
    discovery = read_results(options, "discovery")
    dbt = read_results(options, "dbt_incremental")

    def pick(document: dict[str, Any] | None, keys: tuple[str, ...], name: str, default: float,
             default_source: str) -> Figure:  # fmt: skip
        value = _measured(document, *keys)
        if value is None:
            return Figure(default, f"{default_source} (bench.{name} has not run)")
        scale = document.get("scale", "?") if document else "?"
        return Figure(float(value), f"bench.{name}, {scale} scale")

    thumbnails = _measured(per_file, "cells")
    thumbnail_bytes = None
    if isinstance(thumbnails, list):
        sizes = [
            sum(t[2] for t in cell["first"]["thumbnails"])
            for cell in thumbnails
            if cell.get("approach") == "ours" and "thumbnails" in cell.get("first", {})
        ]
        thumbnail_bytes = sum(sizes) / len(sizes) if sizes else None
    bytes_figure = (
        Figure(thumbnail_bytes, "bench.per_file, ours, mean over the corpus")
        if thumbnail_bytes is not None
        else Figure(300_000.0, "assumed 300 kB (bench.per_file has not run)")
    )
    extrapolated = _measured(discovery, "extrapolated_to_8m")
    suffix = " (extrapolated to 8M)" if extrapolated else ""
    discover = pick(discovery, ("run_s_at_8m",), "discovery", 15.0, "assumed")
    nightly = pick(discovery, ("nightly_s_at_8m",), "discovery", 40.0, "assumed")
    return StepFigures(
        meta_cpu_s_per_file=pick(
            per_file, ("summary", "ours", "meta_cpu_s_per_file"), "per_file", 0.044,
            "anchor: lazy open + getexif + sha256",
        ),
        render_cpu_s_per_file=pick(
            batch, ("cpu_s_per_file",), "render_batch", 0.557, "anchor: Pillow one decode, WebP"
        ),
        thumbnail_bytes_per_file=bytes_figure,
        fargate_task_vcpu=pick(batch, ("fargate_task_vcpu",), "render_batch", 4.0, "anchor"),
        slo_task_vcpu=_slo_task_vcpu(read_results(options, "latency"), slo_s),
        discover_s=Figure(discover.value, discover.source + suffix),
        nightly_s=Figure(nightly.value, nightly.source + suffix),
        validate_s=_rows_noted(
            pick(dbt, ("validate", "wall_s"), "dbt_incremental", 15.0, "assumed"), dbt
        ),
        load_s=_rows_noted(pick(dbt, ("load", "wall_s"), "dbt_incremental", 10.0, "assumed"), dbt),
    )  # fmt: skip


def extraction_fit(per_file: dict[str, Any]) -> tuple[float, float, int]:
    """Extraction CPU seconds of one file as fixed + per MB read: least squares over this
    run's corpus (ours, the files it read; the decompression bombs are bench.per_file's limits,
    not cells), both parts kept non-negative: with a negative slope (a corpus too small to show
    the per-byte cost) the fixed part is the mean, with a negative intercept the line goes
    through the origin. Returns (fixed, per_mb, files)."""
    cells = [
        (float(c["mb"]), float(c["meta_cpu_s"]))
        for c in _measured(per_file, "cells") or []
        if c.get("approach") == "ours" and "meta_cpu_s" in c and "mb" in c
    ]
    if len(cells) < 2:
        raise ValueError(f"bench.per_file measured {len(cells)} files: too few to fit")
    sizes, cpu = zip(*cells, strict=True)
    if len(set(sizes)) < 2:
        return statistics.fmean(cpu), 0.0, len(cells)
    slope, intercept = statistics.linear_regression(sizes, cpu)
    if slope < 0:
        return statistics.fmean(cpu), 0.0, len(cells)
    if intercept < 0:
        through_origin = sum(x * y for x, y in cells) / sum(x * x for x in sizes)
        return 0.0, through_origin, len(cells)
    return intercept, slope, len(cells)


def write_per_file_figures(options: BenchOptions) -> Path | None:
    """The per-file figures the capacity model reads (orchestration/capacity.py), from this
    run's bench.per_file and bench.render_batch, with the date, host and scale of each; written
    beside the results (bench/results/per_file_figures.json is committed). Nothing is written
    when either benchmark has not run: the committed figures stay."""
    per_file = read_results(options, "per_file")
    batch = read_results(options, "render_batch")
    render = _measured(batch, "cpu_s_per_file")
    if per_file is None or batch is None or render is None:
        print("per-file figures kept: bench.per_file or bench.render_batch has not run")
        return None
    fixed, per_mb, files = extraction_fit(per_file)

    def source(document: dict[str, Any]) -> dict[str, Any]:
        return {k: document.get(k) for k in ("benchmark", "scale", "recorded_at", "host")}

    figures = {
        "extract_cpu_s_per_file": fixed,
        "extract_cpu_s_per_mb": per_mb,
        "extract_fit_files": files,
        "render_cpu_s_per_file": float(render),
        "sources": {"extraction": source(per_file), "rendering": source(batch)},
    }
    # the local stack's figures are bench.scaled_load's calibration: kept
    kept = read_results(options, PER_FILE_FIGURES.stem)
    if kept and "local" in kept["figures"]:
        figures["local"] = kept["figures"]["local"]
    return write_results(options, PER_FILE_FIGURES.stem, figures)
