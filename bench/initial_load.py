"""Benchmark 6: the modelled initial load (day zero: 8M files / 40 TB, both file-reading steps
reading every byte, 80 TB of reads) beside today's deployed capacity.

    python -m bench.initial_load

First refreshes the per-file figures the capacity model reads (bench/inputs.py
write_per_file_figures, from this run's bench.per_file and bench.render_batch; committed as
bench/results/per_file_figures.json), then estimates the job of bench/prices.toml [initial_load]
with orchestration/capacity.py: at the load's warehouse size (declared there) and the renderer's
initial-load maximum (pixelforge_core/render_budget.py), and, as the baseline, at the deployed
capacity (XS, the renderer's steady maximum). Target (bench/prices.toml): the wall-time limit and
the one-off budget. Arithmetic: every scale runs the same figures; beside them, the JSON bytes
a file costs in the steps' write batches, measured (bench/bind_bytes.py) beside the
bench/prices.toml figures the model reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.bind_bytes import report
from bench.common import BenchOptions, parse_options, print_table, write_results
from bench.inputs import write_per_file_figures
from orchestration import capacity
from orchestration.capacity import Sources, capacity_model, initial_load, read_bench_prices
from pixelforge_core.capacity import MEASURED_LABEL, Estimate, estimate


@dataclass(frozen=True)
class InitialLoad:
    planned: Estimate
    baseline: Estimate
    max_wall_hours: float
    budget_usd: float

    @property
    def meets_target(self) -> bool:
        return self.planned.wall_hours <= self.max_wall_hours and (
            self.planned.usd <= self.budget_usd
        )

    def headline(self) -> tuple[str, str]:
        """The line `make bench` prints among its headline figures: what, then how long and
        how much."""
        m = self.planned.model
        return (
            f"initial load, {self.planned.files / 1e6:g}M files / "
            f"{self.planned.bytes_read / 2 / 1e12:g} TB ({m.warehouse_size}, "
            f"{m.max_tasks} render tasks)",
            f"{self.planned.wall_hours:.1f} h, ${self.planned.usd:,.0f} one-off "
            f"(target <= {self.max_wall_hours:g} h, <= ${self.budget_usd:,.0f})",
        )


def sources_for(options: BenchOptions) -> Sources:
    """This run's per-file figures if it wrote them, else the committed ones."""
    written = options.results_dir / capacity.PER_FILE_FIGURES.name
    return Sources(per_file_figures=written if written.exists() else capacity.PER_FILE_FIGURES)


def initial_load_estimate(sources: Sources) -> InitialLoad:
    job, planned = initial_load(sources)
    prices = read_bench_prices(sources.bench_prices)
    return InitialLoad(
        planned=estimate(job, planned),
        baseline=estimate(job, capacity_model(sources)),
        max_wall_hours=float(prices["initial_load"]["max_wall_hours"]),
        budget_usd=float(prices["budget"]["initial_load_budget"]),
    )


def statement_s(options: BenchOptions) -> float:
    """A statement's latency the model counts (bench/prices.toml [assumptions])."""
    return float(read_bench_prices(sources_for(options).bench_prices)["assumptions"]["statement_s"])


def figures_of(result: Estimate) -> dict[str, Any]:
    m = result.model
    return {
        "warehouse_size": m.warehouse_size,
        "clusters": m.clusters,
        "max_tasks": m.max_tasks,
        "wall_hours": result.wall_hours,
        "extract_wall_hours": result.extract_wall_hours,
        "fixed_hours": result.fixed_hours,
        "render_wall_hours": result.render_wall_hours,
        "usd": result.usd,
        "lines": result.lines(),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options = parse_options(__doc__ or "", argv)
    write_per_file_figures(options)
    load = initial_load_estimate(sources_for(options))
    planned, baseline = dict(load.planned.lines()), dict(load.baseline.lines())
    measured = planned.pop(MEASURED_LABEL)
    print_table(
        f"Initial load: {load.planned.files:,} files, {load.planned.bytes_read / 1e12:g} TB "
        "read, planned vs today's deployed capacity",
        ["figure", "planned for the load", "deployed (baseline)"],
        [[label, value, baseline[label]] for label, value in planned.items()],
    )
    print(f"measured per-file figures: {measured}")
    verdict = "meets" if load.meets_target else "MISSES"
    label, value = load.headline()
    print(f"\n{label}: {value}: {verdict} the target")
    planned, built = load.planned.model, load.baseline.model
    if (planned.render_statement_rows, planned.extract_batch_rows) != (
        built.render_statement_rows,
        built.extract_batch_rows,
    ):
        print(
            f"  with the graph CONFIG raised with the renderer (docs/runbook.md, Day zero): "
            f"render statements of {planned.render_statement_rows:,} rows and extraction "
            f"batches of {planned.extract_batch_rows:,} ({built.render_statement_rows:,} and "
            f"{built.extract_batch_rows:,} deployed)"
        )
    print(
        f"  counting the steps' statements one after the other at {statement_s(options):g} s "
        f"each [ESTIMATE, bench/prices.toml statement_s]: {load.planned.fixed_hours:.1f} h "
        f"of it ({planned.extract_fixed_s_per_file * 1000:.2f} + "
        f"{planned.render_fixed_s_per_file * 1000:.2f} ms a file)"
    )
    figures = {
        "statement_s": statement_s(options),
        "bind_bytes_per_file": report(options.smoke, sources_for(options).bench_prices),
        "planned": figures_of(load.planned),
        "baseline": figures_of(load.baseline),
        "max_wall_hours": load.max_wall_hours,
        "budget_usd": load.budget_usd,
        "meets_target": load.meets_target,
        "headline": list(load.headline()),
    }
    write_results(options, "initial_load", figures)
    return figures


if __name__ == "__main__":
    main()
