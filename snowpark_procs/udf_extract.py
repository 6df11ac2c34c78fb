"""The per-file work of step "extract_metadata", and the Python UDF raw.extract_file_metadata
that runs it inside the warehouse: one file version (and the facets to compute: a facet
re-processing's, or all) in, its metadata row with its facet rows (FACET_ROWS: one per facet
computed, pixelforge_core/facets.py FacetResult.row), its failure row, a retry marker (a
transient read error) or a hung marker (past the per-row time limit) out. The step merges the
metadata row into raw.file_metadata and the facet rows into raw.file_facets (split_facet_rows).

One implementation, two callers. In Snowflake the procedure sends one set-based statement over
a batch of charged pending files (snowpark_procs/sql/extract_files_set_based.sql) and the
warehouse runs `extract_file_metadata` once per row, reading each file from the scoped URL the
statement built (ScopedFileByteSource). Locally, where fakesnow cannot register a UDF, the
runner's extractor calls `file_outcome` row by row with the S3 byte source
(snowpark_procs/steps/extractors.py). Both return the same VARIANT-shaped object.

Why a scalar UDF, not a vectorised UDF or a UDTF. Snowflake spreads a Python UDF's rows over
the warehouse's nodes and, on the standard runtimes, "runs each parallel instance of a function
in its own worker process" ("Free-threaded Python for UDFs and procedures",
https://docs.snowflake.com/developer-guide/udf/python/udf-python-free-threading), several per
node to get past the GIL, redistributing even a handful of expensive rows ("Creating Automated
Optimizations for Python User-Defined Functions with Snowpark's Parallel Execution",
https://www.snowflake.com/en/engineering-blog/snowpark-parallel-python-udf-optimization/; the
redistribution adapts per row to rows of uneven cost, "DySkew", arXiv 2604.13034). A bigger or
multi-cluster warehouse therefore extracts proportionally faster with no worker pool of ours.
A file's cost varies by orders of magnitude (a 20 kB PNG, a 200 MB TIFF) and nothing in the
work is vectorisable: a vectorised UDF gets rows in pandas batches ("Vectorized Python UDFs",
https://docs.snowflake.com/en/developer-guide/udf/python/udf-python-batch), so one slow file
holds its whole batch on one process and a failing one fails the batch, for no gain. One row
in, one row out: a scalar function, not a table function.

The time limit per row (the set-based watchdog). A parse cannot be killed, only left behind
(steps/extract.py): `within` runs it on a daemon thread (a handler may start threads: the same
page shows handlers using a ThreadPoolExecutor) and returns a hung marker when it has not
finished in `limit_s`, so the statement completes with the other rows and the procedure keeps
the hung file's charge (it becomes a suspect, parsed alone next run). The thread keeps a core of
its interpreter process busy until that process ends, which Snowflake decides (the step takes no
new batch after a hung file, so no later statement of the run meets it). A parse that holds the
GIL, exhausts the process's memory or crashes it cannot be caught here: then Snowflake kills the
statement and returns an error ("If a handler takes too long to complete, Snowflake kills the
SQL statement"; "Handler code will return an error if it consumes too much memory", "Designing
Handlers that Stay Within Snowflake-Imposed Constraints",
https://docs.snowflake.com/en/developer-guide/udf-stored-procedure-constraints; the limits are
not published), the procedure keeps the charges of every file of that statement, and the next
run extracts each of them alone, so the file at fault ends retries_exhausted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from pixelforge_core.records import DesignMetadata, MetadataFailure
from pixelforge_core.transient import is_transient
from snowpark_procs import metadata
from snowpark_procs.byte_sources import ByteSource, ScopedFileByteSource, SourceFileError
from snowpark_procs.steps.common import Retry

T = TypeVar("T")

# The `status` of an outcome that is not a metadata row (whose status is "ok" or "failed").
RETRY = "retry"
HUNG = "hung"
# The key of a finished outcome's raw.file_facets rows (FacetResult.row each); the step merges
# them apart from its raw.file_metadata row (split_facet_rows), which never holds them.
FACET_ROWS = "facet_rows"


def extract_one(
    source: ByteSource,
    relative_path: str,
    etag: str,
    run_id: str,
    facets: frozenset[str] | None = None,
) -> dict[str, Any] | Retry:
    """The file's outcome row: its metadata row (or failure row) with the facet rows extraction
    computed under FACET_ROWS (`facets`: those to compute, None: every extraction facet covering
    the format), or a retry marker for a transient read error."""
    try:
        with source.open(relative_path, etag) as stream:
            result = metadata.extract_metadata(stream, relative_path, facets=facets)
    except SourceFileError as error:
        result = MetadataFailure(error.reason_code, error.message)
    except Exception as error:
        if not is_transient(error):
            raise
        return Retry(relative_path, etag, type(error).__name__, str(error))
    row = metadata_row(relative_path, etag, run_id, result)
    if isinstance(result, DesignMetadata) and result.facets:
        row[FACET_ROWS] = [f.row(relative_path, etag, run_id) for f in result.facets]
    return row


def metadata_row(relative_path: str, etag: str, run_id: str, result: Any) -> dict[str, Any]:
    """The raw.file_metadata row of an extraction result (merge_file_metadata.sql binds it): the
    header facts, never the facets (they have their own rows, FacetResult.row)."""
    key = {"relative_path": relative_path, "etag": etag, "run_id": run_id}
    if isinstance(result, MetadataFailure):
        return {
            **key,
            "status": "failed",
            "reason_code": result.reason_code,
            "error_message": result.message,
            "format": result.format,
            "sha256": result.sha256,
            "size_bytes": result.size_bytes,
        }
    facts = {f.name: getattr(result, f.name) for f in fields(result) if f.name != "facets"}
    return {**key, "status": "ok", **facts}


def split_facet_rows(outcome: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An outcome row as its raw.file_metadata row and its raw.file_facets rows."""
    row = dict(outcome)
    return row, list(row.pop(FACET_ROWS, None) or [])


