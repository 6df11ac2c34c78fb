"""One row of a render batch: its thumbnails made to exist, and its visual facet.

The S3 calls are ecs_render/storage.py's; the decoding is done by the `render` and `visual`
seams (in the service, the confined decode workers of ecs_render/decode_pool.py).

The visual facet is computed from the stored 256 px WebP's bytes (ecs_render/visual.py), both
when this row wrote that thumbnail (the bytes it wrote) and when the thumbnail already existed
(read back with a GET): the same bytes give the same payload, so a re-render of an unchanged
file answers the identical facet and its raw.file_facets row is left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from ecs_render.settings import RenderSettings
from ecs_render.storage import (
    S3Client,
    StorageFailure,
    head_thumbnail,
    put_if_absent,
    read_source,
    read_thumbnail,
)
from pixelforge_core.facets import FacetResult
from pixelforge_core.reason_codes import ALL_REASON_CODES, FILE_TOO_LARGE, RENDER_FAILED
from pixelforge_core.render_wire import (
    THUMBNAIL_SIZES,
    VISUAL,
    VISUAL_THUMBNAIL_PX,
    RenderRequest,
    RenderResult,
    ThumbnailResult,
    failed_result,
    ok_result,
    thumbnail_key,
)

if TYPE_CHECKING:
    from ecs_render.results import RenderFailure, Thumbnail

    Renderer = Callable[[BinaryIO, Sequence[int]], "list[Thumbnail] | RenderFailure"]
    # A stored thumbnail's bytes -> its visual payload, or why not.
    VisualOf = Callable[[bytes], "dict[str, Any] | RenderFailure"]


def ensure_thumbnails(
    client: S3Client,
    settings: RenderSettings,
    request: RenderRequest,
    render: Renderer,
    sizes: Sequence[int] = THUMBNAIL_SIZES,
    visual: VisualOf | None = None,
) -> RenderResult:
    """Make every size exist at its content-addressed key and describe them (and, given
    `visual` and a 256 px size, the visual facet of that thumbnail).

    Keys are v1/{sha256[:2]}/{sha256}-{size_bytes}/{size_px}.webp. When all exist, the answer
    comes from HEAD requests (and the GET of the 256 px thumbnail): the source is neither read
    nor decoded.
    """
    if request.size_bytes > settings.max_source_bytes:
        return failed_result(
            FILE_TOO_LARGE,
            f"{request.relative_path} has {request.size_bytes} bytes, "
            f"above the {settings.max_source_bytes}-byte limit",
        )
    bucket = settings.thumbnails_bucket
    keys = {size: thumbnail_key(request.sha256, request.size_bytes, size) for size in sizes}
    results: dict[int, ThumbnailResult] = {}
    written: dict[int, bytes] = {}  # the bytes of the thumbnails this row wrote
    for size, key in keys.items():
        stored = head_thumbnail(client, bucket, key)
        if isinstance(stored, StorageFailure):
            return failed_result(stored.reason_code, stored.message)
        if stored is not None:
            results[size] = ThumbnailResult(
                size, key, stored.width_px, stored.height_px, stored.thumbnail_bytes, False
            )
    missing = [size for size in sizes if size not in results]
    if missing:
        source = read_source(client, settings, request)
        if isinstance(source, StorageFailure):
            return failed_result(source.reason_code, source.message)
        with source:
            rendered = render(source, missing)
        if not isinstance(rendered, list):
            return failed_result(rendered.reason_code, rendered.message)
        for thumbnail in rendered:
            key = keys.get(thumbnail.size_px)
            if key is None:
                continue  # not asked for; the size check below reports what is missing
            created = put_if_absent(
                client, bucket, key, thumbnail.data, thumbnail.width_px, thumbnail.height_px
            )
            if isinstance(created, StorageFailure):
                return failed_result(created.reason_code, created.message)
            if created:
                written[thumbnail.size_px] = thumbnail.data
            results[thumbnail.size_px] = ThumbnailResult(
                thumbnail.size_px,
                key,
                thumbnail.width_px,
                thumbnail.height_px,
                len(thumbnail.data),
                created,
            )
    if set(results) != set(keys):
        return failed_result(
            RENDER_FAILED, f"the renderer returned sizes {sorted(results)}, not {sorted(keys)}"
        )
    thumbnails = [results[size] for size in sizes]
    if visual is None or VISUAL_THUMBNAIL_PX not in keys:
        return ok_result(thumbnails)
    data = written.get(VISUAL_THUMBNAIL_PX)
    if data is None:  # it was there already (or another writer won): read what is stored
        data = read_thumbnail(client, bucket, keys[VISUAL_THUMBNAIL_PX])
        if isinstance(data, StorageFailure):
            return failed_result(data.reason_code, data.message)
    facet = visual(data)
    if isinstance(facet, dict):
        return ok_result(thumbnails, FacetResult(VISUAL.name, VISUAL.version, "ok", facet))
    if facet.reason_code not in ALL_REASON_CODES:
        # The renderer, not the thumbnail, failed: the row is retried later as a whole.
        return failed_result(facet.reason_code, facet.message)
    reason, message = facet.reason_code, facet.message
    return ok_result(
        thumbnails, FacetResult(VISUAL.name, VISUAL.version, "failed", None, reason, message)
    )
