"""Hostile keys, contents and races through the whole pipeline on the embedded stack, and proof
that no relative_path reaches outside the designs bucket.

One full run (discovery, extraction, rendering over HTTP, dbt validate and load) serves the
integration tests of this module: the run must succeed with every file processed or
quarantined with its reason, no URL fetched and no object written outside the thumbnails'
content-addressed prefix.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from ecs_render.rows import ensure_thumbnails
from ecs_render.settings import RenderSettings
from ecs_render.storage import StorageFailure, read_source
from ecs_render.thumbnails import render_thumbnails
from orchestration.graph import INCREMENTAL
from orchestration.local.loopback import free_port
from orchestration.local.runner import RunReport
from orchestration.local.s3_byte_source import S3ByteSource
from orchestration.local.stack import LocalStack
from pixelforge_core.render_wire import RenderRequest
from snowpark_procs.byte_sources import SourceFileError
from tests.hostile import corpus
from tests.hostile.helpers import HOSTILE_CASES, OK, ConnectionCounter, hostile_bytes
from tests.integration.conftest import query, runner_for, upload
from tests.stack_pool import StackPool

# --- relative paths that try to leave the designs bucket (a moto server, no stack) ------------

DESIGNS = "hostile-designs"
THUMBNAILS = "hostile-thumbnails"
ESCAPES = [
    f"../{THUMBNAILS}/secret.png",
    f"/../{THUMBNAILS}/secret.png",
    f"a/../../{THUMBNAILS}/secret.png",
    f"./../{THUMBNAILS}/secret.png",
    f"%2e%2e/{THUMBNAILS}/secret.png",
    f"..%2f{THUMBNAILS}%2fsecret.png",
    f"..\\{THUMBNAILS}\\secret.png",
    f"/{THUMBNAILS}/secret.png",
    f"//{THUMBNAILS}/secret.png",
    "/etc/passwd",
    "../../../../../../etc/passwd",
    "file:///etc/passwd",
    "http://127.0.0.1:9/x.png",
]


@dataclass(frozen=True)
class Buckets:
    s3: Any
    secret_etag: str
    secret: bytes


@pytest.fixture(scope="module")
def buckets() -> Iterator[Buckets]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=DESIGNS)
    s3.create_bucket(Bucket=THUMBNAILS)
    # A readable image in the other bucket: if any path reached it, it would render fine.
    secret = corpus.png_with_alpha(64, 48, seed=99)
    etag = s3.put_object(Bucket=THUMBNAILS, Key="secret.png", Body=secret)["ETag"].strip('"')
    yield Buckets(s3, etag, secret)
    server.stop()


def _render_settings(prefix: str) -> RenderSettings:
    return RenderSettings(
        designs_bucket=DESIGNS,
        designs_prefix=prefix,
        thumbnails_bucket=THUMBNAILS,
        render_workers=1,
        max_source_bytes=1 << 20,
    )


def _thumbnail_keys(s3: Any) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=THUMBNAILS).get("Contents", [])}


@pytest.mark.parametrize("relative_path", ESCAPES)
def test_hostile_relative_path_is_just_a_missing_key_for_the_procedure(relative_path, buckets):
    source = S3ByteSource(buckets.s3, DESIGNS)

    with pytest.raises(SourceFileError) as error, source.open(relative_path, buckets.secret_etag):
        pass

    assert error.value.reason_code == "file_missing"


@pytest.mark.parametrize("prefix", ["", "designs/"])
@pytest.mark.parametrize("relative_path", ESCAPES)
def test_hostile_relative_path_is_just_a_missing_key_for_the_renderer(
    relative_path, prefix, buckets
):
    before = _thumbnail_keys(buckets.s3)
    request = RenderRequest(
        relative_path,
        buckets.secret_etag,
        hashlib.sha256(buckets.secret).hexdigest(),
        len(buckets.secret),
    )

    source = read_source(buckets.s3, _render_settings(prefix), request)
    result = ensure_thumbnails(buckets.s3, _render_settings(prefix), request, render_thumbnails)

    assert isinstance(source, StorageFailure)
    assert source.reason_code == "file_missing"
    assert (result.status, result.reason_code) == ("failed", "file_missing")
    assert _thumbnail_keys(buckets.s3) == before


def test_hostile_dot_segments_are_literal_keys_of_the_designs_bucket(buckets):
    """A key that looks like a way out is an ordinary key: nothing normalizes it."""
    key = f"../{THUMBNAILS}/secret.png"
    inside = corpus.png_with_alpha(32, 24, seed=7)
    etag = buckets.s3.put_object(Bucket=DESIGNS, Key=key, Body=inside)["ETag"].strip('"')
    try:
        with S3ByteSource(buckets.s3, DESIGNS).open(key, etag) as stream:
            assert stream.read() == inside
        request = RenderRequest(key, etag, hashlib.sha256(inside).hexdigest(), len(inside))
        source = read_source(buckets.s3, _render_settings(""), request)
        assert not isinstance(source, StorageFailure), source
        with source:
            assert source.read() == inside
        secret = buckets.s3.get_object(Bucket=THUMBNAILS, Key="secret.png")["Body"].read()
        assert secret == buckets.secret
    finally:
        buckets.s3.delete_object(Bucket=DESIGNS, Key=key)


# --- the whole pipeline -----------------------------------------------------------------------


def _exactly_bytes(prefix: str, filler: str, suffix: str, size: int) -> str:
    key = prefix + filler * ((size - len((prefix + suffix).encode())) // len(filler.encode()))
    key += "x" * (size - len((key + suffix).encode()))
    assert len((key + suffix).encode()) == size
    return key + suffix


HOSTILE_KEYS = [
    "with spaces/brand guide final v2 (1).png",
    "unicode/café-ünïcödé-日本語-🎨.png",
    # the same name in NFC and in NFD: two different keys that look identical
    unicodedata.normalize("NFC", "normalisation/café.png"),
    unicodedata.normalize("NFD", "normalisation/café.png"),
    "percent/100%.png",
    "percent/a%20b.png",
    "percent/%2e%2e%2fescape.png",
    "plus/a+b c.png",
    "hash/#1.png",
    "question/why?.png",
    'quote/o\'brien "final".png',
    "punctuation/&=$,;@[]{}!~*()^`|<>.png",
    "back\\slash.png",
    "/leading-slash.png",
    "dots/../dots/./x.png",
    "../pixelforge-thumbnails/escape.png",
    "/".join(f"level-{depth:02d}" for depth in range(20)) + "/deep.png",
    _exactly_bytes("long/", "x", ".png", 1000),
    _exactly_bytes("long-unicode/", "ü", ".png", 1000),
]
GONE = "race/deleted between discovery and extraction.png"
CHANGED = "race/overwritten between discovery and extraction.png"


def _metadata(stack: LocalStack) -> dict[tuple[str, str], dict[str, Any]]:
    rows = query(
        stack,
        "select relative_path, etag, status, reason_code, error_message, format "
        "from raw.file_metadata",
    )
    return {(row["RELATIVE_PATH"], row["ETAG"]): row for row in rows}


def _thumbnails(stack: LocalStack) -> dict[tuple[str, str], list[dict[str, Any]]]:
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in query(
        stack,
        "select relative_path, etag, size_px, status, reason_code, thumbnail_key "
        "from raw.thumbnails",
    ):
        found.setdefault((row["RELATIVE_PATH"], row["ETAG"]), []).append(row)
    return found


@dataclass(frozen=True)
class HostileRun:
    """The stack after the hostile run, with its raw tables as they were right after it."""

    stack: LocalStack
    files: dict[str, bytes]
    report: RunReport
    listener: ConnectionCounter
    etags: dict[str, str]
    metadata: dict[tuple[str, str], dict[str, Any]]
    thumbnails: dict[tuple[str, str], list[dict[str, Any]]]


def _contents(listener: ConnectionCounter) -> dict[str, bytes]:
    files = {f"contents/{case.name}": hostile_bytes(case.name) for case in HOSTILE_CASES}
    files["contents/fetch-over-http.svg"] = corpus.svg_fetching("image_href", listener.url())
    files["contents/external-dtd.svg"] = corpus.svg_fetching("external_dtd", listener.url())
    files["contents/links-out.pdf"] = corpus.pdf_external_references(listener.url())
    return files


CONTENT_OUTCOMES = {
    f"contents/{case.name}": (case.extraction, case.render) for case in HOSTILE_CASES
}
CONTENT_OUTCOMES.update(
    {
        "contents/fetch-over-http.svg": ("hostile_content", "hostile_content"),
        "contents/external-dtd.svg": (OK, OK),
        "contents/links-out.pdf": (OK, OK),
    }
)


@pytest.fixture(scope="module")
def hostile_run(stack_pool: StackPool) -> Iterator[HostileRun]:
    """One run over the hostile keys and contents on the session's stack, reset."""
    with ConnectionCounter() as listener:
        stack = stack_pool.fresh()
        files = {
            **{key: corpus.png_with_alpha(48, 32, seed=i) for i, key in enumerate(HOSTILE_KEYS)},
            **_contents(listener),
            GONE: corpus.png_with_alpha(48, 32, seed=100),
            CHANGED: corpus.png_with_alpha(48, 32, seed=101),
        }
        upload(stack, files)
        s3, bucket = stack.s3(), stack.settings.designs_bucket
        etags = {
            o["Key"]: o["ETag"].strip('"')
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])
        }
        fired: list[str] = []

        def race(step: str, phase: str) -> None:
            # Right after discovery recorded the change set: one file goes, one changes.
            if (step, phase) == ("discover", "after") and not fired:
                fired.append(step)
                s3.delete_object(Bucket=bucket, Key=GONE)
                s3.put_object(Bucket=bucket, Key=CHANGED, Body=corpus.png_with_alpha(40, 40))

        report = runner_for(stack, fault_hook=race).run()
        yield HostileRun(
            stack, files, report, listener, etags, _metadata(stack), _thumbnails(stack)
        )


