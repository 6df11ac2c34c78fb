"""The extraction UDF's handler (snowpark_procs/udf_extract.py) and the two extractors that run it
(snowpark_procs/steps/extractors.py): the same outcomes row by row and set-based."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from pixelforge_core.facets import FacetResult, facet, facets_of
from snowpark_procs import udf_extract
from snowpark_procs.byte_sources import SourceFileError
from snowpark_procs.steps.common import Retry, StepError
from snowpark_procs.steps.extractors import (
    RowByRowExtractor,
    SetBasedExtractor,
    StatementAbandonedError,
)
from snowpark_procs.udf_extract import Hung, file_outcome, outcome_of
from tests.fixtures.design_files import small

PNG = small("png_with_alpha")
PNG_ETAG = hashlib.md5(PNG, usedforsecurity=False).hexdigest()


class Died(BaseException):
    """The process dying under a parse."""


class DictSource:
    """A ByteSource over a dict; a value that is an exception is raised when opened."""

    def __init__(self, files: dict[str, Any]) -> None:
        self.files = files

    @contextmanager
    def open(self, relative_path: str, etag: str) -> Iterator[io.BytesIO]:
        value = self.files[relative_path]
        if callable(value):
            value = value()
        if isinstance(value, BaseException):
            raise value
        yield io.BytesIO(value)


@dataclass(frozen=True)
class File:
    relative_path: str
    etag: str = PNG_ETAG
    facets: frozenset[str] | None = None


def test_a_readable_file_is_its_metadata_row_as_json():
    outcome = file_outcome(DictSource({"a.png": PNG}), "a.png", PNG_ETAG, "run-1", 5.0)
    assert outcome["status"] == "ok"
    assert (outcome["relative_path"], outcome["etag"], outcome["run_id"]) == (
        "a.png",
        PNG_ETAG,
        "run-1",
    )
    assert (outcome["format"], outcome["width_px"], outcome["height_px"]) == ("png", 600, 400)
    assert json.loads(json.dumps(outcome)) == outcome  # what a VARIANT holds
    assert outcome_of(json.dumps(outcome)) == outcome


def test_an_unreadable_file_is_its_failure_row():
    source = DictSource({"gone.png": SourceFileError("file_missing", "gone.png: deleted")})
    outcome = outcome_of(file_outcome(source, "gone.png", "e", "run-1", 5.0))
    assert isinstance(outcome, dict)
    assert (outcome["status"], outcome["reason_code"]) == ("failed", "file_missing")


def test_a_transient_read_error_is_a_retry_marker():
    source = DictSource({"a.png": ConnectionError("503 slow down")})
    outcome = file_outcome(source, "a.png", "e", "run-1", 5.0)
    assert outcome["status"] == udf_extract.RETRY
    assert outcome_of(json.dumps(outcome)) == Retry(
        "a.png", "e", "ConnectionError", "503 slow down"
    )


def test_a_parse_past_the_limit_is_a_hung_marker_and_is_left_running():
    release = threading.Event()
    source = DictSource({"loop.png": lambda: release.wait(30) and PNG})
    try:
        outcome = file_outcome(source, "loop.png", "e", "run-1", 0.2)
        still_running = not release.is_set()
    finally:
        release.set()
    assert still_running
    assert outcome_of(outcome) == Hung("loop.png", "e", 0.2)


@pytest.mark.parametrize("error", [ValueError("bug"), Died()])
def test_a_step_failure_or_a_dying_process_is_raised(error):
    with pytest.raises(type(error)):
        file_outcome(DictSource({"a.png": error}), "a.png", "e", "run-1", 5.0)


def test_the_udf_reads_the_file_behind_its_scoped_url(monkeypatch):
    opened: list[tuple[str, bool]] = []

    class FakeSnowflakeFile:
        @staticmethod
        def open(location: str, mode: str, require_scoped_url: bool = True) -> io.BytesIO:
            opened.append((location, require_scoped_url))
            return io.BytesIO(PNG)

    module = types.ModuleType("snowflake.snowpark.files")
    module.SnowflakeFile = FakeSnowflakeFile  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snowflake.snowpark.files", module)
    url = "https://acct.snowflakecomputing.com/api/files/01b2/a%2fb.png"
    outcome = udf_extract.extract_file_metadata(url, "a/b.png", PNG_ETAG, "run-1", 5.0)
    assert outcome["status"] == "ok"
    assert opened == [(url, True)]  # a scoped URL only: what the caller could read


def test_row_by_row_gives_each_file_its_outcome():
    source = DictSource(
        {
            "a.png": PNG,
            "b.png": ConnectionError("reset"),
            "c.png": SourceFileError("file_changed", "c.png: overwritten"),
        }
    )
    extractor = RowByRowExtractor(source, workers=2)
    try:
        extracted = extractor.extract([File("a.png"), File("b.png"), File("c.png")], "r", 5.0)
    finally:
        extractor.close()
    assert extracted.hung == []
    outcomes = extracted.outcomes
    assert outcomes[("a.png", PNG_ETAG)]["status"] == "ok"  # type: ignore[index]
    assert isinstance(outcomes[("b.png", PNG_ETAG)], Retry)
    assert outcomes[("c.png", PNG_ETAG)]["reason_code"] == "file_changed"  # type: ignore[index]


class FakeWarehouse:
    """A session whose set-based statement the 'warehouse' answers with the UDF's handler over
    each row (what Snowflake does), or fails."""

    def __init__(self, source: DictSource, fail: Exception | None = None, drop: int = 0):
        self.source = source
        self.fail = fail
        self.drop = drop
        self.params: list[Any] = []

    def sql(self, query: str, params: list[Any] | None = None) -> Any:
        assert "raw.extract_file_metadata(" in query
        self.params = list(params or [])
        warehouse = self

        class Statement:
            def collect(self) -> list[dict[str, Any]]:
                if warehouse.fail is not None:
                    raise warehouse.fail
                run_id, limit_s, batch = warehouse.params
                rows = [
                    {
                        "FILE_INDEX": index,
                        "OUTCOME": json.dumps(
                            file_outcome(
                                warehouse.source,
                                f["relative_path"],
                                f["etag"],
                                run_id,
                                limit_s,
                                # item.value:facets::varchar, null when absent
                                udf_extract.facets_of_argument(f.get("facets")),
                            )
                        ),
                    }
                    for index, f in enumerate(json.loads(batch))
                ]
                return rows[warehouse.drop :]

        return Statement()


def test_set_based_binds_the_batch_and_reads_back_every_row_in_the_same_terms():
    files = [File("a.png"), File("b.png")]
    source = DictSource({"a.png": PNG, "b.png": ConnectionError("reset")})
    warehouse = FakeWarehouse(source)
    extracted = SetBasedExtractor(warehouse).extract(files, "run-1", 7.5)
    assert warehouse.params[:2] == ["run-1", 7.5]
    assert json.loads(warehouse.params[2]) == [
        {"relative_path": "a.png", "etag": PNG_ETAG},
        {"relative_path": "b.png", "etag": PNG_ETAG},
    ]
    row_by_row = RowByRowExtractor(source)
    try:
        assert extracted == row_by_row.extract(files, "run-1", 7.5)
    finally:
        row_by_row.close()


@pytest.fixture
def facet_extractors(monkeypatch: pytest.MonkeyPatch) -> list[frozenset[str] | None]:
    """extract_metadata with a result per facet asked for (and covering the format), standing
    in for the facet extractors; returns the `facets` each call asked for."""
    asked: list[frozenset[str] | None] = []
    real = udf_extract.metadata.extract_metadata

    def extract(source: Any, name: str, *args: Any, facets: Any = None, **kwargs: Any) -> Any:
        asked.append(facets)
        result = real(source, name, *args, facets=facets, **kwargs)
        results = tuple(
            FacetResult(f.name, f.version, "ok", {"file": name})
            for f in facets_of("extract_metadata", result.format)
            if facets is None or f.name in facets
        )
        return dataclasses.replace(result, facets=results)

    monkeypatch.setattr(udf_extract.metadata, "extract_metadata", extract)
    return asked


def test_a_files_facet_rows_come_with_its_outcome_and_never_in_its_metadata_row(
    facet_extractors: list[frozenset[str] | None],
):
    source = DictSource({"a.png": PNG})
    outcome = file_outcome(source, "a.png", PNG_ETAG, "run-1", 5.0)
    row, facet_rows = udf_extract.split_facet_rows(outcome)
    assert facet_rows == [
        {
            "relative_path": "a.png",
            "etag": PNG_ETAG,
            "facet": "document",
            "facet_version": facet("document").version,
            "status": "ok",
            "reason_code": None,
            "error_message": None,
            "payload": {"file": "a.png"},
            "run_id": "run-1",
        }
    ]
    assert udf_extract.FACET_ROWS not in row and "facets" not in row
    assert row["format"] == "png" and row["status"] == "ok"
    assert outcome_of(json.dumps(outcome)) == outcome  # what a VARIANT holds
    # a facet re-processing asks for its facet alone; a facet the format lacks: no row
    only = file_outcome(source, "a.png", PNG_ETAG, "run-1", 5.0, frozenset({"structure"}))
    assert udf_extract.split_facet_rows(only)[1] == []
    assert facet_extractors == [None, frozenset({"structure"})]


def test_set_based_hands_each_file_its_facets_like_row_by_row(
    facet_extractors: list[frozenset[str] | None],
):
    files = [File("a.png", facets=frozenset({"document"})), File("b.png")]
    source = DictSource({"a.png": PNG, "b.png": PNG})
    warehouse = FakeWarehouse(source)
    extracted = SetBasedExtractor(warehouse).extract(files, "run-1", 7.5)
    assert json.loads(warehouse.params[2]) == [
        {"relative_path": "a.png", "etag": PNG_ETAG, "facets": "document"},
        {"relative_path": "b.png", "etag": PNG_ETAG},
    ]
    row_by_row = RowByRowExtractor(source)
    try:
        assert extracted == row_by_row.extract(files, "run-1", 7.5)
    finally:
        row_by_row.close()
    assert sorted(map(str, facet_extractors)) == sorted(
        map(str, [frozenset({"document"}), None] * 2)
    )
    assert udf_extract.FACET_ROWS in extracted.outcomes[("a.png", PNG_ETAG)]  # type: ignore[operator]


def test_a_failed_statement_is_abandoned_with_no_path_in_its_message():
    warehouse = FakeWarehouse(DictSource({}), fail=RuntimeError("a/secret.png: timed out"))
    with pytest.raises(StatementAbandonedError) as raised:
        SetBasedExtractor(warehouse).extract([File("a/secret.png")], "run-1", 1.0)
    assert "secret" not in str(raised.value)
    assert isinstance(raised.value, StepError)


def test_a_statement_missing_rows_is_a_step_failure():
    warehouse = FakeWarehouse(DictSource({"a.png": PNG, "b.png": PNG}), drop=1)
    with pytest.raises(StepError, match="returned 1 of 2 rows"):
        SetBasedExtractor(warehouse).extract([File("a.png"), File("b.png")], "run-1", 5.0)


def test_the_set_based_statement_is_snowflake_sql():
    """fakesnow never runs it (no UDFs): it must parse with sqlglot's Snowflake dialect, and the
    only functions sqlglot does not model are BUILD_SCOPED_FILE_URL (a Snowflake function,
    https://docs.snowflake.com/en/sql-reference/functions/build_scoped_file_url) and the UDF."""
    import sqlglot
    from sqlglot import exp

    from snowpark_procs.handlers import FUNCTIONS
    from snowpark_procs.sql import read_sql

    tree = sqlglot.parse_one(read_sql("extract_files_set_based"), read="snowflake")
    assert not isinstance(tree, exp.Command)
    unknown = {node.name.lower() for node in tree.find_all(exp.Anonymous)}
    assert unknown == {"build_scoped_file_url", *FUNCTIONS}
