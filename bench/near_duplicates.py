"""Near-duplicate recall and precision of fct_near_duplicate_pairs, and the visual facet's CPU.

    python -m bench.near_duplicates [--smoke | --full]

A generated set of originals (logos, UI mockups, photo-like images, text pages) and variants
of each (resized to half, recompressed as JPEG and as WebP at quality 40-75, cropped by 2-5%,
and for logos recoloured by swapping colour channels), plus unrelated distractors. Every file
goes through the SAME render code as the service: render_thumbnails, then the visual facet of
the stored 256 px WebP (ecs_render.visual.visual_of_thumbnail). Its hashes (the pHash, and the
edge hash the mart pairs by) are then paired by the SAME banded SQL as the mart (the
near_duplicate_pairs macro of dbt_project/macros/near_duplicates.sql, rendered with Jinja as dbt
does) on DuckDB through fakesnow, and compared with the all-pairs exact baseline at the same
threshold.

Ground truth: files made from the same original are duplicates of each other, anything else
is not. Recall is per variant kind, over (original, variant) pairs; precision is over every
pair reported. For each (hash, bands, threshold) it prints the candidate pairs the banded join
compared among unrelated files (as a fraction of their pairs), which is what a threshold costs
at scale: that fraction of 8M files' pairs (nearly all unrelated) for a full build, and of one
run's new files times 8M for an incremental build (the mart's: only new versions probe). The
pigeonhole guarantee needs bands >= threshold + 1 for equal bands (narrower bands match more
unrelated files) or bands >= (threshold + 1) / (r + 1) with probes of up to r flipped bits
(wider bands, 1 + w + ... + C(w, r) probes a band of w bits).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from typing import Any

import jinja2

from bench.common import REPO_ROOT, parse_options, print_table, quiet_environment, write_results
from bench.near_duplicate_corpus import (
    KINDS,
    Cpu,
    HashedFile,
    all_pairs,
    build_corpus,
    score,
    unrelated_candidates,
)
from bench.workload import load_prices

MACROS = REPO_ROOT / "dbt_project" / "macros" / "near_duplicates.sql"
MODEL = REPO_ROOT / "dbt_project" / "models" / "marts" / "fct_near_duplicate_pairs.sql"
# (hash, bands, threshold) tried: up to bands - 1 some band is equal, up to (r + 1) * bands - 1
# some band is within r bits (each row then probes its bands with up to r bits flipped, r <= 3).
# Both hashes split 64 coefficients at their median, so distances are even: 9 is 8, 11 is 10.
CONFIGURATIONS = (
    ("phash", 4, 3),
    ("phash", 4, 7),
    ("phash", 5, 9),
    ("phash", 7, 12),
    ("edge_phash", 4, 7),
    ("edge_phash", 5, 9),
    ("edge_phash", 11, 10),
    ("edge_phash", 6, 10),
    ("edge_phash", 4, 10),
    ("edge_phash", 3, 10),
    ("edge_phash", 4, 12),
)
TARGET_RECALL, TARGET_PRECISION = 0.95, 0.99
FILES_AT_SCALE = 8_000_000


# --- the mart's SQL -------------------------------------------------------------------------


class _Exceptions:
    """What dbt's Jinja context offers the macro as `exceptions`."""

    @staticmethod
    def raise_compiler_error(message: str) -> None:
        raise ValueError(message)


def banded_sql(relation: str, bands: int, max_distance: int, column: str = "phash") -> str:
    """The mart's pairing SQL over `relation`'s hash `column`, rendered from the dbt macro."""
    environment = jinja2.Environment(autoescape=False)
    environment.globals["exceptions"] = _Exceptions()
    module = environment.from_string(MACROS.read_text()).make_module()
    pairs = module.near_duplicate_pairs(relation, bands, max_distance, column)  # type: ignore[attr-defined]
    return f"with hashes as (select * from {relation}),\n{pairs}"


