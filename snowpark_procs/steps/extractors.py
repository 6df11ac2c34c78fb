"""The seam "extract these pending files" of step "extract_metadata", and its two implementations.

The step (steps/extract.py) keeps the control flow: it charges a batch, hands it to a
FileExtractor, then settles and merges the outcomes. The extractor only turns files into
outcomes with the one per-file implementation, snowpark_procs/udf_extract.py:

- SetBasedExtractor (production, handlers.py): one statement over the batch (more only where
  its requests would not fit one bind, pixelforge_core/write_batch.py;
  sql/extract_files_set_based.sql) in which the warehouse runs the UDF raw.extract_file_metadata
  on its nodes and interpreter processes, each file read from its scoped URL.

Both hand each file's facets to compute (a facet re-processing's: steps/extract.py Pending) to
the same handler, and both bring back the same outcomes: the metadata row with its facet rows.
- RowByRowExtractor (the local runner's; fakesnow cannot register a UDF): the same
  `file_outcome` for each file on a few threads, reading through the ByteSource it is given.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pixelforge_core.write_batch import json_binds
from snowpark_procs.byte_sources import ByteSource
from snowpark_procs.sql import read_sql
from snowpark_procs.steps.common import Retry, SqlSession, StepError
from snowpark_procs.udf_extract import Hung, facets_argument, file_outcome, outcome_of


class PendingFile(Protocol):
    @property
    def relative_path(self) -> str: ...

    @property
    def etag(self) -> str: ...

    @property
    def facets(self) -> frozenset[str] | None:
        """The extraction facets to compute (a facet re-processing's), None: every one."""
        ...


FileT = TypeVar("FileT", bound=PendingFile)


@dataclass
class Extracted(Generic[FileT]):
    """What became of a batch: each finished file's metadata row or retry marker by
    (relative_path, etag), and the files still parsing past the time limit."""

    outcomes: dict[tuple[str, str], dict[str, Any] | Retry] = field(default_factory=dict)
    hung: list[FileT] = field(default_factory=list)

    def add(self, file: FileT, outcome: dict[str, Any] | Retry | Hung) -> None:
        if isinstance(outcome, Hung):
            self.hung.append(file)
        else:
            self.outcomes[(file.relative_path, file.etag)] = outcome


class StatementAbandonedError(StepError):
    """The set-based statement failed as a whole: Snowflake kills it when a row's handler runs
    too long or uses too much memory, and the procedure cannot tell which row. The step keeps
    the charges of every file of the statement (as when its own process dies): each is then
    extracted alone, so the file at fault is charged to itself. No file path in the message
    (StepError)."""


class FileExtractor(Protocol):
    def extract(self, files: Sequence[FileT], run_id: str, limit_s: float) -> Extracted[FileT]:
        """The outcomes of `files` (already charged), each parse limited to `limit_s` seconds.
        Raises StatementAbandonedError when the files' charges must stay, anything else for a step
        failure (the charges are given back)."""
        ...

    def close(self) -> None:
        """Release what extract() started (called once, when the step ends)."""
        ...


class SetBasedExtractor:
    """Production: the warehouse runs the UDF over the batch, one set-based statement."""

    def __init__(self, session: SqlSession) -> None:
        self._session = session

    def extract(self, files: Sequence[FileT], run_id: str, limit_s: float) -> Extracted[FileT]:
        requests = (
            {
                "relative_path": f.relative_path,
                "etag": f.etag,
                # absent: every facet (the statement passes null)
                **({} if f.facets is None else {"facets": facets_argument(f.facets)}),
            }
            for f in files
        )
        extracted: Extracted[FileT] = Extracted()
        returned = offset = 0
        for bind, count in json_binds(requests):
            try:
                rows = self._session.sql(
                    read_sql("extract_files_set_based"), params=[run_id, limit_s, bind]
                ).collect()
            except Exception as error:
                raise StatementAbandonedError(
                    f"the set-based extraction of {len(files)} files failed "
                    f"({type(error).__name__}); their attempts stay charged and each is "
                    "extracted alone by the next runs"
                ) from error
            for row in rows:
                extracted.add(files[offset + int(row["FILE_INDEX"])], outcome_of(row["OUTCOME"]))
            returned += len(rows)
            offset += count
        if len(extracted.outcomes) + len(extracted.hung) != len(files):
            raise StepError(f"the extraction statement returned {returned} of {len(files)} rows")
        return extracted

    def close(self) -> None:
        """Nothing to release: the warehouse ran the rows."""


class RowByRowExtractor:
    """Local: file_outcome for each file on `workers` threads (standing for the warehouse's
    interpreter processes), reading through `source`."""

    def __init__(self, source: ByteSource, workers: int = 4) -> None:
        self._source = source
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract")

    def extract(self, files: Sequence[FileT], run_id: str, limit_s: float) -> Extracted[FileT]:
        futures: list[Future[dict[str, Any]]] = [
            self._pool.submit(
                file_outcome, self._source, f.relative_path, f.etag, run_id, limit_s, f.facets
            )
            for f in files
        ]
        extracted: Extracted[FileT] = Extracted()
        try:
            for file, future in zip(files, futures, strict=True):
                # what a VARIANT column brings back
                extracted.add(file, outcome_of(json.dumps(future.result())))
        except BaseException:
            # a step failure, or the process dying: the statement's other rows are dropped
            for future in futures:
                future.cancel()
            raise
        return extracted

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
