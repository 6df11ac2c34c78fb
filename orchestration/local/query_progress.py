"""Snowflake's answer to a long statement, copied on purpose: "query in progress", then polling.

Snowflake answers a query request whose statement is still running with code 333333 ("query in
progress") and a result URL, and the Python connector asks that URL (GET) again until the answer
is the statement's result: snowflake-connector-python 4.8.0, `network.py` `_post_request`
(`while ret.get("code") in (QUERY_IN_PROGRESS_CODE, QUERY_IN_PROGRESS_ASYNC_CODE)`, the codes
"333333" and "333334", the URL `ret["data"]["getResultUrl"]`). The connector never waits on one
HTTP answer longer than its socket timeout (`DEFAULT_SOCKET_CONNECT_TIMEOUT`, 60 s, "don't reduce
less than 45 seconds"), and re-sends a request that outlasts it.

fakesnow 0.12.1's server answers a query request only when its statement is done. A statement
that ran past 60 s (the near-duplicate mart's first build over 16,000 hashes in
`bench.scaled_load --full`) was therefore re-sent by the connector while it still ran, and the
re-sent one refused ("connection is busy"). `InProgressAnswers`, in front of fakesnow, answers
the way Snowflake does: a statement still running after `answer_after_s` gets the in-progress
answer, and the GET of its result URL waits up to `answer_after_s` again for it (the same
answer while it still runs, then the statement's own). A statement done sooner is answered
as before. Snowflake does not publish how long it holds a request before answering "in progress";
`IN_PROGRESS_AFTER_S` only has to stay well under the connector's 60 s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

QUERY_PATH = "/queries/v1/query-request"
QUERY_IN_PROGRESS_CODE = "333333"  # snowflake-connector-python network.py, same name
IN_PROGRESS_AFTER_S = 20.0
_RESULT_PATH = re.compile(r"/queries/(?P<query_id>[0-9a-f-]{36})/result")

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

logger = logging.getLogger(__name__)


def in_progress_answer(query_id: str) -> dict[str, Any]:
    """Snowflake's answer to a query request whose statement still runs."""
    return {
        "data": {"queryId": query_id, "getResultUrl": f"/queries/{query_id}/result"},
        "code": QUERY_IN_PROGRESS_CODE,
        "message": "Query execution in progress",
        "success": True,
    }


def _json_messages(answer: dict[str, Any], status: int = 200) -> list[Message]:
    body = json.dumps(answer).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body, "more_body": False},
    ]


class InProgressAnswers:
    """ASGI wrapper: query requests answered "in progress" while they run past `answer_after_s`,
    their results handed out on the result URL the connector polls (module docstring)."""

    def __init__(self, app: Any, answer_after_s: float | None = None) -> None:
        self._app = app
        self._answer_after_s = IN_PROGRESS_AFTER_S if answer_after_s is None else answer_after_s
        # query id -> the running statement's answer (its ASGI messages), until handed out
        self._running: dict[str, asyncio.Task[list[Message]]] = {}

    @property
    def running(self) -> int:
        """Statements answered "in progress" whose result has not been handed out yet."""
        return len(self._running)

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if scope["path"] == QUERY_PATH and scope["method"] == "POST":
            task = asyncio.ensure_future(self._answer(scope, receive))
            await self._reply(str(uuid.uuid4()), task, send)
            return
        result = _RESULT_PATH.fullmatch(scope["path"])
        if result is not None and scope["method"] == "GET":
            query_id = result.group("query_id")
            running = self._running.pop(query_id, None)
            if running is None:
                message = f"No running query {query_id}."
                answer = {"data": None, "code": "000605", "message": message, "success": False}
                for reply in _json_messages(answer):
                    await send(reply)
                return
            await self._reply(query_id, running, send)
            return
        await self._app(scope, receive, send)

    async def _answer(self, scope: Any, receive: Receive) -> list[Message]:
        """The wrapped app's answer to one request, kept instead of sent."""
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        try:
            await self._app(scope, receive, keep)
        except Exception:
            if not messages:  # no answer at all: the server's own error
                raise
            # Starlette answered (500) before re-raising, as uvicorn would have logged it
            logger.exception("query request failed after its answer")
        return messages

    async def _reply(self, query_id: str, task: asyncio.Task[list[Message]], send: Send) -> None:
        """Send the statement's answer if it comes within answer_after_s, else "in progress"."""
        done, _ = await asyncio.wait({task}, timeout=self._answer_after_s)
        if done:
            messages = task.result()
        else:
            self._running[query_id] = task
            messages = _json_messages(in_progress_answer(query_id))
        for message in messages:
            await send(message)
