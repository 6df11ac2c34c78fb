"""The render service's S3 side, and its only boto3 module.

Thumbnails are content-addressed: v1/{sha256[:2]}/{sha256}-{size_bytes}/{size_px}.webp in the
thumbnails bucket, written put-if-absent, so a retried or repeated row never writes a second
object. Sources are read from the designs bucket only, pinned to the requested ETag.
S3 errors come back as StorageFailure data; transient ones are retried by botocore first.
Every S3 call of the service, so boto3 is imported here only; what a row does with them is
ecs_render/rows.py. The key layout itself is the core's (pixelforge_core.render_wire).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ecs_render.settings import MIB, RenderSettings
from pixelforge_core.reason_codes import FILE_CHANGED, FILE_MISSING, FILE_TOO_LARGE
from pixelforge_core.render_wire import (
    STORAGE_UNAVAILABLE,
    VISUAL_THUMBNAIL_PX,
    RenderRequest,
    max_thumbnail_bytes,
)
from pixelforge_core.transient import is_transient

S3Client = Any  # boto3 builds its clients at run time; no type stubs are installed

SPOOL_MEMORY_BYTES = 32 * MIB  # larger sources spill to disk (Fargate's ephemeral storage)
CHUNK_BYTES = 1 * MIB
WIDTH_METADATA = "width-px"
HEIGHT_METADATA = "height-px"
# file_changed says only this, whatever differs (see read_source).
OBJECT_CHANGED = "the object changed since discovery"


# Attempts per S3 call, the first included: botocore's standard retry mode retries throttling
# (SlowDown, 429), 5xx, timeouts and broken connections with capped exponential backoff and
# jitter (50 ms base, 1 s for throttling), and leaves other errors to the caller at once.
S3_MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class StorageFailure:
    """An S3 outcome that ends the row; reason_code is a quality_rules.csv code or transient."""

    reason_code: str
    message: str


@dataclass(frozen=True)
class StoredThumbnail:
    """What a HEAD request tells about a thumbnail that already exists."""

    width_px: int
    height_px: int
    thumbnail_bytes: int


def make_s3_client(max_pool_connections: int = 10) -> S3Client:
    """An S3 client configured by boto3's own AWS_* variables (AWS_ENDPOINT_URL included).

    max_pool_connections: botocore's connection pool (10 by default); one per thread sharing it.
    Transient errors are retried by botocore's standard retry mode (S3_MAX_ATTEMPTS in all);
    what still fails is named with is_transient (_storage_failure). A body cut short while
    streaming, after the response began, is not retried here: the row fails as
    storage_unavailable and the procedures retry the file in a later run.
    """
    config = Config(
        retries={"mode": "standard", "total_max_attempts": S3_MAX_ATTEMPTS},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=max(10, max_pool_connections),
    )
    return boto3.client("s3", config=config)


def source_key(settings: RenderSettings, relative_path: str) -> str:
    """Key of a design file in the designs bucket: the configured prefix + its relative path."""
    return settings.designs_prefix + relative_path


def head_thumbnail(
    client: S3Client, bucket: str, key: str
) -> StoredThumbnail | StorageFailure | None:
    """The stored thumbnail at key, or None when absent (or written without our metadata)."""
    try:
        response = client.head_object(Bucket=bucket, Key=key)
    except Exception as error:
        if _error_code(error) in {"404", "NoSuchKey"}:
            return None
        return _storage_failure(f"HEAD s3://{bucket}/{key}", error)
    metadata = response.get("Metadata", {})
    try:
        width, height = int(metadata[WIDTH_METADATA]), int(metadata[HEIGHT_METADATA])
    except (KeyError, ValueError):
        return None  # re-rendered; put_if_absent then keeps the existing object
    return StoredThumbnail(width, height, int(response["ContentLength"]))


def put_if_absent(
    client: S3Client,
    bucket: str,
    key: str,
    data: bytes,
    width_px: int,
    height_px: int,
) -> bool | StorageFailure:
    """Write a WebP thumbnail unless key exists (IfNoneMatch="*"); True when this call wrote it."""

    def put() -> None:
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            IfNoneMatch="*",
            ContentType="image/webp",
            CacheControl="public, max-age=31536000, immutable",
            Metadata={WIDTH_METADATA: str(width_px), HEIGHT_METADATA: str(height_px)},
        )

    try:
        put()
    except Exception as error:
        if _error_code(error) == "PreconditionFailed":
            return False  # already there: content-addressed, so it is the same thumbnail
        return _storage_failure(f"PUT s3://{bucket}/{key}", error)
    return True


def read_record(client: S3Client, bucket: str, key: str) -> bytes | StorageFailure | None:
    """The small JSON record at key (a batch's state), or None when absent."""

    def get() -> bytes:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return body.read()
        finally:
            body.close()

    try:
        return get()
    except Exception as error:
        if _error_code(error) in {"404", "NoSuchKey"}:
            return None
        return _storage_failure(f"GET s3://{bucket}/{key}", error)


def put_record_if_absent(
    client: S3Client, bucket: str, key: str, data: bytes
) -> bool | StorageFailure:
    """Write a small JSON record unless key exists (IfNoneMatch="*"); True when this wrote it."""

    def put() -> None:
        client.put_object(
            Bucket=bucket, Key=key, Body=data, IfNoneMatch="*", ContentType="application/json"
        )

    try:
        put()
    except Exception as error:
        if _error_code(error) == "PreconditionFailed":
            return False  # written first by another request for the same key
        return _storage_failure(f"PUT s3://{bucket}/{key}", error)
    return True


def read_source(
    client: S3Client,
    settings: RenderSettings,
    request: RenderRequest,
) -> IO[bytes] | StorageFailure:
    """The requested file version, spooled to memory (or disk above SPOOL_MEMORY_BYTES).

    GetObject is pinned with IfMatch=etag, so a file overwritten since discovery fails as
    file_changed instead of rendering other content under this version's key. Its message is
    the same whatever changed: it tells a caller nothing about the object's current content
    (neither its size nor its sha256), only that it is not the version the caller named.
    """
    bucket, key = settings.designs_bucket, source_key(settings, request.relative_path)
    where = f"s3://{bucket}/{key}"
    try:
        spool = _download(client, bucket, key, request, settings)
    except Exception as error:
        code = _error_code(error)
        if code in {"PreconditionFailed", "412"}:
            return StorageFailure(FILE_CHANGED, f"{where}: {OBJECT_CHANGED}")
        if code in {"NoSuchKey", "404"}:
            return StorageFailure(FILE_MISSING, f"{where} does not exist")
        return _storage_failure(f"GET {where}", error)
    if isinstance(spool, StorageFailure):
        return spool
    size, digest = spool.tell(), _sha256_of(spool)
    if size != request.size_bytes or digest != request.sha256:
        spool.close()
        return StorageFailure(FILE_CHANGED, f"{where}: {OBJECT_CHANGED} (size or sha256 differs)")
    spool.seek(0)
    return spool


def _download(
    client: S3Client, bucket: str, key: str, request: RenderRequest, settings: RenderSettings
) -> IO[bytes] | StorageFailure:
    """GetObject streamed into a fresh spool."""
    quoted_etag = '"' + request.etag.strip('"') + '"'
    limit = settings.max_source_bytes
    too_large = StorageFailure(
        FILE_TOO_LARGE, f"s3://{bucket}/{key} is larger than the {limit}-byte limit"
    )
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115
    try:
        response = client.get_object(Bucket=bucket, Key=key, IfMatch=quoted_etag)
        body = response["Body"]
        try:
            if int(response.get("ContentLength", 0)) > limit:
                spool.close()
                return too_large
            for chunk in body.iter_chunks(CHUNK_BYTES):
                if spool.tell() + len(chunk) > limit:
                    spool.close()
                    return too_large
                spool.write(chunk)
        finally:
            body.close()
    except BaseException:
        spool.close()
        raise
    return spool


def _sha256_of(spool: IO[bytes]) -> str:
    spool.seek(0)
    digest = hashlib.sha256()
    while chunk := spool.read(CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def read_thumbnail(client: S3Client, bucket: str, key: str) -> bytes | StorageFailure:
    """A stored thumbnail's bytes (the visual facet's input); a missing or oversized object is
    a StorageFailure: it was there at HEAD, so the row is retried rather than recorded."""
    where = f"s3://{bucket}/{key}"
    try:
        response = client.get_object(Bucket=bucket, Key=key)
        body = response["Body"]
        try:
            if int(response.get("ContentLength", 0)) > max_thumbnail_bytes(VISUAL_THUMBNAIL_PX):
                return StorageFailure(STORAGE_UNAVAILABLE, f"{where} is not a thumbnail's size")
            return body.read()
        finally:
            body.close()
    except Exception as error:
        if _error_code(error) in {"404", "NoSuchKey"}:
            return StorageFailure(STORAGE_UNAVAILABLE, f"{where} disappeared after its HEAD")
        return _storage_failure(f"GET {where}", error)


def _error_code(error: BaseException) -> str | None:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return None


def _storage_failure(action: str, error: BaseException) -> StorageFailure:
    # Transient after retries, or a setup problem (access, missing bucket): either way nothing
    # is wrong with the file, so the row is reported as retryable rather than quarantined.
    kind = "transient error after retries" if is_transient(error) else "error"
    return StorageFailure(STORAGE_UNAVAILABLE, f"{action}: S3 {kind}: {error}")
