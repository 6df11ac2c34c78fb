"""HttpRenderer, the local Snowflake side of the external function.

Against the real render service over HTTP (uvicorn in a thread, moto S3 on loopback), and
against a scripted loopback server for what a healthy service never does: 5xx, dropped
connections, hangs, a batch that never finishes.
"""

from __future__ import annotations

import gzip
import http.server
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from moto.server import ThreadedMotoServer

from ecs_render.app import create_app
from ecs_render.batches import BATCH_PREFIX
from orchestration.local.external_function import HttpRenderer, PollBackoff, RenderServiceError
from pixelforge_core.render_budget import RENDER_BUDGET
from pixelforge_core.render_wire import RenderRequest, thumbnail_key
from tests.ecs_render.conftest import (
    DESIGNS_BUCKET,
    THUMBNAILS_BUCKET,
    DesignStore,
    aws_env,
    free_port,
    make_png,
    make_settings,
)

FAST_POLLS = PollBackoff(first_s=0.01, factor=1.5, max_s=0.05)


# --- the real service ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store() -> Iterator[DesignStore]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    store = DesignStore(endpoint)
    store.s3.create_bucket(Bucket=DESIGNS_BUCKET)
    store.s3.create_bucket(Bucket=THUMBNAILS_BUCKET)
    store.s3.put_bucket_versioning(
        Bucket=THUMBNAILS_BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in aws_env(endpoint).items():
            patch.setenv(name, value)  # for the app's client and its spawned workers
        yield store
    server.stop()


@pytest.fixture(scope="module")
def render_url(store) -> Iterator[str]:
    """The render service over real HTTP, its sync wait short enough for large files to go async."""
    settings = make_settings(render_workers=1, sync_wait_s=0.2, max_source_bytes=64 * 1024**2)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "render service did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def batch_objects(store: DesignStore) -> set[str]:
    return {v["Key"] for v in store.thumbnail_versions(BATCH_PREFIX)}


def upload_requests(store: DesignStore, name: str, count: int, size: tuple[int, int]):
    uploads = [
        store.upload(f"{name}/{n}.png", make_png(hash((name, n)) & 0xFFFF, size=size))
        for n in range(count)
    ]
    return uploads, [
        RenderRequest(u.relative_path, u.etag, u.sha256, u.size_bytes) for u in uploads
    ]


def test_a_slow_batch_is_polled_until_its_results_arrive(render_url, store):
    uploads, requests = upload_requests(store, "http-async", 3, (2400, 1600))
    before = batch_objects(store)

    results = HttpRenderer(render_url).render(requests)

    assert [r["status"] for r in results] == ["ok", "ok", "ok"]
    for uploaded, result in zip(uploads, results, strict=True):
        assert [t["thumbnail_key"] for t in result["thumbnails"]] == [
            thumbnail_key(uploaded.sha256, uploaded.size_bytes, size) for size in (1024, 256)
        ]
    # the service answered 202 (it records the acceptance first) and stored the result
    new = batch_objects(store) - before
    assert len(new) == 2
    (result,) = (key for key in new if not key.endswith(".accepted.json"))
    assert new == {result, result.removesuffix(".json") + ".accepted.json"}


def test_a_quick_batch_is_answered_by_the_post_alone(render_url, store):
    _, requests = upload_requests(store, "http-quick", 1, (120, 80))
    before = batch_objects(store)

    results = HttpRenderer(render_url).render(requests)

    assert [r["status"] for r in results] == ["ok"]
    assert batch_objects(store) == before


def test_an_empty_batch_sends_nothing():
    assert HttpRenderer(f"http://127.0.0.1:{free_port()}").render([]) == []


# --- a scripted service ------------------------------------------------------------------------

DROP = "drop"  # close the connection without answering


@dataclass(frozen=True)
class Seen:
    method: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Hang:
    seconds: float


class ScriptedService:
    """Loopback HTTP server answering each request with the next step; the last step repeats."""

    def __init__(self, *script) -> None:
        self.script = list(script)
        self.seen: list[Seen] = []
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                service.handle(self)

            def do_GET(self) -> None:
                service.handle(self)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        self.seen.append(
            Seen(handler.command, {k.lower(): v for k, v in handler.headers.items()}, body)
        )
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if step == DROP:
            handler.close_connection = True
            return
        if isinstance(step, Hang):
            time.sleep(step.seconds)
            return
        status, payload = step
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up first

    def __enter__(self) -> ScriptedService:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def requests_for(count: int) -> list[RenderRequest]:
    return [RenderRequest(f"f/{n}.png", f"etag{n}", f"{n:02x}" * 32, 10 + n) for n in range(count)]


def ok_body(count: int) -> dict:
    return {"data": [[n, {"status": "ok", "row": n}] for n in range(count)]}


def test_posts_then_polls_with_snowflakes_headers_and_growing_waits():
    waits: list[float] = []
    with ScriptedService((202, {}), (202, {}), (202, {}), (200, ok_body(2))) as service:
        renderer = HttpRenderer(service.url, sleep=waits.append)
        results = renderer.render(requests_for(2))

    assert results == [{"status": "ok", "row": 0}, {"status": "ok", "row": 1}]
    assert [seen.method for seen in service.seen] == ["POST", "GET", "GET", "GET"]
    post, *polls = service.seen
    batch_id = post.headers["sf-external-function-query-batch-id"]
    assert uuid.UUID(batch_id).version == 4
    for seen in service.seen:
        assert seen.headers["sf-external-function-query-batch-id"] == batch_id
        assert seen.headers["sf-external-function-format"] == "json"
        assert seen.headers["sf-external-function-format-version"] == "1.0"
        assert seen.headers["sf-external-function-name"] == "RENDER_THUMBNAIL"
    # COMPRESSION = AUTO: gzip on AWS, as Snowflake sends it
    assert post.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(post.body))["data"] == [
        [0, "f/0.png", "etag0", "00" * 32, 10],
        [1, "f/1.png", "etag1", "01" * 32, 11],
    ]
    assert all(seen.body == b"" for seen in polls)
    assert waits == [0.5, 0.75, 1.125]


