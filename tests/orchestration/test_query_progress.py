"""The local warehouse answers a long statement "in progress" and the connector polls for its
result, as Snowflake does (orchestration/local/query_progress.py), instead of the connector
re-sending it after its socket timeout."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import fakesnow.server
import pytest
import snowflake.connector
from fakesnow.instance import FakeSnow

from orchestration.deploy.apply import local_connection_parameters
from orchestration.local import query_progress
from orchestration.local.query_progress import QUERY_PATH, InProgressAnswers
from orchestration.local.warehouse_server import logged_fakesnow_in_thread, read_statement_log


def test_a_statement_past_the_socket_timeout_is_polled_not_resent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every query request takes 2.5 s: longer than the connector's socket timeout here (1 s),
    # so without the in-progress answer the connector gives up on it and re-sends it
    original = fakesnow.server.app

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == QUERY_PATH:
            await asyncio.sleep(2.5)
        await original(scope, receive, send)

    monkeypatch.setattr(fakesnow.server, "app", slow)
    monkeypatch.setattr(query_progress, "IN_PROGRESS_AFTER_S", 0.3)
    log = tmp_path / "statements.jsonl"
    with logged_fakesnow_in_thread(FakeSnow(), log) as port:
        connection = snowflake.connector.connect(
            **local_connection_parameters(port), socket_timeout=1
        )
        try:
            started = time.perf_counter()
            row = connection.cursor().execute("select 41 + 1 as answer").fetchone()
            took = time.perf_counter() - started
        finally:
            connection.close()
    assert row == (42,)
    sent = [s.sql for s in read_statement_log(log) if "41 + 1" in s.sql]
    assert sent == ["select 41 + 1 as answer"]  # received once: polled, not re-sent
    assert 2.5 <= took < 5


def _call(app: InProgressAnswers, method: str, path: str) -> dict[str, Any]:
    """One request through `app`; the JSON answer."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": []}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    return json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def _statement(seconds: float) -> Any:
    """An ASGI app answering {"done": true} after `seconds`."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await asyncio.sleep(seconds)
        body = json.dumps({"done": True}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def test_a_quick_statement_gets_its_own_answer() -> None:
    app = InProgressAnswers(_statement(0.0), answer_after_s=5)
    assert _call(app, "POST", QUERY_PATH) == {"done": True}
    assert app.running == 0


def test_a_slow_statement_is_in_progress_until_its_result_url_hands_it_out() -> None:
    async def scenario() -> list[dict[str, Any]]:
        app = InProgressAnswers(_statement(0.5), answer_after_s=0.1)
        answers: list[dict[str, Any]] = []
        path = QUERY_PATH
        method = "POST"
        while True:
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"{}", "more_body": False}

            async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
                sent.append(message)

            scope = {"type": "http", "method": method, "path": path, "headers": []}
            await app(scope, receive, send)
            answer = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
            answers.append(answer)
            if answer.get("code") != query_progress.QUERY_IN_PROGRESS_CODE:
                assert app.running == 0
                return answers
            path, method = answer["data"]["getResultUrl"], "GET"

    answers = asyncio.run(scenario())
    assert answers[-1] == {"done": True}
    assert len(answers) >= 3  # 0.5 s of work answered "in progress" every 0.1 s at first
    first = answers[0]
    assert first["success"] is True
    assert first["data"]["getResultUrl"] == f"/queries/{first['data']['queryId']}/result"
    assert {a["data"]["queryId"] for a in answers[:-1]} == {first["data"]["queryId"]}


def test_an_unknown_result_url_is_an_error() -> None:
    app = InProgressAnswers(_statement(0.0), answer_after_s=5)
    answer = _call(app, "GET", "/queries/00000000-0000-0000-0000-000000000000/result")
    assert answer["success"] is False
