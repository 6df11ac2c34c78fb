from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from ecs_render import storage
from ecs_render.results import RenderFailure
from ecs_render.rows import ensure_thumbnails
from ecs_render.storage import (
    S3_MAX_ATTEMPTS,
    StorageFailure,
    head_thumbnail,
    make_s3_client,
    put_if_absent,
    read_source,
)
from ecs_render.thumbnails import Thumbnail
from pixelforge_core.reason_codes import FILE_CHANGED, FILE_MISSING, FILE_TOO_LARGE, RENDER_FAILED
from pixelforge_core.render_wire import (
    RENDERER_UNAVAILABLE,
    STORAGE_UNAVAILABLE,
    RenderRequest,
    thumbnail_key,
)
from pixelforge_core.transient import is_transient

from .conftest import THUMBNAILS_BUCKET, aws_env, free_port, make_png, make_settings


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


@pytest.fixture(scope="module")
def s3(s3_env):
    return make_s3_client()


def request_for(uploaded) -> RenderRequest:
    return RenderRequest(
        uploaded.relative_path, uploaded.etag, uploaded.sha256, uploaded.size_bytes
    )


def test_thumbnail_key_is_content_addressed():
    sha = "0f" + "1" * 62

    assert thumbnail_key(sha, 1234, 256) == f"v1/0f/{sha}-1234/256.webp"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (client_error("SlowDown", 503), True),
        (client_error("InternalError", 500), True),
        (client_error("RequestTimeout", 400), True),
        (client_error("TooManyRequests", 429), True),
        (client_error("NoSuchKey", 404), False),
        (client_error("AccessDenied", 403), False),
        (client_error("PreconditionFailed", 412), False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (ConnectionResetError(), True),
        (ValueError("bug"), False),
    ],
)
def test_is_transient(error, transient):
    assert is_transient(error) is transient


