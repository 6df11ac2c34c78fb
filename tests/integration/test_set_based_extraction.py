"""The production extraction seam (SetBasedExtractor) on the embedded stack: the pipeline runs
with the set-based statement answered by a stand-in warehouse that runs the UDF's handler over
each row (fakesnow cannot register the UDF), including a warehouse that kills the statement
(Snowflake's per-handler time or memory limit). Every test here has "security" in its name
(`pytest -k security`), like the other untrusted-file tests."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from orchestration.local import runner as runner_module
from pixelforge_core.facets import facets_of
from snowpark_procs.steps.common import MAX_FILE_ATTEMPTS
from snowpark_procs.steps.extractors import SetBasedExtractor
from snowpark_procs.udf_extract import facets_of_argument, file_outcome
from tests.integration.conftest import (
    FILES_ONLY,
    check_consistency,
    query,
    runner_for,
    small_corpus,
    upload,
)

pytestmark = pytest.mark.integration

POISON = "team-a/photo.jpg"


class StandInWarehouse:
    """Answers the set-based extraction statement as Snowflake would: the UDF's handler over
    each bound row, reading through the local byte source; a statement whose batch holds
    `kill` fails as a whole, as when Snowflake kills a handler over its limits."""

    def __init__(self, source: Any, kill: str | None, batches: list[list[str]]) -> None:
        self.source = source
        self.kill = kill
        self.batches = batches

    def sql(self, query: str, params: list[Any] | None = None) -> Any:
        assert "raw.extract_file_metadata(" in query
        run_id, limit_s, batch = params or []
        rows = json.loads(batch)
        self.batches.append([r["relative_path"] for r in rows])
        warehouse = self

        class Statement:
            def collect(self) -> list[dict[str, Any]]:
                if any(r["relative_path"] == warehouse.kill for r in rows):
                    raise RuntimeError(f"{warehouse.kill}: Python UDF execution took too long")
                return [
                    {
                        "FILE_INDEX": index,
                        "OUTCOME": json.dumps(
                            file_outcome(
                                warehouse.source,
                                r["relative_path"],
                                r["etag"],
                                run_id,
                                float(limit_s),
                                # item.value:facets::varchar, null when absent
                                facets_of_argument(r.get("facets")),
                            )
                        ),
                    }
                    for index, r in enumerate(rows)
                ]

        return Statement()


def _set_based(monkeypatch: pytest.MonkeyPatch, kill: str | None) -> list[list[str]]:
    batches: list[list[str]] = []
    monkeypatch.setattr(
        runner_module,
        "RowByRowExtractor",
        lambda source: SetBasedExtractor(StandInWarehouse(source, kill, batches)),
    )
    return batches


def test_security_the_set_based_path_extracts_like_the_row_by_row_one(start_stack, monkeypatch):
    stack = start_stack()
    files = small_corpus()
    upload(stack, files)
    batches = _set_based(monkeypatch, kill=None)

    report = runner_for(stack).run(kind="scheduled")

    assert report.succeeded, report.run.error_message
    assert sorted(path for batch in batches for path in batch) == sorted(files)
    rows = query(stack, "select relative_path, status, format from raw.file_metadata")
    assert Counter(r["RELATIVE_PATH"] for r in rows) == Counter(set(files))
    # the UDF's facet rows reach raw.file_facets: each covered facet of every readable file
    facet_rows = query(stack, "select relative_path, facet from raw.file_facets")
    assert {(r["RELATIVE_PATH"], r["FACET"]) for r in facet_rows if r["FACET"] != "visual"} == {
        (r["RELATIVE_PATH"], f.name)
        for r in rows
        if r["STATUS"] == "ok"
        for f in facets_of("extract_metadata", r["FORMAT"])
    }
    consistency = check_consistency(stack)
    assert consistency.lost == consistency.duplicated == consistency.problems == []


def test_security_a_statement_the_warehouse_kills_is_charged_to_the_file_at_fault(
    start_stack, monkeypatch
):
    stack = start_stack()
    files = small_corpus()
    upload(stack, files)
    batches = _set_based(monkeypatch, kill=POISON)
    # the files' steps alone until the file is settled, then a whole run builds the marts
    runner = runner_for(stack, pipeline=FILES_ONLY)

    reports = []
    for _ in range(MAX_FILE_ATTEMPTS + 3):
        reports.append(runner.run(kind="scheduled"))
        if query(
            stack, "select count(*) as n from raw.file_metadata where relative_path = ?", [POISON]
        ) == [{"N": 1}]:
            break

    # the first statement held every file and was killed: all stayed charged; after it every
    # statement held one file, so the killed ones held the file at fault alone
    assert sorted(batches[0]) == sorted(files)
    assert all(len(batch) == 1 for batch in batches[1:])
    killed_alone = [batch for batch in batches[1:] if batch == [POISON]]
    assert len(killed_alone) == MAX_FILE_ATTEMPTS - 1
    row = query(
        stack,
        "select status, reason_code, error_message from raw.file_metadata where relative_path = ?",
        [POISON],
    )
    assert [(r["STATUS"], r["REASON_CODE"]) for r in row] == [("failed", "retries_exhausted")]
    assert f"after {MAX_FILE_ATTEMPTS} attempts" in row[0]["ERROR_MESSAGE"]
    # every other file extracted once, nothing left charged, and the last run succeeded
    assert reports[-1].succeeded, reports[-1].run.error_message
    metadata = query(stack, "select relative_path, status from raw.file_metadata")
    assert Counter(r["RELATIVE_PATH"] for r in metadata) == Counter(set(files))
    assert query(stack, "select count(*) as n from raw.file_retries") == [{"N": 0}]
    whole = runner_for(stack).run(kind="scheduled")
    assert whole.succeeded, whole.run.error_message
    consistency = check_consistency(stack)
    assert consistency.lost == consistency.duplicated == consistency.problems == []