def test_each_batch_gets_its_own_batch_id():
    with ScriptedService((200, ok_body(1))) as service:
        renderer = HttpRenderer(service.url)
        renderer.render(requests_for(1))
        renderer.render(requests_for(1))

    ids = [seen.headers["sf-external-function-query-batch-id"] for seen in service.seen]
    assert len(set(ids)) == 2


def test_poll_waits_grow_by_half_and_stop_at_ten_seconds():
    delays = PollBackoff().delays()

    first = [next(delays) for _ in range(12)]

    assert first[:4] == [0.5, 0.75, 1.125, 1.6875]
    assert first[-1] == 10.0
    assert all(a <= b for a, b in itertools.pairwise(first))


def test_a_dropped_post_is_sent_again_with_the_same_batch_id():
    with ScriptedService(DROP, (200, ok_body(1))) as service:
        results = HttpRenderer(service.url).render(requests_for(1))

    assert results == [{"status": "ok", "row": 0}]
    assert [seen.method for seen in service.seen] == ["POST", "POST"]
    first, second = (seen.headers["sf-external-function-query-batch-id"] for seen in service.seen)
    assert first == second
    assert service.seen[0].body == service.seen[1].body


def test_a_busy_task_is_asked_again_with_the_same_batch_id():
    """A full task answers 429; Snowflake retries it with the same batch id, more slowly."""
    waits: list[float] = []
    busy = (429, {"error": {"code": "too_many_batches", "message": "full"}})
    with ScriptedService(busy, busy, (200, ok_body(1))) as service:
        renderer = HttpRenderer(service.url, backoff=FAST_POLLS, sleep=waits.append)
        results = renderer.render(requests_for(1))

    assert results == [{"status": "ok", "row": 0}]
    assert [seen.method for seen in service.seen] == ["POST", "POST", "POST"]
    assert len({seen.headers["sf-external-function-query-batch-id"] for seen in service.seen}) == 1
    assert len(waits) == 2 and waits[0] <= waits[1]


def test_a_connection_dropped_twice_is_a_render_service_error():
    with ScriptedService(DROP) as service, pytest.raises(RenderServiceError, match="tried twice"):
        HttpRenderer(service.url).render(requests_for(1))

    assert [seen.method for seen in service.seen] == ["POST", "POST"]


@pytest.mark.parametrize("method_failing", ["POST", "GET"])
def test_a_5xx_is_a_render_service_error_naming_status_and_batch(method_failing):
    failure = (503, b"renderer overloaded")
    script = [failure] if method_failing == "POST" else [(202, {}), failure]
    with ScriptedService(*script) as service, pytest.raises(RenderServiceError) as raised:
        HttpRenderer(service.url, backoff=FAST_POLLS).render(requests_for(1))

    batch_id = service.seen[0].headers["sf-external-function-query-batch-id"]
    assert "503" in str(raised.value)
    assert "renderer overloaded" in str(raised.value)
    assert batch_id in str(raised.value)
    assert service.seen[-1].method == method_failing  # no retry of a 5xx


