"""The facet registry, and raw.file_facets' MERGE: a row is rewritten only when its extractor
version, status or payload changed (re-processing an unchanged facet leaves it as it was)."""

from __future__ import annotations

import json

import pytest
from snowflake.snowpark import Session

from pixelforge_core.facets import FACET_NAMES, FACETS, FacetResult, facet, facets_of
from pixelforge_core.formats import SUPPORTED_FORMATS
from snowpark_procs.sql import read_sql
from tests.snowpark_procs.test_run_requests import session  # noqa: F401 - the fixture


def test_registry_is_consistent() -> None:
    assert len(set(FACET_NAMES)) == len(FACETS)
    for each in FACETS:
        assert each.version >= 1
        assert each.formats <= set(SUPPORTED_FORMATS)
        assert facet(each.name) is each
    assert [f.name for f in facets_of("render_thumbnails")] == ["visual"]
    assert "structure" not in [f.name for f in facets_of("extract_metadata", "png")]
    with pytest.raises(ValueError, match="unknown facet 'colour': one of document"):
        facet("colour")


def _merge(warehouse: Session, rows: list[dict]) -> None:
    warehouse.sql(read_sql("merge_file_facets"), params=[json.dumps(rows)]).collect()


def _stored(warehouse: Session) -> list[tuple]:
    return [
        (r["FACET"], r["FACET_VERSION"], r["STATUS"], json.loads(r["PAYLOAD"]), r["RUN_ID"])
        for r in warehouse.sql(
            "select facet, facet_version, status, payload, run_id from raw.file_facets"
            " order by facet"
        ).collect()
    ]


def test_merge_rewrites_only_what_changed(session: Session) -> None:  # noqa: F811
    text = FacetResult("text", 1, "ok", {"runs": [], "fonts": ["Inter"], "truncated": False})
    document = FacetResult("document", 1, "ok", {"creator_tool": "Figma"})
    _merge(session, [r.row("a.psd", "e1", "run-1") for r in (text, document)])
    _merge(session, [r.row("a.psd", "e1", "run-2") for r in (text, document)])
    assert [row[-1] for row in _stored(session)] == ["run-1", "run-1"]  # same values: untouched

    bumped = FacetResult("text", 2, "ok", text.payload)
    _merge(session, [bumped.row("a.psd", "e1", "run-3"), document.row("a.psd", "e1", "run-3")])
    assert _stored(session) == [
        ("document", 1, "ok", {"creator_tool": "Figma"}, "run-1"),
        ("text", 2, "ok", {"runs": [], "fonts": ["Inter"], "truncated": False}, "run-3"),
    ]
    failed = FacetResult("document", 1, "failed", None, "unreadable_file", "bad XMP")
    _merge(session, [failed.row("a.psd", "e1", "run-4")])
    assert _stored(session)[0][2:] == ("failed", None, "run-4")