@pytest.mark.integration
def test_hostile_run_succeeds_and_reads_every_file(hostile_run):
    report = hostile_run.report
    states = [(o.step_run.step, o.step_run.state) for o in report.steps]

    assert report.succeeded, (report.run.error_message, states)
    metadata = hostile_run.metadata
    assert set(hostile_run.files) <= {path for path, _ in metadata}


@pytest.mark.integration
@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_key_is_processed_like_any_other(key, hostile_run):
    version = (key, hostile_run.etags[key])

    row = hostile_run.metadata[version]
    thumbnails = hostile_run.thumbnails.get(version, [])

    assert (row["STATUS"], row["FORMAT"]) == ("ok", "png"), row
    assert sorted((t["SIZE_PX"], t["STATUS"]) for t in thumbnails) == [(256, "ok"), (1024, "ok")]


@pytest.mark.integration
def test_hostile_keys_stay_distinct_through_the_marts(hostile_run):
    rows = query(hostile_run.stack, "select relative_path, is_valid from marts.dim_design_files")
    valid = {row["RELATIVE_PATH"]: row["IS_VALID"] for row in rows}

    assert all(valid.get(key) is True for key in HOSTILE_KEYS), {
        key: valid.get(key) for key in HOSTILE_KEYS if valid.get(key) is not True
    }


