"""Header-level facts of raster formats Pillow opens lazily: PNG, JPEG, TIFF, WebP, GIF, BMP."""

from __future__ import annotations

import math

from PIL import Image

from pixelforge_core.exif import exif_subset, read_exif
from pixelforge_core.raster import RASTER_HEAD_BYTES, open_raster
from pixelforge_core.reason_codes import HOSTILE_CONTENT
from pixelforge_core.records import DesignMetadata, MetadataFailure
from snowpark_procs.metadata.frames import count_tiff_pages
from snowpark_procs.metadata.opened import OpenedFile

_MODE_BITS = {"1": 1, "I": 32, "F": 32}
_TIFF_BITS_PER_SAMPLE = 258


def read_raster(file: OpenedFile) -> DesignMetadata | MetadataFailure:
    source, fmt, size, limits = file.source, file.fmt, file.size, file.limits
    source.seek(0)
    head = source.read(RASTER_HEAD_BYTES)
    opened = open_raster(source, fmt, size, limits.max_pixels)
    if isinstance(opened, MetadataFailure):
        return opened
    with opened as im:
        width, height = im.size
        mode = im.mode
        dpi_x, dpi_y = _dpi(im.info.get("dpi"))
        bit_depth = _bit_depth(im, fmt, head)
        exif = exif_subset(read_exif(im, fmt, source, size))
        frame_count = _frame_count(im, file, head, limits.max_frames)
        if frame_count is None:
            unit = "pages" if fmt == "tiff" else "frames"
            return MetadataFailure(
                HOSTILE_CONTENT, f"{fmt.upper()} has more than {limits.max_frames} {unit}"
            )
    return DesignMetadata(
        format=fmt,
        width_px=width,
        height_px=height,
        mode=mode,
        bit_depth=bit_depth,
        dpi_x=dpi_x,
        dpi_y=dpi_y,
        frame_count=frame_count,
        page_count=None,
        layer_count=None,
        exif=exif,
    )


def _frame_count(im: Image.Image, file: OpenedFile, head: bytes, limit: int) -> int | None:
    """Frames without decoding, or None past limit. TIFF and GIF are walked by our own capped
    walkers (Pillow's n_frames walks them all); others state their count (APNG) or have one."""
    fmt = file.fmt
    if fmt == "tiff":
        count = count_tiff_pages(file.source, head, file.size, limit)
    elif fmt == "gif":
        count = file.gif_timing.frames
    else:
        count = int(getattr(im, "n_frames", 1))
    if count is None or count > limit:
        return None
    return max(count, 1)


def _bit_depth(im: Image.Image, fmt: str, head: bytes) -> int:
    """Bits per sample as stored, where the header says it; else what the mode implies."""
    if fmt == "png" and len(head) > 24:
        return head[24]  # IHDR bit depth (index depth for palette images)
    if fmt == "jpeg":
        return int(getattr(im, "bits", 8))
    if fmt == "tiff":
        tags = getattr(im, "tag_v2", None)
        bits = tags.get(_TIFF_BITS_PER_SAMPLE) if tags is not None else None
        if isinstance(bits, tuple) and bits:
            return max(int(b) for b in bits)
        if isinstance(bits, int):
            return bits
    if im.mode.startswith("I;16"):
        return 16
    return _MODE_BITS.get(im.mode, 8)


def _dpi(value: object) -> tuple[float | None, float | None]:
    if not isinstance(value, tuple) or len(value) != 2:
        return None, None
    return _positive(value[0]), _positive(value[1])


def _positive(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return round(number, 3) if math.isfinite(number) and number > 0 else None
