"""Running a plan: statement by statement, stopping at the first error with the statement shown."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from orchestration.deploy.settings import SettingsError
from orchestration.deploy.statements import PlanStatement

Echo = Callable[[str], None]
NETWORK_TIMEOUT_S = 60
LOGIN_TIMEOUT_S = 30


class Cursor(Protocol):
    def execute(self, command: str) -> Any: ...


class ApplyError(RuntimeError):
    """A statement failed; `statement` is the one that did, `applied` how many ran before it."""

    def __init__(self, statement: PlanStatement, applied: int, cause: Exception) -> None:
        super().__init__(
            f"statement {applied + 1} ({statement.section}) failed: {cause}\n{statement.sql}"
        )
        self.statement = statement
        self.applied = applied


@dataclass(frozen=True)
class ApplyReport:
    applied: int
    skipped: tuple[PlanStatement, ...]


def select_for_target(
    statements: Iterable[PlanStatement], target: str
) -> tuple[list[PlanStatement], list[PlanStatement]]:
    """(to run, skipped): `local` runs only what fakesnow implements (plan.LOCAL_SKIPS)."""
    run: list[PlanStatement] = []
    skipped: list[PlanStatement] = []
    for statement in statements:
        (run if target != "local" or statement.local else skipped).append(statement)
    return run, skipped


def apply_statements(
    cursor: Cursor, statements: Iterable[PlanStatement], echo: Echo | None = None
) -> int:
    """Execute in order; raise ApplyError at the first failure. Returns the count applied."""
    say = echo or (lambda _message: None)
    applied = 0
    for statement in statements:
        say(f"[{applied + 1}] {statement.sql.splitlines()[0]}")
        try:
            cursor.execute(statement.sql)
        except Exception as error:  # the connector's errors vary; all stop the deploy
            raise ApplyError(statement, applied, error) from error
        applied += 1
    return applied


def prod_connection_parameters(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Key-pair auth from the connector's own variables; names every missing one at once."""
    env = os.environ if environ is None else environ
    names = ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_ROLE", "SNOWFLAKE_PRIVATE_KEY_PATH")
    missing = [n for n in names if not env.get(n, "").strip()]
    if missing:
        raise SettingsError(f"--apply --target prod needs {', '.join(missing)}")
    key_path = Path(env["SNOWFLAKE_PRIVATE_KEY_PATH"]).expanduser()
    if not key_path.is_file():
        raise SettingsError(f"SNOWFLAKE_PRIVATE_KEY_PATH {key_path} is not a file")
    return {
        "account": env["SNOWFLAKE_ACCOUNT"],
        "user": env["SNOWFLAKE_USER"],
        "role": env["SNOWFLAKE_ROLE"],
        "authenticator": "SNOWFLAKE_JWT",
        "private_key_file": str(key_path),
        **(
            {"private_key_file_pwd": env["SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"]}
            if env.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE")
            else {}
        ),
        "network_timeout": NETWORK_TIMEOUT_S,
        "login_timeout": LOGIN_TIMEOUT_S,
        "session_parameters": {"QUERY_TAG": "pixelforge-deploy"},
    }


def local_connection_parameters(port: int) -> dict[str, Any]:
    """The local stack's fakesnow server (orchestration/local/stack.py), no database yet."""
    return {
        "user": "fake",
        "password": "snow",
        "account": "fakesnow",
        "host": "127.0.0.1",
        "port": port,
        "protocol": "http",
        "network_timeout": 30,
        "login_timeout": 10,
        "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
    }


def apply_plan(
    connection_parameters: Mapping[str, Any],
    statements: Iterable[PlanStatement],
    target: str,
    echo: Echo | None = None,
) -> ApplyReport:
    """Connect, run the statements for the target, stop at the first error."""
    import snowflake.connector

    run, skipped = select_for_target(statements, target)
    connection = snowflake.connector.connect(**connection_parameters)
    try:
        with connection.cursor() as cursor:
            applied = apply_statements(cursor, run, echo)
    finally:
        connection.close()
    return ApplyReport(applied, tuple(skipped))
