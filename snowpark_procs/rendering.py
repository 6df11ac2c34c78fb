"""Step "render_thumbnails" core: requests to the renderer and its results as thumbnail rows.

The renderer is Snowflake's external function in production and the same HTTP service called
by the local runner; both speak pixelforge_core.render_wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pixelforge_core import reason_codes
from pixelforge_core.render_wire import RenderRequest

# The renderer's per-row failures that say nothing about the file itself (the
# service, S3 or the network failed): retried by a later attempt, never recorded.
PERMANENT_REASON_CODES = reason_codes.ALL_REASON_CODES


class ThumbnailRenderer(Protocol):
    def render(self, requests: Sequence[RenderRequest]) -> list[dict[str, Any]]:
        """One result object per request, in order (render_wire.result_to_json's shape)."""
        ...


@dataclass(frozen=True)
class RenderOutcome:
    thumbnail_rows: list[dict[str, Any]]
    files_succeeded: int
    files_failed: int
    # (request, reason_code, message) of each file to retry later
    deferred: list[tuple[RenderRequest, str, str]]

    @property
    def files_deferred(self) -> int:
        return len(self.deferred)


def thumbnail_rows(
    requests: Sequence[RenderRequest],
    results: Sequence[dict[str, Any]],
    sizes: Sequence[int],
    run_id: str,
) -> RenderOutcome:
    """Rows for raw.thumbnails, keyed (relative_path, etag, size_px): one per size and file.

    A failed file gets a failed row per size, so validation can say why it has no thumbnail.
    Transient failures produce no row: the file stays pending for the next attempt.
    """
    if len(results) != len(requests):
        raise ValueError(f"renderer returned {len(results)} results for {len(requests)} rows")
    rows: list[dict[str, Any]] = []
    succeeded = failed = 0
    deferred: list[tuple[RenderRequest, str, str]] = []
    for request, result in zip(requests, results, strict=True):
        key = {"relative_path": request.relative_path, "etag": request.etag, "run_id": run_id}
        rendered = {t.get("size_px"): t for t in result.get("thumbnails") or []}
        if result.get("status") == "ok" and all(size in rendered for size in sizes):
            succeeded += 1
            rows.extend(
                {
                    **key,
                    "size_px": size,
                    "status": "ok",
                    "thumbnail_key": rendered[size]["thumbnail_key"],
                    "width_px": rendered[size]["width_px"],
                    "height_px": rendered[size]["height_px"],
                    "thumbnail_bytes": rendered[size]["thumbnail_bytes"],
                }
                for size in sizes
            )
            continue
        reason = result.get("reason_code") or reason_codes.RENDER_FAILED
        message = result.get("message") or "the renderer returned no thumbnail for every size"
        if reason not in PERMANENT_REASON_CODES:
            deferred.append((request, reason, message))
            continue
        failed += 1
        rows.extend(
            {
                **key,
                "size_px": size,
                "status": "failed",
                "reason_code": reason,
                "error_message": message,
            }
            for size in sizes
        )
    return RenderOutcome(rows, succeeded, failed, deferred)
