"""Two shortcuts in the local warehouse's per-statement work, copying fakesnow's own on purpose.

fakesnow (0.12.1, the lock's) answers every statement the server receives by parsing its text
with sqlglot twice (server.py's `query_request`, then the cursor's `execute`), translating and
running it on DuckDB, and then describing the result for the response's row type: it parses
`DESCRIBE <the statement as run>` again and has DuckDB plan the statement a second time
(`FakeSnowflakeCursor._describe_last_sql`). On the embedded stack that per-statement work is
most of the warehouse's CPU (a dbt build sends a few hundred statements), and the test suite
and the local benchmarks pay it on every statement. So, for the warehouses this repository
starts (orchestration/local/warehouse_server.py and loopback.py's in-process servers):

- **Parsing:** the same SQL text parses to the same tree (sqlglot's parser is a pure
  function of the text and dialect), so each text is parsed once and every caller is handed
  its own copy (fakesnow's transforms change the trees they are given). A text that does not
  parse raises as before and is not cached.
- **Describing:** DuckDB already knows the result's columns once the statement ran: the
  connection's `description` holds each column's name and DuckDB type, printed exactly as
  DESCRIBE prints its `column_type` (checked type by type in tests/orchestration/
  test_fakesnow_speedups.py against DESCRIBE itself). fakesnow's `describe_as_rowtype` reads
  only those two fields. So the description of the statement just run answers, in DESCRIBE's
  row shape; a result read back from fakesnow's result cache (RESULT_SCAN), or any case where
  no description was taken for the last statement, is described the original way.

Nothing here changes what a statement does or returns: the same tree is translated and run,
the same row type is sent. `install()` refuses to patch a fakesnow whose internals it does not
recognise, so an upgrade that moves them fails loudly instead of silently bypassing them.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

# the fakesnow internals replaced here (module: attributes), checked before patching
_PATCHED = {
    "fakesnow.dialect": ("parse_one",),
    "fakesnow.server": ("parse_one",),
    "fakesnow.cursor": ("parse_one",),
    "fakesnow.cursor.FakeSnowflakeCursor": ("_execute", "_describe_last_sql"),
}
# distinct statement texts kept parsed (a suite sends a few hundred; dbt's compiled models are
# the largest, tens of KB each)
PARSED_TEXTS = 4096
# DESCRIBE's row for a column of a query result: name, type, null, key, default, extra
_DESCRIBED_NULL = "YES"

_installed = False
_lock = threading.Lock()


def install() -> None:
    """Patch fakesnow in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        import fakesnow.cursor
        import fakesnow.dialect
        import fakesnow.server

        cursor_type = fakesnow.cursor.FakeSnowflakeCursor
        owners = {
            "fakesnow.dialect": fakesnow.dialect,
            "fakesnow.server": fakesnow.server,
            "fakesnow.cursor": fakesnow.cursor,
            "fakesnow.cursor.FakeSnowflakeCursor": cursor_type,
        }
        missing = [
            f"{name}.{attribute}"
            for name, attributes in _PATCHED.items()
            for attribute in attributes
            if not hasattr(owners[name], attribute)
        ]
        if missing:
            raise RuntimeError(
                f"fakesnow's internals moved ({', '.join(missing)} missing): "
                "orchestration/local/fakesnow_speedups.py needs updating"
            )
        parse_one = _cached_parse(fakesnow.dialect.parse_one)
        fakesnow.server.parse_one = parse_one
        fakesnow.cursor.parse_one = parse_one
        # fakesnow's private methods, on purpose (the module's docstring; checked above)
        cursor_type._execute = _describing(cursor_type._execute)  # noqa: SLF001
        cursor_type._describe_last_sql = _described_or(cursor_type._describe_last_sql)  # noqa: SLF001
        _installed = True


def _cached_parse(parse_one: Any) -> Any:
    parsed = functools.lru_cache(maxsize=PARSED_TEXTS)(parse_one)

    @functools.wraps(parse_one)
    def cached(command: str) -> Any:
        return parsed(command).copy()

    return cached


def _describing(execute: Any) -> Any:
    """fakesnow's `_execute`, then the description of what it ran (kept with its SQL text)."""

    @functools.wraps(execute)
    def run(self: Any, transformed: Any, params: Any = None) -> None:
        self._described = None
        execute(self, transformed, params)
        if transformed.args.get("result_scan_sfqid"):
            return  # a cached result: not what the connection ran last
        description = self._duck_conn.description
        if description is not None:
            columns = [(d[0], str(d[1]), _DESCRIBED_NULL, None, None, None) for d in description]
            self._described = (self._last_sql, columns)

    return run


def _described_or(describe: Any) -> Any:
    """The kept description of the last statement, else fakesnow's DESCRIBE of it."""

    @functools.wraps(describe)
    def described(self: Any) -> list:
        kept = getattr(self, "_described", None)
        if kept is not None and kept[0] is self._last_sql:
            return list(kept[1])
        return describe(self)

    return described
