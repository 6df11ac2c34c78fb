"""Smoke tests: every benchmark runs end to end at tiny scale (--smoke) and prints its figures.

They prove the scripts work, not how fast anything is: no assertion here reads a time. Each
benchmark runs in its own process, as `python -m bench` runs it, with results in a temp dir.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(name: str, results: Path) -> str:
    completed = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", f"bench.{name}", "--smoke", "--results-dir",
         str(results)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
             "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        timeout=600,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout


def figures(results: Path, name: str) -> dict:
    document = json.loads((results / f"{name}.json").read_text())
    assert document["scale"] == "smoke"
    assert document["host"]["cpu_count"] >= 1
    return document["figures"]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-results")


def test_per_file_compares_ours_naive_and_pyvips(results):
    out = run_benchmark("per_file", results)
    assert "x faster than naive" in out
    assert "PSNR" in out
    found = figures(results, "per_file")
    ours = found["summary"]["ours"]
    assert ours["files"] == 3 and ours["failed"] == []
    assert found["summary"]["naive"]["files"] == 3
    pyvips = found["summary"]["pyvips"]
    assert pyvips.get("files") == 3 or "pyvips not installed" in pyvips.get("skipped", "")
    # the bomb is refused, by both steps, and its figures are printed
    (bomb,) = found["limits"]
    assert bomb["outcome"] == "decompression_bomb"
    assert "bomb_30000x30000.png" in out
    assert found["psnr_min_db"] > 0


def test_facets_prints_extraction_with_facets_off_and_on(results):
    out = run_benchmark("facets", results)
    assert "facets off ms" in out and "facets on ms" in out
    assert "x target" in out
    found = figures(results, "facets")
    assert found["mix"]["files"] == 3 and found["rich"]["files"] == 1
    for cell in found["cells"]:
        assert cell["off_ms"] > 0 and cell["on_ms"] > 0
        assert cell["facets"] and set(cell["facets"].values()) == {"ok"}
    assert found["ratio"] == found["mix"]["ratio"]


def test_extract_scaling_runs_the_udf_handler_set_based_with_1_and_2_workers(results):
    out = run_benchmark("extract_scaling", results)
    assert "vs 1 worker" in out
    found = figures(results, "extract_scaling")
    runs = found["runs"]
    assert [r["workers"] for r in runs] == [1, 2]
    for run in runs:
        # every row came back through the set-based statement with its metadata row
        assert run["files"] == run["ok"] == 24
        assert run["hung"] == 0
    assert runs[0]["speedup_vs_1_worker"] == 1.0
    assert found["speedup_2_workers"] == runs[1]["speedup_vs_1_worker"]


def test_render_batch_goes_through_the_service(results):
    out = run_benchmark("render_batch", results)
    assert "Fargate task vCPU" in out
    found = figures(results, "render_batch")
    assert found["files"] == 6 and found["failed"] == []
    assert found["render_service_cpu_s"] > 0
    # its premise, checked by the benchmark itself: unique variants change bytes, not pictures
    assert found["variants_checked"] == ["jpeg", "png", "webp", "tiff", "psd", "pdf", "svg"]


def test_discovery_runs_the_repo_sql(results):
    out = run_benchmark("discovery", results)
    assert "discover_file_changes" in out
    found = figures(results, "discovery")
    discovered, committed = found["run_steps"]
    assert discovered["rows"] == committed["rows"] == 2_600  # 2,000 new + 500 updated + 100 gone


@pytest.mark.integration
def test_dbt_incremental_merges_only_the_batch(results):
    out = run_benchmark("dbt_incremental", results)
    assert "rows merged" in out
    found = figures(results, "dbt_incremental")
    assert found["merged"]["fct_file_versions"] == found["batch_versions"]
    assert found["rows_after"]["marts.fct_file_versions"] == 5_000 + 2_000 + 600
    assert found["scanned"]["fct_file_versions"]["rows_scanned"] > 0


@pytest.mark.integration
def test_scaled_load_drains_in_bounded_runs_beside_its_baselines(results):
    out = run_benchmark("scaled_load", results)
    assert "Bounded runs of the load" in out and " left" in out  # the runs' progress lines
    found = figures(results, "scaled_load")
    # two new uploads before each run after the first
    assert found["files"] == 60 and found["versions"] == 60 + 2 * (found["runs"] - 1)
    # A bounded step stops between statements (extraction pages of 500 rows, render statements of
    # 720 since the render fan-out), so the smoke's 60 files may all go in one run: bounding
    # across runs is tests/integration/test_bounded_runs.py's (an initial load over several
    # bounded runs, new uploads first); here the script's figures are checked.
    assert found["runs"] >= 1
    assert found["lost"] == 0 and found["duplicated"] == 0
    assert found["unbounded_lost"] == 0 and found["unbounded_duplicated"] == 0
    assert found["new_uploads"] == 2 * (found["runs"] - 1)
    assert found["idle_latency_p50_s"] > 0
    if found["runs"] > 1:
        assert found["new_latency_p50_s"] > 0


def test_metadata_bytes_measures_raw_and_dbt_tables(results):
    out = run_benchmark("metadata_bytes", results)
    assert "seed sizing (2 TB / 8M files)" in out
    found = figures(results, "metadata_bytes")
    tables = found["tables"]
    assert tables["raw.file_metadata"]["rows"] == found["file_versions"]
    assert tables["raw.file_facets"]["rows"] == found["facet_rows"] > found["file_versions"]
    assert tables["marts.mart_design_search"]["rows"] > 0
    assert tables["intermediate.int_design_layers"]["rows"] > 0  # the PSDs' layer trees
    raw, built = found["raw_bytes_per_file"], found["dbt_bytes_per_file"]
    assert raw > 0 and built > 0
    assert found["total_bytes_per_file"] == pytest.approx(raw + built)


def test_latency_and_cost_models_use_the_measured_figures(results):
    # after the benchmarks above (module order); a fresh dir would use the anchor figures
    out = run_benchmark("latency", results)
    assert "p99 latency" in out
    assert figures(results, "latency")["p50_s"] > 0
    out = run_benchmark("cost", results)
    found = figures(results, "cost")
    assert found["total_usd_month"] > 0
    markdown = (results / "cost.md").read_text()
    assert "| line | USD / month | basis |" in markdown
    assert "bench.render_batch, smoke scale" in markdown
    # the warehouse's storage of the metadata and the design search service, from the bench
    assert "Snowflake storage of the metadata (raw + dbt tables)" in markdown
    assert "bench.metadata_bytes, smoke scale" in markdown
    assert "Cortex Search serving (design search)" in markdown
    # the one-off initial load beside the monthly total, from the capacity model
    assert found["initial_load_usd"] > 0 and found["initial_load_hours"] > 0
    assert "**one-off: initial load, 8M files / 40 TB" in markdown
    assert "## One-off: the initial load (day zero)" in markdown


def test_initial_load_refreshes_the_figures_and_prints_its_headline(results):
    # after per_file and render_batch (module order): their smoke figures feed the model
    out = run_benchmark("initial_load", results)
    written = figures(results, "per_file_figures")
    assert {s["scale"] for s in written["sources"].values()} == {"smoke"}
    assert written["render_cpu_s_per_file"] > 0 and written["extract_fit_files"] == 3
    found = figures(results, "initial_load")
    label, value = found["headline"]
    assert f"{label}: {value}" in out and "initial load, 8M files / 40 TB" in label
    planned, baseline = found["planned"], found["baseline"]
    assert baseline["warehouse_size"] == "XSMALL"
    assert planned["max_tasks"] > baseline["max_tasks"]
    assert planned["wall_hours"] < baseline["wall_hours"]


def test_the_committed_figures_meet_the_initial_load_target(tmp_path):
    # a fresh results folder: the committed per-file figures, as `make bench` starts from
    out = run_benchmark("initial_load", tmp_path)
    found = figures(tmp_path, "initial_load")
    assert found["meets_target"], out
    assert found["planned"]["wall_hours"] <= found["max_wall_hours"]
    assert found["planned"]["usd"] <= found["budget_usd"]
    assert not (tmp_path / "per_file_figures.json").exists()


def test_near_duplicates_prints_recall_precision_and_the_visual_facet_cpu(results):
    out = run_benchmark("near_duplicates", results)
    assert "banded SQL on DuckDB vs the all-pairs baseline" in out
    assert "visual facet CPU per file" in out
    found = figures(results, "near_duplicates")
    assert found["files"] == len(found["hashes"]) > found["originals"] > 0
    for configuration in found["configurations"]:
        # the pigeonhole guarantee: the banded join misses no pair the baseline finds
        assert configuration["same_as_all_pairs"], configuration
        assert 0 <= configuration["recall"] <= 1 and 0 <= configuration["precision"] <= 1
    mart = found["mart"]
    assert [mart["hash"], mart["bands"], mart["max_distance"]] == found["mart_setting"]
    assert {c["hash"] for c in found["configurations"]} == {"phash", "edge_phash"}
    assert mart["candidates_per_run_at_8m"] < mart["candidates_at_8m"]
    assert all(len(h) == 5 for h in found["hashes"])  # path, group, variant, both hashes
    assert found["visual_cpu_ms_per_file"] > 0
