from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

from ecs_render.app import create_app
from ecs_render.settings import RenderSettings, SettingsError
from ecs_render.visual import visual_of_thumbnail
from pixelforge_core.facets import facet
from pixelforge_core.reason_codes import (
    ALL_REASON_CODES,
    FILE_CHANGED,
    FILE_MISSING,
    FILE_TOO_LARGE,
    RENDER_FAILED,
    RENDER_TIMEOUT,
)
from pixelforge_core.render_wire import STORAGE_UNAVAILABLE, thumbnail_key, visual_payload_problem

from .conftest import (
    DESIGNS_BUCKET,
    DESIGNS_PREFIX,
    THUMBNAILS_BUCKET,
    aws_env,
    free_port,
    make_png,
    make_settings,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client(s3_env):
    with TestClient(create_app(make_settings())) as client:
        yield client


def render(client, *rows, **kwargs):
    response = client.post("/render", json={"data": list(rows)}, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_healthz(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_rows_keep_their_order_and_numbers_and_both_sizes_are_written(client, store, seed):
    files = [store.upload(f"order/{seed}/{n}.png", make_png(seed + n)) for n in range(3)]

    data = render(client, files[2].row(2), files[0].row(0), files[1].row(1))

    assert [row_number for row_number, _ in data] == [2, 0, 1]
    for (row_number, result), uploaded in zip(data, [files[2], files[0], files[1]], strict=True):
        assert result["status"] == "ok", (row_number, result)
        assert result["reason_code"] is None
        assert [t["size_px"] for t in result["thumbnails"]] == [1024, 256]
        for thumbnail in result["thumbnails"]:
            key = thumbnail_key(uploaded.sha256, uploaded.size_bytes, thumbnail["size_px"])
            assert thumbnail["thumbnail_key"] == key
            assert thumbnail["created"] is True
            obj = store.s3.get_object(Bucket=THUMBNAILS_BUCKET, Key=key)
            assert obj["ContentType"] == "image/webp"
            body = obj["Body"].read()
            assert len(body) == thumbnail["thumbnail_bytes"]
            image = Image.open(io.BytesIO(body))
            assert image.format == "WEBP"
            assert image.size == (thumbnail["width_px"], thumbnail["height_px"])
            assert max(image.size) == thumbnail["size_px"]  # 1200x800 source: fit the long side


def test_a_second_call_writes_no_new_object(client, store, seed):
    uploaded = store.upload(f"again/{seed}.png", make_png(seed))
    prefix = f"v1/{uploaded.sha256[:2]}/{uploaded.sha256}-{uploaded.size_bytes}/"

    ((_, first),) = render(client, uploaded.row(0))
    before = store.thumbnail_versions(prefix)
    ((_, second),) = render(client, uploaded.row(0))
    after = store.thumbnail_versions(prefix)

    assert [t["created"] for t in first["thumbnails"]] == [True, True]
    assert second["status"] == "ok"
    assert [t["created"] for t in second["thumbnails"]] == [False, False]
    assert len(before) == len(after) == 2
    assert {(v["Key"], v["VersionId"], v["LastModified"]) for v in before} == {
        (v["Key"], v["VersionId"], v["LastModified"]) for v in after
    }
    assert [{**t, "created": None} for t in first["thumbnails"]] == [
        {**t, "created": None} for t in second["thumbnails"]
    ]


def test_the_visual_facet_is_computed_from_the_256_px_thumbnail_new_or_existing(
    client, store, seed
):
    uploaded = store.upload(f"visual/{seed}.png", make_png(seed))

    ((_, first),) = render(client, uploaded.row(0))
    store.delete(uploaded.relative_path)  # the second answer must come from the thumbnail
    ((_, second),) = render(client, uploaded.row(0))

    assert [t["created"] for t in second["thumbnails"]] == [False, False]
    assert first["visual"]["facet"] == "visual"
    assert first["visual"]["version"] == facet("visual").version
    assert first["visual"]["status"] == "ok"
    assert visual_payload_problem(first["visual"]["payload"]) is None
    assert second["visual"] == first["visual"]  # the same bytes in, the same facet out
    key = thumbnail_key(uploaded.sha256, uploaded.size_bytes, 256)
    stored = store.s3.get_object(Bucket=THUMBNAILS_BUCKET, Key=key)["Body"].read()
    assert first["visual"]["payload"] == visual_of_thumbnail(stored)


def test_a_failed_row_has_no_visual_facet(client, store, seed):
    broken = store.upload(f"visual/{seed}-broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 300)

    ((_, result),) = render(client, broken.row(0))

    assert result["status"] == "failed"
    assert result["visual"] is None


def test_a_corrupt_source_fails_its_row_while_others_succeed(client, store, seed):
    good = store.upload(f"mixed/{seed}/good.png", make_png(seed))
    corrupt = store.upload(f"mixed/{seed}/bad.png", make_png(seed + 1)[:300] + b"\0" * 500)

    data = render(client, good.row(0), corrupt.row(1))

    assert data[0][1]["status"] == "ok"
    assert data[1][1]["status"] == "failed"
    assert data[1][1]["reason_code"] in ALL_REASON_CODES
    assert data[1][1]["message"]
    assert data[1][1]["thumbnails"] == []


def test_an_overwritten_file_is_file_changed(client, store, seed):
    first = store.upload(f"overwritten/{seed}.png", make_png(seed))
    store.upload(first.relative_path, make_png(seed + 1))

    ((_, result),) = render(client, first.row(0))

    assert (result["status"], result["reason_code"]) == ("failed", FILE_CHANGED)


def test_a_deleted_file_is_file_missing(client, store, seed):
    uploaded = store.upload(f"deleted/{seed}.png", make_png(seed))
    store.delete(uploaded.relative_path)

    ((_, result),) = render(client, uploaded.row(0))

    assert (result["status"], result["reason_code"]) == ("failed", FILE_MISSING)


def test_an_oversize_file_is_file_too_large(client, store, seed):
    limit = make_settings().max_source_bytes
    uploaded = store.upload(f"huge/{seed}.png", make_png(seed)[:100] + b"\0" * limit)

    ((_, result),) = render(client, uploaded.row(0))

    assert (result["status"], result["reason_code"]) == ("failed", FILE_TOO_LARGE)


def test_a_malformed_row_is_a_failed_row(client, store, seed):
    uploaded = store.upload(f"malformed/{seed}.png", make_png(seed))

    data = render(client, [0, uploaded.relative_path, uploaded.etag, None, 1], uploaded.row(1))

    assert data[0][0] == 0
    assert (data[0][1]["status"], data[0][1]["reason_code"]) == ("failed", RENDER_FAILED)
    assert "sha256" in data[0][1]["message"]
    assert data[1][1]["status"] == "ok"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "not_json"),
        (b'{"rows": []}', "not_a_batch"),
        (b'{"data": "x"}', "not_a_batch"),
    ],
)
def test_a_malformed_batch_is_a_400(client, body, code):
    response = client.post("/render", content=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("compressed", "headers"),
    [
        pytest.param(True, {"Content-Encoding": "gzip"}, id="gzip-with-header"),
        # API Gateway inflated the payload but forwarded the header
        pytest.param(False, {"Content-Encoding": "gzip"}, id="plain-with-stale-gzip-header"),
        # the header was dropped on the way
        pytest.param(True, {}, id="gzip-without-header"),
        pytest.param(False, {}, id="plain"),
    ],
)
def test_a_batch_is_read_by_its_bytes_not_its_header(client, store, seed, compressed, headers):
    uploaded = store.upload(f"gzip/{seed}.png", make_png(seed))
    body = json.dumps({"data": [uploaded.row(0)]}).encode()
    if compressed:
        body = gzip.compress(body)

    response = client.post("/render", content=body, headers=headers)

    assert response.status_code == 200
    assert response.json()["data"][0][1]["status"] == "ok"


def test_a_killed_worker_is_replaced(client, store, seed):
    decoders = client.app_state["pool"].decoders
    old_pids = set(decoders.pids())
    for pid in old_pids:
        os.kill(pid, signal.SIGKILL)
    uploaded = store.upload(f"crash/{seed}.png", make_png(seed))

    ((_, result),) = render(client, uploaded.row(0))

    assert old_pids
    assert result["status"] == "ok"
    new_pids = set(decoders.pids())
    assert new_pids and not new_pids & old_pids


def test_unreachable_s3_gives_transient_failed_rows_not_a_500(monkeypatch, seed):
    for name, value in aws_env(f"http://127.0.0.1:{free_port()}").items():
        monkeypatch.setenv(name, value)  # inherited by the pool's spawned workers
    rows = [[n, f"any/{n}.png", "etag", f"{n:02x}" * 32, 10] for n in range(3)]

    with TestClient(create_app(make_settings(render_workers=1))) as client:
        data = render(client, *rows)

    assert [row_number for row_number, _ in data] == [0, 1, 2]
    for _, result in data:
        assert (result["status"], result["reason_code"]) == ("failed", STORAGE_UNAVAILABLE)
        assert "transient" in result["message"]


def test_a_row_over_its_time_budget_is_render_timeout(s3_env, store, seed):
    uploaded = store.upload(f"slow/{seed}.png", make_png(seed, size=(3000, 2000)))
    settings = make_settings(
        render_workers=1, render_timeout_s=0.05, max_source_bytes=64 * 1024 * 1024
    )

    with TestClient(create_app(settings)) as client:
        ((_, result),) = render(client, uploaded.row(0))

    assert (result["status"], result["reason_code"]) == ("failed", RENDER_TIMEOUT)


def test_the_service_over_real_http(s3_env, store, seed):
    uploaded = store.upload(f"http/{seed}.png", make_png(seed))
    port = free_port()
    env = {
        **os.environ,
        **s3_env,
        "PIXELFORGE_DESIGNS_BUCKET": DESIGNS_BUCKET,
        "PIXELFORGE_DESIGNS_PREFIX": DESIGNS_PREFIX,
        "PIXELFORGE_THUMBNAILS_BUCKET": THUMBNAILS_BUCKET,
        "PIXELFORGE_RENDER_WORKERS": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ecs_render", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, server)
        request = urllib.request.Request(
            f"{base}/render",
            data=json.dumps({"data": [uploaded.row(0), [1, "x"]]}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            data = json.loads(response.read())["data"]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output = server.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            server.kill()
            raise

    # uvicorn re-raises the SIGTERM it handled once the lifespan has shut down cleanly.
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert [row_number for row_number, _ in data] == [0, 1]
    assert data[0][1]["status"] == "ok"
    assert data[1][1]["status"] == "failed"
    assert "render batch rows=2 ok=1 failed=1" in output


def _wait_healthy(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"server exited: {server.communicate()[0].decode()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy within 30 s")


def test_settings_from_env_defaults_and_parsing():
    defaults = RenderSettings.from_env({})
    parsed = RenderSettings.from_env(
        {
            "PIXELFORGE_DESIGNS_BUCKET": "d-bucket",
            "PIXELFORGE_DESIGNS_PREFIX": "in/",
            "PIXELFORGE_THUMBNAILS_BUCKET": "t-bucket",
            "PIXELFORGE_RENDER_WORKERS": "3",
            "PIXELFORGE_RENDER_TIMEOUT_S": "2.5",
            "PIXELFORGE_MAX_SOURCE_BYTES": "1000",
            "PIXELFORGE_RENDER_SYNC_WAIT_S": "5",
            "PIXELFORGE_RENDER_WORKER_MEMORY_MIB": "1536",
            "PIXELFORGE_RENDER_ALLOW_UNCONFINED": "true",
        }
    )

    assert (defaults.designs_bucket, defaults.designs_prefix, defaults.thumbnails_bucket) == (
        "pixelforge-designs",
        "",
        "pixelforge-thumbnails",
    )
    assert defaults.render_workers == (os.cpu_count() or 1)
    assert (defaults.render_timeout_s, defaults.max_source_bytes) == (60.0, 256 * 1024 * 1024)
    assert defaults.sync_wait_s == 20.0
    assert (defaults.worker_memory_limit_mib, defaults.allow_unconfined) == (2048, False)
    assert (defaults.max_batch_rows, defaults.max_running_batches) == (64, 16)
    assert parsed == RenderSettings(
        designs_bucket="d-bucket",
        designs_prefix="in/",
        thumbnails_bucket="t-bucket",
        render_workers=3,
        render_timeout_s=2.5,
        max_source_bytes=1000,
        sync_wait_s=5.0,
        worker_memory_limit_mib=1536,
        allow_unconfined=True,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # removed: the sizes are the core's (pixelforge_core.render_wire), shared with the
        # procedures, so any value is refused by name
        ("PIXELFORGE_THUMBNAIL_SIZES", "1024,big"),
        ("PIXELFORGE_THUMBNAIL_SIZES", "256,256"),
        ("PIXELFORGE_THUMBNAIL_SIZES", "512,128"),
        ("PIXELFORGE_RENDER_WORKERS", "0"),
        ("PIXELFORGE_RENDER_WORKERS", "two"),
        ("PIXELFORGE_RENDER_TIMEOUT_S", "-1"),
        ("PIXELFORGE_RENDER_TIMEOUT_S", "inf"),
        ("PIXELFORGE_MAX_SOURCE_BYTES", "0"),
        ("PIXELFORGE_DESIGNS_BUCKET", "a/b"),
        ("PIXELFORGE_RENDER_SYNC_WAIT_S", "29"),  # API Gateway would cut the request first
        ("PIXELFORGE_RENDER_WORKER_MEMORY_MIB", "256"),  # the decoders alone map more
        ("PIXELFORGE_RENDER_ALLOW_UNCONFINED", "maybe"),
        ("PIXELFORGE_RENDER_MAX_BATCH_ROWS", "0"),
        ("PIXELFORGE_RENDER_MAX_RUNNING_BATCHES", "0"),
        ("PIXELFORGE_RENDER_MAX_RUNNING_BATCHES", "many"),
    ],
)
def test_settings_from_env_rejects_bad_values_by_name(name, value):
    with pytest.raises(SettingsError, match=name):
        RenderSettings.from_env({name: value})