def mart_setting() -> tuple[str, int, int] | None:
    """The mart's (hash, bands, threshold), as its model file sets them."""
    if not MODEL.exists():
        return None
    text = MODEL.read_text()
    found = [re.search(rf"set {name} = (\d+)", text) for name in ("bands", "max_distance")]
    column = re.search(r"max_distance, '(\w+)'", text)
    if not all(found) or column is None:
        return None
    return column.group(1), int(found[0].group(1)), int(found[1].group(1))  # type: ignore[union-attr]


class DuckWarehouse:
    """The hashes in a fakesnow (DuckDB) table, queried in Snowflake's dialect."""

    def __init__(self, files: Sequence[HashedFile]) -> None:
        import fakesnow
        import snowflake.connector

        self._patch = fakesnow.patch()
        self._patch.__enter__()
        self.connection = snowflake.connector.connect(database="bench", schema="near_dups")
        cursor = self.connection.cursor()
        for statement in (
            "create database if not exists bench",
            "create schema if not exists bench.near_dups",
            "use schema bench.near_dups",
            "create or replace table visual_hashes "
            "(file_version_id varchar, relative_path varchar, phash varchar, edge_phash varchar)",
        ):
            cursor.execute(statement)
        cursor.executemany(
            "insert into visual_hashes values (%s, %s, %s, %s)",
            [(f.relative_path, f.relative_path, f.phash, f.edge_phash) for f in files],
        )

    def pairs(
        self, column: str, bands: int, max_distance: int
    ) -> tuple[set[tuple[str, str, int]], float]:
        started = time.perf_counter()
        cursor = self.connection.cursor()
        cursor.execute(banded_sql("visual_hashes", bands, max_distance, column))
        rows = cursor.fetchall()
        return {(row[1], row[3], int(row[4])) for row in rows}, time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()
        self._patch.__exit__(None, None, None)


def evaluate(
    warehouse: DuckWarehouse,
    files: Sequence[HashedFile],
    configuration: tuple[str, int, int],
    files_per_run: int,
) -> dict[str, Any]:
    """One (hash, bands, threshold): the mart's SQL against the all-pairs baseline, and its
    cost for a full build and for one incremental run at 8M files."""
    column, bands, max_distance = configuration
    banded, sql_s = warehouse.pairs(column, bands, max_distance)
    baseline_started = time.perf_counter()
    exact = all_pairs(files, column, max_distance)
    baseline_s = time.perf_counter() - baseline_started
    scored = score(files, banded)
    shared, unrelated = unrelated_candidates(files, column, bands, max_distance)
    fraction = shared / unrelated
    # the probe rows a file's bands make: each band of w bits with up to r of them flipped
    narrow, wide = divmod(64, bands)
    radius = max_distance // bands
    probes = sum(
        math.comb(narrow + (band < wide), flips)
        for band in range(bands)
        for flips in range(radius + 1)
    )
    return {
        "hash": column,
        "bands": bands,
        "max_distance": max_distance,
        **scored,
        "same_as_all_pairs": banded == exact,
        "candidate_fraction": round(fraction, 6),
        "candidates_at_8m": fraction * FILES_AT_SCALE * (FILES_AT_SCALE - 1) / 2,
        "candidates_per_run_at_8m": fraction * files_per_run * FILES_AT_SCALE,
        "probe_rows_per_file": probes,
        "banded_sql_s": round(sql_s, 3),
        "all_pairs_s": round(baseline_s, 3),
        "meets_target": scored["recall"] >= TARGET_RECALL
        and scored["precision"] >= TARGET_PRECISION,
    }


def _label(result: dict[str, Any], setting: tuple[str, int, int] | None) -> str:
    key = (result["hash"], result["bands"], result["max_distance"])
    mart = " (mart)" if key == setting else ""
    return f"{result['hash']} {result['bands']} / {result['max_distance']}{mart}"


