"""A backfill's and a re-processing's selection, on a warehouse: the dry run counts what discover
records, and the production dry-run procedure returns the same estimate the CLI prints.

The SQL runs on an in-thread fakesnow with the pipeline's tables (the session fixture of
test_run_requests.py).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from snowflake.snowpark import Session

from orchestration.capacity import capacity_model
from pixelforge_core.capacity import JobSize, estimate
from pixelforge_core.facets import facet
from snowpark_procs import handlers
from snowpark_procs.run_config import RunConfig, reprocess_config
from snowpark_procs.steps.selections import (
    EmptySelectionError,
    count_selection,
    count_stale_facets,
    discover_selection,
    estimate_selection,
)
from tests.snowpark_procs.test_run_requests import session  # noqa: F401 - the fixture

LISTED = {  # relative_path: (size, last_modified, committed, sniffed format)
    "team-a/a.png": (100, datetime(2026, 11, 26, 8, 30), True, "png"),
    "team-a/b.jpg": (200, datetime(2026, 11, 26, 9, 30), True, "jpeg"),
    "team-b/c.png": (400, datetime(2026, 11, 26, 10, 30), True, "png"),
    "team-b/new.png": (800, datetime(2026, 11, 26, 9, 45), False, None),
}
WINDOW = RunConfig("backfill", datetime(2026, 11, 26, 9), datetime(2026, 11, 26, 11))


@pytest.fixture
def listed(session: Session) -> Session:  # noqa: F811 - the fixture imported above
    for path, (size, modified, committed, fmt) in LISTED.items():
        etag = f"etag-{path}"
        at = modified.isoformat(sep=" ")
        session.sql(
            "insert into raw.designs_directory (relative_path, size, last_modified, md5, etag) "
            "select ?, ?, cast(? as timestamp_ntz), ?, ?",
            params=[path, size, at, etag, etag],
        ).collect()
        if committed:
            session.sql(
                "insert into raw.directory_state (relative_path, etag, size, last_modified, md5, "
                "committed_at, committed_run_id) select ?, ?, ?, cast(? as timestamp_ntz), ?, "
                "cast(? as timestamp_ntz), 'r0'",
                params=[path, etag, size, at, etag, at],
            ).collect()
        if fmt:
            session.sql(
                "insert into raw.file_metadata (relative_path, etag, status, format, size_bytes, "
                "run_id, extracted_at) select ?, ?, 'ok', ?, ?, 'r0', sysdate()",
                params=[path, etag, fmt, size],
            ).collect()
    return session


@pytest.mark.parametrize(
    ("config", "paths"),
    [
        (WINDOW, {"team-a/b.jpg", "team-b/c.png", "team-b/new.png"}),  # listed, uncommitted too
        (reprocess_config(), {"team-a/a.png", "team-a/b.jpg", "team-b/c.png"}),  # current
        (reprocess_config(None, "team-a/"), {"team-a/a.png", "team-a/b.jpg"}),
        (reprocess_config("render_thumbnails", "", "png"), {"team-a/a.png", "team-b/c.png"}),
    ],
)
def test_the_dry_run_counts_what_discover_records(listed: Session, config, paths):
    size = count_selection(listed, config)
    assert (size.files, size.bytes) == (len(paths), sum(LISTED[p][0] for p in paths))
    discover_selection(listed, "run-1", config)
    changes = listed.sql(
        "select relative_path, change_type, extract_redone_at is not null as extract_marked, "
        "render_redone_at is not null as render_marked from raw.file_changes "
        "where run_id = 'run-1'"
    ).collect()
    assert {row["RELATIVE_PATH"] for row in changes} == paths
    assert {row["CHANGE_TYPE"] for row in changes} == {config.mode}
    # a step the run does not redo is marked redone at discovery
    skips_extraction = "extract_metadata" not in config.redone_steps
    marks = {(r["EXTRACT_MARKED"], r["RENDER_MARKED"]) for r in changes}
    assert marks == {(skips_extraction, False)}


def test_the_procedure_returns_the_estimate_the_cli_prints(listed: Session):
    model = capacity_model()
    config = reprocess_config("render_thumbnails", "", "png")
    printed = estimate_selection(listed, config, model)
    assert printed == estimate(JobSize(2, 500, frozenset({"render_thumbnails"})), model)
    returned = json.loads(handlers.estimate_request(listed, config.to_json(), model.to_json()))
    assert returned["estimate"] == dict(printed.lines())
    assert (returned["files"], returned["bytes_read"], returned["usd"]) == (
        2,
        500,
        printed.usd,
    )
    assert (returned["redo_steps"], returned["path_prefix"], returned["format_filter"]) == (
        "render_thumbnails",
        "",
        "png",
    )
    assert listed.sql("select count(*) as n from raw.file_changes").collect()[0]["N"] == 0


def test_an_empty_or_invalid_request_is_refused_by_the_procedure_too(listed: Session):
    model = capacity_model().to_json()
    with pytest.raises(EmptySelectionError, match="no current file version matches"):
        handlers.estimate_request(listed, reprocess_config(None, "team-z/").to_json(), model)
    bad = json.dumps({"mode": "reprocess", "steps": "sharpen"})
    with pytest.raises(ValueError, match="unknown step sharpen"):
        handlers.estimate_request(listed, bad, model)
    with pytest.raises(ValueError, match="has no dry run"):
        handlers.estimate_request(listed, RunConfig("reconcile").to_json(), model)


def _facet_row(warehouse: Session, path: str, facet_name: str, version: int) -> None:
    warehouse.sql(
        "insert into raw.file_facets (relative_path, etag, facet, facet_version, status, "
        "run_id, extracted_at) select ?, ?, ?, ?, 'ok', 'r0', sysdate()",
        params=[path, f"etag-{path}", facet_name, version],
    ).collect()


def test_a_facet_selection_is_the_covered_current_versions_whose_stored_facet_is_stale(
    listed: Session,
):
    current = facet("document").version
    _facet_row(listed, "team-a/a.png", "document", current)  # up to date
    _facet_row(listed, "team-b/c.png", "document", current - 1)  # older extractor
    # team-a/b.jpg: none stored; team-b/new.png: not a current version yet (not committed)
    config = reprocess_config(facet="document")
    size = count_selection(listed, config)
    assert (size.files, size.bytes) == (2, 600)
    assert count_selection(listed, reprocess_config(None, "", "png", "document")).files == 1
    discover_selection(listed, "run-f", config)
    changes = listed.sql(
        "select relative_path, extract_redone_at is null as extracting, "
        "render_redone_at is null as rendering from raw.file_changes where run_id = 'run-f'"
    ).collect()
    # the facet's step only
    assert {(r["RELATIVE_PATH"], r["EXTRACTING"], r["RENDERING"]) for r in changes} == {
        ("team-a/b.jpg", True, False),
        ("team-b/c.png", True, False),
    }
    # what the nightly reconciliation keeps: structure and text cover no png or jpeg
    stale = count_stale_facets(listed)
    assert (stale["document"], stale["structure"], stale["text"]) == (2, 0, 0)
    assert stale["visual"] == 3  # no visual row stored here


def test_the_procedure_prices_a_facet_reprocessing_as_ops_reprocess_asks(listed: Session):
    model = capacity_model()
    # the config OPS.REPROCESS builds from its arguments (steps null, the other defaults '')
    asked = json.dumps(
        {"mode": "reprocess", "steps": None, "prefix": "", "format": "", "facet": "document"}
    )
    returned = json.loads(handlers.estimate_request(listed, asked, model.to_json()))
    assert (returned["files"], returned["bytes_read"]) == (3, 700)  # none stored yet
    assert (returned["redo_steps"], returned["redo_facet"]) == ("extract_metadata", "document")
    assert "facet document" in returned["job"]
    for path in ("team-a/a.png", "team-a/b.jpg", "team-b/c.png"):
        _facet_row(listed, path, "document", facet("document").version)
    with pytest.raises(EmptySelectionError, match="stale document facet"):
        handlers.estimate_request(listed, asked, model.to_json())
