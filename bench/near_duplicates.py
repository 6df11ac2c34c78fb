"""Near-duplicate recall and precision of fct_near_duplicate_pairs, and the visual facet's CPU.

    python -m bench.near_duplicates [--smoke | --full]

A generated set of originals (logos, UI mockups, photo-like images, text pages) and variants
of each (resized to half, recompressed as JPEG and as WebP at quality 40-75, cropped by 2-5%,
and for logos recoloured by swapping colour channels), plus unrelated distractors. Every file
goes through the SAME render code as the service: render_thumbnails, then the visual facet of
the stored 256 px WebP (ecs_render.visual.visual_of_thumbnail). The pHashes are then paired by
the SAME banded SQL as the mart (the near_duplicate_pairs macro of
dbt_project/macros/near_duplicates.sql, rendered with Jinja as dbt does) on DuckDB through
fakesnow, and compared with the all-pairs exact baseline at the same threshold.

Ground truth: files made from the same original are duplicates of each other, anything else
is not. Recall is per variant kind, over (original, variant) pairs; precision is over every
pair reported. For each (bands, threshold) it prints the candidate pairs the banded join
compared among unrelated files (as a fraction of their pairs, and that fraction of 8M files'
pairs, nearly all unrelated), which is what a
threshold costs at scale: the pigeonhole guarantee needs bands >= threshold + 1 for equal bands
(narrower bands match more unrelated files) or bands >= (threshold + 1) / 2 with one-bit
probes (wide bands, 1 + width probes a band).
"""

from __future__ import annotations

import itertools
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import jinja2

from bench.common import REPO_ROOT, parse_options, print_table, quiet_environment, write_results
from bench.near_duplicate_corpus import KINDS, Cpu, HashedFile, build_corpus

MACROS = REPO_ROOT / "dbt_project" / "macros" / "near_duplicates.sql"
MODEL = REPO_ROOT / "dbt_project" / "models" / "marts" / "fct_near_duplicate_pairs.sql"
# (bands, threshold) tried: up to bands - 1 some band is equal, up to 2 * bands - 1 some band
# is within one bit (each row then probes its bands with one bit flipped)
CONFIGURATIONS = ((2, 3), (4, 3), (8, 7), (4, 7), (5, 9), (11, 10), (7, 12))
TARGET_RECALL, TARGET_PRECISION = 0.95, 0.99
FILES_AT_SCALE = 8_000_000


# --- the mart's SQL -------------------------------------------------------------------------


class _Exceptions:
    """What dbt's Jinja context offers the macro as `exceptions`."""

    @staticmethod
    def raise_compiler_error(message: str) -> None:
        raise ValueError(message)


def banded_sql(relation: str, bands: int, max_distance: int) -> str:
    """The mart's pairing SQL over `relation`, rendered from the dbt macro."""
    environment = jinja2.Environment(autoescape=False)
    environment.globals["exceptions"] = _Exceptions()
    module = environment.from_string(MACROS.read_text()).make_module()
    pairs = module.near_duplicate_pairs(relation, bands, max_distance)  # type: ignore[attr-defined]
    return f"with hashes as (select * from {relation}),\n{pairs}"


def mart_setting() -> tuple[int, int] | None:
    """The mart's (bands, threshold), as its model file sets them."""
    if not MODEL.exists():
        return None
    text = MODEL.read_text()
    found = [re.search(rf"set {name} = (\d+)", text) for name in ("bands", "max_distance")]
    if not all(found):
        return None
    return int(found[0].group(1)), int(found[1].group(1))  # type: ignore[union-attr]


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
            "(file_version_id varchar, relative_path varchar, phash varchar)",
        ):
            cursor.execute(statement)
        cursor.executemany(
            "insert into visual_hashes values (%s, %s, %s)",
            [(f.relative_path, f.relative_path, f.phash) for f in files],
        )

    def pairs(self, bands: int, max_distance: int) -> tuple[set[tuple[str, str, int]], float]:
        started = time.perf_counter()
        cursor = self.connection.cursor()
        cursor.execute(banded_sql("visual_hashes", bands, max_distance))
        rows = cursor.fetchall()
        return {(row[1], row[3], int(row[4])) for row in rows}, time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()
        self._patch.__exit__(None, None, None)