def test_a_404_on_a_poll_is_a_render_service_error():
    with (
        ScriptedService((202, {}), (404, {"error": "no task has accepted batch"})) as service,
        pytest.raises(RenderServiceError, match=r"404.*no task has accepted"),
    ):
        HttpRenderer(service.url, backoff=FAST_POLLS).render(requests_for(1))


def test_a_batch_that_never_finishes_times_out():
    started = time.monotonic()
    with (
        ScriptedService((202, {})) as service,
        pytest.raises(RenderServiceError, match=r"did not finish batch .* within 0\.5 s"),
    ):
        HttpRenderer(service.url, timeout_s=0.5, backoff=FAST_POLLS).render(requests_for(1))

    assert 0.5 <= time.monotonic() - started < 3
    assert len(service.seen) > 3  # it kept polling until the deadline


def test_a_hung_service_times_out_after_one_retry():
    with (
        ScriptedService(Hang(2.0)) as service,
        pytest.raises(RenderServiceError, match=r"tried twice.*timed out"),
    ):
        HttpRenderer(service.url, request_timeout_s=0.3).render(requests_for(1))

    assert [seen.method for seen in service.seen] == ["POST", "POST"]


def test_an_unreachable_service_is_a_render_service_error():
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(RenderServiceError, match="unreachable"):
        HttpRenderer(url).render(requests_for(1))


def test_a_malformed_200_is_a_render_service_error():
    with (
        ScriptedService((200, {"data": [[0, {"status": "ok"}]]})) as service,
        pytest.raises(RenderServiceError, match="malformed"),
    ):
        HttpRenderer(service.url).render(requests_for(2))


# --- fan-out: one statement, several batches at once, as Snowflake sends them -----------------


class BatchEchoService:
    """Loopback server answering every POST with a 200 for its rows (each row's path echoed),
    after `hold_s`; a POST whose first row's path is in `failing` gets a 500. It records the
    batch ids it saw and the most POSTs it held at once."""

    def __init__(self, hold_s: float = 0.05, failing: frozenset[str] = frozenset()) -> None:
        self.hold_s, self.failing = hold_s, failing
        self.batches: list[tuple[str, list[str]]] = []  # (batch id, the rows' paths)
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                service.handle(self)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        rows = json.loads(gzip.decompress(body))["data"]
        batch_id = handler.headers["sf-external-function-query-batch-id"]
        with self.lock:
            self.batches.append((batch_id, [row[1] for row in rows]))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.hold_s)
        with self.lock:
            self.in_flight -= 1
        if rows[0][1] in self.failing:
            status, payload = 500, {"error": "render failed"}
        else:
            status, payload = 200, {"data": [[row[0], {"path": row[1]}] for row in rows]}
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def __enter__(self) -> BatchEchoService:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_statement_is_sent_as_batches_of_max_batch_rows_at_most_n_at_once():
    rows = RENDER_BUDGET.max_batch_rows()
    requests = requests_for(3 * rows + 1)
    with BatchEchoService(hold_s=0.3) as service:
        results = HttpRenderer(service.url, concurrency=2).render(requests)

    assert results == [{"path": request.relative_path} for request in requests]  # in order
    sizes = sorted(len(paths) for _, paths in service.batches)
    assert sizes == [1, rows, rows, rows]
    assert len({batch_id for batch_id, _ in service.batches}) == 4
    assert service.most_in_flight == 2  # several at once, never more than the pool


def test_the_default_fan_out_is_the_budgets_batches_in_flight_for_one_task():
    in_flight = RENDER_BUDGET.batches_in_flight(1)
    requests = requests_for(RENDER_BUDGET.max_batch_rows() * (in_flight + 2))
    with BatchEchoService(hold_s=0.3) as service:
        results = HttpRenderer(service.url).render(requests)

    assert len(results) == len(requests) and len(service.batches) == in_flight + 2
    assert 1 < service.most_in_flight <= in_flight


def test_one_failing_batch_fails_the_statement_and_names_it():
    rows = RENDER_BUDGET.max_batch_rows()
    requests = requests_for(3 * rows + 1)
    second_batch = requests[rows].relative_path
    named = rf"batch 2 of 4 of a {len(requests)}-row statement"
    with (
        BatchEchoService(failing=frozenset({second_batch})) as service,
        pytest.raises(RenderServiceError, match=named) as raised,
    ):
        HttpRenderer(service.url, concurrency=2).render(requests)

    failed_id = next(bid for bid, paths in service.batches if paths[0] == second_batch)
    assert failed_id in str(raised.value)
    assert "500" in str(raised.value)
