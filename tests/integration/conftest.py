"""Helpers of the integration tests on the embedded stack (real fakesnow, moto and render
processes): the session's stack handed out reset, a small corpus, uploads, snapshots and the
consistency check of a recovered pipeline."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest

from orchestration import corpus
from orchestration.graph import INCREMENTAL
from orchestration.local.runner import LocalRunner
from orchestration.local.stack import LocalStack
from tests.stack_pool import StackPool


@pytest.fixture
def start_stack(stack_pool: StackPool) -> Callable[[str], LocalStack]:
    """Hands out the session's stack, reset, at each call: a call wipes what an earlier call in
    the same test left (a test that compares two stacks runs them one after the other)."""

    def start(name: str = "stack") -> LocalStack:
        del name  # names the role the stack plays in the test, for the reader
        return stack_pool.fresh()

    return start


def small_corpus() -> dict[str, bytes]:
    """Every kind of input at small sizes, so a run takes seconds, not minutes (generated once
    per session: a second of CPU; each caller gets its own dict)."""
    return dict(_small_corpus())


@functools.cache
def _small_corpus() -> dict[str, bytes]:
    return {
        "team-a/alpha logo.png": corpus.png_with_alpha(480, 320, seed=1),
        "team-a/photo.jpg": corpus.jpeg_large(1200, 800, seed=2),
        "team-a/deep/prefix/ünïcode-scan.tif": corpus.tiff_16bit(600, 400, seed=3),
        "team-b/mockup.psd": corpus.psd_layered(400, 300, seed=4),
        "team-b/guide.pdf": corpus.pdf_multipage(pages=3, seed=5),
        "team-b/icon.svg": corpus.svg_simple(seed=6),
        "team-b/spinner.gif": corpus.gif_animated(seed=7),
        "broken/empty.png": corpus.zero_byte(),
        "broken/truncated.png": corpus.png_truncated(seed=8),
        "broken/noise.png": corpus.random_bytes_named_png(seed=9),
    }


BROKEN = {"broken/empty.png", "broken/truncated.png", "broken/noise.png"}


# The pipeline's graph without its dbt steps (discover, extract_metadata, render_thumbnails and
# the finalizer), for tests whose subject is the files' steps and whose assertions read raw
# tables: dbt's two builds are most of a run's time on the stack.
FILES_ONLY = dataclasses.replace(INCREMENTAL, steps=INCREMENTAL.steps[:3])


def upload(stack: LocalStack, files: dict[str, bytes]) -> None:
    s3 = stack.s3()
    for key, data in files.items():
        s3.put_object(Bucket=stack.settings.designs_bucket, Key=key, Body=data)


def runner_for(stack: LocalStack, **options: Any) -> LocalRunner:
    return LocalRunner(stack, sleep=lambda _seconds: None, **options)


# A warehouse killed on purpose refuses every connection until it is restarted: the connector
# need not retry each statement for the stack's usual network timeout to find that out.
WAREHOUSE_DOWN_TIMEOUT_S = 3


def warehouse_down(stack: LocalStack) -> AbstractContextManager[Any]:
    """The stack's sessions opened inside give up on a refused connection after a few seconds."""
    quick = dataclasses.replace(stack.settings, network_timeout_s=WAREHOUSE_DOWN_TIMEOUT_S)
    return mock.patch.object(stack, "settings", quick)