def main(argv: Sequence[str] | None = None) -> int:
    quiet_environment()
    options = parse_options(__doc__ or "", argv)
    per_kind = 2 if options.smoke else 100 if options.full else 25
    distractors = 4 if options.smoke else 400 if options.full else 100
    files_per_run = int(load_prices()["workload"]["files_per_run"])
    cpu = Cpu()
    started = time.perf_counter()
    files = build_corpus(per_kind, distractors, cpu)
    print(
        f"{len(files)} files hashed through the render code in "
        f"{time.perf_counter() - started:.1f} s"
    )
    setting = mart_setting()
    configurations = list(CONFIGURATIONS)
    if setting and setting not in configurations:
        configurations.append(setting)
    warehouse = DuckWarehouse(files)
    try:
        results = [evaluate(warehouse, files, c, files_per_run) for c in configurations]
    finally:
        warehouse.close()
    rows = [
        [
            _label(r, setting),
            f"{r['recall']:.1%}",
            f"{r['precision']:.1%}",
            " ".join(f"{k} {v:.0%}" for k, v in r["recall_by_kind"].items()),
            "yes" if r["same_as_all_pairs"] else "NO",
            f"{r['candidate_fraction']:.4f}",
            f"{r['candidates_at_8m']:.1e}",
            f"{r['candidates_per_run_at_8m']:.1e}",
            f"{r['probe_rows_per_file']:,}",
        ]
        for r in results
    ]
    print_table(
        f"Near-duplicate pairs: {len(files)} files ({per_kind * len(KINDS)} originals, "
        f"{distractors} distractors), banded SQL on DuckDB vs the all-pairs baseline",
        [
            "hash bands / threshold",
            "recall",
            "precision",
            "recall by variant kind",
            "= all pairs",
            "unrelated compared",
            "full build at 8M",
            f"run of {files_per_run:,} new at 8M",
            "probes a file",
        ],
        rows,
    )
    meeting = [r for r in results if r["meets_target"]]
    chosen = min(meeting, key=lambda r: r["candidate_fraction"]) if meeting else None
    if chosen:
        print(
            f"cheapest setting meeting recall >= {TARGET_RECALL:.0%} at precision >= "
            f"{TARGET_PRECISION:.0%}: {_label(chosen, None)}"
        )
    else:
        print(
            f"no setting meets recall >= {TARGET_RECALL:.0%} at precision >= "
            f"{TARGET_PRECISION:.0%}; per kind above"
        )
    print(f"the mart's setting (hash, bands, threshold): {setting}")
    precise = [r for r in results if r["precision"] >= TARGET_PRECISION]
    for kind in sorted({k for r in results for k in r["recall_by_kind"]}):
        best = max(precise, key=lambda r: r["recall_by_kind"][kind], default=None)
        if best is not None:
            recall = best["recall_by_kind"][kind]
            verdict = "reaches" if recall >= TARGET_RECALL else "does NOT reach"
            print(
                f"  {kind}: {verdict} {TARGET_RECALL:.0%} recall at precision >= "
                f"{TARGET_PRECISION:.0%} (best {recall:.1%}, {_label(best, None)})"
            )
    visual_ms = 1000 * cpu.visual_s / cpu.files
    render_ms = 1000 * cpu.render_s / cpu.files
    print(
        f"visual facet CPU per file: {visual_ms:.2f} ms (decode of the 256 px WebP included), "
        f"beside {render_ms:.1f} ms of render CPU without it "
        f"(+{visual_ms / render_ms:.1%}); budget 10 ms"
    )
    mart = next((r for r in results if (r["hash"], r["bands"], r["max_distance"]) == setting), None)
    write_results(
        options,
        "near_duplicates",
        {
            "files": len(files),
            "originals": per_kind * len(KINDS),
            "distractors": distractors,
            "files_per_run": files_per_run,
            "configurations": results,
            "chosen": chosen,
            "mart_setting": setting,
            "mart": mart,
            "hashes": [[f.relative_path, f.group, f.variant, f.phash, f.edge_phash] for f in files],
            "visual_cpu_ms_per_file": round(visual_ms, 3),
            "render_cpu_ms_per_file": round(render_ms, 3),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
