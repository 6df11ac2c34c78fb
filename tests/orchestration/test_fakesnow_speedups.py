"""The local warehouse's shortcuts (orchestration/local/fakesnow_speedups.py) answer exactly as
fakesnow's own paths do: the description of a statement as run equals its DESCRIBE, for every
column type the pipeline's tables and dbt's models use; a kept translation is the one fakesnow
makes, kept only for the statements whose translation reads nothing but the text, database and
schema; a cached parse or translation is never shared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fakesnow
import fakesnow.cursor
import fakesnow.dialect
import fakesnow.server
import pytest
import snowflake.connector

from orchestration.local import fakesnow_speedups

TABLE = (
    "create or replace table t (n number(38, 0), d number(10, 2), f float, s varchar, "
    "b boolean, v variant, o object, a array, ts timestamp_ntz, tz timestamp_tz, "
    "dt date, tm time, bin binary)"
)
# (statement, binds): queries of each kind the pipeline sends, results fakesnow rewrites
# (inserts, merges, updates, deletes report counts) and a column of no type (null)
STATEMENTS: list[tuple[str, tuple[Any, ...]]] = [
    ("insert into t (n, s) values (1, 'a'), (2, 'b')", ()),
    ("select * from t", ()),
    ("select n, s from t where s = %s", ("a",)),
    ("select %s as text_bind, %s as number_bind, null as nothing", ("x", 5)),
    ("select count(*) as n, max(d) as top, any_value(v) as doc from t", ()),
    ("select parse_json('{\"a\": [1, 2]}') as doc, parse_json('[1, 2]') as arr", ()),
    ("select current_timestamp() as now, to_date('2026-01-01') as day", ()),
    (
        "merge into t using (select 1 as n, 'z' as s) as src on t.n = src.n "
        "when matched then update set s = src.s when not matched then insert (n, s) "
        "values (src.n, src.s)",
        (),
    ),
    ("update t set f = 1.5 where n = 2", ()),
    ("delete from t where n = 2", ()),
    ("with w as (select n from t) select n * 2 as twice from w", ()),
]


@pytest.fixture(scope="module")
def cursor() -> Iterator[Any]:
    """One in-process fakesnow connection for the module: each test compares two ways of
    describing the statement it just ran, whatever the table holds by then."""
    fakesnow_speedups.install()
    with (
        fakesnow.patch(),
        snowflake.connector.connect(database="db1", schema="s1") as conn,
        conn.cursor() as cur,
    ):
        cur.execute("create database if not exists db1")
        cur.execute("create schema if not exists db1.s1")
        cur.execute("use schema db1.s1")
        cur.execute(TABLE)
        yield cur


def fakesnow_describe(cur: Any) -> list:
    """fakesnow's own DESCRIBE of the last statement (the wrapped original)."""
    return fakesnow.cursor.FakeSnowflakeCursor._describe_last_sql.__wrapped__(cur)


@pytest.mark.parametrize(("sql", "binds"), STATEMENTS, ids=[s[:40] for s, _ in STATEMENTS])
def test_the_kept_description_is_what_describe_returns(cursor, sql, binds):
    cursor.execute(sql, binds)
    kept = cursor._describe_last_sql()
    assert cursor._described is not None  # the shortcut answered, not the fallback
    assert kept == fakesnow_describe(cursor)
    assert [column.name for column in cursor.description] == [row[0] for row in kept]


def test_every_column_type_of_a_table_is_described_as_describe_prints_it(cursor):
    cursor.execute("select * from t")
    types = {name: kind for name, kind, *_ in cursor._describe_last_sql()}
    assert types == {name: kind for name, kind, *_ in fakesnow_describe(cursor)}
    assert {"BIGINT", "DECIMAL(10,2)", "VARCHAR", "JSON", "TIMESTAMP WITH TIME ZONE"} <= set(
        types.values()
    )


def test_a_result_read_back_by_result_scan_is_described_the_original_way(cursor):
    cursor.execute("select n, s from t")
    query_id = cursor.sfqid
    cursor.execute(f"select * from table(result_scan('{query_id}'))")
    assert cursor._describe_last_sql() == fakesnow_describe(cursor)


def test_a_cached_parse_is_shared_and_translating_it_never_changes_it(cursor):
    text = "merge into t using (select 7 as n, 'p' as s) as src on t.n = src.n " \
        "when not matched then insert (n, s) values (src.n, src.s)"  # fmt: skip
    first = fakesnow.server.parse_one(text)
    printed = first.sql(dialect="snowflake")
    for _ in range(2):  # translated, then kept: neither changes the parse
        cursor.execute(text)
        cursor.execute("select * from t where n = 1 and s is not null")
    assert fakesnow.cursor.parse_one(text) is first
    assert first.sql(dialect="snowflake") == printed
    assert (
        fakesnow.cursor.parse_one("select * from t where n = 1 and s is not null").sql(
            dialect="snowflake"
        )
        == "SELECT * FROM t WHERE n = 1 AND NOT s IS NULL"
    )


