"""Snowflake external-function wire format of the render service: parse_batch(), build_response().

Request:  {"data": [[row_number, relative_path, etag, sha256, size_bytes], ...]}
Response: {"data": [[row_number, result], ...]}, one row per input row, in the same order, where
result is {"status": "ok" | "failed", "reason_code", "message", "thumbnails": [
    {"size_px", "thumbnail_key", "width_px", "height_px", "thumbnail_bytes", "created"}, ...],
    "visual": {"facet", "version", "status", "payload", "reason_code", "message"} | null}.

A body that is not such a batch raises BatchError with a stable code (the app answers a 4xx, a
permanent error for Snowflake); a bad row only fails that row. Whatever the body, parsing costs
time and memory in proportion to a batch of max_rows rows: the body is bounded by the row cap
before it is parsed, integers by int64, nesting by MAX_JSON_DEPTH. Pure: no I/O here.
"""

from __future__ import annotations

import json
import re
import reprlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ecs_render.settings import DEFAULT_MAX_BATCH_ROWS
from pixelforge_core.reason_codes import RENDER_FAILED
from pixelforge_core.render_wire import RenderRequest, RenderResult, failed_result, result_to_json

ROW_ARITY = 5  # row_number, relative_path, etag, sha256, size_bytes
MAX_KEY_CHARS = 1024  # S3's key length limit
MAX_ETAG_CHARS = 255  # S3's ETags are 32 hex digits, plus "-<parts>" for multipart uploads
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Visible ASCII but '"': an ETag goes into an If-Match header as "<etag>".
_ETAG = re.compile(r"[!#-~]+")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_MAX_INT_DIGITS = 19  # int64 has at most 19 digits; more is refused before int() reads it
_MAX_FLOAT_CHARS = 40
# A batch is 3 deep ({"data": [[value, ...]]}); a row value should be a scalar, and a nested one
# only fails its row, until it nests past this.
MAX_JSON_DEPTH = 8
# The most one row can take as JSON: a 1024-character key of non-BMP characters escaped as
# surrogate pairs ("\ud83d\ude00", 12 bytes each) is 12 KiB; the other values are small.
MAX_ROW_BYTES = 16 * 1024
_BATCH_OVERHEAD_BYTES = 1024

# Stable codes of a refused request, in the error body {"error": {"code", "message"}}.
BODY_TOO_LARGE = "body_too_large"
BAD_CONTENT_LENGTH = "bad_content_length"
BAD_GZIP = "bad_gzip"
NOT_UTF8 = "not_utf8"
NOT_JSON = "not_json"
NUMBER_OUT_OF_RANGE = "number_out_of_range"
TOO_DEEP = "too_deep"
NOT_A_BATCH = "not_a_batch"
TOO_MANY_ROWS = "too_many_rows"

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60
_short.maxlist = _short.maxdict = 4
_short.maxlevel = 2


