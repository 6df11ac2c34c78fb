"""Step "render_thumbnails" core: requests to the renderer and its results as thumbnail rows
and visual facet rows (raw.file_facets, pixelforge_core/facets.py).

The renderer is Snowflake's external function in production and the same HTTP service called
by the local runner; both speak pixelforge_core.render_wire. The visual facet's version is the
one the renderer reports (it computed it); a file whose rendering failed for a reason of the
file gets a failed visual row at the version this code knows, with the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pixelforge_core import reason_codes
from pixelforge_core.facets import FacetResult
from pixelforge_core.render_wire import VISUAL, RenderRequest, visual_from_json

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
    # raw.file_facets rows (FacetResult.row) of the visual facet, one per file recorded
    facet_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def files_deferred(self) -> int:
        return len(self.deferred)


def thumbnail_rows(
    requests: Sequence[RenderRequest],
    results: Sequence[dict[str, Any]],
    sizes: Sequence[int],
    run_id: str,
) -> RenderOutcome:
    """Rows for raw.thumbnails, keyed (relative_path, etag, size_px): one per size and file,
    and the visual facet's raw.file_facets row of each file.

    A failed file gets a failed row per size, so validation can say why it has no thumbnail,
    and a failed visual facet row. Transient failures produce no row: the file stays pending
    for the next attempt. A rendered file whose result carries no visual facet (a renderer
    older than the facet) gets no facet row; a malformed one is a ValueError, as is a result
    count that does not match.
    """
    if len(results) != len(requests):
        raise ValueError(f"renderer returned {len(results)} results for {len(requests)} rows")
    rows: list[dict[str, Any]] = []
    facet_rows: list[dict[str, Any]] = []
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
            visual = visual_from_json(result.get("visual"))
            if visual is not None:
                facet_rows.append(visual.row(request.relative_path, request.etag, run_id))
            continue
        reason = result.get("reason_code") or reason_codes.RENDER_FAILED
        message = result.get("message") or "the renderer returned no thumbnail for every size"
        if reason not in PERMANENT_REASON_CODES:
            deferred.append((request, reason, message))
            continue
        failed += 1
        facet_rows.append(
            failed_visual(reason, message).row(request.relative_path, request.etag, run_id)
        )
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
    return RenderOutcome(rows, succeeded, failed, deferred, facet_rows)


def failed_visual(reason_code: str, message: str) -> FacetResult:
    """The visual facet of a file that has no thumbnail: failed, for the render's reason."""
    return FacetResult(VISUAL.name, VISUAL.version, "failed", None, reason_code, message)
