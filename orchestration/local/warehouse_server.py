"""The local warehouse: a fakesnow server whose databases persist as DuckDB files.

fakesnow's server keeps one shared in-memory instance; per-session FAKESNOW_DB_PATH would open
a second DuckDB instance per connection on the same file, which DuckDB refuses. So this module
swaps the shared instance for one persistent instance before serving.

In front of fakesnow: `InProgressAnswers` (orchestration/local/query_progress.py) answers a
long statement "in progress" and hands its result to the connector's polling, as Snowflake
does; `StatementLog` records every statement.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fakesnow.server
import uvicorn
from fakesnow.instance import FakeSnow

from orchestration.local import fakesnow_speedups
from orchestration.local.loopback import fakesnow_in_thread
from orchestration.local.query_progress import QUERY_PATH, InProgressAnswers

# ALTER SESSION SET / UNSET QUERY_TAG, which fakesnow 0.12.1 answers "not implemented". Snowpark's
# `session.query_tag = ...` sends exactly these ("ALTER SESSION", Snowflake docs: QUERY_TAG is a
# session parameter, a string of up to 2000 characters).
_QUERY_TAG = re.compile(
    r"\s*alter\s+session\s+(?:set\s+query_tag\s*=\s*'(?P<tag>(?:[^']|'')*)'|unset\s+query_tag)"
    r"\s*;?\s*",
    re.IGNORECASE,
)
# What the warehouse runs instead: Snowflake answers ALTER SESSION with this one status row.
_ALTER_SESSION_ANSWER = "select 'Statement executed successfully.' as \"status\""


def query_tag_change(sql: str) -> str | None:
    """The session's new query tag if `sql` sets or unsets it ("" when unset), else None."""
    match = _QUERY_TAG.fullmatch(sql)
    if match is None:
        return None
    return (match.group("tag") or "").replace("''", "'")


@dataclass(frozen=True)
class LoggedStatement:
    """One line of the statement log: the SQL text, the session's query tag when it was sent,
    and a short digest of the session token (statements of one connection share it)."""

    sql: str
    query_tag: str = ""
    session: str = ""

    def to_json(self) -> str:
        return json.dumps({"sql": self.sql, "query_tag": self.query_tag, "session": self.session})

    @classmethod
    def from_json(cls, line: str) -> LoggedStatement:
        record = json.loads(line)
        return cls(record["sql"], record.get("query_tag", ""), record.get("session", ""))


def read_statement_log(path: Path) -> list[LoggedStatement]:
    """Every statement of a log file, in the order received (none if there is no file)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [LoggedStatement.from_json(line) for line in lines if line.strip()]


class StatementLog:
    """ASGI wrapper in front of fakesnow: keeps each session's QUERY_TAG and appends every SQL
    text the warehouse receives, with that tag, to a JSON-lines file (when given one).

    Tests read the log to require that each statement parses as Snowflake SQL (fakesnow accepts
    a looser dialect, and nothing DuckDB-only may reach code that production runs), and to
    attribute the procedures' statements to their steps: the local runner tags its session with
    the step's name before each step.
    """

    def __init__(self, app: Any, path: Path | None = None) -> None:
        self._app = app
        self._path = path
        self._lock = threading.Lock()
        self._tags: dict[str, str] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != QUERY_PATH:
            await self._app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = dict(scope["headers"])
        request = _decode(body, headers.get(b"content-encoding") == b"gzip")
        sql_text = request.get("sqlText") if request else None
        if isinstance(sql_text, str):
            session = hashlib.sha256(headers.get(b"authorization", b"")).hexdigest()[:12]
            tag = query_tag_change(sql_text)
            with self._lock:
                if tag is not None:
                    self._tags[session] = tag
                current = self._tags.get(session, "")
            self._append(LoggedStatement(sql_text, current, session))
            if tag is not None and request is not None:
                body = json.dumps({**request, "sqlText": _ALTER_SESSION_ANSWER}).encode()
                scope = {**scope, "headers": _plain_headers(scope["headers"], len(body))}
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app(scope, replay, send)

    def _append(self, statement: LoggedStatement) -> None:
        if self._path is None:
            return
        with self._lock, self._path.open("a", encoding="utf-8") as log:
            log.write(statement.to_json() + "\n")


def _decode(body: bytes, gzipped: bool) -> dict[str, Any] | None:
    try:
        request = json.loads(gzip.decompress(body) if gzipped else body)
    except (ValueError, OSError):
        return None
    return request if isinstance(request, dict) else None


def _plain_headers(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    """The request's headers for a rewritten, uncompressed JSON body."""
    kept = [(k, v) for k, v in headers if k not in {b"content-encoding", b"content-length"}]
    return [*kept, (b"content-length", str(length).encode())]


@contextlib.contextmanager
def logged_fakesnow_in_thread(instance: FakeSnow, statement_log: Path | None) -> Iterator[int]:
    """fakesnow on a loopback thread (orchestration/local/loopback.py) with StatementLog and
    InProgressAnswers in front; yields the port. The server module's app is swapped for the
    wrapped one while the server runs (uvicorn reads it at start) and restored on exit."""
    saved_app = fakesnow.server.app
    fakesnow.server.app = StatementLog(InProgressAnswers(saved_app), statement_log)
    try:
        with fakesnow_in_thread(instance) as port:
            yield port
    finally:
        fakesnow.server.app = saved_app


def serve(data_dir: Path, host: str, port: int, statement_log: Path | None = None) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    fakesnow_speedups.install()
    fakesnow.server.shared_fs = FakeSnow(db_path=data_dir)
    # one statement log line per query from fakesnow drowns the stack's own output
    logging.getLogger("fakesnow.server").setLevel(logging.WARNING)
    # always in front: it also answers ALTER SESSION ... QUERY_TAG, which the runner sends
    app: Any = StatementLog(InProgressAnswers(fakesnow.server.app), statement_log)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a persistent fakesnow warehouse.")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--statement-log", type=Path, help="append every SQL text received here")
    args = parser.parse_args()
    serve(args.data_dir, args.host, args.port, args.statement_log)


if __name__ == "__main__":
    main()