class BatchError(ValueError):
    """Raised when a request body is not an external-function batch at all (HTTP 4xx)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _NumberOutOfRangeError(ValueError):
    pass


@dataclass(frozen=True)
class BatchRow:
    """One row to render: its row number in the batch and the file version it names (the
    core's RenderRequest: (relative_path, etag) with its content hash)."""

    row_number: int
    request: RenderRequest


@dataclass(frozen=True)
class RowFailure:
    """A row of a well-formed batch that cannot be rendered as sent."""

    row_number: int
    result: RenderResult


def max_batch_bytes(max_rows: int) -> int:
    """The largest body (inflated) a batch of max_rows rows can need."""
    return _BATCH_OVERHEAD_BYTES + max_rows * MAX_ROW_BYTES


def parse_batch(body: bytes, max_rows: int = DEFAULT_MAX_BATCH_ROWS) -> list[BatchRow | RowFailure]:
    """Parse a request body into one BatchRow or RowFailure per row, in order."""
    if len(body) > max_batch_bytes(max_rows):
        raise BatchError(
            BODY_TOO_LARGE,
            f"request body has {len(body)} bytes, more than a batch of {max_rows} rows needs",
        )
    document = _load_json(body)
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise BatchError(NOT_A_BATCH, 'request body must be a JSON object with a "data" list')
    if _nests_deeper_than(document, MAX_JSON_DEPTH):
        raise BatchError(TOO_DEEP, f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    rows = document["data"]
    if len(rows) > max_rows:
        raise BatchError(TOO_MANY_ROWS, f"batch has {len(rows)} rows, over the {max_rows} cap")
    return [parse_row(position, row) for position, row in enumerate(rows)]


def _load_json(body: bytes) -> object:
    """json.loads, but UTF-8 only (RFC 8259 §8.1), integers within int64, no NaN/Infinity."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BatchError(NOT_UTF8, f"request body is not UTF-8: {error.reason}") from None
    try:
        return json.loads(
            text, parse_int=_bounded_int, parse_float=_bounded_float, parse_constant=_no_constant
        )
    except _NumberOutOfRangeError as error:
        raise BatchError(NUMBER_OUT_OF_RANGE, str(error)) from None
    except RecursionError:
        raise BatchError(TOO_DEEP, "request body nests too deep to parse") from None
    except ValueError as error:  # JSONDecodeError, or NaN/Infinity
        raise BatchError(NOT_JSON, f"request body is not JSON: {error}") from None


def _bounded_int(digits: str) -> int:
    # int() of a long digit string is quadratic (and refused past 4300 digits): count first.
    if len(digits.lstrip("-")) > _MAX_INT_DIGITS:
        raise _NumberOutOfRangeError(f"integer {digits[:24]}... is outside int64")
    value = int(digits)
    if not INT64_MIN <= value <= INT64_MAX:
        raise _NumberOutOfRangeError(f"integer {digits} is outside int64")
    return value


def _bounded_float(text: str) -> float:
    if len(text) > _MAX_FLOAT_CHARS:
        raise _NumberOutOfRangeError(
            f"number {text[:24]}... has more than {_MAX_FLOAT_CHARS} characters"
        )
    return float(text)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _nests_deeper_than(document: object, limit: int) -> bool:
    """Whether any value sits more than limit containers deep (walked without recursion)."""
    stack: list[tuple[list[Any] | dict[str, Any], int]] = []
    if isinstance(document, list | dict):
        stack.append((document, 1))
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, list | dict))
    return False


def parse_row(position: int, row: object) -> BatchRow | RowFailure:
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
        return _malformed(row_number, f"row_number must be an integer, got {_show(raw_number)}")
    if not isinstance(relative_path, str) or not relative_path:
        return _malformed(
            row_number, f"relative_path must be a non-empty string, got {_show(relative_path)}"
        )
    if len(relative_path) > MAX_KEY_CHARS:
        return _malformed(row_number, f"relative_path is longer than {MAX_KEY_CHARS} characters")
    if not _is_unicode(relative_path):
        return _malformed(row_number, "relative_path is not valid Unicode (a lone surrogate)")
    if not isinstance(etag, str) or not _ETAG.fullmatch(etag.strip('"')):
        return _malformed(
            row_number, f"etag must be a non-empty string of visible ASCII, got {_show(etag)}"
        )
    if len(etag) > MAX_ETAG_CHARS:
        return _malformed(row_number, f"etag is longer than {MAX_ETAG_CHARS} characters")
    if sha256 is None:
        return _malformed(row_number, "sha256 is null: the file version has not been hashed")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.lower()):
        return _malformed(row_number, f"sha256 must be 64 hex digits, got {_show(sha256)}")
    if size is None:
        return _malformed(
            row_number, f"size_bytes must be a non-negative int64, got {_show(size_bytes)}"
        )
    return BatchRow(row_number, RenderRequest(relative_path, etag, sha256.lower(), size))


def _as_size(value: object) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a JSON number may arrive as 123.0 (or 1e300: bounded below)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        return None
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _show(value: object) -> str:
    """A value for a message: short whatever its size or nesting."""
    return _short.repr(value)


def _malformed(row_number: int, message: str) -> RowFailure:
    return RowFailure(row_number, failed_result(RENDER_FAILED, f"malformed row: {message}"))


def build_response(rows: Sequence[tuple[int, RenderResult]]) -> bytes:
    """Serialize (row_number, result) pairs, already in request order, as the response body."""
    document = {"data": [[row_number, result_to_json(result)] for row_number, result in rows]}
    return json.dumps(document, separators=(",", ":")).encode()
