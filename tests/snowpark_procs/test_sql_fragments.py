"""SQL fragments (snowpark_procs/sql/__init__.py): a query several statements share is written
once and put in place by read_sql, so each statement sends it and no file repeats it."""

from __future__ import annotations

from importlib import resources

import pytest

import snowpark_procs.sql as sql_package
from snowpark_procs.sql import FRAGMENT, read_sql

SQL_FILES = sorted(
    entry.name.removesuffix(".sql")
    for entry in resources.files("snowpark_procs.sql").iterdir()
    if entry.name.endswith(".sql")
)
# fragment -> the statements that read it
READERS = {
    "current_file_versions": (
        "select_reprocess_files",
        "select_stale_facet_files",
        "discover_repairs",
    ),
    "backfilled_versions": ("merge_file_metadata", "merge_thumbnails"),
}


def raw_text(name: str) -> str:
    return resources.files("snowpark_procs.sql").joinpath(f"{name}.sql").read_text("utf-8")


def code(text: str) -> str:
    """The text without its `--` comments, whitespace collapsed."""
    return " ".join(" ".join(line.partition("--")[0] for line in text.splitlines()).split())


@pytest.mark.parametrize("name", SQL_FILES)
def test_no_statement_sends_a_fragment_name(name: str) -> None:
    assert not FRAGMENT.search(code(read_sql(name)))


@pytest.mark.parametrize("fragment", sorted(READERS))
def test_each_reader_sends_the_fragment_and_no_file_repeats_it(fragment: str) -> None:
    body = code(raw_text(fragment))
    for reader in READERS[fragment]:
        assert f"fragment.{fragment} as " in code(raw_text(reader)), reader
        assert f"( {body} ) as " in code(read_sql(reader)), reader
    # written once: no other file holds the fragment's joins
    holders = [name for name in SQL_FILES if body in code(raw_text(name))]
    assert holders == [fragment]


def test_a_fragment_that_reads_itself_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Files:
        def joinpath(self, _name: str) -> Files:
            return self

        def read_text(self, encoding: str) -> str:
            return "select * from fragment.loop as loop -- fragment.loop in a comment\n"

    monkeypatch.setattr(sql_package.resources, "files", lambda _package: Files())
    read_sql.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"loop\.sql reads itself"):
            read_sql("loop")
    finally:
        read_sql.cache_clear()
