"""fct_near_duplicate_pairs against a real fakesnow server: the banded join finds exactly the
pairs of current files an all-pairs comparison finds within the threshold (not deleted or
overwritten versions, not failed facets); the macro's lookup tables and its pigeonhole guard.
"""

from __future__ import annotations

import itertools
import json
import random
import re
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


def visual_row(run_id: str, path: str, etag: str, phash: str | None) -> dict:
    if phash is None:
        result = FacetResult(
            "visual", facet("visual").version, "failed", None, "render_failed", "x"
        )
    else:
        payload = {"dominant_colors": [], "phash": phash, "thumbhash": "AAAA"}
        result = FacetResult("visual", facet("visual").version, "ok", payload)
    return result.row(path, etag, run_id)


def insert_facets(target: Warehouse, rows: list[dict]) -> None:
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
                RUN_1,
            ),
        )


def test_the_banded_join_finds_exactly_the_pairs_within_the_threshold(
    warehouse: Warehouse,  # noqa: F811 - the fixture
):
    _, threshold = model_setting()
    rng = random.Random(14)
    base = rng.getrandbits(64)
    # near copies of one picture at every distance around the threshold, and unrelated ones
    hashes = {f"near/{d:02d}.png": flipped(base, d, rng) for d in range(0, threshold + 4)}
    hashes |= {f"other/{n}.png": f"{rng.getrandbits(64):016x}" for n in range(6)}
    files = {path: (path, f"e-{n}") for n, path in enumerate(sorted(hashes))}
    gone, overwritten = files["near/01.png"], files["near/02.png"]
    new_version = (overwritten[0], "e-new")
    failed = ("near/failed.png", "e-failed")
    every = [*files.values(), failed]
    insert(
        warehouse,
        "file_changes",
        [change("r1", p, e, "new", RUN_1) for p, e in every]
        + [change("r2", *gone, "deleted", RUN_2), change("r2", *new_version, "updated", RUN_2)],
    )
    insert(
        warehouse,
        "file_metadata",
        [metadata("r1", p, e, "png", RUN_1) for p, e in every]
        + [metadata("r2", *new_version, "png", RUN_2)],
    )
    insert(
        warehouse,
        "thumbnails",
        [thumbnail("r1", p, e, s, RUN_1) for p, e in every for s in (256, 1024)]
        + [thumbnail("r2", *new_version, s, RUN_2) for s in (256, 1024)],
    )
    far = f"{int(hashes['near/00.png'], 16) ^ (2**64 - 1):016x}"  # every bit differs
    insert_facets(
        warehouse,
        [visual_row("r1", p, e, hashes[p]) for p, e in files.values()]
        + [visual_row("r1", *failed, None), visual_row("r2", *new_version, far)],
    )

    run_pipeline_dbt_steps(warehouse)

    current = {p: hashes[p] for p in hashes if p != gone[0]} | {new_version[0]: far}
    etags = {p: e for p, e in files.values()} | {new_version[0]: new_version[1]}
    expected = {
        (version_id(a, etags[a]), a, version_id(b, etags[b]), b, distance(current[a], current[b]))
        for a, b in itertools.combinations(sorted(current), 2)
        if distance(current[a], current[b]) <= threshold
    }
    found = {
        (
            r["file_version_id_a"],
            r["relative_path_a"],
            r["file_version_id_b"],
            r["relative_path_b"],
            int(r["hamming_distance"]),
        )
        for r in query(warehouse, "select * from marts.fct_near_duplicate_pairs")
    }
    assert found == expected
    # near/00 pairs with its copies at 3..threshold bits (01 is deleted, 02 overwritten)
    assert {b for _, a, _, b, _ in expected if a == "near/00.png"} >= {
        f"near/{d:02d}.png" for d in range(3, threshold + 1)
    }
    assert all(gone[0] not in (a, b) and failed[0] not in (a, b) for _, a, _, b, _ in found)


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


@pytest.mark.parametrize(("bands", "max_distance"), [(4, 8), (10, 20), (0, 0), (65, 3)])
def test_a_threshold_the_bands_cannot_guarantee_is_refused(bands, max_distance):
    with pytest.raises(ValueError, match="pigeonhole"):
        render(bands, max_distance)


@pytest.mark.parametrize("bands", [1, 4, 5, 11, 64])
def test_the_bands_cover_the_64_bits_once(bands):
    sql = render(bands, bands - 1)
    spans = [(int(s), int(w)) for s, w in re.findall(r"substr\(phash_bits, (\d+), (\d+)\)", sql)]
    assert len(spans) == bands
    covered = [bit for start, width in spans for bit in range(start, start + width)]
    assert covered == list(range(1, 65))
    assert max(w for _, w in spans) - min(w for _, w in spans) <= 1


@pytest.mark.parametrize(("bands", "max_distance"), [(5, 4), (4, 7), (3, 5)])
def test_equal_bands_and_one_bit_probes_find_what_all_pairs_find(bands, max_distance):
    rng = random.Random(bands * 100 + max_distance)
    rows = []
    for group in range(40):
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
    assert len(expected) > 20
