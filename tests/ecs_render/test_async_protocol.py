"""Snowflake's asynchronous protocol against the real app and a moto S3 server.

POST with a batch id -> 202 while the batch renders in the background -> GET with the same id
-> 200 with the results; retries reuse the id; a GET may reach another task (another app
instance sharing the bucket).
"""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest
from starlette.testclient import TestClient

from ecs_render.app import create_app
from ecs_render.batches import BATCH_ID_HEADER, accepted_key, result_key
from ecs_render.settings import MAX_SYNC_WAIT_S, RenderSettings, SettingsError
from pixelforge_core.reason_codes import FILE_MISSING, RENDER_FAILED

from .conftest import THUMBNAILS_BUCKET, make_png, make_settings

SLOW_SETTINGS = make_settings(render_workers=1, sync_wait_s=0.2, max_source_bytes=64 * 1024**2)


@pytest.fixture(scope="module")
def task_a(s3_env):
    """One ECS task; its sync wait is short, so a batch of large files goes async."""
    with TestClient(create_app(SLOW_SETTINGS)) as client:
        yield client


@pytest.fixture(scope="module")
def task_b(s3_env):
    """A second ECS task behind the same load balancer, sharing the thumbnails bucket."""
    with TestClient(create_app(SLOW_SETTINGS)) as client:
        yield client


def headers(batch_id: str) -> dict[str, str]:
    return {
        BATCH_ID_HEADER: batch_id,
        "sf-external-function-format": "json",
        "sf-external-function-format-version": "1.0",
        "sf-external-function-name": "RENDER_THUMBNAIL",
    }


def poll_until_done(client, batch_id: str, timeout_s: float = 60.0) -> tuple[list[int], bytes]:
    """GET as Snowflake does until a 200; every status seen, and the final body."""
    statuses = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get("/render", headers=headers(batch_id))
        statuses.append(response.status_code)
        if response.status_code != 202:
            assert response.status_code == 200, response.text
            return statuses, response.content
        time.sleep(0.1)
    raise AssertionError(f"batch {batch_id} did not finish in {timeout_s} s: {statuses}")


def slow_rows(store, seed: int) -> list[list]:
    """Three large PNGs (well over 0.2 s on one worker), a missing file and a malformed row."""
    files = [
        store.upload(f"async/{seed}/{n}.png", make_png(seed + n, size=(2400, 1600)))
        for n in range(3)
    ]
    missing = store.upload(f"async/{seed}/gone.png", make_png(seed + 9))
    store.delete(missing.relative_path)
    return [*(f.row(n) for n, f in enumerate(files)), missing.row(3), [4, "x"]]


def stored_keys(store, prefix: str) -> set[tuple[str, str]]:
    return {(v["Key"], v["VersionId"]) for v in store.thumbnail_versions(prefix)}


def without_created(data: list) -> list:
    return [
        [row, {**result, "thumbnails": [{**t, "created": None} for t in result["thumbnails"]]}]
        for row, result in data
    ]


def wait_until_stored(client, timeout_s: float = 10.0) -> None:
    """A GET may be answered from memory while the result is still being written to S3."""
    deadline = time.monotonic() + timeout_s
    while client.app_state["batches"].running:
        assert time.monotonic() < deadline, "the finished batch was not stored in time"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def finished_async_batch(task_a, store):
    """A batch answered 202 on task A and polled there until done: (batch id, rows, body)."""
    rows = slow_rows(store, seed=7001)
    batch_id = str(uuid.uuid4())

    response = task_a.post("/render", json={"data": rows}, headers=headers(batch_id))

    assert response.status_code == 202, response.text
    assert response.json() == {}
    _, body = poll_until_done(task_a, batch_id)
    wait_until_stored(task_a)
    return batch_id, rows, body


def test_a_slow_batch_answers_202_then_200_with_the_synchronous_data(
    finished_async_batch, task_a, store
):
    batch_id, rows, body = finished_async_batch
    data = json.loads(body)["data"]

    assert [row for row, _ in data] == [0, 1, 2, 3, 4]
    assert [result["status"] for _, result in data] == ["ok", "ok", "ok", "failed", "failed"]
    assert [result["reason_code"] for _, result in data[3:]] == [FILE_MISSING, RENDER_FAILED]
    assert all(t["created"] for _, result in data[:3] for t in result["thumbnails"])
    # the same rows without a batch id: the synchronous answer, now finding every thumbnail
    sync = task_a.post("/render", json={"data": rows})
    assert sync.status_code == 200
    assert without_created(sync.json()["data"]) == without_created(data)
    # what another task needs: the result body, and the record that a task accepted the batch
    stored = store.s3.get_object(Bucket=THUMBNAILS_BUCKET, Key=result_key(batch_id))
    assert stored["Body"].read() == body
    accepted = store.s3.get_object(Bucket=THUMBNAILS_BUCKET, Key=accepted_key(batch_id))
    assert json.loads(accepted["Body"].read())["rows"] == 5
    assert task_a.app_state["batches"].running == 0  # stored, so dropped from memory
    assert batch_id not in task_a.app_state["batches"]._recent