@pytest.mark.integration
@pytest.mark.parametrize("path", sorted(CONTENT_OUTCOMES))
def test_hostile_content_is_processed_or_quarantined_with_its_reason(path, hostile_run):
    extraction, rendering = CONTENT_OUTCOMES[path]
    version = (path, hostile_run.etags[path])

    row = hostile_run.metadata[version]
    thumbnails = hostile_run.thumbnails.get(version, [])

    if extraction == OK:
        assert row["STATUS"] == "ok", row
        if rendering == OK:
            assert {(t["SIZE_PX"], t["STATUS"]) for t in thumbnails} == {(256, "ok"), (1024, "ok")}
        else:
            assert {t["REASON_CODE"] for t in thumbnails} == {rendering}, thumbnails
    else:
        assert (row["STATUS"], row["REASON_CODE"]) == ("failed", extraction), row
        assert row["ERROR_MESSAGE"]
        assert thumbnails == []


@pytest.mark.integration
def test_hostile_quarantine_names_each_refused_file_and_its_reason(hostile_run):
    rows = query(
        hostile_run.stack,
        "select versions.relative_path, quarantined.reason_code "
        "from marts.fct_quarantined_file_versions as quarantined "
        "inner join marts.fct_file_versions as versions "
        "on quarantined.file_version_id = versions.file_version_id",
    )
    quarantined: dict[str, set[str]] = {}
    for row in rows:
        quarantined.setdefault(row["RELATIVE_PATH"], set()).add(row["REASON_CODE"])
    # the file's reason: its extraction's, or its rendering's when it was read but not rendered
    expected = {
        path: extraction if extraction != OK else rendering
        for path, (extraction, rendering) in CONTENT_OUTCOMES.items()
        if extraction != OK or rendering != OK
    }

    for path, reason in expected.items():
        assert reason in quarantined.get(path, set()), (path, quarantined.get(path))
    assert not set(HOSTILE_KEYS) & set(quarantined)