class ScriptedS3(BaseHTTPRequestHandler):
    """An S3 endpoint that answers each request with the next (status, error code) of
    `script` (the last one repeats) and counts the requests."""

    script: list[tuple[int, str]] = []
    requests = 0

    def do_HEAD(self) -> None:
        type(self).requests += 1
        status, code = self.script[min(type(self).requests, len(self.script)) - 1]
        self.send_response(status)
        self.send_header("x-amz-request-id", code or "ok")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def scripted_s3(monkeypatch) -> Iterator[type[ScriptedS3]]:
    handler = type("Scripted", (ScriptedS3,), {"script": [], "requests": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for name, value in aws_env(f"http://127.0.0.1:{server.server_port}").items():
        monkeypatch.setenv(name, value)
    yield handler
    server.shutdown()
    server.server_close()


def test_botocore_retries_transient_errors_then_succeeds(scripted_s3):
    scripted_s3.script = [(503, "SlowDown"), (500, "InternalError"), (404, "")]

    assert head_thumbnail(make_s3_client(), "bucket", "k.webp") is None  # absent, after 2 retries
    assert scripted_s3.requests == 3


def test_botocore_gives_up_after_max_attempts_and_is_transient_names_it(scripted_s3):
    scripted_s3.script = [(500, "InternalError")]

    failure = head_thumbnail(make_s3_client(), "bucket", "k.webp")

    assert scripted_s3.requests == S3_MAX_ATTEMPTS
    assert isinstance(failure, StorageFailure)
    assert failure.reason_code == STORAGE_UNAVAILABLE
    assert "transient error after retries" in failure.message


def test_botocore_does_not_retry_permanent_errors(scripted_s3):
    scripted_s3.script = [(403, "AccessDenied")]

    failure = head_thumbnail(make_s3_client(), "bucket", "k.webp")

    assert scripted_s3.requests == 1
    assert isinstance(failure, StorageFailure)
    assert "S3 error" in failure.message


def test_put_if_absent_writes_once(s3, store, seed):
    key = f"test/put/{seed}.webp"

    assert put_if_absent(s3, THUMBNAILS_BUCKET, key, b"first", 10, 20) is True
    assert put_if_absent(s3, THUMBNAILS_BUCKET, key, b"second", 10, 20) is False

    versions = store.thumbnail_versions(key)
    assert len(versions) == 1
    body = store.s3.get_object(Bucket=THUMBNAILS_BUCKET, Key=key)["Body"].read()
    assert body == b"first"
    assert head_thumbnail(s3, THUMBNAILS_BUCKET, key) == storage.StoredThumbnail(10, 20, 5)


def test_head_thumbnail_of_a_missing_or_foreign_object(s3, store, seed):
    assert head_thumbnail(s3, THUMBNAILS_BUCKET, f"test/absent/{seed}.webp") is None
    foreign = f"test/foreign/{seed}.webp"
    store.s3.put_object(Bucket=THUMBNAILS_BUCKET, Key=foreign, Body=b"no metadata")

    assert head_thumbnail(s3, THUMBNAILS_BUCKET, foreign) is None


def test_read_source_returns_the_pinned_version(s3, store, seed):
    data = make_png(seed)
    uploaded = store.upload(f"read/{seed}.png", data)

    source = read_source(s3, make_settings(), request_for(uploaded))

    assert not isinstance(source, StorageFailure)
    with source:
        assert source.read() == data


def test_read_source_spills_large_sources_to_disk(s3, store, seed, monkeypatch):
    monkeypatch.setattr(storage, "SPOOL_MEMORY_BYTES", 1024)
    data = make_png(seed)
    uploaded = store.upload(f"spill/{seed}.png", data)

    source = read_source(s3, make_settings(), request_for(uploaded))

    assert not isinstance(source, StorageFailure)
    with source:
        assert source._rolled  # on disk, not in memory
        assert source.read() == data


def test_read_source_of_an_overwritten_file_is_file_changed(s3, store, seed):
    first = store.upload(f"changed/{seed}.png", make_png(seed))
    store.upload(f"changed/{seed}.png", make_png(seed + 1))

    failure = read_source(s3, make_settings(), request_for(first))

    assert isinstance(failure, StorageFailure)
    assert failure.reason_code == FILE_CHANGED


def test_read_source_checks_size_and_sha256(s3, store, seed):
    uploaded = store.upload(f"hash/{seed}.png", make_png(seed))
    wrong = dataclasses.replace(request_for(uploaded), sha256="0" * 64)

    failure = read_source(s3, make_settings(), wrong)

    assert isinstance(failure, StorageFailure)
    assert failure.reason_code == FILE_CHANGED
    assert "sha256" in failure.message


def test_read_source_of_a_deleted_file_is_file_missing(s3, store, seed):
    uploaded = store.upload(f"deleted/{seed}.png", make_png(seed))
    store.delete(uploaded.relative_path)

    failure = read_source(s3, make_settings(), request_for(uploaded))

    assert isinstance(failure, StorageFailure)
    assert failure.reason_code == FILE_MISSING


def test_read_source_refuses_an_object_above_the_limit(s3, store, seed):
    uploaded = store.upload(f"big/{seed}.bin", b"x" * 5000)
    # The request understates the size, so only the object's own length can catch it.
    understated = dataclasses.replace(request_for(uploaded), size_bytes=100)

    failure = read_source(s3, make_settings(max_source_bytes=4096), understated)

    assert isinstance(failure, StorageFailure)
    assert failure.reason_code == FILE_TOO_LARGE


class CountingRenderer:
    """The render seam of ensure_thumbnails: fixed-size fake WebP bytes, calls counted."""

    def __init__(self):
        self.calls: list[list[int]] = []

    def __call__(self, source, sizes):
        self.calls.append(list(sizes))
        assert source.read(8) == b"\x89PNG\r\n\x1a\n"
        return [Thumbnail(size, size, size // 2, b"webp" * size) for size in sizes]


def test_ensure_thumbnails_renders_once_then_answers_from_head(s3, store, seed):
    uploaded = store.upload(f"ensure/{seed}.png", make_png(seed))
    render = CountingRenderer()
    settings = make_settings()

    first = ensure_thumbnails(s3, settings, request_for(uploaded), render)
    store.delete(uploaded.relative_path)  # the second call must not need the source
    second = ensure_thumbnails(s3, settings, request_for(uploaded), render)

    assert render.calls == [[1024, 256]]
    assert first.status == second.status == "ok"
    assert [t.created for t in first.thumbnails] == [True, True]
    assert [t.created for t in second.thumbnails] == [False, False]
    assert [
        (t.size_px, t.thumbnail_key, t.width_px, t.height_px, t.thumbnail_bytes)
        for t in first.thumbnails
    ] == [
        (t.size_px, t.thumbnail_key, t.width_px, t.height_px, t.thumbnail_bytes)
        for t in second.thumbnails
    ]
    assert first.thumbnails[1].thumbnail_key == thumbnail_key(
        uploaded.sha256, uploaded.size_bytes, 256
    )


def test_ensure_thumbnails_renders_only_missing_sizes(s3, store, seed):
    uploaded = store.upload(f"partial/{seed}.png", make_png(seed))
    settings = make_settings()
    ensure_thumbnails(s3, settings, request_for(uploaded), CountingRenderer(), sizes=(256,))
    render = CountingRenderer()

    result = ensure_thumbnails(s3, settings, request_for(uploaded), render)

    assert render.calls == [[1024]]
    assert [(t.size_px, t.created) for t in result.thumbnails] == [(1024, True), (256, False)]


class RecordingVisual:
    """The visual seam of ensure_thumbnails: the bytes it was given, and a payload of them."""

    def __init__(self, failure: RenderFailure | None = None):
        self.seen: list[bytes] = []
        self.failure = failure

    def __call__(self, data: bytes):
        self.seen.append(data)
        if self.failure is not None:
            return self.failure
        digest = hashlib.sha256(data).hexdigest()
        return {
            "dominant_colors": [],
            "phash": digest[:16],
            "edge_phash": digest[16:32],
            "thumbhash": "AAAA",
        }


def test_the_visual_facet_comes_from_the_256_px_bytes_written_or_stored(s3, store, seed):
    uploaded = store.upload(f"visual/{seed}.png", make_png(seed))
    settings = make_settings()
    visual = RecordingVisual()

    first = ensure_thumbnails(
        s3, settings, request_for(uploaded), CountingRenderer(), visual=visual
    )
    store.delete(uploaded.relative_path)
    second = ensure_thumbnails(
        s3, settings, request_for(uploaded), CountingRenderer(), visual=visual
    )

    assert visual.seen == [b"webp" * 256, b"webp" * 256]  # written, then read back from S3
    assert first.visual == second.visual
    assert first.visual is not None and first.visual.status == "ok"
    assert first.visual.payload["phash"] == hashlib.sha256(b"webp" * 256).hexdigest()[:16]


def test_a_visual_facet_failure_of_the_thumbnail_is_recorded_one_of_the_renderer_retried(
    s3, store, seed
):
    uploaded = store.upload(f"visual-fail/{seed}.png", make_png(seed))
    settings = make_settings()
    bad = RecordingVisual(RenderFailure(RENDER_FAILED, "not a WebP"))
    down = RecordingVisual(RenderFailure(RENDERER_UNAVAILABLE, "no worker"))

    recorded = ensure_thumbnails(
        s3, settings, request_for(uploaded), CountingRenderer(), visual=bad
    )
    retried = ensure_thumbnails(
        s3, settings, request_for(uploaded), CountingRenderer(), visual=down
    )

    assert recorded.status == "ok"
    assert recorded.visual is not None
    assert (recorded.visual.status, recorded.visual.reason_code) == ("failed", RENDER_FAILED)
    assert (retried.status, retried.reason_code, retried.visual) == (
        "failed",
        RENDERER_UNAVAILABLE,
        None,
    )


def test_without_a_256_px_size_or_a_visual_seam_there_is_no_visual_facet(s3, store, seed):
    uploaded = store.upload(f"visual-none/{seed}.png", make_png(seed))
    settings = make_settings()
    visual = RecordingVisual()

    only_large = ensure_thumbnails(
        s3, settings, request_for(uploaded), CountingRenderer(), sizes=(1024,), visual=visual
    )
    no_seam = ensure_thumbnails(s3, settings, request_for(uploaded), CountingRenderer())

    assert only_large.visual is None and no_seam.visual is None
    assert visual.seen == []


def test_unreachable_s3_is_a_transient_failure_not_an_exception(monkeypatch, seed):
    for name, value in aws_env(f"http://127.0.0.1:{free_port()}").items():
        monkeypatch.setenv(name, value)
    client = make_s3_client()
    request = RenderRequest("a.png", "etag", "ab" * 32, 10)

    result = ensure_thumbnails(client, make_settings(), request, CountingRenderer())

    assert result.status == "failed"
    assert result.reason_code == STORAGE_UNAVAILABLE
    assert "transient" in (result.message or "")


def test_a_missing_thumbnails_bucket_is_a_storage_failure(s3, store, seed):
    uploaded = store.upload(f"nobucket/{seed}.png", make_png(seed))

    result = ensure_thumbnails(
        s3,
        make_settings(thumbnails_bucket="no-such-bucket"),
        request_for(uploaded),
        CountingRenderer(),
    )

    assert result.status == "failed"
    assert result.reason_code == STORAGE_UNAVAILABLE


def test_boto3_is_only_imported_by_storage():
    import ast
    import pathlib

    package = pathlib.Path(storage.__file__).parent
    importers = {
        path.name
        for path in package.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            (alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
            in {"boto3", "botocore"}
            for alias in node.names
        )
    }
    assert importers == {"storage.py"}
