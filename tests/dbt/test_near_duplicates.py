"""fct_near_duplicate_pairs against a real fakesnow server: the banded join finds exactly the
pairs of current files an all-pairs comparison finds within the threshold (not deleted or
overwritten versions, not failed facets); the macro's lookup tables and its pigeonhole guard.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from datetime import datetime
from pathlib import Path

import fakesnow
import jinja2
import pytest
import snowflake.connector

from pixelforge_core.facets import FacetResult, facet
from tests.dbt.test_dbt_project import (  # noqa: F401 - warehouse is the fixture
    RUN_1,
    RUN_2,
    Warehouse,
    change,
    dbt_build,
    insert,
    metadata,
    query,
    run_pipeline_dbt_steps,
    thumbnail,
    version_id,
    warehouse,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
MACROS = REPO_ROOT / "dbt_project" / "macros" / "near_duplicates.sql"
MODEL = REPO_ROOT / "dbt_project" / "models" / "marts" / "fct_near_duplicate_pairs.sql"


def model_setting() -> tuple[int, int]:
    text = MODEL.read_text()
    bands = re.search(r"set bands = (\d+)", text)
    threshold = re.search(r"set max_distance = (\d+)", text)
    assert bands and threshold
    return int(bands.group(1)), int(threshold.group(1))


def flipped(value: int, bits: int, rng: random.Random) -> str:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return f"{value:016x}"


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def visual_row(run_id: str, path: str, etag: str, edge_hash: str | None) -> dict:
    """A visual facet row; its pHash is the edge hash's complement, so a mart pairing by the
    pHash would find other pairs."""
    if edge_hash is None:
        result = FacetResult(
            "visual", facet("visual").version, "failed", None, "render_failed", "x"
        )
    else:
        payload = {
            "dominant_colors": [],
            "phash": f"{int(edge_hash, 16) ^ (2**64 - 1):016x}",
            "edge_phash": edge_hash,
            "thumbhash": "AAAA",
        }
        result = FacetResult("visual", facet("visual").version, "ok", payload)
    return result.row(path, etag, run_id)


def insert_facets(target: Warehouse, rows: list[dict], at: datetime = RUN_1) -> None:
    cursor = target.conn.cursor()
    for row in rows:
        cursor.execute(
            "insert into raw.file_facets (relative_path, etag, facet, facet_version, status, "
            "reason_code, error_message, payload, run_id, extracted_at) "
            "select %s, %s, %s, %s, %s, %s, %s, parse_json(%s), %s, %s",
            (
                row["relative_path"],
                row["etag"],
                row["facet"],
                row["facet_version"],
                row["status"],
                row["reason_code"],
                row["error_message"],
                json.dumps(row["payload"]),
                row["run_id"],
                at,
            ),
        )


def rerender(target: Warehouse, path: str, etag: str, edge_hash: str, at: datetime) -> None:
    """The visual facet of an unchanged version rendered again (a bumped facet version)."""
    row = visual_row("r-again", path, etag, edge_hash)
    target.conn.cursor().execute(
        "update raw.file_facets set payload = parse_json(%s), run_id = %s, extracted_at = %s "
        "where relative_path = %s and etag = %s and facet = 'visual'",
        (json.dumps(row["payload"]), row["run_id"], at, path, etag),
    )


def add_files(target: Warehouse, run_id: str, at: datetime, files: dict) -> None:
    """New or updated file versions {(path, etag): edge hash or None (a failed facet)}."""
    insert(target, "file_changes", [change(run_id, p, e, "new", at) for p, e in files])
    insert(target, "file_metadata", [metadata(run_id, p, e, "png", at) for p, e in files])
    insert(
        target,
        "thumbnails",
        [thumbnail(run_id, p, e, s, at) for p, e in files for s in (256, 1024)],
    )
    insert_facets(target, [visual_row(run_id, p, e, h) for (p, e), h in files.items()], at)


def pairs(target: Warehouse) -> set[tuple[str, str, str, str, int]]:
    return {
        (
            r["file_version_id_a"],
            r["relative_path_a"],
            r["file_version_id_b"],
            r["relative_path_b"],
            int(r["hamming_distance"]),
        )
        for r in query(target, "select * from marts.fct_near_duplicate_pairs")
    }


def all_pairs(current: dict[tuple[str, str], str], threshold: int) -> set:
    """Every pair of current versions {(path, etag): edge hash} within the threshold."""
    return {
        (version_id(*a), a[0], version_id(*b), b[0], distance(current[a], current[b]))
        for a, b in itertools.combinations(sorted(current), 2)
        if distance(current[a], current[b]) <= threshold
    }


def test_incremental_pairs_equal_the_full_build_after_adds_updates_rehashes_and_deletes(
    warehouse: Warehouse,  # noqa: F811 - the fixture
):
    _, threshold = model_setting()
    rng = random.Random(14)
    base = rng.getrandbits(64)
    # near copies of one picture at every distance around the threshold, and unrelated ones
    first = {(f"near/{d:02d}.png", f"e-{d}"): flipped(base, d, rng) for d in range(threshold + 4)}
    first |= {(f"other/{n}.png", f"e-o{n}"): f"{rng.getrandbits(64):016x}" for n in range(6)}
    add_files(warehouse, "r1", RUN_1, first | {("near/failed.png", "e-failed"): None})

    # the mart and what it reads, without their data and unit tests (those run in every load
    # step's build, e.g. tests/dbt/test_design_marts.py, and in tests/dbt/test_dbt_project.py's
    # plain `dbt build`; here all-pairs decides)
    upstream = (
        "--select",
        "+fct_near_duplicate_pairs",
        "--exclude-resource-type",
        "test",
        "unit_test",
    )
    dbt_build(warehouse, *upstream)  # the first build: all pairs

    assert pairs(warehouse) == all_pairs(first, threshold)
    # near/00 pairs with its copies up to the threshold, and with no unrelated file
    assert {b for _, a, _, b, _ in pairs(warehouse) if a == "near/00.png"} == {
        f"near/{d:02d}.png" for d in range(1, threshold + 1)
    }

    # round 2: a deletion, an update out of reach, a new near copy and an unrelated file,
    # a re-rendered facet that moves one old file away and one close (both versions kept)
    far = f"{base ^ (2**64 - 1):016x}"  # every bit differs
    gone, overwritten = ("near/01.png", "e-1"), ("near/02.png", "e-2")
    moved_away, moved_close = ("near/04.png", "e-4"), ("other/0.png", "e-o0")
    added = {
        (overwritten[0], "e-2b"): f"{rng.getrandbits(64):016x}",
        ("new/close.png", "e-c"): flipped(base, 2, rng),
        ("new/unrelated.png", "e-u"): f"{rng.getrandbits(64):016x}",
    }
    insert(warehouse, "file_changes", [change("r2", *gone, "deleted", RUN_2)])
    add_files(warehouse, "r2", RUN_2, added)
    close_again = flipped(base, 1, rng)
    rerender(warehouse, *moved_away, far, RUN_2)
    rerender(warehouse, *moved_close, close_again, RUN_2)
    current = {k: v for k, v in first.items() if k not in (gone, overwritten)} | added
    current |= {moved_away: far, moved_close: close_again}

    dbt_build(warehouse, *upstream)  # incremental

    incremental = pairs(warehouse)
    assert incremental == all_pairs(current, threshold)
    paths = {path for _, a, _, b, _ in incremental for path in (a, b)}
    assert gone[0] not in paths and "near/failed.png" not in paths
    assert moved_close[0] in paths and moved_away[0] not in paths

    dbt_build(warehouse, "--select", "fct_near_duplicate_pairs", "--full-refresh")
    assert pairs(warehouse) == incremental

    # an incremental build with nothing new compares nothing: a pair of two untouched
    # files taken out of the table stays out (a full build would find it again)
    warehouse.conn.cursor().execute(
        "delete from marts.fct_near_duplicate_pairs "
        "where relative_path_a = 'near/00.png' and relative_path_b = 'near/03.png'"
    )
    dbt_build(warehouse, "--select", "fct_near_duplicate_pairs")
    assert ("near/00.png", "near/03.png") not in {(a, b) for _, a, _, b, _ in pairs(warehouse)}
    runs = query(warehouse, "select * from intermediate.int_near_duplicate_runs")
    assert len(runs) == 4 and all(r["compared_through"] is not None for r in runs)


# --- the macro ------------------------------------------------------------------------------


def macro_text() -> str:
    return MACROS.read_text()


def test_the_macros_lookup_tables_are_the_nibbles_bits_and_xor_popcounts():
    nibbles = "".join(f"{n:04b}" for n in range(16))
    popcounts = "".join(str((a ^ b).bit_count()) for a in range(16) for b in range(16))
    text = macro_text()
    assert f"substr('{nibbles}', 4 *" in text
    assert f"substr('{popcounts}', 16 *" in text


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message: str) -> None:
        raise ValueError(message)


def render(bands: int, max_distance: int) -> str:
    environment = jinja2.Environment(autoescape=False)
    environment.globals["exceptions"] = _Exceptions()
    module = environment.from_string(macro_text()).make_module()
    return str(module.near_duplicate_pairs("hashes", bands, max_distance))


# up to 3 flipped bits a band: max_distance <= 4 * bands - 1
@pytest.mark.parametrize(("bands", "max_distance"), [(4, 16), (3, 12), (0, 0), (65, 3)])
def test_a_threshold_the_bands_cannot_guarantee_is_refused(bands, max_distance):
    with pytest.raises(ValueError, match="pigeonhole"):
        render(bands, max_distance)


@pytest.mark.parametrize("bands", [1, 4, 5, 11, 64])
def test_the_bands_cover_the_64_bits_once(bands):
    sql = render(bands, bands - 1)
    spans = [(int(s), int(w)) for s, w in re.findall(r"substr\(hash_bits, (\d+), (\d+)\)", sql)]
    assert len(spans) == bands
    covered = [bit for start, width in spans for bit in range(start, start + width)]
    assert covered == list(range(1, 65))
    assert max(w for _, w in spans) - min(w for _, w in spans) <= 1


# (bands, max_distance, groups of 4 hashes): equal bands, and probes of up to 1, 2, 3 bits
# (fewer rows where each row probes 550-5,400 times)
@pytest.mark.parametrize(
    ("bands", "max_distance", "groups"),
    [(5, 4, 40), (4, 7, 40), (3, 5, 40), (4, 11, 15), (3, 11, 15)],
)
def test_equal_bands_and_probes_find_what_all_pairs_find(bands, max_distance, groups):
    rng = random.Random(bands * 100 + max_distance)
    rows = []
    for group in range(groups):
        base = rng.getrandbits(64)
        rows.append((f"g{group:02d}/a", f"{base:016x}"))
        rows += [(f"g{group:02d}/{n}", flipped(base, rng.randint(0, 12), rng)) for n in range(3)]
    with fakesnow.patch():
        connection = snowflake.connector.connect(database="nd", schema="t")
        cursor = connection.cursor()
        for statement in (
            "create database if not exists nd",
            "create schema if not exists nd.t",
            "use schema nd.t",
            "create table hashes (file_version_id varchar, relative_path varchar, phash varchar)",
        ):
            cursor.execute(statement)
        cursor.executemany("insert into hashes values (%s, %s, %s)", [(p, p, h) for p, h in rows])
        cursor.execute(f"with {render(bands, max_distance)}")  # reads the table hashes
        found = {(r[1], r[3], int(r[4])) for r in cursor.fetchall()}
        connection.close()
    expected = {
        (a, b, distance(ha, hb))
        for (a, ha), (b, hb) in itertools.combinations(sorted(rows), 2)
        if distance(ha, hb) <= max_distance
    }
    assert found == expected
    assert len(expected) > groups / 2


def render_probing(bands: int, max_distance: int) -> str:
    environment = jinja2.Environment(autoescape=False)
    environment.globals["exceptions"] = _Exceptions()
    module = environment.from_string(macro_text()).make_module()
    sql = module.near_duplicate_pairs(  # type: ignore[attr-defined]
        "hashes", bands, max_distance, "edge_phash", "new_hashes"
    )
    return f"with new_hashes as (select * from hashes where is_new), {sql}"


@pytest.mark.parametrize(
    ("bands", "max_distance", "groups"), [(3, 10, 15), (6, 10, 30), (4, 3, 30)]
)
def test_probing_from_new_rows_finds_exactly_the_pairs_with_a_new_side(bands, max_distance, groups):
    rng = random.Random(bands * 1000 + max_distance)
    rows = []
    for group in range(groups):
        base = rng.getrandbits(64)
        rows.append((f"g{group:02d}/a", f"{base:016x}", rng.random() < 0.3))
        rows += [
            (f"g{group:02d}/{n}", flipped(base, rng.randint(0, 14), rng), rng.random() < 0.3)
            for n in range(3)
        ]
    with fakesnow.patch():
        connection = snowflake.connector.connect(database="nd", schema="p")
        cursor = connection.cursor()
        for statement in (
            "create database if not exists nd",
            "create schema if not exists nd.p",
            "use schema nd.p",
            "create table hashes (file_version_id varchar, relative_path varchar, "
            "edge_phash varchar, is_new boolean)",
        ):
            cursor.execute(statement)
        cursor.executemany(
            "insert into hashes values (%s, %s, %s, %s)", [(p, p, h, n) for p, h, n in rows]
        )
        cursor.execute(render_probing(bands, max_distance))
        found = [(r[1], r[3], int(r[4])) for r in cursor.fetchall()]
        connection.close()
    new = {p for p, _, n in rows if n}
    expected = {
        (a, b, distance(ha, hb))
        for (a, ha, _), (b, hb, _) in itertools.combinations(sorted(rows), 2)
        if distance(ha, hb) <= max_distance and (a in new or b in new)
    }
    assert len(found) == len(set(found))  # a pair of two new rows once
    assert set(found) == expected
    assert any(a in new and b in new for a, b, _ in expected)
    assert any((a in new) != (b in new) for a, b, _ in expected)
