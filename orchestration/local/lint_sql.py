"""sqlfluff over the dbt models: the dbt templater compiles against a throwaway local warehouse."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the throwaway warehouse exited before serving")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the throwaway warehouse did not listen on {port}")


def lint(paths: list[str]) -> int:
    port = _free_port()
    env = {
        **os.environ,
        "PIXELFORGE_WAREHOUSE_PORT": str(port),
        "SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    with tempfile.TemporaryDirectory() as data_dir:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orchestration.local.warehouse_server",
                "--data-dir",
                data_dir,
                "--port",
                str(port),
            ],
            env=env,
        )
        try:
            _wait_for_port(port, server)
            command = [sys.executable, "-m", "sqlfluff", "lint", *paths]
            return subprocess.run(command, env=env, cwd=REPO_ROOT, check=False).returncode
        finally:
            server.terminate()
            server.wait(timeout=15)


def main() -> None:
    sys.exit(lint(sys.argv[1:] or ["dbt_project/models"]))


if __name__ == "__main__":
    main()
