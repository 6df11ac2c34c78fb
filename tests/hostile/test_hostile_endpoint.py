"""Hostile requests to the render service's endpoint: every one gets a 4xx (a 429 when the task
is full) with a stable code in {"error": {"code", "message"}}, never a 500, and costs no more than
a batch of max_batch_rows rows would. Snowflake ends the query on a 4xx and retries a 5xx with the
same batch id ("External functions best practices",
https://docs.snowflake.com/en/sql-reference/external-functions-best-practices).

Runs the real app (real worker pool, moto S3); the body-reading cases call the ASGI app directly,
where a test controls how many chunks the server pulls.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import time
import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from ecs_render.app import body_limit, create_app
from ecs_render.batches import BATCH_ID_HEADER
from ecs_render.settings import DEFAULT_MAX_BATCH_ROWS, RenderSettings
from ecs_render.storage import OBJECT_CHANGED
from pixelforge_core.reason_codes import FILE_CHANGED, RENDER_FAILED, RENDER_TIMEOUT
from pixelforge_core.render_budget import RENDER_BUDGET
from tests.ecs_render import probes
from tests.ecs_render.conftest import (
    DESIGNS_BUCKET,
    DESIGNS_PREFIX,
    make_png,
    make_settings,
    moto_endpoint,  # noqa: F401  (a fixture, found by name)
    s3_env,  # noqa: F401
    seed,  # noqa: F401
    store,  # noqa: F401
)

SHA = "ab" * 32
ROW = [0, "a.png", "e", SHA, 1]
SETTINGS = make_settings(render_workers=1)
LIMIT = body_limit(SETTINGS)


@pytest.fixture(scope="module")
def client(s3_env) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(SETTINGS)) as client:
        yield client


def batch(*rows: object) -> bytes:
    return json.dumps({"data": list(rows)}).encode()


def error_of(response) -> dict[str, str]:
    """The error body, checked for its shape: a code and a one-line message."""
    error = response.json()["error"]
    assert set(error) == {"code", "message"}, error
    assert error["code"] and error["message"] and "\n" not in error["message"]
    return error


def nested(depth: int) -> bytes:
    value = "[" * (depth - 3) + "1" + "]" * (depth - 3)
    return b'{"data": [[0, "a.png", "e", "' + SHA.encode() + b'", ' + value.encode() + b"]]}"


def _gzip_of_zeros(size: int) -> bytes:
    return gzip.compress(b'{"data": [' + b" " * size + b"]}")


HOSTILE_BODIES = [
    pytest.param(b"{not json", {}, 400, "not_json", id="malformed-json"),
    pytest.param(b'{"data": [[0, "a.png"', {}, 400, "not_json", id="cut-json"),
    pytest.param(b'{"data": [[0, "\xff", "e", "x", 1]]}', {}, 400, "not_utf8", id="not-utf8"),
    pytest.param('{"data": []}'.encode("utf-16"), {}, 400, "not_utf8", id="utf16-json"),
    pytest.param(b'{"data": [[0, "a", "e", "x", NaN]]}', {}, 400, "not_json", id="nan"),
    pytest.param(
        b'{"data": [[' + b"9" * 100_000 + b', "a", "e", "x", 1]]}',
        {},
        400,
        "number_out_of_range",
        id="100000-digit-row-number",
    ),
    pytest.param(
        batch([0, "a.png", "e", SHA, 2**63]), {}, 400, "number_out_of_range", id="size-int64+1"
    ),
    pytest.param(
        batch([-(2**63) - 1, "a.png", "e", SHA, 1]),
        {},
        400,
        "number_out_of_range",
        id="row-number-below-int64",
    ),
    pytest.param(nested(9), {}, 400, "too_deep", id="9-deep"),
    pytest.param(b"[" * 200_000 + b"]" * 200_000, {}, 400, "too_deep", id="200000-deep"),
    pytest.param(b"[]", {}, 400, "not_a_batch", id="array"),
    pytest.param(b'{"rows": []}', {}, 400, "not_a_batch", id="no-data"),
    pytest.param(b'{"data": {"0": 1}}', {}, 400, "not_a_batch", id="data-object"),
    pytest.param(
        batch(*[ROW] * (DEFAULT_MAX_BATCH_ROWS + 1)), {}, 413, "too_many_rows", id="rows-over-cap"
    ),
    pytest.param(b" " * (LIMIT + 1), {}, 413, "body_too_large", id="body-over-limit"),
    pytest.param(_gzip_of_zeros(LIMIT), {}, 413, "body_too_large", id="gzip-inflates-over-limit"),
    pytest.param(_gzip_of_zeros(16 * 1024 * 1024), {}, 413, "body_too_large", id="gzip-bomb-16mib"),
    pytest.param(b"\x1f\x8b\x08\x00garbage", {}, 400, "bad_gzip", id="bad-gzip"),
    pytest.param(gzip.compress(batch(ROW))[:-12], {}, 400, "bad_gzip", id="truncated-gzip"),
    pytest.param(
        batch(ROW), {BATCH_ID_HEADER: "b" * 1000}, 400, "bad_batch_id", id="batch-id-too-long"
    ),
]


@pytest.mark.parametrize(("body", "headers", "status", "code"), HOSTILE_BODIES)
def test_security_hostile_post_is_a_4xx_with_a_stable_code(client, body, headers, status, code):
    started = time.perf_counter()
    response = client.post("/render", content=body, headers=headers)
    seconds = time.perf_counter() - started

    assert (response.status_code, error_of(response)["code"]) == (status, code), response.text
    assert seconds < 2.0


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        pytest.param(
            "GET",
            "/render",
            {BATCH_ID_HEADER: "never-accepted"},
            404,
            "unknown_batch",
            id="unknown",
        ),
        pytest.param("GET", "/render", {}, 400, "missing_batch_id", id="get-without-id"),
        pytest.param(
            "GET", "/render", {BATCH_ID_HEADER: "x" * 300}, 400, "bad_batch_id", id="long"
        ),
        pytest.param("PUT", "/render", {}, 405, "method_not_allowed", id="put"),
        pytest.param("GET", "/admin", {}, 404, "not_found", id="other-path"),
    ],
)
def test_security_bad_poll_or_route_has_a_stable_code(client, method, path, headers, status, code):
    response = client.request(method, path, headers=headers)

    assert (response.status_code, error_of(response)["code"]) == (status, code), response.text


def test_security_unknown_batch_id_is_404_even_with_a_fresh_uuid(client):
    batch_id = str(uuid.uuid4())

    response = client.get("/render", headers={BATCH_ID_HEADER: batch_id})

    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_batch"
    assert batch_id in error_of(response)["message"]


def test_security_wrong_types_fail_their_rows_and_spare_the_good_one(client, store, seed):  # noqa: F811
    uploaded = store.upload(f"endpoint/{seed}.png", make_png(seed, size=(300, 200)))
    wrong_rows = [
        [1, {"path": "a.png"}, "e", SHA, 1],
        [2, "a.png", ["e"], SHA, 1],
        [3, "a.png", "e\r\nX-Injected: 1", SHA, 1],
        [4, "\ud800.png", "e", SHA, 1],
        [5, "a.png", "e", "f" * 100_000, 1],
        [6, "a.png", "e", SHA, 1e300],
        [7, "a.png", "e", SHA, [[[[1]]]]],
        [8, "a.png", "e", SHA, True],
        "not a row",
    ]
    body = json.dumps({"data": [uploaded.row(0), *wrong_rows]}).encode()

    response = client.post("/render", content=body)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [number for number, _ in data] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert data[0][1]["status"] == "ok"
    for _, result in data[1:]:
        assert (result["status"], result["reason_code"]) == ("failed", RENDER_FAILED), result
        assert result["message"].startswith("malformed row") and len(result["message"]) < 200


# --- the body is bounded before and while it is read --------------------------------------------


def call_app(headers: dict[str, str], chunks: Iterator[bytes]) -> tuple[int, dict, int]:
    """POST /render straight into the ASGI app: (status, error body, chunks the app pulled).
    No lifespan: a refused body must be refused before the pool or the registry is touched."""
    app = create_app(SETTINGS)
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/render",
        "raw_path": b"/render",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {"settings": SETTINGS},
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body)["error"], pulled


def endless(chunk_bytes: int = 64 * 1024) -> Iterator[bytes]:
    while True:
        yield b" " * chunk_bytes


def test_security_a_declared_oversized_body_is_refused_before_reading():
    status, error, pulled = call_app({"content-length": str(LIMIT + 1)}, endless())

    assert (status, error["code"]) == (413, "body_too_large")
    assert pulled == 0


@pytest.mark.parametrize(
    "declared", ["12abc", "-1", "\uff11\uff12"], ids=["letters", "negative", "fullwidth"]
)
def test_security_a_malformed_content_length_is_400(declared):
    status, error, pulled = call_app({"content-length": declared}, endless())

    assert (status, error["code"]) == (400, "bad_content_length")
    assert pulled == 0


def test_security_an_endless_chunked_body_is_cut_at_the_limit():
    status, error, pulled = call_app({"transfer-encoding": "chunked"}, endless())

    assert (status, error["code"]) == (413, "body_too_large")
    assert pulled == LIMIT // (64 * 1024) + 1  # the chunk that crosses the limit, no more


def test_security_a_content_length_that_lies_low_is_cut_at_the_limit_too():
    status, error, pulled = call_app({"content-length": "10"}, endless())

    assert (status, error["code"]) == (413, "body_too_large")
    assert pulled == LIMIT // (64 * 1024) + 1


# --- limits against the plan ----------------------------------------------------------------------


def test_security_row_and_batch_caps_cover_what_the_plan_sends():
    defaults = RenderSettings()

    # Snowflake sends at most MAX_BATCH_ROWS rows per batch (the plan's budget) ...
    assert defaults.max_batch_rows >= RENDER_BUDGET.max_batch_rows()
    # ... and the budget plans this many batches in flight per task.
    assert defaults.max_running_batches >= RENDER_BUDGET.concurrent_batches_per_task


def test_security_the_body_limit_fits_a_full_batch_of_worst_case_rows():
    # 1024 non-BMP characters, each escaped as a surrogate pair (json.dumps' default).
    path = "\U0001f600" * 1024
    rows = [[2**63 - 1, path, "e" * 255, SHA, 2**63 - 1] for _ in range(SETTINGS.max_batch_rows)]
    body = json.dumps({"data": rows}, indent=1).encode()

    assert len(body) <= LIMIT
    assert len(json.loads(body)["data"]) == SETTINGS.max_batch_rows


def test_security_settings_read_the_caps_from_the_environment():
    parsed = RenderSettings.from_env(
        {"PIXELFORGE_RENDER_MAX_BATCH_ROWS": "100", "PIXELFORGE_RENDER_MAX_RUNNING_BATCHES": "3"}
    )

    assert (parsed.max_batch_rows, parsed.max_running_batches) == (100, 3)


# --- too many batches at once ---------------------------------------------------------------------


def test_security_a_full_task_answers_429_with_retry_after(s3_env, store, seed):  # noqa: F811
    hung = store.upload(f"endpoint-busy/{seed}.png", make_png(seed)[:2000] + probes.HANG_MARKER)
    settings = make_settings(
        render_workers=1, max_running_batches=1, sync_wait_s=0.0, render_timeout_s=1.0
    )
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    body = batch(hung.row(0))

    with TestClient(create_app(settings, f"{probes.__name__}:crash_on_marker")) as client:
        accepted = client.post("/render", content=body, headers={BATCH_ID_HEADER: first})
        refused = client.post("/render", content=body, headers={BATCH_ID_HEADER: second})
        unnamed = client.post("/render", content=body)
        retried = client.post("/render", content=body, headers={BATCH_ID_HEADER: first})
        finished = _poll(client, first)
        # room again once the first is done and stored: retried as Snowflake retries a 429
        # (a batch of one malformed row, which needs no worker)
        later = _post_until_admitted(client, batch([0, "x"]), second)

    assert accepted.status_code == 202
    for response in (refused, unnamed):
        assert response.status_code == 429, response.text
        assert error_of(response)["code"] == "too_many_batches"
        assert int(response.headers["Retry-After"]) > 0
    assert retried.status_code == 202  # a retry of the running batch joins it, never refused
    assert finished["data"][0][1]["reason_code"] == RENDER_TIMEOUT
    assert later.status_code == 200, later.text


def _post_until_admitted(client: TestClient, body: bytes, batch_id: str):
    deadline = time.monotonic() + 10.0
    while True:
        response = client.post("/render", content=body, headers={BATCH_ID_HEADER: batch_id})
        if response.status_code != 429 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def _poll(client: TestClient, batch_id: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get("/render", headers={BATCH_ID_HEADER: batch_id})
        if response.status_code == 200:
            return response.json()
        assert response.status_code == 202, response.text
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not finish within {timeout_s} s")


# --- file_changed says nothing about another object -----------------------------------------------


@pytest.mark.parametrize("change", ["overwritten", "same_etag_other_hash"])
def test_security_file_changed_reveals_neither_size_nor_sha256(client, store, seed, change):  # noqa: F811
    original = make_png(seed, size=(300, 200))
    uploaded = store.upload(f"changed/{seed}.png", original)
    if change == "overwritten":
        current = make_png(seed + 1, size=(310, 200))
        store.upload(uploaded.relative_path, current)
        row = uploaded.row(0)
    else:  # the caller names the right ETag with a wrong hash and size
        current = original
        row = [0, uploaded.relative_path, uploaded.etag, "0" * 64, 12345]

    ((_, result),) = client.post("/render", content=batch(row)).json()["data"]

    assert (result["status"], result["reason_code"]) == ("failed", FILE_CHANGED)
    where, _, said = result["message"].partition(": ")
    assert where == f"s3://{DESIGNS_BUCKET}/{DESIGNS_PREFIX}{uploaded.relative_path}"
    # the same words whatever the object holds now: no size, no ETag, no hash
    assert said in (OBJECT_CHANGED, f"{OBJECT_CHANGED} (size or sha256 differs)"), said
    assert hashlib.sha256(current).hexdigest() not in result["message"]
