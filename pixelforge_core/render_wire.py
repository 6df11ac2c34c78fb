"""The render wire format both sides speak: what the procedures ask the renderer, what it answers.

The procedures (snowpark_procs/rendering.py) send RenderRequests through Snowflake's external
function (or the local runner's HTTP client); the render service (ecs_render/protocol.py) parses
the batch and answers one RenderResult per row, as result_to_json shapes it. Thumbnail sizes and
the content-addressed key layout are declared here once: the renderer writes those objects, the
procedures expect a row per size, the deploy grants and reconciliation read the keys.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pixelforge_core.facets import FacetResult, VisualPayload, facet

# Every design file gets one WebP per size (longest edge, px), largest first.
THUMBNAIL_SIZES: tuple[int, ...] = (1024, 256)
# The visual facet is computed from this size's stored WebP (ecs_render/visual.py).
VISUAL_THUMBNAIL_PX = 256
assert VISUAL_THUMBNAIL_PX in THUMBNAIL_SIZES
VISUAL = facet("visual")

# Reason codes outside dbt_project/seeds/quality_rules.csv on purpose: they say nothing about the
# file (S3 or the service failed), so the caller records nothing and retries the row later.
STORAGE_UNAVAILABLE = "storage_unavailable"
RENDERER_UNAVAILABLE = "renderer_unavailable"

# The external function's COMPRESSION: AUTO means GZIP on AWS ("CREATE EXTERNAL FUNCTION"), so
# Snowflake sends gzip bodies with Content-Encoding: gzip; the local runner does the same.
EXTERNAL_FUNCTION_COMPRESSION = "auto"


def max_thumbnail_bytes(size_px: int) -> int:
    """The most a WebP thumbnail of size_px may take: never more than its box's raw RGBA, plus
    container overhead."""
    return 4 * size_px * size_px + 1024 * 1024


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
    # The visual facet of the 256 px thumbnail; None on a failed row (or from a renderer
    # that predates the facet: the procedures then record no facet row).
    visual: FacetResult | None = None


def ok_result(
    thumbnails: Sequence[ThumbnailResult], visual: FacetResult | None = None
) -> RenderResult:
    return RenderResult(status="ok", thumbnails=tuple(thumbnails), visual=visual)


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
        "visual": None if result.visual is None else visual_to_json(result.visual),
    }


def visual_to_json(result: FacetResult) -> dict[str, Any]:
    return {
        "facet": result.facet,
        "version": result.version,
        "status": result.status,
        "payload": result.payload,
        "reason_code": result.reason_code,
        "message": result.message,
    }


# --- the visual payload's checks: the server checks a decode worker's reply with them, the
# procedures the renderer's answer (both are input from another process).
MAX_VISUAL_COLORS = 5
MAX_THUMBHASH_CHARS = 48  # the reference's longest hash is 25 bytes (36 base64 characters)
_PHASH = re.compile(r"[0-9a-f]{16}")
_VISUAL_KEYS = frozenset(VisualPayload.__annotations__)
_HEX_COLOR = re.compile(r"#[0-9a-f]{6}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_MAX_MESSAGE_CHARS = 2000


def visual_payload_problem(payload: Any) -> str | None:
    """What is wrong with a visual payload (pixelforge_core.facets.VisualPayload), or None."""
    if not isinstance(payload, dict) or set(payload) != _VISUAL_KEYS:
        return f"the visual payload is not an object of {', '.join(sorted(_VISUAL_KEYS))}"
    for name in ("phash", "edge_phash"):
        if not isinstance(payload[name], str) or not _PHASH.fullmatch(payload[name]):
            return f"{name} is not 16 lower-case hex digits"
    thumb, colors = payload["thumbhash"], payload["dominant_colors"]
    if not isinstance(thumb, str) or len(thumb) > MAX_THUMBHASH_CHARS:
        return "thumbhash is not a short base64 string"
    if not _BASE64.fullmatch(thumb):
        return "thumbhash is not a short base64 string"
    if not isinstance(colors, list) or len(colors) > MAX_VISUAL_COLORS:
        return f"dominant_colors is not a list of at most {MAX_VISUAL_COLORS}"
    for color in colors:
        if (
            not isinstance(color, dict)
            or set(color) != {"hex", "share"}
            or not isinstance(color["hex"], str)
            or not _HEX_COLOR.fullmatch(color["hex"])
            or type(color["share"]) not in (int, float)
            or not 0 <= color["share"] <= 1
        ):
            return "a dominant colour is not {hex: '#rrggbb', share: 0..1}"
    return None


def visual_from_json(value: Any) -> FacetResult | None:
    """The visual facet of a render result as the wire carries it; None when absent.

    ValueError when it is there but malformed (a renderer bug, never a fact about a file)."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("facet") != VISUAL.name:
        raise ValueError("the render result's visual facet is not a visual facet object")
    version, status = value.get("version"), value.get("status")
    if type(version) is not int or version < 1 or status not in ("ok", "failed"):
        raise ValueError("the visual facet has no valid version or status")
    if status == "ok":
        problem = visual_payload_problem(value.get("payload"))
        if problem:
            raise ValueError(problem)
        return FacetResult(VISUAL.name, version, "ok", value["payload"])
    reason, message = value.get("reason_code"), value.get("message")
    if not isinstance(reason, str) or not isinstance(message, str):
        raise ValueError("a failed visual facet has no reason code and message")
    return FacetResult(VISUAL.name, version, "failed", None, reason, message[:_MAX_MESSAGE_CHARS])
