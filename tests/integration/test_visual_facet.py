"""The visual facet on the embedded stack: the render step merges one raw.file_facets row per
rendered file version, computed from its stored 256 px thumbnail, and re-rendering an
unchanged file (its thumbnails already exist) gives the identical facet, so the row, its
run_id and extracted_at are left as they were."""

from __future__ import annotations

import json

import pytest

from ecs_render.visual import visual_of_thumbnail
from orchestration import corpus
from orchestration.local.stack import LocalStack
from pixelforge_core.facets import facet
from snowpark_procs.run_config import reprocess_config
from tests.integration.conftest import FILES_ONLY, query, runner_for, upload

pytestmark = pytest.mark.integration

FILES = {
    "v/logo.png": corpus.png_with_alpha(64, 48, seed=1),
    "v/photo.jpg": corpus.jpeg_large(80, 60, seed=2),
    "v/noise.png": corpus.random_bytes_named_png(seed=5),  # unreadable: never rendered
}
FACET_ROWS = (
    "select relative_path, etag, facet_version, status, payload, run_id, extracted_at "
    "from raw.file_facets where facet = 'visual' order by relative_path"
)


def test_the_render_step_records_the_visual_facet_once(fresh_stack: LocalStack):
    upload(fresh_stack, FILES)
    runner = runner_for(fresh_stack, pipeline=FILES_ONLY)
    first = runner.run(kind="manual")
    assert first.succeeded, first.run.error_message

    rows = query(fresh_stack, FACET_ROWS)
    assert [r["RELATIVE_PATH"] for r in rows] == ["v/logo.png", "v/photo.jpg"]
    thumbnails = {
        r["RELATIVE_PATH"]: r["THUMBNAIL_KEY"]
        for r in query(
            fresh_stack,
            "select relative_path, thumbnail_key from raw.thumbnails where size_px = 256",
        )
    }
    s3 = fresh_stack.s3()
    for row in rows:
        assert (row["STATUS"], row["FACET_VERSION"]) == ("ok", facet("visual").version)
        assert row["RUN_ID"] == first.run.run_id
        stored = s3.get_object(
            Bucket=fresh_stack.settings.thumbnails_bucket, Key=thumbnails[row["RELATIVE_PATH"]]
        )["Body"].read()
        payload = row["PAYLOAD"]
        payload = json.loads(payload) if isinstance(payload, str) else payload
        assert payload == visual_of_thumbnail(stored)

    for _ in range(2):  # thumbnails exist: answered from S3, the facet identical
        again = runner.run(kind="reprocess", config=reprocess_config("render_thumbnails"))
        assert again.succeeded, again.run.error_message
        assert query(fresh_stack, FACET_ROWS) == rows


def test_the_visual_facet_is_keyed_by_the_thumbnail_of_the_file_version(fresh_stack: LocalStack):
    data = corpus.png_with_alpha(40, 30, seed=9)
    upload(fresh_stack, {"w/a.png": data, "w/b.png": data})  # same bytes, two keys
    assert runner_for(fresh_stack, pipeline=FILES_ONLY).run(kind="manual").succeeded

    rows = query(fresh_stack, FACET_ROWS)
    keys = query(
        fresh_stack, "select distinct thumbnail_key from raw.thumbnails where size_px = 256"
    )
    assert len(rows) == 2 and len(keys) == 1  # one thumbnail object serves both
    assert rows[0]["PAYLOAD"] == rows[1]["PAYLOAD"]
