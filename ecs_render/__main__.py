"""Entry point: `python -m ecs_render --host 127.0.0.1 --port 8080` (settings from PIXELFORGE_*)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import uvicorn

from ecs_render.app import create_app
from ecs_render.sandbox import set_not_dumpable
from ecs_render.settings import RenderSettings, SettingsError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecs_render", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        settings = RenderSettings.from_env()
    except SettingsError as error:
        print(f"ecs_render: {error}", file=sys.stderr)
        return 2
    # The server holds the S3 credentials: its memory and /proc/<pid>/environ are closed to the
    # decode workers, which run as the same user (they cannot ptrace it either: seccomp).
    set_not_dumpable()
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,  # the app logs one line per batch instead
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
