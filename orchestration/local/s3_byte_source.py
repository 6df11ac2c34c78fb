"""The local runner's ByteSource: design files read from the moto S3 server, pinned to the ETag.

In Snowflake the procedures read the stage (snowpark_procs.byte_sources.StageFileByteSource);
S3ByteSource is the loopback counterpart with the same contract, so it lives with the local
stack and never ships in the procedures' zip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from pixelforge_core import reason_codes
from snowpark_procs.byte_sources import CHUNK_BYTES, SourceFileError, spool_chunks


class S3ByteSource:
    """Reads `s3://bucket/prefix + relative_path` at a given ETag, streamed into a spool."""

    def __init__(
        self, s3_client: Any, bucket: str, prefix: str = "", max_bytes: int = 256 << 20
    ) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._prefix = prefix
        self._max_bytes = max_bytes

    @contextmanager
    def open(self, relative_path: str, etag: str) -> Iterator[BinaryIO]:
        try:
            response = self._s3.get_object(
                Bucket=self._bucket, Key=self._prefix + relative_path, IfMatch=f'"{etag}"'
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404"}:
                raise SourceFileError(
                    reason_codes.FILE_MISSING, f"{relative_path}: deleted after discovery"
                ) from error
            if code in {"PreconditionFailed", "412"}:
                raise SourceFileError(
                    reason_codes.FILE_CHANGED, f"{relative_path}: overwritten after discovery"
                ) from error
            raise
        body = response["Body"]
        if response.get("ContentLength", 0) > self._max_bytes:
            body.close()
            raise SourceFileError(
                reason_codes.FILE_TOO_LARGE,
                f"{relative_path}: {response['ContentLength']} bytes, over {self._max_bytes}",
            )
        try:
            spool = spool_chunks(body.iter_chunks(CHUNK_BYTES), self._max_bytes, relative_path)
        finally:
            body.close()
        with spool:
            yield spool