def facets_argument(facets: frozenset[str] | None) -> str | None:
    """The facets to compute as the UDF's `facets` argument: names comma-separated, or None
    (every extraction facet covering the file's format)."""
    return None if facets is None else ",".join(sorted(facets))


def facets_of_argument(value: str | None) -> frozenset[str] | None:
    """facets_argument's value back as extract_metadata's `facets`."""
    if value is None or value == "":
        return None
    return frozenset(name.strip() for name in value.split(",") if name.strip())


@dataclass(frozen=True)
class Hung:
    """A file whose parse was still running `limit_s` after it started."""

    relative_path: str
    etag: str
    limit_s: float


class _OverdueError(Exception):
    pass


def within(limit_s: float, work: Callable[[], T]) -> T:
    """work(), run on a daemon thread; raises _OverdueError when it has not finished in limit_s
    (the thread is left running). What work raises, a BaseException too, is raised here."""
    done: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            done.append((True, work()))
        except BaseException as error:  # handed to the caller, who decides
            done.append((False, error))

    thread = threading.Thread(target=run, name="extract-file", daemon=True)
    thread.start()
    thread.join(limit_s)
    if not done:
        raise _OverdueError
    finished, value = done[0]
    if not finished:
        raise value
    return value  # type: ignore[no-any-return]


def file_outcome(
    source: ByteSource,
    relative_path: str,
    etag: str,
    run_id: str,
    limit_s: float,
    facets: frozenset[str] | None = None,
) -> dict[str, Any]:
    """One file's outcome as the UDF returns it (a JSON object): extract_one under the time
    limit. A step failure (anything extract_one raises) is raised: in Snowflake it fails the
    statement."""
    key = {"relative_path": relative_path, "etag": etag}
    try:
        outcome = within(limit_s, lambda: extract_one(source, relative_path, etag, run_id, facets))
    except _OverdueError:
        return {**key, "status": HUNG, "limit_s": limit_s}
    if isinstance(outcome, Retry):
        return {
            **key,
            "status": RETRY,
            "reason_code": outcome.reason_code,
            "error_message": outcome.message,
        }
    # what a VARIANT holds (and what merge_file_metadata.sql gets bound anyway)
    return json.loads(json.dumps(outcome, default=str))  # type: ignore[no-any-return]


def outcome_of(value: Mapping[str, Any] | str) -> dict[str, Any] | Retry | Hung:
    """An outcome back in the procedure's terms (a VARIANT column arrives as JSON text)."""
    row = dict(json.loads(value) if isinstance(value, str) else value)
    if row["status"] == RETRY:
        return Retry(row["relative_path"], row["etag"], row["reason_code"], row["error_message"])
    if row["status"] == HUNG:
        return Hung(row["relative_path"], row["etag"], float(row["limit_s"]))
    return row


def extract_file_metadata(
    scoped_url: str,
    relative_path: str,
    etag: str,
    run_id: str,
    limit_s: float,
    facets: str | None = None,
) -> dict[str, Any]:
    """The handler of UDF raw.extract_file_metadata (snowflake.yml): the file behind a scoped
    URL, read in the function owner's context; `facets` as facets_argument gives it."""
    return file_outcome(
        ScopedFileByteSource(scoped_url),
        relative_path,
        etag,
        run_id,
        limit_s,
        facets_of_argument(facets),
    )
