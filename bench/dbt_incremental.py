"""Benchmark 4: dbt's incremental build of one batch into marts that already hold N rows.

    python -m bench.dbt_incremental [--full]

A fakesnow server runs in this process; dbt runs as the pipeline runs it (the graph's
arguments, DbtStep.build_args: `dbt build --selector validate`, then `--selector load`, unit
tests excluded, target local), in process through dbtRunner.
The raw tables are filled straight in DuckDB with N committed file versions (metadata and two
thumbnails each), a first full build brings the marts to N rows, then one 15-minute batch lands
(2,000 new paths and 600 new versions of existing paths) and the two steps are timed (dbt is
already imported and the project parsed by then, as in the runner's process: the times leave out
its start-up and parse, a few seconds per step).

Rows scanned and aggregated: each step's compiled incremental SELECTs (dbt compile just before
the step: int_file_versions_checked before validate, the marts before load, as they read it)
are run once under DuckDB's profiler through fakesnow's own SQL translation, in process; rows
scanned is the profiler's rows_scanned per table scan (rows read from storage after zone-map
pruning), rows aggregated the rows fed into its GROUP BYs and windows. The validate step's
tests on int_file_versions_checked are profiled the same way after it (summed).
Rows merged: the rows whose checked_at (int) or loaded_at (marts) the timed build set, against
the table's total.
Reduced: N = 200,000; --full: N = 8,000,000. dbt runs with one thread (fakesnow limit), so the
tests of a step run one after another; Snowflake would run them four at a time.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    parse_options,
    print_table,
    write_results,
)
from orchestration.graph import INCREMENTAL
from orchestration.warehouse_profiler import (
    BATCH_AT,
    SEED_AT,
    Warehouse,
    dbt,
    fakesnow_warehouse,
    load_versions,
    profile_select,
)

BATCH_NEW, BATCH_UPDATED = 2_000, 600
INT_MODEL = "int_file_versions_checked"
# dim_design_files version 2 is the incremental table (version 1 is a view over it)
MARTS = ("fct_file_versions", "dim_design_files_v2")
# the folder of each model's compiled SQL under compiled/pixelforge/dbt_project/models
MODEL_DIRS = {INT_MODEL: "intermediate/validation", **dict.fromkeys(MARTS, "marts")}


def step_command(name: str) -> list[str]:
    """A dbt step's command as the scheduled task runs it (DbtStep.build_args: its selector,
    unit tests excluded), target local."""
    return list(INCREMENTAL.dbt_step(name).build_args("local"))


def profile_models(
    warehouse: Warehouse, target: Path, selector: str, models: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Compile a step as it is about to run and profile its models' (incremental) SELECTs."""
    dbt(["compile", "--selector", selector], warehouse.port, target)
    compiled = target / "compiled" / "pixelforge" / "dbt_project" / "models"
    return {
        model: profile_select(
            warehouse.instance,
            (compiled / MODEL_DIRS[model] / f"{model}.sql").read_text(),
            target / f"{model}.json",
        )
        for model in models
    }


def profile_tests(warehouse: Warehouse, target: Path, model: str) -> dict[str, int]:
    """Profile the compiled tests of one model (the last build's manifest); summed rows."""
    manifest = json.loads((target / "manifest.json").read_text())
    totals = {"tests": 0, "rows_scanned": 0, "rows_aggregated": 0}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or node["depends_on"]["nodes"] != [
            f"model.pixelforge.{model}"
        ]:
            continue
        sql = target / "compiled" / "pixelforge" / node["original_file_path"] / node["path"]
        profile = profile_select(warehouse.instance, sql.read_text(), target / "test.json")
        totals["tests"] += 1
        totals["rows_scanned"] += profile["rows_scanned"]
        totals["rows_aggregated"] += profile["rows_aggregated"]
    return totals


