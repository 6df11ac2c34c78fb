"""The Files page: search the current design files, see their 256 px thumbnails, and for one
file what `pixelforge explain` prints: its metadata, each facet's status (ok, truncated or
failed, with its reason), layers, text, colours, near-duplicates and lineage, or why it is
quarantined.

It reads through the code the CLI runs: the search is orchestration/design_search.py (as
`pixelforge search`), one file's facts orchestration/file_facts.py (as `pixelforge explain`),
the thumbnails dashboard/sources.py's seam. The search text and the chosen file are kept in the
URL (`?q=...&file=...`), so a view can be linked.

Paths, reasons and facet values come from the files' uploaders and authors: shown in a table
they are plain text; shown in Streamlit's Markdown (a caption, a heading, a message) they go
through `literal`, which escapes Markdown's punctuation, so a name like `[x](http://...)` or
`:red[...]` reads as written and never becomes a link, an image or a style.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.charts import color_swatches
from dashboard.sources import Sources, Thumbnails, sources
from orchestration.design_search import search_designs, search_terms
from orchestration.file_facts import (
    FileFacts,
    metadata_items,
    quarantined_matches,
    read_file_facts,
    thumbnail_keys,
)

MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
RESULTS = 24  # files in the grid
QUARANTINED_RESULTS = 20
GRID_COLUMNS = 6
THUMBNAIL_PX = 256


def literal(value: object) -> str:
    """`value` as Markdown that shows exactly its text (CommonMark: any ASCII punctuation
    character may be backslash-escaped)."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", "" if value is None else str(value))


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a table Streamlit can serialize (NUMBER columns arrive as Decimal)."""
    return pd.DataFrame(
        [{k: float(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows]
    )


@st.cache_data(max_entries=512, show_spinner=False)
def thumbnail(_thumbnails: Thumbnails, key: str) -> bytes | str | None:
    # keys are content-addressed (pixelforge_core.render_wire.thumbnail_key): never stale
    return _thumbnails.image(key)


def page() -> None:
    st.title("Design files")
    src = sources()
    text = st.text_input(
        "search",
        value=st.query_params.get("q", ""),
        placeholder="words of names, layers, text, fonts, colours or the creating tool",
    )
    st.query_params["q"] = text
    terms = search_terms(text)
    found: list[dict[str, Any]] = []
    quarantined: list[dict[str, Any]] = []
    if not terms:
        st.info("Type a word to search the current design files.")
    else:
        try:
            found = search_designs(src.session, text, RESULTS)
            quarantined = quarantined_matches(src.session, terms, QUARANTINED_RESULTS)
        except Exception as error:  # the marts are not built yet: say so plainly
            st.error(
                "The design marts could not be read: run the pipeline (`pixelforge run`), "
                f"then reload.\n\n{type(error).__name__}: {str(error)[:500]}"
            )
            return
        st.caption(
            f"{len(found)} queryable file{'s' * (len(found) != 1)} for {', '.join(terms)}"
            + (f"; {len(quarantined)} quarantined" if quarantined else "")
        )
        grid(src, found)
    if quarantined:
        st.subheader("Quarantined")
        st.dataframe(
            frame(quarantined)[["relative_path", "reason_codes", "reasons"]], hide_index=True
        )
    paths = [r["relative_path"] for r in found] + [r["relative_path"] for r in quarantined]
    wanted = st.query_params.get("file")
    if wanted and wanted not in paths:
        paths.insert(0, wanted)
    if not paths:
        return
    chosen = st.selectbox("file", paths, index=paths.index(wanted) if wanted else 0)
    st.query_params["file"] = chosen
    details(read_file_facts(src.session, chosen), src.thumbnails)


def grid(src: Sources, found: list[dict[str, Any]]) -> None:
    keys = thumbnail_keys(src.session, [r["file_version_id"] for r in found])
    for start in range(0, len(found), GRID_COLUMNS):
        columns = st.columns(GRID_COLUMNS)
        for column, row in zip(columns, found[start : start + GRID_COLUMNS], strict=False):
            key = keys.get(row["file_version_id"])
            image = thumbnail(src.thumbnails, key) if key else None
            with column:
                if image is None:
                    st.caption("(no thumbnail)")
                else:
                    st.image(image, width="stretch")
                st.caption(literal(row["relative_path"]))


def facet_statuses(facets: list[dict[str, Any]]) -> None:
    """Each facet's extractor version and status, and why when it is not ok (what explain's
    facets table prints)."""
    shown = frame(facets)[["facet", "facet_version", "facet_status", "reason"]]
    shown.columns = ["facet", "version", "status", "reason"]
    st.caption("facets (extractor version, status)")
    st.table(shown.fillna("").set_index("facet"))


def details(facts: FileFacts, thumbnails: Thumbnails) -> None:
    st.subheader(literal(facts.relative_path))
    state, design = facts.state, facts.design
    if not facts.found:
        st.warning("no such path in the directory table or the run history")
        return
    if state is not None and facts.quarantined:
        codes = state["quarantine_reason_codes"] or state["metadata_reason_code"]
        st.error(f"quarantined ({literal(codes)}): {literal(state['not_queryable_reason'])}")
    elif state is not None and state["pipeline_stage"] != "queryable":
        reason = literal(state["not_queryable_reason"])
        st.warning(f"{literal(state['pipeline_stage'])}: {reason}")
    left, right = st.columns([1, 2])
    with left:
        key = design["thumbnail_256_key"] if design else None
        image = thumbnail(thumbnails, key) if key else None
        if image is not None:
            st.image(image, width=THUMBNAIL_PX)
        if facts.colors:
            st.caption("dominant colours")
            st.altair_chart(color_swatches(frame(facts.colors)), width="stretch")
    with right:
        if design is not None:
            items = metadata_items(design)
            st.table(pd.DataFrame(items, columns=["", "value"]).set_index(""))
        if facts.facets:
            facet_statuses(facts.facets)
    layers, text, near, lineage = st.tabs(
        [f"layers ({facts.layer_total})", f"text ({facts.text_total})",
         f"near-duplicates ({len(facts.near_duplicates)})", "lineage"]
    )  # fmt: skip
    with layers:
        if facts.layers:
            shown = frame(facts.layers).drop(columns=["total_rows"])
            shown["layer_name"] = [
                "\u2003" * int(d or 0) + str(n)
                for d, n in zip(shown["depth"], shown["layer_name"], strict=True)
            ]
            if facts.layer_total > len(facts.layers):
                st.caption(f"the first {len(facts.layers)} of {facts.layer_total} layers")
            st.dataframe(shown, hide_index=True)
        else:
            st.caption("no layers (not a layered format, or none extracted)")
    with text:
        if facts.text:
            st.dataframe(frame(facts.text).drop(columns=["total_rows"]), hide_index=True)
        else:
            st.caption("no text")
    with near:
        if facts.near_duplicates:
            st.dataframe(frame(facts.near_duplicates), hide_index=True)
        else:
            st.caption("no current file within the near-duplicate distance")
    with lineage:
        if facts.derivation:
            st.caption("document lineage (XMP DerivedFrom -> DocumentID)")
            st.dataframe(frame(facts.derivation), hide_index=True)
        st.caption("across runs (times UTC)")
        st.dataframe(frame(facts.events), hide_index=True)