def test_a_retried_post_returns_the_stored_result_without_rendering(
    finished_async_batch, task_a, store, caplog
):
    batch_id, rows, body = finished_async_batch
    caplog.set_level(logging.INFO, logger="ecs_render")
    pool = task_a.app_state["pool"]
    rows_before = pool.rows_started
    objects_before = stored_keys(store, "")

    retried = task_a.post("/render", json={"data": rows}, headers=headers(batch_id))

    assert retried.status_code == 200
    assert retried.content == body  # byte for byte: "created": true, as first rendered
    assert pool.rows_started == rows_before
    assert stored_keys(store, "") == objects_before
    assert f"batch {batch_id} answered from its stored result" in caplog.text
    assert "render batch rows=" not in caplog.text


def test_a_get_on_another_task_finds_the_stored_result(finished_async_batch, task_b):
    batch_id, _, body = finished_async_batch

    response = task_b.get("/render", headers=headers(batch_id))

    assert response.status_code == 200
    assert response.content == body
    assert task_b.app_state["pool"].rows_started == 0


def test_a_get_on_another_task_waits_while_the_batch_is_accepted_elsewhere(task_b, store):
    batch_id = str(uuid.uuid4())
    # what task A writes before it answers its 202; the result is not there yet
    store.s3.put_object(Bucket=THUMBNAILS_BUCKET, Key=accepted_key(batch_id), Body=b"{}")

    response = task_b.get("/render", headers=headers(batch_id))

    assert response.status_code == 202


def test_a_get_for_a_batch_no_task_accepted_is_404(task_b):
    batch_id = str(uuid.uuid4())

    response = task_b.get("/render", headers=headers(batch_id))

    assert response.status_code == 404
    assert batch_id in response.json()["error"]["message"]


def test_a_post_retried_while_its_batch_runs_joins_it(task_a, store, seed):
    rows = slow_rows(store, seed)
    batch_id = str(uuid.uuid4())
    pool = task_a.app_state["pool"]
    rows_before = pool.rows_started

    first = task_a.post("/render", json={"data": rows}, headers=headers(batch_id))
    second = task_a.post("/render", json={"data": rows}, headers=headers(batch_id))
    _, body = poll_until_done(task_a, batch_id)

    assert first.status_code == 202
    assert second.status_code in (200, 202)
    if second.status_code == 200:
        assert second.content == body
    assert pool.rows_started == rows_before + 4  # the malformed row never reaches the pool
    assert [r["status"] for _, r in json.loads(body)["data"][:3]] == ["ok", "ok", "ok"]


def test_a_batch_done_within_the_sync_wait_answers_200_and_stores_nothing(s3_env, store, seed):
    uploaded = store.upload(f"fast/{seed}.png", make_png(seed, size=(300, 200)))
    batch_id = str(uuid.uuid4())
    body = {"data": [uploaded.row(0)]}

    with TestClient(create_app(make_settings(render_workers=1))) as client:
        first = client.post("/render", json=body, headers=headers(batch_id))
        rows_after_first = client.app_state["pool"].rows_started
        retried = client.post("/render", json=body, headers=headers(batch_id))
        rows_after_retry = client.app_state["pool"].rows_started

    assert first.status_code == 200
    assert first.json()["data"][0][1]["status"] == "ok"
    # never polled, so nothing under batches/; this task remembers it for a retried POST
    assert not stored_keys(store, result_key(batch_id).removesuffix(".json"))
    assert retried.status_code == 200
    assert retried.content == first.content
    assert rows_after_retry == rows_after_first == 1


def test_a_get_without_a_batch_id_is_400(task_a):
    response = task_a.get("/render")

    assert response.status_code == 400
    assert BATCH_ID_HEADER in response.json()["error"]["message"]


def test_a_malformed_batch_with_a_batch_id_is_still_400(task_a):
    response = task_a.post("/render", content=b"{not json", headers=headers(str(uuid.uuid4())))

    assert response.status_code == 400
    assert response.json()["error"]


def test_sync_wait_setting_is_read_and_bounded_under_api_gateway_timeout():
    assert RenderSettings.from_env({}).sync_wait_s == 20.0
    assert RenderSettings.from_env({"PIXELFORGE_RENDER_SYNC_WAIT_S": "0.5"}).sync_wait_s == 0.5
    for bad in ("-1", "nan", str(MAX_SYNC_WAIT_S + 1), "soon"):
        with pytest.raises(SettingsError, match="PIXELFORGE_RENDER_SYNC_WAIT_S"):
            RenderSettings.from_env({"PIXELFORGE_RENDER_SYNC_WAIT_S": bad})