def table_rows(warehouse: Warehouse) -> dict[str, int]:
    names = ["raw.file_changes", "raw.file_metadata", "raw.thumbnails"] + [
        f"{'intermediate' if m == INT_MODEL else 'marts'}.{m}" for m in MODEL_DIRS
    ]
    return {name: warehouse.duck(f"select count(*) from {name}").fetchone()[0] for name in names}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options = parse_options(__doc__ or "", argv)
    versions = options.row_count(5_000, 200_000, 8_000_000)
    figures: dict[str, Any] = {"versions": versions}
    with (
        tempfile.TemporaryDirectory(prefix="bench-dbt-") as scratch,
        fakesnow_warehouse(Path(scratch) / "spill") as wh,
    ):
        target = Path(scratch)
        started = time.perf_counter()
        load_versions(
            wh,
            f"select i, 'new' as change_type, lpad(to_hex(hash(i)), 32, '0') as etag "
            f"from range({versions}) as t(i)",
            "seed",
            SEED_AT,
        )
        figures["fixture_load_s"] = time.perf_counter() - started
        print(f"loaded {versions:,} file versions in {figures['fixture_load_s']:.1f} s")
        # the fixture's marts: every seed and model, not their tests (the timed steps run theirs)
        initial = dbt(["build", "--exclude-resource-type", "test", "unit_test"], wh.port, target)
        figures["initial_build"] = {"wall_s": initial["wall_s"]}
        print(f"initial full build (seeds and models, no tests): {initial['wall_s']:.1f} s")

        step = max(1, versions // BATCH_UPDATED)
        load_versions(
            wh,
            f"select i, 'new' as change_type, lpad(to_hex(hash(i)), 32, '0') as etag "
            f"from range({versions}, {versions + BATCH_NEW}) as t(i) "
            f"union all select i, 'updated', lpad(to_hex(hash(i + 1)), 32, '0') "
            f"from range(0, {versions}, {step}) as t(i) limit {BATCH_NEW + BATCH_UPDATED}",
            "batch",
            BATCH_AT,
        )
        before = table_rows(wh)
        run_started = wh.duck("select now()::timestamp").fetchone()[0]
        scanned = profile_models(wh, target, "validate", [INT_MODEL])
        validate = dbt(step_command("validate"), wh.port, target)
        validate_tests = profile_tests(wh, target, INT_MODEL)
        scanned |= profile_models(wh, target, "load", MARTS)
        load = dbt(step_command("load"), wh.port, target)
        after = table_rows(wh)
        merged = {
            INT_MODEL: wh.duck(
                f"select count(*) from intermediate.{INT_MODEL} where checked_at >= '{run_started}'"
            ).fetchone()[0],
            **{
                mart: wh.duck(
                    f"select count(*) from marts.{mart} where loaded_at >= '{run_started}'"
                ).fetchone()[0]
                for mart in MARTS
            },
        }
    figures.update(
        batch_versions=BATCH_NEW + BATCH_UPDATED,
        rows_before=before,
        rows_after=after,
        validate=validate,
        load=load,
        scanned=scanned,
        validate_tests=validate_tests,
        merged=merged,
    )
    model_s = {
        # model.pixelforge.<name>[.v<N>]: a versioned model's relation is <name>_v<N>
        "_".join(node["unique_id"].split(".")[2:]): node["seconds"]
        for step in (validate, load)
        for node in step["nodes"]
        if node["unique_id"].startswith("model.")
    }

    def tests_s(step: dict[str, Any]) -> float:
        return sum(n["seconds"] for n in step["nodes"] if n["unique_id"].startswith("test."))

    def model_row(model: str) -> list[Any]:
        table = f"{'intermediate' if model == INT_MODEL else 'marts'}.{model}"
        return [f"  {model}", None, model_s.get(model), scanned[model]["rows_scanned"],
                scanned[model]["rows_aggregated"],
                sum(before[t] for t in before if t.startswith("raw.")) + before[table],
                merged[model], after[table]]  # fmt: skip

    print_table(
        f"dbt incremental build: one batch of {BATCH_NEW + BATCH_UPDATED:,} versions into "
        f"marts of {versions:,} rows (local target: fakesnow)",
        ["step / model", "wall s", "dbt node s", "rows scanned", "rows aggregated",
         "rows in tables read", "rows merged", "table rows"],
        [
            ["validate (dbt build --selector validate)", validate["wall_s"],
             sum(n["seconds"] for n in validate["nodes"]), None, None, None, None, None],
            model_row(INT_MODEL),
            [f"  tests of the validate step ({validate_tests['tests']} on {INT_MODEL})", None,
             tests_s(validate), validate_tests["rows_scanned"], validate_tests["rows_aggregated"],
             None, None, None],
            ["load (dbt build --selector load)", load["wall_s"],
             sum(n["seconds"] for n in load["nodes"]), None, None, None, None, None],
            *(model_row(mart) for mart in MARTS),
            ["  tests of the load step", None, tests_s(load), None, None, None, None, None],
        ],
    )  # fmt: skip
    for model in MODEL_DIRS:
        per_table = ", ".join(f"{t}: {n:,}" for t, n in sorted(scanned[model]["scans"].items()))
        print(f"  {model} scans: {per_table}")
    write_results(options, "dbt_incremental", figures)
    return figures


if __name__ == "__main__":
    main()
