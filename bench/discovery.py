"""Benchmark 3: discovery and nightly reconciliation over a generated listing of N keys.

    python -m bench.discovery [--full]

The repo's own SQL runs through the Snowflake connector against a fakesnow server (DuckDB
underneath, on this host's cores); only the fixture rows are written straight into DuckDB.
Two scenarios on one warehouse:
  15-minute run  raw.designs_directory = the committed state + one run's changes (2,000 new,
                 500 updated, 100 deleted): discover_file_changes, commit_directory_state
  nightly        a complete listing with events the directory missed (300 new, 100 updated,
                 50 deleted) is applied as a directory refresh (orchestration/local
                 apply_directory_listing, the local stand-in for ALTER STAGE ... REFRESH),
                 then discover, the reconciliation repairs (discover_repairs, when present:
                 every committed version checked against raw.file_metadata and 2 thumbnails
                 each) and commit
Reduced: 1M keys (the 8M figure is extrapolated linearly and labelled so); --full: 8M keys.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from bench.common import parse_options, print_table, write_results
from orchestration.local.sql import local_sql_statements
from orchestration.warehouse_profiler import Warehouse, fakesnow_warehouse
from pixelforge_core.render_wire import THUMBNAIL_SIZES
from snowpark_procs.sql import read_sql

FULL_KEYS = 8_000_000
TARGET_S = 60.0
# one 15-minute run's changes, and what a night's reconciliation finds
RUN_CHANGES = {"new": 2_000, "updated": 500, "deleted": 100}
MISSED_EVENTS = {"new": 300, "updated": 100, "deleted": 50}


def _key(i: str) -> str:
    """A DuckDB expression for the relative path of key number i: team folders, dates, names."""
    return (
        f"'team-' || ({i} % 97)::varchar || '/' || (2020 + {i} % 6)::varchar || '/' "
        f"|| lpad(({i} % 12 + 1)::varchar, 2, '0') || '/design-' || lpad({i}::varchar, 9, '0') "
        "|| '.psd'"
    )


def _etag(i: str, salt: str = "") -> str:
    return f"lpad(to_hex(hash({i}{salt})), 32, '0')"


def load_fixture(warehouse: Warehouse, keys: int) -> float:
    """State, directory, metadata and thumbnails for `keys` committed files (DuckDB directly)."""
    started = time.perf_counter()
    new, updated, deleted = RUN_CHANGES["new"], RUN_CHANGES["updated"], RUN_CHANGES["deleted"]
    warehouse.duck(
        f"""insert into raw.directory_state by name
        select {_key("i")} as relative_path, 1000000 + i % 9000000 as size,
            timestamp '2025-01-01' + to_seconds(i % 31536000) as last_modified,
            {_etag("i")} as md5, {_etag("i")} as etag, 'seed' as committed_run_id,
            timestamp '2025-12-31' as committed_at
        from range({keys}) as t(i)"""
    )
    # the directory as auto-refresh left it: the state plus one run's changes
    warehouse.duck(
        f"""insert into raw.designs_directory by name
        select {_key("i")} as relative_path, 1000000 + i % 9000000 as size,
            timestamp '2025-01-01' + to_seconds(i % 31536000) as last_modified,
            {_etag("i")} as md5,
            case when i % {keys // updated} = 1 then {_etag("i", " + 1")} else {_etag("i")} end
                as etag
        from range({keys + new}) as t(i)
        where i >= {keys} or i % {keys // deleted} <> 2"""
    )
    warehouse.duck(
        """insert into raw.file_metadata by name
        select relative_path, etag, 'ok' as status, 'psd' as format, 3000 as width_px,
            2000 as height_px, etag || etag as sha256, size as size_bytes,
            'seed' as run_id, timestamp '2025-12-31' as extracted_at
        from raw.directory_state"""
    )
    for size in THUMBNAIL_SIZES:
        warehouse.duck(
            f"""insert into raw.thumbnails by name
            select relative_path, etag, {size} as size_px, 'ok' as status,
                'v1/' || etag || '/{size}.webp' as thumbnail_key, {size} as width_px,
                {size * 2 // 3} as height_px, 40000 as thumbnail_bytes, 'seed' as run_id,
                timestamp '2025-12-31' as rendered_at
            from raw.directory_state"""
        )
    return time.perf_counter() - started


def finish_run(warehouse: Warehouse, run_id: str) -> None:
    """What extraction and rendering write for a run's versions (so repairs find only gaps)."""
    warehouse.duck(
        f"""insert into raw.file_metadata by name
        select relative_path, etag, 'ok' as status, 'psd' as format, 3000 as width_px,
            2000 as height_px, etag || etag as sha256, size as size_bytes,
            run_id, timestamp '2026-01-01' as extracted_at
        from raw.file_changes where run_id = '{run_id}' and change_type <> 'deleted'"""
    )
    for size in THUMBNAIL_SIZES:
        warehouse.duck(
            f"""insert into raw.thumbnails by name
            select relative_path, etag, {size} as size_px, 'ok' as status,
                'v1/' || etag || '/{size}.webp' as thumbnail_key, {size} as width_px,
                {size * 2 // 3} as height_px, 40000 as thumbnail_bytes, run_id,
                timestamp '2026-01-01' as rendered_at
            from raw.file_changes where run_id = '{run_id}' and change_type <> 'deleted'"""
        )


def load_nightly_listing(warehouse: Warehouse, keys: int) -> None:
    """A complete listing: the directory as it is, plus the events it missed."""
    new, updated, deleted = (MISSED_EVENTS[k] for k in ("new", "updated", "deleted"))
    start = keys + RUN_CHANGES["new"]
    warehouse.duck(
        f"""insert into raw.directory_listing by name
        select 'designs' as directory, relative_path, size, last_modified, md5,
            case when hash(relative_path) % {keys // updated} = 3 then etag || 'x' else etag end
                as etag
        from raw.designs_directory
        where hash(relative_path) % {keys // deleted} <> 5
        union all
        select 'designs' as directory, {_key("i")}, 2000000, timestamp '2026-01-02',
            {_etag("i")}, {_etag("i")}
        from range({start}, {start + new}) as t(i)"""
    )


def timed_steps(
    warehouse: Warehouse, steps: Sequence[tuple[str, str, list[Any]]]
) -> list[dict[str, Any]]:
    out = []
    for name, sql, params in steps:
        seconds, rows = warehouse.timed(sql, params or None)
        out.append({"step": name, "seconds": seconds, "rows": rows})
        print(f"  {name:38s} {seconds:7.2f} s  {rows:>9,} rows", flush=True)
    return out


def repair_step(run_id: str) -> list[tuple[str, str, list[Any]]]:
    try:
        sql = read_sql("discover_repairs")
    except FileNotFoundError:
        return []
    return [("discover_repairs (reconciliation)", sql, [len(THUMBNAIL_SIZES), run_id])]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options = parse_options(__doc__ or "", argv)
    keys = options.row_count(20_000, 1_000_000, FULL_KEYS)
    figures: dict[str, Any] = {"keys": keys}
    with fakesnow_warehouse() as warehouse:
        print(f"loading a {keys:,}-key fixture into the warehouse (DuckDB directly) ...")
        figures["fixture_load_s"] = load_fixture(warehouse, keys)
        print(f"  {figures['fixture_load_s']:.1f} s")
        print("15-minute run (through the Snowflake connector and the fakesnow server):")
        run = timed_steps(
            warehouse,
            [
                ("discover_file_changes", read_sql("discover_file_changes"), ["run-1"]),
                ("commit_directory_state", read_sql("commit_directory_state"), ["run-1"]),
            ],
        )
        finish_run(warehouse, "run-1")
        load_nightly_listing(warehouse, keys)
        print("nightly reconciliation:")
        refresh = [
            (f"directory refresh, statement {n + 1} (local)", statement, [])
            for n, statement in enumerate(local_sql_statements("apply_directory_listing"))
        ]
        nightly = timed_steps(
            warehouse,
            [
                *refresh,
                ("discover_file_changes", read_sql("discover_file_changes"), ["run-2"]),
                *repair_step("run-2"),
                ("commit_directory_state", read_sql("commit_directory_state"), ["run-2"]),
            ],
        )
    scale = FULL_KEYS / keys
    run_s = sum(s["seconds"] for s in run)
    nightly_s = sum(s["seconds"] for s in nightly)
    figures.update(
        run_steps=run,
        nightly_steps=nightly,
        run_s=run_s,
        nightly_s=nightly_s,
        extrapolated_to_8m=scale != 1,
        run_s_at_8m=run_s * scale,
        nightly_s_at_8m=nightly_s * scale,
    )
    label = "measured" if scale == 1 else f"extrapolated x{scale:g} (linear)"
    print_table(
        f"Discovery over {keys:,} keys on {os.cpu_count()} cores (fakesnow/DuckDB)",
        ["scenario", "seconds", "at 8M keys", "8M basis", f"under {TARGET_S:.0f} s"],
        [
            ["15-minute run: discover + commit", run_s, run_s * scale, label,
             "yes" if run_s * scale < TARGET_S else "NO"],
            ["nightly: refresh + discover + repairs + commit", nightly_s, nightly_s * scale,
             label, "yes" if nightly_s * scale < TARGET_S else "NO"],
        ],
    )  # fmt: skip
    write_results(options, "discovery", figures)
    return figures


if __name__ == "__main__":
    main()
