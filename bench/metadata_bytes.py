"""Benchmark: metadata bytes per file version, in the raw tables and in the dbt layers, beside
the seed's sizing (2 TB of metadata for 8M files, about 250 KB a file; ../shared/reference/seed).

    python -m bench.metadata_bytes [--smoke | --full]

Method. The design mix (bench/corpus.py, at 0.1 / 0.25 / 1.0 of its sides for smoke / reduced /
full) plus the files the facets read most from (orchestration/corpus/rich.py: a PSD with type
layers and artboards, an SVG and a PDF with text, a PNG with XMP and ICC) go through the
pipeline's own code: extract_metadata with every extraction facet (the raw.file_metadata row
and the raw.file_facets rows the extract step merges, snowpark_procs/udf_extract.py), the
renderer for both thumbnails and the visual facet of the 256 px one (ecs_render/visual.py).
Those rows are merged with the steps' MERGE statements into a fakesnow warehouse with each
file's change row, then `dbt build` builds every layer. A table's bytes are the sum over its
rows of each non-null value's size as stored uncompressed: a string's or a variant's UTF-8
length, 8 bytes a number or timestamp, 1 a boolean. Views store nothing and are not counted.
Snowflake stores tables compressed (billed on the compressed bytes, "Understanding storage
cost", https://docs.snowflake.com/en/user-guide/cost-understanding-data-storage), so the
figures are an upper bound of what is billed.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import BenchOptions, parse_options, print_table, write_results
from bench.corpus import mix_files
from ecs_render.results import RenderFailure
from ecs_render.thumbnails import render_thumbnails
from ecs_render.visual import visual_of_thumbnail
from orchestration import corpus
from orchestration.warehouse_profiler import (
    Warehouse,
    dbt,
    fakesnow_warehouse,
)
from pixelforge_core.facets import FacetResult, facet
from pixelforge_core.render_wire import THUMBNAIL_SIZES, VISUAL_THUMBNAIL_PX
from snowpark_procs.metadata.extraction import extract_metadata
from snowpark_procs.sql import read_sql
from snowpark_procs.udf_extract import metadata_row

SEED_SIZING_BYTES_PER_FILE = 2e12 / 8e6  # the seed: 2 TB of metadata for 8M files
RUN_ID, AT = "bench-metadata", datetime(2026, 1, 1, 10, 0)
# The schemas dbt builds tables in, beside raw's two metadata tables.
DBT_SCHEMAS = ("intermediate", "marts")
RAW_TABLES = ("raw.file_metadata", "raw.file_facets")


def corpus_files(scale: float) -> dict[str, bytes]:
    files = {f"mix/{item.name}": item.build() for item in mix_files(scale)}
    files |= {
        "rich/poster with type.psd": corpus.psd_with_text(),
        "rich/brand logo.svg": corpus.svg_with_text(),
        "rich/brochure.pdf": corpus.pdf_with_text(),
        "rich/export with xmp.png": corpus.raster_with_xmp(),
    }
    return files


def raw_rows(path: str, data: bytes, etag: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The file's raw.file_metadata row and raw.file_facets rows, as the steps write them."""
    result = extract_metadata(io.BytesIO(data), path)
    facets = [f.row(path, etag, RUN_ID) for f in getattr(result, "facets", ())]
    thumbnails = render_thumbnails(io.BytesIO(data))
    if not isinstance(thumbnails, RenderFailure):
        small = next(t for t in thumbnails if t.size_px == VISUAL_THUMBNAIL_PX)
        visual = FacetResult("visual", facet("visual").version, "ok",
                             dict(visual_of_thumbnail(small.data)))  # fmt: skip
        facets.append(visual.row(path, etag, RUN_ID))
    return json.loads(json.dumps(metadata_row(path, etag, RUN_ID, result), default=str)), facets


