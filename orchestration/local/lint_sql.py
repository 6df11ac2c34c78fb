"""sqlfluff over all the project's SQL.

The dbt models go through the dbt templater, which compiles against a throwaway local warehouse
(the graph's facts are dbt_project.yml vars, as for every dbt command); the SQL run from Python
(`?` binds) goes through the placeholder templater.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestration.local.loopback import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
BIND_PARAM_SQL_PATHS = ("snowpark_procs/sql", "orchestration/sql", "orchestration/local")


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
    port = free_port()
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
            sqlfluff = [sys.executable, "-m", "sqlfluff", "lint"]
            models = subprocess.run([*sqlfluff, *paths], env=env, cwd=REPO_ROOT, check=False)
            bind_sql = subprocess.run(
                [*sqlfluff, "--config", ".sqlfluff-bind-params", *BIND_PARAM_SQL_PATHS],
                env=env,
                cwd=REPO_ROOT,
                check=False,
            )
            return models.returncode or bind_sql.returncode
        finally:
            server.terminate()
            server.wait(timeout=15)


def main() -> None:
    sys.exit(lint(sys.argv[1:] or ["dbt_project/models", "dbt_project/tests"]))


if __name__ == "__main__":
    main()
