"""sqlfluff over all the project's SQL.

The dbt models go through the dbt templater, which compiles against a throwaway local warehouse
with the graph's vars (orchestration/graph.py dbt_vars, given to the templater as its context in
an extra config file: sqlfluff keeps a list there only in TOML); the SQL run from Python (`?`
binds) goes through the placeholder templater.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestration.graph import dbt_vars
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


def vars_config(directory: Path) -> Path:
    """A pyproject.toml whose dbt templater context is the graph's dbt vars (str, number and
    list-of-str values: their JSON spelling is TOML's)."""
    lines = ["[tool.sqlfluff.templater.dbt.context]"]
    lines += [f"{name} = {json.dumps(value)}" for name, value in dbt_vars().items()]
    path = directory / "pyproject.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


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
            config = vars_config(Path(data_dir))
            models = subprocess.run(
                [*sqlfluff, "--config", str(config), *paths], env=env, cwd=REPO_ROOT, check=False
            )
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
