"""Unit prices live in one place: the dbt seed unit_prices.csv (read by the ops cost mart, the
benchmark's cost model and the capacity model). bench/prices.toml keeps only the workload
assumptions."""

from __future__ import annotations

import csv
import re
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED = REPO_ROOT / "dbt_project" / "seeds" / "unit_prices.csv"
BENCH_PRICES = REPO_ROOT / "bench" / "prices.toml"
# The readers of the seed outside dbt: the monthly cost model and the capacity model.
PRICE_READERS = (REPO_ROOT / "bench" / "cost.py", REPO_ROOT / "orchestration" / "capacity.py")
COST_MART = REPO_ROOT / "dbt_project" / "models" / "ops" / "marts" / "fct_run_costs.sql"
# A key that names money or a billing unit is a price (or a price's sizing fact).
PRICE_WORDS = re.compile(r"usd|credit|price|billed|per_million|per_1000|gb_per_vcpu")


def seed_rows() -> list[dict[str, str]]:
    with SEED.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def toml_keys(table: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in table.items():
        if isinstance(value, dict):
            yield from toml_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_each_price_is_declared_once_in_the_seed() -> None:
    codes = Counter(row["price_code"] for row in seed_rows())
    assert codes and all(count == 1 for count in codes.values()), codes
    for row in seed_rows():
        float(row["amount"])
        assert row["unit"] and row["source"], row["price_code"]


def test_the_bench_assumptions_declare_no_price() -> None:
    codes = {row["price_code"] for row in seed_rows()}
    keys = list(toml_keys(tomllib.loads(BENCH_PRICES.read_text(encoding="utf-8"))))
    assert keys
    for key in keys:
        name = key.rsplit(".", 1)[-1]
        assert name not in codes, f"bench/prices.toml {key} is the seed's {name}"
        assert not PRICE_WORDS.search(name), f"bench/prices.toml {key} looks like a price"


def test_both_readers_read_prices_the_seed_declares() -> None:
    codes = {row["price_code"] for row in seed_rows()}
    model = {
        code
        for reader in PRICE_READERS
        for code in re.findall(r"""price\[["'](\w+)["']\]""", reader.read_text(encoding="utf-8"))
    }
    mart = set(re.findall(r"price_code = '(\w+)'", COST_MART.read_text(encoding="utf-8")))
    assert model and mart
    assert model <= codes, model - codes
    assert mart <= codes, mart - codes
    # nothing in the seed is read by neither
    assert codes <= model | mart, codes - model - mart


def test_the_bench_workload_restates_no_graph_fact() -> None:
    """The schedule, the step timeout and the latency objective are orchestration/graph.py's
    (bench.workload.graph_workload reads them); prices.toml must not hold a second copy."""
    keys = {k.rsplit(".", 1)[-1] for k in toml_keys(tomllib.loads(BENCH_PRICES.read_text()))}
    graph_facts = {
        "run_interval_min",
        "runs_per_day",
        "render_budget_s",
        "upload_to_queryable_slo_min",
    }
    assert not keys & graph_facts
    workload = (REPO_ROOT / "bench" / "workload.py").read_text(encoding="utf-8")
    assert all(f'"{fact}"' in workload for fact in graph_facts)