def test_a_fakesnow_other_than_the_one_read_is_refused(monkeypatch):
    monkeypatch.setattr(fakesnow_speedups, "_installed", False)
    monkeypatch.setattr(fakesnow_speedups, "FAKESNOW_VERSION", "0.0.1")
    with pytest.raises(RuntimeError, match=r"not 0\.0\.1"):
        fakesnow_speedups.install()


def test_a_text_that_does_not_parse_still_fails_as_a_snowflake_syntax_error():
    fakesnow_speedups.install()
    for _ in range(2):  # not cached: the second call fails the same way
        with pytest.raises(snowflake.connector.errors.ProgrammingError) as raised:
            fakesnow.cursor.parse_one("select from from where")
        assert raised.value.errno == 1003


# statements of each kind whose translation is kept (a MERGE splits into several parts)
KEPT = [
    "select n, s from t where s = 'a'",
    "insert into t (n, s) select n + 10, s from t where n = 1",
    "update t set f = 2.5 where n = 1",
    "delete from t where n = 11",
    "merge into t using (select 1 as n, 'k' as s) as src on t.n = src.n "
    "when matched then update set s = src.s when not matched then insert (n, s) "
    "values (src.n, src.s)",
    "create or replace view v as select n, s from t",
    "create or replace transient table t2 as (select n, s from t)",
]
# statements whose translation reads more than the text, database and schema: not kept
NOT_KEPT = [
    "set limit_n = 1",  # a session variable (its value goes into later texts as they run)
    "select * from identifier(?)",  # a bind value names the table
    "create or replace table t3 (n number) as select n from t",  # a column list: DuckDB's catalog
    "create or replace stage st",  # the stage registry and the clock
    "show tables",
]


def fakesnow_translation(cur: Any, text: str) -> list[str]:
    """fakesnow's own translation of a text (the wrapped originals), as DuckDB SQL."""
    cursor_type = fakesnow.cursor.FakeSnowflakeCursor
    parts = cursor_type._transform_explode.__wrapped__(cur, fakesnow.dialect.parse_one(text))
    return [cursor_type._transform.__wrapped__(cur, part, None).sql() for part in parts]


def translations(cur: Any, text: str) -> list[Any]:
    """The translation the patched cursor hands a caller for a text."""
    parts = cur._transform_explode(fakesnow.cursor.parse_one(text))
    return [cur._transform(part, None) for part in parts]


@pytest.mark.parametrize("text", KEPT, ids=[text[:30] for text in KEPT])
def test_a_kept_translation_is_fakesnows_own_and_a_new_tree_for_each_caller(cursor, text):
    cursor.execute(text)  # translated and kept
    first, second = translations(cursor, text), translations(cursor, text)
    assert [part.sql() for part in first] == fakesnow_translation(cursor, text)
    assert [part.sql() for part in second] == [part.sql() for part in first]
    assert all(a is not b for a, b in zip(first, second, strict=True))
    cursor.execute(text)  # and the kept translation runs


def test_only_statements_that_read_nothing_else_are_kept():
    kinds = {text: fakesnow.cursor.parse_one(text) for text in KEPT + NOT_KEPT}

    class Session:
        class _conn:  # noqa: N801 - the cursor's attribute it reads
            database, schema = "DB1", "S1"

    keys = {text: fakesnow_speedups._translation_key(Session, tree) for text, tree in kinds.items()}
    assert all(keys[text] == (text, "DB1", "S1") for text in KEPT)
    assert all(keys[text] is None for text in NOT_KEPT)


def test_the_same_text_in_another_schema_is_translated_for_that_schema(cursor):
    # fakesnow reads `databases` as its own catalog view only while the current schema is
    # INFORMATION_SCHEMA: one text, two translations
    text = "select * from databases"
    conn, schema = cursor._conn, cursor._conn.schema  # translated only, not run: no USE needed
    seen: dict[str, list[str]] = {}
    try:
        for current in (schema, "INFORMATION_SCHEMA", schema, "INFORMATION_SCHEMA"):
            conn._schema = current
            translated = [part.sql() for part in translations(cursor, text)]
            assert translated == fakesnow_translation(cursor, text)
            assert seen.setdefault(current, translated) == translated
    finally:
        conn._schema = schema
    assert seen[schema] != seen["INFORMATION_SCHEMA"]