# --- scoring --------------------------------------------------------------------------------


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def all_pairs(files: Sequence[HashedFile], max_distance: int) -> set[tuple[str, str, int]]:
    """The exact baseline: every pair compared."""
    found = set()
    for one, two in itertools.combinations(files, 2):
        first, second = sorted((one, two), key=lambda f: f.relative_path)
        d = distance(first.phash, second.phash)
        if d <= max_distance:
            found.add((first.relative_path, second.relative_path, d))
    return found


def unrelated_candidates(
    files: Sequence[HashedFile], bands: int, max_distance: int
) -> tuple[int, int]:
    """Pairs of unrelated files (not made from one original) sharing at least one band, which
    the banded join compares for nothing, and all unrelated pairs: at 8M files nearly every
    pair is unrelated, so their ratio is the share of 8M files' pairs the join compares."""
    group = {f.relative_path: f.group for f in files}

    def related(a: str, b: str) -> bool:
        return group[a] is not None and group[a] == group[b]

    radius = max_distance // bands
    shared = {pair for pair in candidate_pairs(files, bands, radius) if not related(*pair)}
    unrelated = sum(1 for a, b in itertools.combinations(group, 2) if not related(a, b))
    return len(shared), unrelated


def candidate_pairs(files: Sequence[HashedFile], bands: int, radius: int) -> set[tuple[str, str]]:
    """Distinct pairs with some band equal (radius 0) or within one bit (radius 1): what the
    banded join compares."""
    narrow, wide = divmod(64, bands)
    bits = {f.relative_path: f"{int(f.phash, 16):064b}" for f in files}
    pairs: set[tuple[str, str]] = set()
    start = 0
    for band in range(bands):
        width = narrow + (1 if band < wide else 0)
        buckets: dict[str, list[str]] = defaultdict(list)
        for path, value in bits.items():
            buckets[value[start : start + width]].append(path)
        for value, members in buckets.items():
            pairs.update(itertools.combinations(sorted(members), 2))
            for flip in range(width if radius else 0):
                probe = value[:flip] + ("1" if value[flip] == "0" else "0") + value[flip + 1 :]
                for a, b in itertools.product(members, buckets.get(probe, ())):
                    pairs.add((min(a, b), max(a, b)))
        start += width
    return pairs


def score(files: Sequence[HashedFile], reported: set[tuple[str, str, int]]) -> dict[str, Any]:
    by_path = {f.relative_path: f for f in files}
    found = {(a, b) for a, b, _ in reported}
    true = sum(
        1 for a, b in found if by_path[a].group is not None and by_path[a].group == by_path[b].group
    )
    originals = {f.group: f for f in files if f.variant == "original"}
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in files:
        if f.group is None or f.variant == "original":
            continue
        pair = tuple(sorted((originals[f.group].relative_path, f.relative_path)))
        recall[f.variant][1] += 1
        recall[f.variant][0] += pair in found
    hits, total = sum(h for h, _ in recall.values()), sum(n for _, n in recall.values())
    return {
        "reported": len(found),
        "precision": true / len(found) if found else 1.0,
        "recall": hits / total if total else 0.0,
        "recall_by_kind": {kind: h / n for kind, (h, n) in sorted(recall.items())},
    }


def evaluate(
    warehouse: DuckWarehouse, files: Sequence[HashedFile], bands: int, max_distance: int
) -> dict[str, Any]:
    """One (bands, threshold): the mart's SQL against the all-pairs baseline, and its cost."""
    banded, sql_s = warehouse.pairs(bands, max_distance)
    baseline_started = time.perf_counter()
    exact = all_pairs(files, max_distance)
    baseline_s = time.perf_counter() - baseline_started
    scored = score(files, banded)
    shared, unrelated = unrelated_candidates(files, bands, max_distance)
    fraction = shared / unrelated
    return {
        "bands": bands,
        "max_distance": max_distance,
        **scored,
        "same_as_all_pairs": banded == exact,
        "candidate_fraction": round(fraction, 6),
        "candidates_at_8m": fraction * FILES_AT_SCALE * (FILES_AT_SCALE - 1) / 2,
        "banded_sql_s": round(sql_s, 3),
        "all_pairs_s": round(baseline_s, 3),
        "meets_target": scored["recall"] >= TARGET_RECALL
        and scored["precision"] >= TARGET_PRECISION,
    }


