"""The dbt project against a real fakesnow server: validate + load, incremental rounds, lint.

The raw tables come from snowpark_procs/sql/schema.sql; dbt runs in-process through
dbtRunner with the repo's own profiles (target local) and selectors.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import snowflake.connector
from fakesnow.instance import FakeSnow

from orchestration.graph import INCREMENTAL, DbtStep
from orchestration.local.dbt_command import invoke_in_process
from orchestration.local.sql import pipeline_objects
from orchestration.warehouse_profiler import (
    BATCH_AT,
    SEED_AT,
    dbt,
    fakesnow_warehouse,
    load_versions,
    profile_select,
)
from tests.fakesnow_server import fakesnow_server

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILES_DIR = REPO_ROOT / "dbt_project"
QUALITY_RULES = REPO_ROOT / "dbt_project" / "seeds" / "quality_rules.csv"

RUN_1 = datetime(2026, 1, 1, 10, 0, 0)
RUN_2 = RUN_1 + timedelta(minutes=15)
RUN_3 = RUN_1 + timedelta(minutes=30)


@dataclass(frozen=True)
class Warehouse:
    conn: snowflake.connector.SnowflakeConnection
    dbt_dir: Path


def version_id(relative_path: str, etag: str) -> str:
    return hashlib.md5(f"{relative_path}|{etag}".encode()).hexdigest()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    with pytest.MonkeyPatch.context() as patch, fakesnow_server(FakeSnow()) as kwargs:
        patch.setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
        patch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        patch.setenv("PIXELFORGE_WAREHOUSE_PORT", str(kwargs["port"]))
        conn = snowflake.connector.connect(**kwargs)
        cur = conn.cursor()
        cur.execute("create database if not exists pixelforge")
        cur.execute("use database pixelforge")
        # the pipeline's tables, and the local counterparts the ops models read
        # (ops.task_history), as the embedded stack creates them
        for statement in pipeline_objects():
            cur.execute(statement)
        try:
            yield Warehouse(conn, tmp_path_factory.mktemp("dbt"))
        finally:
            conn.close()


def dbt_build(warehouse: Warehouse, *options: str) -> set[str]:
    """`dbt build [--selector ...]` from the repo root; every node must succeed or pass.

    dbt runs as the local runner runs it (orchestration/local/dbt_command.py: in process, the
    parsed project reused, no JSON artifacts). Returns the resource types it ran (unit tests
    included: the scheduled steps exclude them, orchestration/graph.py DbtStep.build_args, so
    the suite is where they run)."""
    arguments = [
        "build",
        *options,
        "--project-dir",
        str(REPO_ROOT),
        "--profiles-dir",
        str(PROFILES_DIR),
        *(() if "--target" in options else ("--target", "local")),
        "--target-path",
        str(warehouse.dbt_dir / "target"),
        "--log-path",
        str(warehouse.dbt_dir / "logs"),
        "--log-level",
        "none",
        "--no-write-json",
    ]
    invocation = invoke_in_process(arguments, {})
    problems = [
        f"{r['unique_id']}: {r['status']}: {r['message']}"
        for r in invocation.results
        if r["status"] not in {"success", "pass"}
    ]
    assert invocation.success and not problems, invocation.exception or problems
    # a node's unique_id starts with its resource type (model., test., unit_test., seed.)
    return {str(r["unique_id"]).split(".", 1)[0] for r in invocation.results}


def run_pipeline_dbt_steps(warehouse: Warehouse) -> None:
    """The graph's dbt steps in order, with the scheduled task's arguments (DbtStep.build_args:
    the step's selector, unit tests excluded, target local)."""
    for step in INCREMENTAL.ordered_steps():
        if isinstance(step, DbtStep):
            command, *args = step.build_args("local")
            assert command == "build"
            dbt_build(warehouse, *args)


def insert(warehouse: Warehouse, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    placeholders = ", ".join(["%s"] * len(columns))
    warehouse.conn.cursor().executemany(
        f"insert into raw.{table} ({', '.join(columns)}) values ({placeholders})",
        [tuple(row[c] for c in columns) for row in rows],
    )


def query(warehouse: Warehouse, sql: str) -> list[dict[str, Any]]:
    cur = warehouse.conn.cursor(snowflake.connector.DictCursor)
    cur.execute(sql)
    return [{k.lower(): v for k, v in row.items()} for row in cur.fetchall()]


def change(run_id: str, path: str, etag: str, change_type: str, at: datetime) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "relative_path": path,
        "etag": etag,
        "size": 2048,
        "last_modified": at - timedelta(minutes=5),
        "md5": None,
        "change_type": change_type,
        "discovered_at": at,
    }


def metadata(
    run_id: str, path: str, etag: str, fmt: str, at: datetime, *, reason_code: str | None = None
) -> dict[str, Any]:
    failed = reason_code is not None
    return {
        "relative_path": path,
        "etag": etag,
        "status": "failed" if failed else "ok",
        "reason_code": reason_code,
        "error_message": "ends early" if failed else None,
        # PIL-style upper case on purpose: staging lower-cases it
        "format": None if failed else fmt.upper(),
        "width_px": None if failed else 800,
        "height_px": None if failed else 600,
        "sha256": hashlib.sha256(f"{path}{etag}".encode()).hexdigest(),
        "size_bytes": 2048,
        "run_id": run_id,
        "extracted_at": at + timedelta(minutes=1),
    }


def thumbnail(run_id: str, path: str, etag: str, size_px: int, at: datetime) -> dict[str, Any]:
    return {
        "relative_path": path,
        "etag": etag,
        "size_px": size_px,
        "status": "ok",
        "thumbnail_key": f"v1/{version_id(path, etag)}-{size_px}.webp",
        "width_px": size_px,
        "height_px": size_px * 3 // 4,
        "thumbnail_bytes": 1000,
        "run_id": run_id,
        "rendered_at": at + timedelta(minutes=2),
    }


def mart_state(warehouse: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    """Every column of every mart row, loaded_at included: equal means nothing was merged."""
    tables = (
        "dim_design_files",
        "dim_design_files_v2",
        "fct_file_versions",
        "fct_quarantined_file_versions",
    )
    state = {}
    for table in tables:
        rows = query(warehouse, f"select * from marts.{table}")
        state[table] = sorted((tuple(sorted(row.items())) for row in rows), key=repr)
    return state


def seed_reason_text(rule_code: str) -> str:
    with QUALITY_RULES.open(newline="", encoding="utf-8") as handle:
        texts = {row["rule_code"]: row["description"] for row in csv.DictReader(handle)}
    return texts[rule_code]


OK = ("designs/ok.png", "e-ok")
BROKEN = ("designs/broken.psd", "e-broken")
NO_THUMB = ("designs/no-thumb.jpg", "e-no-thumb")
GONE = ("designs/gone.tiff", "e-gone")
LOGO_V1 = ("designs/logo.svg", "e-logo-1")
LOGO_V2 = ("designs/logo.svg", "e-logo-2")
NEW = ("designs/new.webp", "e-new")


def load_runs_1_and_2(warehouse: Warehouse) -> None:
    """Run 1 discovers five files; run 2 deletes one and overwrites another."""
    readable_1 = [(OK, "png"), (NO_THUMB, "jpeg"), (GONE, "tiff"), (LOGO_V1, "svg")]
    insert(
        warehouse,
        "file_changes",
        [change("r1", p, e, "new", RUN_1) for p, e in (OK, BROKEN, NO_THUMB, GONE, LOGO_V1)]
        + [
            change("r2", *GONE, "deleted", RUN_2),
            change("r2", *LOGO_V2, "updated", RUN_2),
        ],
    )
    insert(
        warehouse,
        "file_metadata",
        [metadata("r1", p, e, fmt, RUN_1) for (p, e), fmt in readable_1]
        + [
            metadata("r1", *BROKEN, "psd", RUN_1, reason_code="truncated_file"),
            metadata("r2", *LOGO_V2, "svg", RUN_2),
        ],
    )
    insert(
        warehouse,
        "thumbnails",
        [
            thumbnail("r1", p, e, size, RUN_1)
            for (p, e) in (OK, GONE, LOGO_V1)
            for size in (256, 1024)
        ]
        # no-thumb.jpg only got its small thumbnail so far
        + [thumbnail("r1", *NO_THUMB, 256, RUN_1)]
        + [thumbnail("r2", *LOGO_V2, size, RUN_2) for size in (256, 1024)],
    )


def set_exif(warehouse: Warehouse, path: str, etag: str, exif: str) -> None:
    # a variant column: parse_json needs a select, not a values list
    warehouse.conn.cursor().execute(
        "update raw.file_metadata set exif = parse_json(%s) where relative_path = %s and etag = %s",
        (exif, path, etag),
    )


def load_run_3(warehouse: Warehouse) -> None:
    """Run 3: no-thumb.jpg's large thumbnail arrives, and a new file comes in."""
    insert(warehouse, "file_changes", [change("r3", *NEW, "new", RUN_3)])
    insert(warehouse, "file_metadata", [metadata("r3", *NEW, "webp", RUN_3)])
    insert(
        warehouse,
        "thumbnails",
        [thumbnail("r3", *NO_THUMB, 1024, RUN_3)]
        + [thumbnail("r3", *NEW, size, RUN_3) for size in (256, 1024)],
    )


def test_validate_and_load_then_incremental_rounds(warehouse: Warehouse) -> None:
    # --- round 1: the first load builds the marts from scratch ------------------------
    load_runs_1_and_2(warehouse)
    set_exif(warehouse, *NO_THUMB, '{"Make": "Canon", "Orientation": "6"}')
    run_pipeline_dbt_steps(warehouse)

    dim = {r["relative_path"]: r for r in query(warehouse, "select * from marts.dim_design_files")}
    assert set(dim) == {OK[0], BROKEN[0], NO_THUMB[0], GONE[0], LOGO_V1[0]}
    assert {p for p, r in dim.items() if r["is_valid"]} == {OK[0], LOGO_V1[0]}
    # the overwritten file: the latest change wins
    assert dim[LOGO_V2[0]]["file_version_id"] == version_id(*LOGO_V2)
    assert dim[LOGO_V2[0]]["change_type"] == "updated"
    assert dim[LOGO_V2[0]]["format"] == "svg"
    # the deleted file stays, flagged, with the deletion's discovery time
    assert dim[GONE[0]]["is_deleted"] is True
    assert dim[GONE[0]]["deleted_at"] == RUN_2
    assert not any(r["is_deleted"] for p, r in dim.items() if p != GONE[0])
    assert dim[OK[0]]["thumbnail_256_key"] == f"v1/{version_id(*OK)}-256.webp"
    assert dim[OK[0]]["thumbnail_1024_key"] == f"v1/{version_id(*OK)}-1024.webp"
    assert dim[NO_THUMB[0]]["thumbnail_1024_key"] is None

    versions = {
        r["file_version_id"]: r for r in query(warehouse, "select * from marts.fct_file_versions")
    }
    assert set(versions) == {version_id(*v) for v in (OK, BROKEN, NO_THUMB, GONE, LOGO_V1, LOGO_V2)}
    assert {v for v, r in versions.items() if r["is_quarantined"]} == {
        version_id(*BROKEN),
        version_id(*NO_THUMB),
    }
    ok = versions[version_id(*OK)]
    assert (ok["relative_path"], ok["etag"], ok["format"]) == (*OK, "png")
    assert ok["last_modified_at"] == RUN_1 - timedelta(minutes=5)
    assert ok["upload_to_queryable_seconds"] == int(
        (ok["first_loaded_at"] - ok["last_modified_at"]).total_seconds()
    )
    assert versions[version_id(*BROKEN)]["metadata_reason_code"] == "truncated_file"

    quarantine = query(warehouse, "select * from marts.fct_quarantined_file_versions")
    assert {(r["relative_path"], r["reason_code"]) for r in quarantine} == {
        (BROKEN[0], "truncated_file"),
        (NO_THUMB[0], "thumbnail_missing"),
    }
    assert {r["reason_code"]: r["reason_text"] for r in quarantine} == {
        code: seed_reason_text(code) for code in ("truncated_file", "thumbnail_missing")
    }
    first_versions = versions
    first_dim = dim

    # --- round 2: late thumbnails and a new file, merged incrementally -----------------
    time.sleep(1.1)  # loaded_at has to move visibly for the rows that are re-merged
    load_run_3(warehouse)
    run_pipeline_dbt_steps(warehouse)

    counts = query(
        warehouse,
        "select count(*) as n, count(distinct file_version_id) as n_ids "
        "from marts.fct_file_versions",
    )[0]
    assert counts == {"n": 7, "n_ids": 7}
    versions = {
        r["file_version_id"]: r for r in query(warehouse, "select * from marts.fct_file_versions")
    }
    no_thumb = versions[version_id(*NO_THUMB)]
    assert no_thumb["is_quarantined"] is False
    assert json.loads(no_thumb["exif"]) == {"Make": "Canon", "Orientation": "6"}
    assert no_thumb["quarantine_reason_codes"] is None
    # re-merged, but the first load time (and so the latency) is kept
    assert no_thumb["loaded_at"] > first_versions[version_id(*NO_THUMB)]["loaded_at"]
    for vid, before in first_versions.items():
        assert versions[vid]["first_loaded_at"] == before["first_loaded_at"]
        assert versions[vid]["upload_to_queryable_seconds"] == before["upload_to_queryable_seconds"]
    # versions with no new raw rows were not touched
    assert versions[version_id(*OK)]["loaded_at"] == first_versions[version_id(*OK)]["loaded_at"]
    assert versions[version_id(*NEW)]["is_quarantined"] is False

    dim = {r["relative_path"]: r for r in query(warehouse, "select * from marts.dim_design_files")}
    assert len(dim) == 6
    assert dim[NO_THUMB[0]]["is_valid"] is True
    assert dim[NO_THUMB[0]]["thumbnail_1024_key"] == f"v1/{version_id(*NO_THUMB)}-1024.webp"
    assert dim[NEW[0]]["is_valid"] is True
    assert dim[OK[0]]["loaded_at"] == first_dim[OK[0]]["loaded_at"]
    assert dim[GONE[0]]["is_deleted"] is True

    quarantine = query(warehouse, "select * from marts.fct_quarantined_file_versions")
    assert [(r["relative_path"], r["reason_code"]) for r in quarantine] == [
        (BROKEN[0], "truncated_file")
    ]

    # --- round 3: no new raw rows -> the pipeline's steps change nothing ---------------
    before = mart_state(warehouse)
    run_pipeline_dbt_steps(warehouse)
    assert mart_state(warehouse) == before

    # --- round 4: an analytics engineer's plain `dbt build` changes nothing either -----
    assert "unit_test" in dbt_build(warehouse)  # and runs the unit tests the tasks skip
    assert mart_state(warehouse) == before


def test_incremental_steps_work_on_the_batch_only(tmp_path: Path) -> None:
    """validate checks the batch's versions, its tests read them, and load merges them.

    Under DuckDB's profiler (the bench's), rows fed into GROUP BYs and windows must follow the
    batch: per version one change and two thumbnails. int_file_versions_checked's incremental
    SELECT aggregates only those; none of its tests aggregates raw rows (were it a view again,
    each would recompute every verdict, over 3x the versions), and every test but unique reads
    only the rows the latest run checked. The marts read the newly checked rows of that table
    and aggregate no more than the batch's changes.
    """
    history, batch = 2_000, 20
    etag = "lpad(to_hex(hash(i)), 32, '0') as etag"
    with fakesnow_warehouse() as wh:
        load_versions(wh, f"select i, 'new' as change_type, {etag} from range({history}) as t(i)",
                      "seed", SEED_AT)  # fmt: skip
        # the history's marts (the batch's tests run in the validate step below)
        dbt(["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
            wh.port, tmp_path)  # fmt: skip
        # half new paths, half new versions of existing ones
        load_versions(
            wh,
            f"select i, 'new' as change_type, {etag} from range({history}, {history + batch // 2})"
            f" as t(i) union all select i, 'updated', lpad(to_hex(hash(i + 1)), 32, '0') "
            f"from range({batch // 2}) as t(i)",
            "batch",
            BATCH_AT,
        )
        compiled = tmp_path / "compiled" / "pixelforge" / "dbt_project" / "models"

        # --- validate: the int model's incremental SELECT, then its tests -------------------
        dbt(["compile", "--selector", "validate"], wh.port, tmp_path)
        sql = compiled / "intermediate" / "validation" / "int_file_versions_checked.sql"
        profile = profile_select(wh.instance, sql.read_text(), tmp_path / "int.json")
        assert profile["rows_out"] == batch
        assert 0 < profile["rows_aggregated"] <= 4 * batch, profile

        validate = INCREMENTAL.dbt_step("validate").build_args("local")
        dbt(list(validate), wh.port, tmp_path)  # as the scheduled task
        latest = wh.run(
            "select count(*) from intermediate.int_file_versions_checked where checked_at = "
            "(select max(checked_at) from intermediate.int_file_versions_checked)"
        )
        assert latest == [(batch,)]
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        tests = [
            node
            for node in manifest["nodes"].values()
            if node["resource_type"] == "test"
            and node["depends_on"]["nodes"] == ["model.pixelforge.int_file_versions_checked"]
        ]
        assert len(tests) >= 8
        for node in tests:
            name = node["name"]
            sql = compiled.parents[1] / node["original_file_path"] / node["path"]
            profile = profile_select(wh.instance, sql.read_text(), tmp_path / f"{name}.json")
            assert profile["rows_out"] == 0, name
            assert profile["rows_aggregated"] <= history + batch, (name, profile)
            if not name.startswith("unique_"):
                assert node["config"]["where"] == "__latest_check__", name
                assert "max(checked_at)" in sql.read_text(), name

        # --- load: the marts' incremental SELECTs --------------------------------------------
        dbt(["compile", "--selector", "load"], wh.port, tmp_path)
        # dim_design_files version 2 is the incremental table (version 1 a view over it)
        for mart in ("fct_file_versions", "dim_design_files_v2"):
            sql = (compiled / "marts" / f"{mart}.sql").read_text()
            profile = profile_select(wh.instance, sql, tmp_path / f"{mart}.json")
            assert profile["rows_out"] == batch, mart
            assert profile["rows_aggregated"] <= 4 * batch, (mart, profile)
