"""The render wire format both sides speak: what the procedures ask the renderer, what it answers.

The procedures (snowpark_procs/rendering.py) send RenderRequests through Snowflake's external
function (or the local runner's HTTP client); the render service (ecs_render/protocol.py) parses
the batch and answers one RenderResult per row, as result_to_json shapes it. Thumbnail sizes and
the content-addressed key layout are declared here once: the renderer writes those objects, the
procedures expect a row per size, the deploy grants and reconciliation read the keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

# Every design file gets one WebP per size (longest edge, px), largest first.
THUMBNAIL_SIZES: tuple[int, ...] = (1024, 256)

# Reason codes outside dbt_project/seeds/quality_rules.csv on purpose: they say nothing about the
# file (S3 or the service failed), so the caller records nothing and retries the row later.
STORAGE_UNAVAILABLE = "storage_unavailable"
RENDERER_UNAVAILABLE = "renderer_unavailable"

# The external function's COMPRESSION: AUTO means GZIP on AWS ("CREATE EXTERNAL FUNCTION"), so
# Snowflake sends gzip bodies with Content-Encoding: gzip; the local runner does the same.
EXTERNAL_FUNCTION_COMPRESSION = "auto"


def thumbnail_key(sha256: str, size_bytes: int, size_px: int) -> str:
    """Content-addressed key: v1/{sha256[:2]}/{sha256}-{size_bytes}/{size_px}.webp."""
    return f"v1/{sha256[:2]}/{sha256}-{size_bytes}/{size_px}.webp"


@dataclass(frozen=True)
class RenderRequest:
    """A file version to render; the renderer reads it from the designs bucket itself. A row
    of the batch is [row_number, relative_path, etag, sha256, size_bytes]."""

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


def ok_result(thumbnails: Sequence[ThumbnailResult]) -> RenderResult:
    return RenderResult(status="ok", thumbnails=tuple(thumbnails))


def failed_result(reason_code: str, message: str) -> RenderResult:
    return RenderResult(status="failed", reason_code=reason_code, message=message)


def result_to_json(result: RenderResult) -> dict[str, Any]:
    """One row's result as the response carries it (and the procedures read it)."""
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
