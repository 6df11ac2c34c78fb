"""Three shortcuts in the local warehouse's per-statement work, copying fakesnow's own on purpose.

fakesnow (0.12.1, the lock's) answers every statement the server receives by parsing its text
with sqlglot twice (server.py's `query_request`, then the cursor's `execute`), translating and
running it on DuckDB, and then describing the result for the response's row type: it parses
`DESCRIBE <the statement as run>` again and has DuckDB plan the statement a second time
(`FakeSnowflakeCursor._describe_last_sql`). On the embedded stack that per-statement work is
most of the warehouse's CPU (a dbt build sends a few hundred statements), and the test suite
and the local benchmarks pay it on every statement. So, for the warehouses this repository
starts (orchestration/local/warehouse_server.py and loopback.py's in-process servers):

- **Parsing:** the same SQL text parses to the same tree (sqlglot's parser is a pure
  function of the text and dialect), so each text is parsed once and the tree is shared. In
  fakesnow 0.12.1 (checked by `install()`) its three callers only read it (the server's
  statement type and describe-only answer, the cursor's describe-only query and its
  database/schema check) before the cursor hands it to `_transform_explode`, whose
  replacement here translates a copy: fakesnow's rewrites change the tree they are given,
  the shared one never. A text that does not parse raises as before and is not cached.
- **Translating:** fakesnow translates a tree to DuckDB's SQL with some eighty rewrites, each a
  walk of the whole tree (`FakeSnowflakeCursor._transform`, after `_transform_explode` splits
  a MERGE into its parts). For the statements the pipeline repeats (its binds' queries and
  merges, dbt's models: the same text every run) the result depends only on the text, the
  session's current database and schema, and nothing else: the rewrites that read anything
  more (bind values through IDENTIFIER(?), session variables, the stage and file-format
  registries, DuckDB's catalog for a CREATE TABLE with a column list, the clock) act only on
  statements of other kinds. So a SELECT, INSERT, UPDATE, DELETE or MERGE, or a CREATE TABLE
  / VIEW without a column list, whose text holds no IDENTIFIER( and no RESULT_SCAN, is
  translated once per (text, database, schema) and every later caller gets a copy of the
  translated parts; everything else is translated (a copy of its tree) every time, as before.
- **Describing:** DuckDB already knows the result's columns once the statement ran: the
  connection's `description` holds each column's name and DuckDB type, printed exactly as
  DESCRIBE prints its `column_type` (checked type by type in tests/orchestration/
  test_fakesnow_speedups.py against DESCRIBE itself). fakesnow's `describe_as_rowtype` reads
  only those two fields. So the description of the statement just run answers, in DESCRIBE's
  row shape; a result read back from fakesnow's result cache (RESULT_SCAN), or any case where
  no description was taken for the last statement, is described the original way.

Nothing here changes what a statement does or returns: the same translated tree is run,
the same row type is sent. `install()` refuses to patch a fakesnow whose internals it does not
recognise, so an upgrade that moves them fails loudly instead of silently bypassing them.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import threading
from typing import Any

# the fakesnow whose callers of parse_one were read (the Parsing paragraph above): another
# version's may change the shared tree, so install() refuses it until they are read again
FAKESNOW_VERSION = "0.12.1"
# the fakesnow internals replaced here (module: attributes), checked before patching
_PATCHED = {
    "fakesnow.dialect": ("parse_one",),
    "fakesnow.server": ("parse_one",),
    "fakesnow.cursor": ("parse_one",),
    "fakesnow.cursor.FakeSnowflakeCursor": (
        "_execute",
        "_describe_last_sql",
        "_transform",
        "_transform_explode",
    ),
}
# distinct statement texts kept parsed (a suite sends a few hundred; dbt's compiled models are
# the largest, tens of KB each)
PARSED_TEXTS = 4096
# (text, database, schema) kept translated: the same order (dbt's models in a few schemas)
TRANSLATED_STATEMENTS = 4096
# a tree's meta keys: the text it was parsed from; its part of the translation cache
_TEXT = "pixelforge_text"
_SLOT = "pixelforge_slot"
_TRANSLATED = "pixelforge_translated"
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
        version = importlib.metadata.version("fakesnow")
        if version != FAKESNOW_VERSION:
            missing.append(f"fakesnow {version}, not {FAKESNOW_VERSION}")
        if missing:
            raise RuntimeError(
                f"fakesnow's internals moved ({', '.join(missing)}): "
                "orchestration/local/fakesnow_speedups.py needs updating"
            )
        parse_one = _cached_parse(fakesnow.dialect.parse_one)
        fakesnow.server.parse_one = parse_one
        fakesnow.cursor.parse_one = parse_one
        # fakesnow's private methods, on purpose (the module's docstring; checked above)
        cursor_type._execute = _describing(cursor_type._execute)  # noqa: SLF001
        cursor_type._describe_last_sql = _described_or(cursor_type._describe_last_sql)  # noqa: SLF001
        translated = _Translations(TRANSLATED_STATEMENTS)
        cursor_type._transform_explode = translated.explode(cursor_type._transform_explode)  # noqa: SLF001
        cursor_type._transform = translated.transform(cursor_type._transform)  # noqa: SLF001
        _installed = True


def _cached_parse(parse_one: Any) -> Any:
    @functools.lru_cache(maxsize=PARSED_TEXTS)
    def cached(command: str) -> Any:
        """fakesnow's parse_one, shared: its callers read it, translation takes a copy."""
        tree = parse_one(command)
        tree.meta[_TEXT] = command
        return tree

    return cached


