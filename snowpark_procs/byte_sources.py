"""The one seam through which step code reads design files: the stage in Snowflake (the
extraction function reads each file from the scoped URL its statement built).

Locally the runner passes orchestration/local/s3_byte_source.py's S3ByteSource instead.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, Protocol

from pixelforge_core import reason_codes

CHUNK_BYTES = 1 << 20
# Files up to this size stay in memory; larger ones spill to a temporary file.
SPOOL_BYTES = 32 << 20


class SourceFileError(Exception):
    """A file that cannot be read for a per-file reason (gone, changed, too large)."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


class ByteSource(Protocol):
    def open(self, relative_path: str, etag: str) -> Any:
        """A context manager yielding a seekable binary stream of that exact file version.

        Raises SourceFileError for per-file problems; anything else is a step failure.
        """
        ...


def spool_chunks(chunks: Iterator[bytes], max_bytes: int, relative_path: str) -> BinaryIO:
    """The chunks in a spool (memory, then disk past SPOOL_BYTES), rewound; too large raises."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - caller closes
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            spool.close()
            raise SourceFileError(
                reason_codes.FILE_TOO_LARGE,
                f"{relative_path}: larger than the {max_bytes} byte limit",
            )
        spool.write(chunk)
    spool.seek(0)
    return spool  # type: ignore[return-value]


class StageFileByteSource:
    """Reads a file of a stage from inside Snowflake (SnowflakeFile) by its stage path: the
    owner's own files (require_scoped_url=False), as an owner's-rights procedure reads them."""

    def __init__(self, stage: str, max_bytes: int = 256 << 20) -> None:
        self._stage = stage
        self._max_bytes = max_bytes

    def _location(self, relative_path: str) -> tuple[str, bool]:
        """What SnowflakeFile.open gets for the file: its location, and whether that must be a
        scoped URL."""
        return f"@{self._stage}/{relative_path}", False

    @contextmanager
    def open(self, relative_path: str, etag: str) -> Iterator[BinaryIO]:
        from snowflake.snowpark.files import SnowflakeFile  # noqa: TID251 - the stage reader

        location, scoped = self._location(relative_path)
        try:
            handle = SnowflakeFile.open(location, "rb", require_scoped_url=scoped)
        except FileNotFoundError as error:
            raise SourceFileError(
                reason_codes.FILE_MISSING, f"{relative_path}: deleted after discovery"
            ) from error
        digest = hashlib.md5(usedforsecurity=False)
        with handle:
            chunks = _hashed(iter(lambda: handle.read(CHUNK_BYTES), b""), digest)
            spool = spool_chunks(chunks, self._max_bytes, relative_path)
        with spool:
            _check_version(digest.hexdigest(), etag, relative_path)
            yield spool


class ScopedFileByteSource(StageFileByteSource):
    """The one file a UDF was handed as a scoped URL (BUILD_SCOPED_FILE_URL in the caller's
    statement): SnowflakeFile.open with require_scoped_url=True, its default, so the function
    reads only what its caller could read ("SnowflakeFile.open": files are accessed in the UDF
    owner's context; accepting only scoped URLs ensures the caller had access,
    https://docs.snowflake.com/en/developer-guide/snowpark/reference/python/latest/api/
    snowflake.snowpark.files.SnowflakeFile.open). A scoped URL is valid 24 hours
    (https://docs.snowflake.com/en/sql-reference/functions/build_scoped_file_url)."""

    def __init__(self, scoped_url: str, max_bytes: int = 256 << 20) -> None:
        super().__init__("", max_bytes)
        self._url = scoped_url

    def _location(self, relative_path: str) -> tuple[str, bool]:
        return self._url, True


# A single-part upload's ETag is the MD5 of its bytes (AWS "Checking object integrity"); a
# multipart ETag is "<md5 of the parts' md5s>-<parts>", which needs the part size to recompute.
_SINGLE_PART_ETAG = re.compile(r"[0-9a-f]{32}")


def _hashed(chunks: Iterator[bytes], digest: Any) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _check_version(md5_hex: str, etag: str, relative_path: str) -> None:
    """SnowflakeFile has no ETag precondition (S3ByteSource sends If-Match): the bytes read
    must be the version discovered, or the file was overwritten after discovery. Checked for
    single-part ETags; a multipart upload's version cannot be verified from its bytes alone
    (README, local and production)."""
    expected = etag.strip('"').lower()
    if _SINGLE_PART_ETAG.fullmatch(expected) and md5_hex != expected:
        raise SourceFileError(
            reason_codes.FILE_CHANGED, f"{relative_path}: overwritten after discovery"
        )