def main(argv: Sequence[str] | None = None) -> int:
    quiet_environment()
    options = parse_options(__doc__ or "", argv)
    per_kind = 2 if options.smoke else 100 if options.full else 25
    distractors = 4 if options.smoke else 400 if options.full else 100
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
        results = [evaluate(warehouse, files, *configuration) for configuration in configurations]
    finally:
        warehouse.close()
    rows = [
        [
            f"{r['bands']} / {r['max_distance']}"
            + (" (mart)" if (r["bands"], r["max_distance"]) == setting else ""),
            f"{r['recall']:.1%}",
            f"{r['precision']:.1%}",
            " ".join(f"{k} {v:.0%}" for k, v in r["recall_by_kind"].items()),
            "yes" if r["same_as_all_pairs"] else "NO",
            f"{r['candidate_fraction']:.4f}",
            f"{r['candidates_at_8m']:.1e}",
        ]
        for r in results
    ]
    print_table(
        f"Near-duplicate pairs: {len(files)} files ({per_kind * len(KINDS)} originals, "
        f"{distractors} distractors), banded SQL on DuckDB vs the all-pairs baseline",
        [
            "bands / threshold",
            "recall",
            "precision",
            "recall by variant kind",
            "= all pairs",
            "unrelated compared",
            "at 8M files",
        ],
        rows,
    )
    meeting = [r for r in results if r["meets_target"]]
    chosen = min(meeting, key=lambda r: r["candidate_fraction"]) if meeting else None
    if chosen:
        print(
            f"cheapest setting meeting recall >= {TARGET_RECALL:.0%} at precision >= "
            f"{TARGET_PRECISION:.0%}: {chosen['bands']} bands, threshold "
            f"{chosen['max_distance']}"
        )
    else:
        print(
            f"no setting meets recall >= {TARGET_RECALL:.0%} at precision >= "
            f"{TARGET_PRECISION:.0%}; per kind above"
        )
    print(f"the mart's setting (bands, threshold): {setting}")
    precise = [r for r in results if r["precision"] >= TARGET_PRECISION]
    for kind in sorted({k for r in results for k in r["recall_by_kind"]}):
        best = max(precise, key=lambda r: r["recall_by_kind"][kind], default=None)
        if best is not None:
            recall = best["recall_by_kind"][kind]
            verdict = "reaches" if recall >= TARGET_RECALL else "does NOT reach"
            print(
                f"  {kind}: {verdict} {TARGET_RECALL:.0%} recall at precision >= "
                f"{TARGET_PRECISION:.0%} (best {recall:.1%}, threshold {best['max_distance']})"
            )
    visual_ms = 1000 * cpu.visual_s / cpu.files
    render_ms = 1000 * cpu.render_s / cpu.files
    print(
        f"visual facet CPU per file: {visual_ms:.2f} ms (decode of the 256 px WebP included), "
        f"beside {render_ms:.1f} ms of render CPU without it "
        f"(+{visual_ms / render_ms:.1%}); budget 10 ms"
    )
    write_results(
        options,
        "near_duplicates",
        {
            "files": len(files),
            "originals": per_kind * len(KINDS),
            "distractors": distractors,
            "configurations": results,
            "chosen": chosen,
            "mart_setting": setting,
            "mart": next((r for r in results if (r["bands"], r["max_distance"]) == setting), None),
            "hashes": [[f.relative_path, f.group, f.variant, f.phash] for f in files],
            "visual_cpu_ms_per_file": round(visual_ms, 3),
            "render_cpu_ms_per_file": round(render_ms, 3),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
