"""`pixelforge explain`'s facet tables, pure: a FileFacts in, rich renderables out, readable in
80 columns like the other tables (orchestration/tables.py's layout rules: no outer border,
identifiers folded, never cut; a long text cut at TEXT_CHARS with its length said). The first
says each facet's status (ok, truncated, failed) and why.

What a facet holds comes from the file's author (layer names, text, XMP): every value is shown
through `literal`, which writes control characters (an ESC would start a terminal escape
sequence; rich strips only some) and bidirectional overrides as visible escapes.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from orchestration.file_facts import FileFacts, metadata_items
from orchestration.tables import Row, add_columns, add_row, compact_table, explain_view, styled
from orchestration.tables import text as plain_text

TEXT_CHARS = 160  # of one text run or page shown
BOX_SIDES = ("left", "top", "right", "bottom")
FACET_STATUS_STYLES = {"failed": "red", "truncated": "yellow"}
HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# Unicode's explicit directional embeddings, overrides and isolates (UAX #9): shown as escapes,
# so a value cannot reorder the line it is printed on.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def literal(value: Any) -> str:
    """The value as text with control characters and bidi controls written as escapes."""
    return "".join(
        f"\\u{ord(ch):04x}" if ch in BIDI_CONTROLS
        else f"\\x{ord(ch):02x}" if unicodedata.category(ch) == "Cc"
        else ch
        for ch in plain_text(value)
    )  # fmt: skip


def facts_view(facts: FileFacts) -> list[RenderableType]:
    """What explain prints: where the file is and its runs (explain_view), then its metadata,
    layers, text, colours, near-duplicates and document lineage, each when it has any."""
    parts = explain_view([facts.state] if facts.state else [], facts.events)
    if facts.state is None and facts.design is not None:
        parts = [Text(f"{literal(facts.relative_path)}  (etag {literal(facts.design['etag'])})")]
    if facts.design is not None:
        parts.append(metadata_table(facts.design))
    if facts.facets:
        parts.append(facets_table(facts.facets))
    if facts.layers:
        parts.append(layers_table(facts.layers, facts.layer_total))
    if facts.text:
        parts.append(text_table(facts.text, facts.text_total))
    if facts.colors:
        parts.append(colors_table(facts.colors))
    if facts.near_duplicates:
        parts.append(near_duplicates_table(facts.near_duplicates))
    if facts.derivation:
        parts.append(derivation_table(facts.derivation))
    return parts


def metadata_table(design: Row) -> Table:
    table = compact_table("metadata (current version)")
    add_columns(table, "", "value")
    for label, value in metadata_items(design):
        add_row(table, label, literal(value))
    return table


def facets_table(facets: list[Row]) -> Table:
    """Each facet of the current version: its extractor version, status and why (a failed
    facet's reason code and message, the caps that cut a truncated one)."""
    table = compact_table("facets (extractor version, status)")
    add_columns(table, "facet", "version", "status", "reason", numeric=("version",))
    for row in facets:
        add_row(
            table,
            literal(row["facet"]),
            literal(row["facet_version"]),
            styled(row["facet_status"], FACET_STATUS_STYLES),
            literal(row["reason"]),
        )
    return table


def _shown(rows: list[Row], total: int, noun: str) -> str:
    return f"{total} {noun}" if total <= len(rows) else f"{total} {noun}, the first {len(rows)}"


def layers_table(layers: list[Row], total: int) -> Table:
    """The layer tree top to bottom, a layer indented under its group."""
    table = compact_table(f"layers ({_shown(layers, total, 'layers')})")
    add_columns(table, "#", "layer", "kind", "shown", "opacity", "blend", "box (l,t,r,b)",
                numeric=("#", "opacity"))  # fmt: skip
    for layer in layers:
        box = ",".join(plain_text(layer[f"bbox_{side}"]) for side in BOX_SIDES)
        opacity = layer["opacity"]
        add_row(
            table,
            literal(layer["layer_index"]),
            "  " * int(layer["depth"] or 0) + literal(layer["layer_name"]),
            literal(layer["layer_kind"]),
            "yes" if layer["is_visible"] else "no",
            "" if opacity is None else f"{float(opacity):.0%}",
            literal(layer["blend_mode"]),
            box,
        )
    return table


def text_table(runs: list[Row], total: int) -> Table:
    table = compact_table(f"text ({_shown(runs, total, 'runs or pages')})")
    add_columns(table, "source", "text")
    for run in runs:
        body = literal(" ".join(plain_text(run["text"]).split()))  # one line: runs of spaces
        if len(body) > TEXT_CHARS:
            body = f"{body[:TEXT_CHARS]}... ({len(body):,} characters)"
        add_row(table, f"{literal(run['text_source'])} {literal(run['text_ref'])}".strip(), body)
    return table


def colors_table(colors: list[Row]) -> Table:
    table = compact_table("dominant colours")
    add_columns(table, "", "colour", "share", numeric=("share",))
    for color in colors:
        hex_value = literal(color["color_hex"])
        swatch = Text("    ", style=f"on {hex_value}" if HEX_COLOR.fullmatch(hex_value) else "")
        add_row(table, swatch, hex_value, f"{float(color['share']):.0%}")
    return table


def near_duplicates_table(pairs: list[Row]) -> Table:
    table = compact_table("near-duplicates (perceptual hash, bits apart)")
    add_columns(table, "file", "distance", numeric=("distance",))
    for pair in pairs:
        add_row(table, literal(pair["relative_path"]), literal(pair["hamming_distance"]))
    return table


def derivation_table(rows: list[Row]) -> Table:
    table = compact_table("document lineage (XMP DerivedFrom -> DocumentID)")
    add_columns(table, "relation", "file", "document id")
    for row in rows:
        add_row(table, *(literal(row[k]) for k in ("relation", "relative_path", "document_id")))
    return table