class _Translations:
    """fakesnow's translation of a statement, kept per (text, database, schema) for the
    statements whose translation depends on nothing else (the module's docstring)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._parts: dict[tuple[str, str | None, str | None], list[Any]] = {}
        self._lock = threading.Lock()

    def explode(self, explode: Any) -> Any:
        @functools.wraps(explode)
        def run(cursor: Any, expression: Any) -> list[Any]:
            key = _translation_key(cursor, expression)
            if key is None:
                return explode(cursor, expression.copy())
            with self._lock:
                kept = self._parts.get(key)
            if kept is not None and all(part is not None for part in kept):
                copies = [part.copy() for part in kept]
                for copy in copies:
                    copy.meta[_TRANSLATED] = True
                return copies
            parts = explode(cursor, expression.copy())
            with self._lock:
                if len(self._parts) >= self._size:
                    self._parts.clear()
                slots = self._parts.setdefault(key, [None] * len(parts))
            if len(slots) == len(parts):
                for index, part in enumerate(parts):
                    part.meta[_SLOT] = (key, index)
            return parts

        return run

    def transform(self, transform: Any) -> Any:
        @functools.wraps(transform)
        def run(cursor: Any, expression: Any, params: Any) -> Any:
            if expression.meta.pop(_TRANSLATED, False):
                return expression
            slot = expression.meta.pop(_SLOT, None)
            translated = transform(cursor, expression, params)
            if slot is not None:
                key, index = slot
                with self._lock:
                    if (slots := self._parts.get(key)) is not None:
                        slots[index] = translated.copy()
            return translated

        return run


# what the translation of a tree of these kinds reads is the text, database and schema only
_CREATED_KINDS = {"TABLE", "VIEW"}
# texts whose translation reads a bind value or fakesnow's result cache
_UNKEPT_TEXT = re.compile(r"\bIDENTIFIER\s*\(|\bRESULT_SCAN\b", re.IGNORECASE)


def _translation_key(cursor: Any, expression: Any) -> tuple[str, str | None, str | None] | None:
    from sqlglot import exp

    text = expression.meta.get(_TEXT)
    if text is None:
        return None
    if _UNKEPT_TEXT.search(text):
        return None
    if isinstance(expression, exp.Create):
        if expression.kind not in _CREATED_KINDS or isinstance(expression.this, exp.Schema):
            return None
    elif not isinstance(expression, (exp.Query, exp.Insert, exp.Update, exp.Delete, exp.Merge)):
        return None
    return (text, cursor._conn.database, cursor._conn.schema)  # noqa: SLF001


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