def query(stack: LocalStack, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with stack.session() as session:
        return [row.as_dict() for row in session.sql(sql, params=params or []).collect()]


# Columns that identify what was produced, without run ids and timestamps.
SNAPSHOT_QUERIES = {
    "file_metadata": "select relative_path, etag, status, reason_code, format, width_px, "
    "height_px, sha256, size_bytes from raw.file_metadata",
    "thumbnails": "select relative_path, etag, size_px, status, reason_code, thumbnail_key, "
    "width_px, height_px, thumbnail_bytes from raw.thumbnails",
    "directory_state": "select relative_path, etag, size from raw.directory_state",
    "fct_file_versions": "select file_version_id, relative_path, etag, is_quarantined "
    "from marts.fct_file_versions",
    "dim_design_files": "select relative_path, etag, is_deleted, is_valid "
    "from marts.dim_design_files",
    "fct_quarantined_file_versions": "select file_version_id, reason_code "
    "from marts.fct_quarantined_file_versions",
}


def snapshot(stack: LocalStack) -> dict[str, Any]:
    """Everything the pipeline produced, comparable across stacks and runs."""
    state: dict[str, Any] = {}
    with stack.session() as session:
        for name, sql in SNAPSHOT_QUERIES.items():
            rows = [tuple(row) for row in session.sql(sql).collect()]
            state[name] = sorted(rows, key=repr)
    s3 = stack.s3()
    objects = s3.list_objects_v2(Bucket=stack.settings.thumbnails_bucket, Prefix="v1/").get(
        "Contents", []
    )
    state["thumbnail_objects"] = sorted((o["Key"], o["ETag"]) for o in objects)
    return state


@dataclass(frozen=True)
class Consistency:
    """How the warehouse and the buckets compare with the designs bucket itself."""

    files: int
    lost: list[str]
    duplicated: list[str]
    problems: list[str]


def check_consistency(stack: LocalStack) -> Consistency:
    """The invariants of a recovered pipeline, from the designs bucket as the truth.

    Every current file is in dim_design_files at its current ETag, with metadata and, when
    readable, both thumbnails in the bucket; nothing appears twice; no retry is left pending;
    the committed directory state equals the bucket.
    """
    s3 = stack.s3()
    bucket = {
        o["Key"]: o["ETag"].strip('"')
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=stack.settings.designs_bucket
        )
        for o in page.get("Contents", [])
    }
    thumbnails_in_bucket = {
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=stack.settings.thumbnails_bucket, Prefix="v1/"
        )
        for o in page.get("Contents", [])
    }
    lost: list[str] = []
    duplicated: list[str] = []
    problems: list[str] = []
    dim = query(stack, "select relative_path, etag, is_deleted from marts.dim_design_files")
    current = {r["RELATIVE_PATH"]: r for r in dim if not r["IS_DELETED"]}
    for path, etag in bucket.items():
        if path not in current or current[path]["ETAG"] != etag:
            lost.append(path)
    problems += [f"{p} is current in dim but not in the bucket" for p in set(current) - set(bucket)]
    for table, key in [
        ("marts.fct_file_versions", "relative_path, etag"),
        ("marts.dim_design_files", "relative_path"),
        ("raw.file_metadata", "relative_path, etag"),
        ("raw.thumbnails", "relative_path, etag, size_px"),
        ("raw.directory_state", "relative_path"),
    ]:
        rows = query(
            stack,
            f"select {key}, count(*) as copies from {table} group by {key} having count(*) > 1",
        )
        duplicated += [f"{table}: {row}" for row in rows]
    metadata = {
        (r["RELATIVE_PATH"], r["ETAG"]): r["STATUS"]
        for r in query(stack, "select relative_path, etag, status from raw.file_metadata")
    }
    thumbnails: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in query(
        stack, "select relative_path, etag, status, thumbnail_key from raw.thumbnails"
    ):
        thumbnails.setdefault((row["RELATIVE_PATH"], row["ETAG"]), []).append(row)
    for path, etag in bucket.items():
        status = metadata.get((path, etag))
        if status is None:
            lost.append(f"{path} (no metadata)")
        elif status == "ok":
            ok = [t for t in thumbnails.get((path, etag), []) if t["STATUS"] == "ok"]
            if len(ok) != 2:
                problems.append(f"{path} has {len(ok)} thumbnails")
            problems += [
                f"{path}: thumbnail object {t['THUMBNAIL_KEY']} is missing"
                for t in ok
                if t["THUMBNAIL_KEY"] not in thumbnails_in_bucket
            ]
    state = {
        r["RELATIVE_PATH"]: r["ETAG"]
        for r in query(stack, "select relative_path, etag from raw.directory_state")
    }
    if state != bucket:
        problems.append(f"directory state differs from the bucket: {set(state) ^ set(bucket)}")
    retries = query(stack, "select relative_path, step from raw.file_retries")
    problems += [f"retry still pending: {r}" for r in retries]
    return Consistency(len(bucket), sorted(set(lost)), duplicated, problems)