@pytest.mark.integration
def test_hostile_run_fetched_no_url_and_wrote_nothing_outside_the_thumbnail_prefixes(hostile_run):
    s3 = hostile_run.stack.s3()
    keys = {
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=hostile_run.stack.settings.thumbnails_bucket
        )
        for o in page.get("Contents", [])
    }

    assert hostile_run.listener.requests == []
    assert keys and all(key.startswith(("v1/", "batches/")) for key in keys), sorted(keys)[:5]


@pytest.mark.integration
def test_hostile_file_deleted_after_discovery_is_file_missing(hostile_run):
    row = hostile_run.metadata[(GONE, hostile_run.etags[GONE])]

    assert (row["STATUS"], row["REASON_CODE"]) == ("failed", "file_missing"), row


@pytest.mark.integration
def test_hostile_file_overwritten_after_discovery_is_file_changed_then_its_new_version_runs(
    hostile_run,
):
    stack = hostile_run.stack
    old = (CHANGED, hostile_run.etags[CHANGED])
    row = hostile_run.metadata[old]
    assert (row["STATUS"], row["REASON_CODE"]) == ("failed", "file_changed"), row
    head = stack.s3().head_object(Bucket=stack.settings.designs_bucket, Key=CHANGED)
    new = (CHANGED, head["ETag"].strip('"'))
    assert new != old

    # The next run (discovery, extraction and rendering: dbt adds nothing here) takes it up.
    without_dbt = replace(INCREMENTAL, steps=INCREMENTAL.steps[:3])
    report = runner_for(stack, pipeline=without_dbt).run()

    assert report.succeeded, report.run.error_message
    metadata = _metadata(stack)
    assert metadata[new]["STATUS"] == "ok"
    thumbnails = _thumbnails(stack).get(new, [])
    assert sorted((t["SIZE_PX"], t["STATUS"]) for t in thumbnails) == [(256, "ok"), (1024, "ok")]
    # the deleted file keeps its one failed row: nothing is read again for it
    assert [version for version in metadata if version[0] == GONE] == [
        (GONE, hostile_run.etags[GONE])
    ]
