"""Benchmark 7: the monthly cost model from the measured step figures and the unit prices,
beside the one-off cost of the initial load (bench/initial_load.py, the capacity model).

    python -m bench.cost

Prints the tables and writes them as markdown to bench/results/cost.md (committed; README.md and
bench/README.md link it). Every unit price is read from dbt_project/seeds/unit_prices.csv (the
ops cost mart's seed, with its source), every workload assumption from bench/prices.toml;
every per-file and per-run figure from this run's benchmarks (bench/inputs.py says which).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.common import (
    BenchOptions,
    markdown_table,
    parse_options,
    print_table,
    read_results,
    write_results,
)
from bench.initial_load import InitialLoad, initial_load_estimate, sources_for
from bench.inputs import StepFigures, extraction_s_per_file, step_figures
from bench.workload import load_prices
from orchestration.deploy.search_service import TARGET_LAG_HOURS
from pixelforge_core.render_budget import RenderBudget

HOURS_PER_MONTH = 730.0
# Without bench.metadata_bytes' figures: the seed's sizing (2 TB for 8M files) and a search row
# of 1 kB [ASSUMED].
SEED_METADATA_BYTES_PER_FILE = 250_000.0
ASSUMED_SEARCH_ROW_BYTES = 1_000.0


def metadata_figures(document: dict[str, Any] | None) -> tuple[float, float, str]:
    """(bytes a file version takes in the warehouse, bytes of its search row, their source)."""
    found = (document or {}).get("figures") or {}
    if "total_bytes_per_file" not in found:
        source = "the seed's 250 kB sizing, a 1 kB search row (bench.metadata_bytes has not run)"
        return SEED_METADATA_BYTES_PER_FILE, ASSUMED_SEARCH_ROW_BYTES, source
    scale = (document or {}).get("scale", "?")
    source = f"bench.metadata_bytes, {scale} scale"
    return float(found["total_bytes_per_file"]), float(found["search_bytes_per_file"]), source


def cost_lines(
    steps: StepFigures, prices: dict[str, Any], metadata: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    workload, assume, price = prices["workload"], prices["assumptions"], prices["prices"]
    files = workload["files_per_day"] * workload["days_per_month"]
    runs = workload["runs_per_day"] * workload["days_per_month"]
    credit = price["snowflake_credit_usd"]
    # The task deployed (pixelforge_core/render_budget.py) is what is billed, when it is larger
    # than what the 10-minute budget and the SLO need (headroom for 200 MB files and retries).
    deployed = RenderBudget()
    measured_vcpu = max(steps.fargate_task_vcpu.value, steps.slo_task_vcpu.value)
    vcpu = max(measured_vcpu, deployed.task_cpu_units / 1024)
    gb = max(vcpu * price["render_gb_per_vcpu"], deployed.task_memory_mib / 1024)
    lines = []

    def line(name: str, usd: float, basis: str) -> None:
        lines.append({"line": name, "usd_month": usd, "basis": basis})

    task_usd = HOURS_PER_MONTH * (
        vcpu * price["fargate_vcpu_hour_usd"] + gb * price["fargate_gb_hour_usd"]
    )
    line(
        "ECS Fargate renderer, one task always on",
        task_usd,
        f"{vcpu:g} vCPU / {gb:g} GB x 730 h (the deployed task; the 10-minute budget and the "
        f"SLO need {measured_vcpu:g} vCPU)",
    )
    busy_vcpu_h = files * steps.render_cpu_s_per_file.value * assume["fargate_cpu_derate"] / 3600
    line(
        "  of which busy rendering",
        busy_vcpu_h * price["fargate_vcpu_hour_usd"],
        f"{files:,.0f} files x {steps.render_cpu_s_per_file.value:.3f} CPU s x "
        f"{assume['fargate_cpu_derate']} derate = {busy_vcpu_h:,.0f} vCPU-h",
    )
    per_file_s = extraction_s_per_file(steps, prices)
    xs_hours = (
        files * per_file_s / (assume["xs_warehouse_vcpu"] * assume["xs_parallel_efficiency"]) / 3600
    )
    line(
        "Snowflake extraction (serverless task)",
        xs_hours * price["serverless_task_multiplier"] * credit,
        f"{files:,.0f} files x {per_file_s * 1000:.0f} ms (CPU + reading "
        f"{workload['average_file_mb']:g} MB) over {assume['xs_warehouse_vcpu']} vCPU at "
        f"{assume['xs_parallel_efficiency']:.0%} = {xs_hours:,.1f} XS-h x "
        f"{price['serverless_task_multiplier']}",
    )
    dbt_s = max(price["warehouse_minimum_seconds"], steps.validate_s.value + steps.load_s.value)
    line(
        "Snowflake dbt validate + load (XS warehouse)",
        runs * dbt_s / 3600 * price["warehouse_credits_per_hour"] * credit,
        f"{runs:,.0f} runs x {dbt_s:.0f} s (local wall time as the XS proxy, 60 s minimum)",
    )
    control_s = steps.discover_s.value + 30.0
    line(
        "Snowflake discovery + control tasks (serverless)",
        runs * control_s / 3600 * price["serverless_task_multiplier"] * credit,
        f"{runs:,.0f} runs x ({steps.discover_s.value:.0f} s discover + 30 s control)",
    )
    line(
        "Snowflake nightly reconciliation (serverless)",
        workload["days_per_month"]
        * steps.nightly_s.value
        / 3600
        * price["serverless_task_multiplier"]
        * credit,
        f"{workload['days_per_month']} nights x {steps.nightly_s.value:.0f} s",
    )
    events = files * assume["directory_events_per_file"]
    line(
        "Snowflake directory-table auto-refresh",
        events / 1000 * price["directory_refresh_credits_per_1000_files"] * credit,
        f"{events:,.0f} events x {price['directory_refresh_credits_per_1000_files']} cr / 1,000",
    )
    requests = files / price["external_function_rows_per_request"]
    line(
        "API Gateway (external function)",
        requests / 1e6 * price["api_gateway_rest_usd_per_million"],
        f"{requests:,.0f} requests of {price['external_function_rows_per_request']:g} rows",
    )
    gets = files * (assume["s3_get_per_file"] + assume["s3_head_per_file"])
    puts = files * assume["s3_put_per_file"]
    line(
        "S3 requests",
        gets / 1000 * price["s3_get_per_1000_usd"] + puts / 1000 * price["s3_put_per_1000_usd"],
        f"{gets:,.0f} GET/HEAD + {puts:,.0f} PUT",
    )
    added_gb = files * steps.thumbnail_bytes_per_file.value / 1e9
    line(
        "S3 storage added by one month of thumbnails",
        added_gb * price["s3_storage_gb_month_usd"],
        f"{added_gb:,.0f} GB (grows each month; {steps.thumbnail_bytes_per_file.value / 1e3:.0f}"
        " kB per file)",
    )
    per_file, search_row, measured = metadata_figures(metadata)
    versions = prices["initial_load"]["files"] + files * assume["metadata_months_kept"]
    stored_tb = versions * per_file / 1e12
    line(
        "Snowflake storage of the metadata (raw + dbt tables)",
        stored_tb * price["snowflake_storage_tb_month_usd"],
        f"{versions / 1e6:,.0f}M file versions (the existing files + "
        f"{assume['metadata_months_kept']} months) x {per_file / 1e3:,.1f} kB ({measured}; "
        f"uncompressed, so an upper bound) = {stored_tb:,.2f} TB",
    )
    indexed_gb = (
        prices["initial_load"]["files"]
        * (search_row + assume["search_embedding_bytes_per_row"])
        / 1e9
    )
    line(
        "Cortex Search serving (design search)",
        indexed_gb * price["cortex_search_serving_credits_per_gb_month"] * credit,
        f"{indexed_gb:,.1f} GB indexed: {prices['initial_load']['files'] / 1e6:,.0f}M rows x "
        f"({search_row:,.0f} B row + {assume['search_embedding_bytes_per_row']:,} B embedding)"
        f" x {price['cortex_search_serving_credits_per_gb_month']} cr / GB-month",
    )
    tokens = files * search_row / assume["search_chars_per_token"]
    line(
        "Cortex Search embedding of new and changed rows",
        tokens / 1e6 * price["cortex_embed_credits_per_million_tokens"] * credit,
        f"{files:,.0f} rows x {search_row / assume['search_chars_per_token']:,.0f} tokens "
        f"x {price['cortex_embed_credits_per_million_tokens']} cr / 1M tokens",
    )
    refreshes = HOURS_PER_MONTH / TARGET_LAG_HOURS
    line(
        "Cortex Search refreshes (XS warehouse)",
        refreshes * price["warehouse_minimum_seconds"] / 3600
        * price["warehouse_credits_per_hour"] * credit,
        f"{refreshes:,.0f} refreshes (TARGET_LAG {TARGET_LAG_HOURS} h; the mart changes every "
        f"run) x {price['warehouse_minimum_seconds']:.0f} s minimum",
    )  # fmt: skip
    line("CloudWatch + alarms", price["cloudwatch_usd_month"], "fixed (peers-and-cost.md line K)")
    line("NLB / VPC link", price["nlb_vpc_link_usd_month"], "fixed (peers-and-cost.md line L)")
    return lines


def one_off_rows(load: InitialLoad) -> list[list[object]]:
    planned, baseline = dict(load.planned.lines()), dict(load.baseline.lines())
    return [[label, value, baseline[label]] for label, value in planned.items()]


def render_markdown(
    lines: list[dict[str, Any]],
    total: float,
    budget: float,
    steps: StepFigures,
    scale: str,
    load: InitialLoad,
) -> str:
    rows = [[line["line"], round(line["usd_month"], 2), line["basis"]] for line in lines]
    rows.append(
        ["**total**", round(total, 2), f"{total / budget:.0%} of the ${budget:,.0f} budget"]
    )
    label, value = load.headline()
    rows.append(
        [f"**one-off: {label}** (not monthly)", round(load.planned.usd, 2),
         f"{value}; details below"]
    )  # fmt: skip
    inputs = markdown_table(["measured input", "value", "source"], steps.rows())
    one_off = markdown_table(
        ["figure", "planned for the load", "deployed capacity (baseline)"], one_off_rows(load)
    )
    return (
        "\n\n".join(
            [
                "# Cost model: monthly, and the one-off initial load",
                f"Generated by `python -m bench.cost` ({scale} scale) from the measured figures "
                "below, the unit prices in `dbt_project/seeds/unit_prices.csv` (sources there) "
                "and the workload in `bench/prices.toml`. Snowflake at "
                "$3/credit (Enterprise); Fargate Linux/x86 us-east-1. Rows starting with two "
                "spaces are part of the row above, not added to the total.",
                markdown_table(["line", "USD / month", "basis"], rows),
                inputs,
                "## One-off: the initial load (day zero)",
                "Every existing file (`bench/prices.toml` [initial_load]) through extraction "
                "and rendering, both reading every byte, modelled by `pixelforge_core/"
                "capacity.py` (`python -m bench.initial_load`) at the load's warehouse size and "
                "the renderer's initial-load maximum (`pixelforge_core/render_budget.py`), "
                "beside today's deployed capacity. How to run it: `docs/runbook.md`, "
                '"Day zero".',
                one_off,
            ]
        )
        + "\n"
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options: BenchOptions = parse_options(__doc__ or "", argv)
    prices = load_prices()
    steps = step_figures(options)
    lines = cost_lines(steps, prices, read_results(options, "metadata_bytes"))
    total = sum(line["usd_month"] for line in lines if not line["line"].startswith("  "))
    budget = prices["budget"]["monthly_budget"]
    print_table("Inputs", ["figure", "value", "source"], steps.rows())
    print_table(
        "Monthly cost (USD), 250K files/day",
        ["line", "USD / month", "basis"],
        [[line["line"], line["usd_month"], line["basis"]] for line in lines]
        + [["total", total, f"{total / budget:.0%} of the ${budget:,.0f} budget"]],
    )
    load = initial_load_estimate(sources_for(options))
    print_table(
        "One-off: the initial load",
        ["figure", "planned for the load", "deployed capacity (baseline)"],
        one_off_rows(load),
    )
    scale = "smoke" if options.smoke else "full" if options.full else "reduced"
    options.results_dir.mkdir(parents=True, exist_ok=True)
    markdown = options.results_dir / "cost.md"
    markdown.write_text(render_markdown(lines, total, budget, steps, scale, load))
    print(f"wrote {markdown}")
    figures = {
        "lines": lines,
        "total_usd_month": total,
        "budget_usd_month": budget,
        "initial_load_usd": load.planned.usd,
        "initial_load_hours": load.planned.wall_hours,
    }
    write_results(options, "cost", figures)
    return figures


if __name__ == "__main__":
    main()
