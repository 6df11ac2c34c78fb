"""Opening a raster lazily, refused from its header: the preamble extraction and the renderer share.

Before Pillow parses anything, the container's own structure must not be cut short
(integrity.truncation_before_open); once open, the declared size must be within the pixel limit
and a TIFF's strips or tiles must lie inside the file. Only then may a caller read or decode.
"""

from __future__ import annotations

from typing import BinaryIO

from PIL import Image

from pixelforge_core.formats import PILLOW_PLUGINS
from pixelforge_core.integrity import tiff_truncation, truncation_before_open
from pixelforge_core.reason_codes import DECOMPRESSION_BOMB, TRUNCATED_FILE
from pixelforge_core.records import MetadataFailure

# What truncation_before_open and the callers' header checks read of the file's start.
RASTER_HEAD_BYTES = 64


def pixel_limit_failure(width: int, height: int, max_pixels: int) -> MetadataFailure | None:
    """Refuse from the declared size alone, before anything is decoded."""
    if width * height > max_pixels:
        return MetadataFailure(
            DECOMPRESSION_BOMB,
            f"declares {width}x{height} = {width * height} pixels, over the limit of {max_pixels}",
        )
    return None


def truncation_failure(fmt: str, source: BinaryIO, size: int) -> MetadataFailure | None:
    """The container cut short before its image data (checked before any parser runs)."""
    source.seek(0)
    head = source.read(RASTER_HEAD_BYTES)
    problem = truncation_before_open(fmt, source, head, size)
    source.seek(0)
    return MetadataFailure(TRUNCATED_FILE, problem) if problem else None


def open_raster(
    source: BinaryIO, fmt: str, size: int, max_pixels: int
) -> Image.Image | MetadataFailure:
    """The file opened lazily by its format's Pillow plugin (use it in a `with`), or why not.

    Refused before decoding: a container cut short, more than max_pixels declared, a TIFF
    whose image data lies past the end. Pillow's own errors (a file it cannot parse) raise.
    """
    failure = truncation_failure(fmt, source, size)
    if failure:
        return failure
    im = Image.open(source, formats=[PILLOW_PLUGINS[fmt]])
    try:
        failure = pixel_limit_failure(im.width, im.height, max_pixels)
        if failure is None and fmt == "tiff":
            problem = tiff_truncation(im, size)
            failure = MetadataFailure(TRUNCATED_FILE, problem) if problem else None
    except BaseException:
        im.close()
        raise
    if failure:
        im.close()
        return failure
    return im
