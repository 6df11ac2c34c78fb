"""One file's facts as the marts and the ops views hold them: where it is and why, its metadata
and facets (layers, text, colours), each facet's status (ok, truncated or failed, with its
reason), its near-duplicates and its document lineage.

The one reader of them: `pixelforge explain` prints a FileFacts (orchestration/facet_tables.py)
and the dashboard's Files page shows it (dashboard/files_page.py). Every query is a file
orchestration/sql/ops_*.sql over the public marts and the ops views, run by
orchestration/ops_queries.query, so the same text answers in a production worksheet. Like
ops_queries this module imports nothing beyond the package's SQL folder (the dashboard reads
through it inside Streamlit in Snowflake).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestration.ops_queries import Row, query

# The first rows of a long layer tree or text shown (the rest counted): a PSD may hold
# thousands of layers, a PDF many pages of text.
LAYER_ROWS = 200
TEXT_ROWS = 50
TRANSPARENCY = {None: None, True: "used", False: "none"}


@dataclass(frozen=True)
class FileFacts:
    relative_path: str
    state: Row | None  # ops_file_state: stage, why not queryable
    events: list[Row]  # ops_file_events: its lineage across runs
    design: Row | None  # ops_file_design: the current version's metadata and facets
    facets: list[Row]  # ops_file_facets: each facet's extractor version, status and reason
    layers: list[Row]
    layer_total: int
    text: list[Row]
    text_total: int
    colors: list[Row]
    near_duplicates: list[Row]
    derivation: list[Row]  # ops_file_derivation: derived from / source of

    @property
    def found(self) -> bool:
        return self.state is not None or self.design is not None

    @property
    def quarantined(self) -> bool:
        return self.state is not None and self.state["pipeline_stage"] == "quarantined"


def _total(rows: list[Row]) -> int:
    return int(rows[0]["total_rows"]) if rows else 0


def read_file_facts(
    session: Any, relative_path: str, layer_rows: int = LAYER_ROWS, text_rows: int = TEXT_ROWS
) -> FileFacts:
    path = [relative_path]
    state = query(session, "ops_file_state", path)
    design = query(session, "ops_file_design", path)
    layers = query(session, "ops_file_layers", [relative_path, layer_rows])
    text = query(session, "ops_file_text", [relative_path, text_rows])
    return FileFacts(
        relative_path=relative_path,
        state=state[0] if state else None,
        events=query(session, "ops_file_events", path),
        design=design[0] if design else None,
        facets=query(session, "ops_file_facets", path),
        layers=layers,
        layer_total=_total(layers),
        text=text,
        text_total=_total(text),
        colors=query(session, "ops_file_colors", path),
        near_duplicates=query(session, "ops_file_near_duplicates", path * 2),
        derivation=query(session, "ops_file_derivation", path * 2),
    )


def quarantined_matches(session: Any, terms: Sequence[str], limit: int) -> list[Row]:
    """Current quarantined files whose path holds one of the search `terms` (letters and digits:
    orchestration/design_search.search_terms), with their reasons."""
    if not terms:
        return []
    return query(session, "ops_quarantined_matches", [f".*({'|'.join(terms)}).*", limit])


def thumbnail_keys(session: Any, file_version_ids: Sequence[str]) -> dict[str, str]:
    """file_version_id -> its 256 px thumbnail's key, for those that have one."""
    if not file_version_ids:
        return {}
    rows = query(session, "ops_thumbnail_keys", [json.dumps(list(file_version_ids))])
    return {r["file_version_id"]: r["thumbnail_256_key"] for r in rows if r["thumbnail_256_key"]}


# --- presentation shared by the CLI and the page (pure) --------------------------------


def _size(size_bytes: Any) -> str:
    size = float(size_bytes)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GB"


def metadata_items(design: Row) -> list[tuple[str, str]]:
    """The current version's metadata and document and visual facets as (label, value), in
    reading order, leaving out what the file does not hold."""
    d = design
    animation = None
    if d["animation_duration_ms"] is not None:
        loops = "forever" if d["loop_count"] == 0 else f"{d['loop_count']} loops"
        animation = f"{float(d['animation_duration_ms']) / 1000:.2f} s, {loops}"
    items: list[tuple[str, Any]] = [
        ("format", d["format"]),
        ("size", None if d["width_px"] is None else f"{d['width_px']} x {d['height_px']} px"),
        ("bytes", None if d["size_bytes"] is None else _size(d["size_bytes"])),
        ("creator tool", d["creator_tool"]),
        ("title", d["title"]),
        ("author", d["author"]),
        ("document id", d["document_id"]),
        ("instance id", d["instance_id"]),
        ("derived from", d["derived_from_document_id"]),
        ("ICC profile", d["icc_profile"]),
        ("colour space", d["color_space"]),
        ("transparency", TRANSPARENCY[d["uses_transparency"]]),
        ("animation", animation),
        ("fonts", d["fonts"]),
        ("dominant colour", d["dominant_color_hex"]),
        ("perceptual hash", d["phash"]),
        ("ThumbHash", d["thumbhash"]),
    ]
    return [(label, str(value)) for label, value in items if value not in (None, "")]
