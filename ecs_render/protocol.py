"""Snowflake external-function wire format of the render service: parse_batch(), build_response().

Request:  {"data": [[row_number, relative_path, etag, sha256, size_bytes], ...]}
Response: {"data": [[row_number, result], ...]}, one row per input row, in the same order, where
result is {"status": "ok" | "failed", "reason_code", "message", "thumbnails": [
    {"size_px", "thumbnail_key", "width_px", "height_px", "thumbnail_bytes", "created"}, ...]}.

A body that is not such a batch raises BatchError (the app answers HTTP 400); a bad row only
fails that row. Pure: no I/O here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from snowpark_procs.reason_codes import RENDER_FAILED

# Reason codes outside dbt_project/seeds/quality_rules.csv on purpose: they say nothing about the
# file (S3 or the service failed), so the caller records nothing and retries the row later.
STORAGE_UNAVAILABLE = "storage_unavailable"
RENDERER_UNAVAILABLE = "renderer_unavailable"

ROW_ARITY = 5  # row_number, relative_path, etag, sha256, size_bytes
MAX_KEY_CHARS = 1024  # S3's key length limit
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BatchError(ValueError):
    """Raised when a request body is not an external-function batch at all (HTTP 400)."""


@dataclass(frozen=True)
class RenderRequest:
    """One row to render: a file version named by (relative_path, etag) with its content hash."""

    row_number: int
    relative_path: str
    etag: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class ThumbnailResult:
    size_px: int
    thumbnail_key: str
    width_px: int
    height_px: int
    thumbnail_bytes: int
    created: bool  # False when the object already existed (put-if-absent found it)


@dataclass(frozen=True)
class RenderResult:
    status: Literal["ok", "failed"]
    reason_code: str | None = None
    message: str | None = None
    thumbnails: tuple[ThumbnailResult, ...] = ()


@dataclass(frozen=True)
class RowFailure:
    """A row of a well-formed batch that cannot be rendered as sent."""

    row_number: int
    result: RenderResult


def ok_result(thumbnails: Sequence[ThumbnailResult]) -> RenderResult:
    return RenderResult(status="ok", thumbnails=tuple(thumbnails))


def failed_result(reason_code: str, message: str) -> RenderResult:
    return RenderResult(status="failed", reason_code=reason_code, message=message)


def parse_batch(body: bytes) -> list[RenderRequest | RowFailure]:
    """Parse a request body into one RenderRequest or RowFailure per row, in order."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BatchError(f"request body is not JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise BatchError('request body must be a JSON object with a "data" list of rows')
    return [parse_row(position, row) for position, row in enumerate(document["data"])]


def parse_row(position: int, row: object) -> RenderRequest | RowFailure:
    """Validate one row; position stands in for a row number that is missing or not an int."""
    if not isinstance(row, list) or not row:
        return _malformed(position, f"row must be a JSON array of {ROW_ARITY} values")
    row_number = row[0] if _is_int(row[0]) else position
    if len(row) != ROW_ARITY:
        return _malformed(
            row_number,
            f"row has {len(row)} values, expected {ROW_ARITY} "
            "(row_number, relative_path, etag, sha256, size_bytes)",
        )
    raw_number, relative_path, etag, sha256, size_bytes = row
    size = _as_size(size_bytes)
    if not _is_int(raw_number):
        return _malformed(row_number, f"row_number must be an integer, got {raw_number!r}")
    if not isinstance(relative_path, str) or not relative_path:
        return _malformed(
            row_number, f"relative_path must be a non-empty string, got {relative_path!r}"
        )
    if len(relative_path) > MAX_KEY_CHARS:
        return _malformed(row_number, f"relative_path is longer than {MAX_KEY_CHARS} characters")
    if not isinstance(etag, str) or not etag.strip('"'):
        return _malformed(row_number, f"etag must be a non-empty string, got {etag!r}")
    if sha256 is None:
        return _malformed(row_number, "sha256 is null: the file version has not been hashed")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.lower()):
        return _malformed(row_number, f"sha256 must be 64 hex digits, got {sha256!r}")
    if size is None:
        return _malformed(
            row_number, f"size_bytes must be a non-negative integer, got {size_bytes!r}"
        )
    return RenderRequest(row_number, relative_path, etag, sha256.lower(), size)


def _as_size(value: object) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a JSON number may arrive as 123.0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _malformed(row_number: int, message: str) -> RowFailure:
    return RowFailure(row_number, failed_result(RENDER_FAILED, f"malformed row: {message}"))


def result_to_json(result: RenderResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "reason_code": result.reason_code,
        "message": result.message,
        "thumbnails": [
            {
                "size_px": thumbnail.size_px,
                "thumbnail_key": thumbnail.thumbnail_key,
                "width_px": thumbnail.width_px,
                "height_px": thumbnail.height_px,
                "thumbnail_bytes": thumbnail.thumbnail_bytes,
                "created": thumbnail.created,
            }
            for thumbnail in result.thumbnails
        ],
    }


def build_response(rows: Sequence[tuple[int, RenderResult]]) -> bytes:
    """Serialize (row_number, result) pairs, already in request order, as the response body."""
    document = {"data": [[row_number, result_to_json(result)] for row_number, result in rows]}
    return json.dumps(document, separators=(",", ":")).encode()
