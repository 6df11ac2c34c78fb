"""The local warehouse: a fakesnow server whose databases persist as DuckDB files.

fakesnow's server keeps one shared in-memory instance; per-session FAKESNOW_DB_PATH would open
a second DuckDB instance per connection on the same file, which DuckDB refuses. So this module
swaps the shared instance for one persistent instance before serving.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import threading
from pathlib import Path
from typing import Any

import fakesnow.server
import uvicorn
from fakesnow.instance import FakeSnow

QUERY_PATH = "/queries/v1/query-request"


class StatementLog:
    """ASGI wrapper appending every SQL text the warehouse receives to a JSON-lines file.

    Tests read it to require that each statement parses as Snowflake SQL: fakesnow accepts
    a looser dialect, and nothing DuckDB-only may reach code that production runs.
    """

    def __init__(self, app: Any, path: Path) -> None:
        self._app = app
        self._path = path
        self._lock = threading.Lock()

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
        self._append(body, dict(scope["headers"]).get(b"content-encoding") == b"gzip")
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app(scope, replay, send)

    def _append(self, body: bytes, gzipped: bool) -> None:
        try:
            sql_text = json.loads(gzip.decompress(body) if gzipped else body)["sqlText"]
        except (ValueError, KeyError, OSError):
            return
        with self._lock, self._path.open("a", encoding="utf-8") as log:
            log.write(json.dumps({"sql": sql_text}) + "\n")


def serve(data_dir: Path, host: str, port: int, statement_log: Path | None = None) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    fakesnow.server.shared_fs = FakeSnow(db_path=data_dir)
    # one statement log line per query from fakesnow drowns the stack's own output
    logging.getLogger("fakesnow.server").setLevel(logging.WARNING)
    app: Any = fakesnow.server.app
    if statement_log is not None:
        app = StatementLog(app, statement_log)
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
