"""The local warehouse: a fakesnow server whose databases persist as DuckDB files.

fakesnow's server keeps one shared in-memory instance; per-session FAKESNOW_DB_PATH would open
a second DuckDB instance per connection on the same file, which DuckDB refuses. So this module
swaps the shared instance for one persistent instance before serving.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import fakesnow.server
import uvicorn
from fakesnow.instance import FakeSnow


def serve(data_dir: Path, host: str, port: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    fakesnow.server.shared_fs = FakeSnow(db_path=data_dir)
    # one statement log line per query from fakesnow drowns the stack's own output
    logging.getLogger("fakesnow.server").setLevel(logging.WARNING)
    uvicorn.run(fakesnow.server.app, host=host, port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a persistent fakesnow warehouse.")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(args.data_dir, args.host, args.port)


if __name__ == "__main__":
    main()
