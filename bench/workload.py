"""What the cost and latency models assume: the workload facts the run graph owns
(orchestration/graph.py: the schedule's interval, the step timeout that bounds rendering, the
latency objective), the workload assumptions in bench/prices.toml, and the unit prices of the
dbt seed the ops cost mart reads. Apart from bench/common.py, which the per-file cells import in
a fresh process and which stays standard-library only.
"""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT
from orchestration.capacity import schedule_interval_s
from orchestration.graph import INCREMENTAL, Pipeline

UNIT_PRICES = REPO_ROOT / "dbt_project" / "seeds" / "unit_prices.csv"


def graph_workload(pipeline: Pipeline = INCREMENTAL) -> dict[str, int]:
    """The workload facts the run graph owns (orchestration/graph.py), not restated in
    prices.toml: the schedule's interval and runs a day, a run's 10-minute step timeout (the
    render budget) and the upload -> queryable objective."""
    interval_s = schedule_interval_s(pipeline)
    return {
        "run_interval_min": interval_s // 60,
        "runs_per_day": 24 * 3600 // interval_s,
        "render_budget_s": pipeline.step_timeout_ms // 1000,
        "upload_to_queryable_slo_min": pipeline.latency_objective_s // 60,
    }


def load_prices(
    path: Path = REPO_ROOT / "bench" / "prices.toml", unit_prices: Path = UNIT_PRICES
) -> dict[str, Any]:
    """Workload assumptions (bench/prices.toml) and, under "prices", THE unit prices: the dbt
    seed the ops cost mart reads (price_code -> amount; sources in its source column)."""
    with path.open("rb") as handle:
        loaded = tomllib.load(handle)
    loaded["workload"].update(graph_workload())
    with unit_prices.open(newline="", encoding="utf-8") as handle:
        loaded["prices"] = {
            row["price_code"]: float(row["amount"]) for row in csv.DictReader(handle)
        }
    return loaded