def load(wh: Warehouse, files: dict[str, bytes]) -> int:
    """Every file's rows into the warehouse (the steps' MERGEs); returns the facet rows."""
    facet_count = 0
    for i, (path, data) in enumerate(sorted(files.items())):
        etag = f"{i:032x}"
        metadata, facets = raw_rows(path, data, etag)
        wh.run(read_sql("merge_file_metadata"), [json.dumps([metadata])])
        if facets:
            wh.run(read_sql("merge_file_facets"), [json.dumps(facets, default=str)])
        facet_count += len(facets)
        wh.run(
            "insert into raw.file_changes (run_id, relative_path, etag, size, last_modified,"
            " md5, change_type, discovered_at) values (?, ?, ?, ?, ?, ?, 'new', ?)",
            [RUN_ID, path, etag, len(data), AT - timedelta(minutes=5), etag, AT],
        )
        for size in THUMBNAIL_SIZES:
            wh.run(
                "insert into raw.thumbnails (relative_path, etag, size_px, status, thumbnail_key,"
                " width_px, height_px, thumbnail_bytes, run_id, rendered_at)"
                " values (?, ?, ?, 'ok', ?, ?, ?, 30000, ?, ?)",
                [path, etag, size, f"v1/{etag}-{size}.webp", size, size, RUN_ID, AT],
            )
    return facet_count


def value_bytes(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float | datetime):
        return 8
    return len(str(value).encode("utf-8"))


def table_bytes(wh: Warehouse) -> dict[str, tuple[int, int]]:
    """(rows, bytes) of raw's metadata tables and of every table dbt built (views excluded)."""
    names = list(RAW_TABLES) + [
        f"{schema}.{name}".lower()
        for schema, name in wh.run(
            "select table_schema, table_name from information_schema.tables where"
            " table_type = 'BASE TABLE' and lower(table_schema) in ("
            + ", ".join(f"'{s}'" for s in DBT_SCHEMAS) + ")"
        )
    ]  # fmt: skip
    sizes = {}
    for name in sorted(set(names)):
        rows = wh.run(f"select * from {name}")
        sizes[name] = (len(rows), sum(value_bytes(v) for row in rows for v in row))
    return sizes


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options: BenchOptions = parse_options(__doc__ or "", argv)
    scale = 0.1 if options.smoke else 1.0 if options.full else 0.25
    files = corpus_files(scale)
    print(f"corpus: {len(files)} files (design mix at scale {scale:g} + 4 rich files)")
    with tempfile.TemporaryDirectory(prefix="bench-bytes-") as scratch, fakesnow_warehouse() as wh:
        facet_rows = load(wh, files)
        dbt(["build", "--exclude-resource-type", "test", "unit_test"], wh.port, Path(scratch))
        sizes = table_bytes(wh)
    versions = len(files)
    raw = sum(b for name, (_, b) in sizes.items() if name.startswith("raw."))
    built = sum(b for name, (_, b) in sizes.items() if not name.startswith("raw."))
    rows = [[name, n, b, round(b / versions)] for name, (n, b) in sizes.items()]
    rows += [
        ["raw (file_metadata + file_facets)", None, raw, round(raw / versions)],
        ["dbt tables (intermediate + marts)", None, built, round(built / versions)],
        ["total", None, raw + built, round((raw + built) / versions)],
        ["seed sizing (2 TB / 8M files)", None, None, round(SEED_SIZING_BYTES_PER_FILE)],
    ]
    print_table(
        f"Metadata bytes per file version ({versions} versions, {facet_rows} facet rows)",
        ["table", "rows", "bytes", "bytes / file version"],
        rows,
    )
    figures = {
        "file_versions": versions,
        "facet_rows": facet_rows,
        "tables": {name: {"rows": n, "bytes": b} for name, (n, b) in sizes.items()},
        "raw_bytes_per_file": raw / versions,
        "dbt_bytes_per_file": built / versions,
        "total_bytes_per_file": (raw + built) / versions,
        "search_bytes_per_file": sizes.get("marts.mart_design_search", (0, 0))[1] / versions,
        "seed_sizing_bytes_per_file": SEED_SIZING_BYTES_PER_FILE,
    }
    write_results(options, "metadata_bytes", figures)
    return figures


if __name__ == "__main__":
    main()
