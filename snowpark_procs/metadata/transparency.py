"""Whether a raster really uses transparency (some pixel is not fully opaque), within a budget
of decoded pixels: extraction stays a header reader, never a full decode of a large image.

- No alpha channel and no transparent colour key (tRNS, a GIF's transparent index): False,
  nothing decoded.
- The whole image within `max_pixels`: decoded and checked (True / False).
- A non-interlaced, still PNG: its first rows (PROBE_PIXELS) are decoded first (zlib inflates
  rows in order, so a prefix is all a budget can buy): True when one of them has a transparent
  pixel (cut-outs and logos do, at their margins); else the whole image if within the budget,
  else None.
- Anything else larger (WebP, TIFF, GIF, interlaced PNG): None, unknown. (A PSD's merged
  image is sampled row by row: psd_alpha.py.)

The prefix decode narrows the opened image to its first rows before Pillow loads it (its size
and its one "zip" tile), which relies on how Pillow's PNG plugin loads (Pillow is pinned;
tests/snowpark_procs/test_facet_document.py checks both outcomes), and skips Pillow's reading of
the chunks after the image data (load_end), so a probe reads little more than its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from PIL import Image

# Pixels of a PNG's first rows decoded first (a few rows of a wide image, about 0.5 ms).
PROBE_PIXELS = 16_384
PROBE_READ_BYTES = 8_192
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


def may_be_transparent(im: Image.Image) -> bool:
    return im.mode in _ALPHA_MODES or "transparency" in im.info


def raster_transparency(
    open_image: Callable[[], AbstractContextManager[Image.Image]], max_pixels: int
) -> bool | None:
    """Whether the raster that `open_image` opens lazily has a pixel that is not fully opaque
    (see the module docstring). A PNG's first rows are probed first, as most transparent
    designs show it at their margins, before the whole image is decoded."""
    probe = min(max_pixels, PROBE_PIXELS)
    with open_image() as im:
        if not may_be_transparent(im):
            return False
        width, height = im.size
        if width * height <= probe:
            return has_transparent_pixel(im)
        narrowed = _narrow_to_rows(im, min(height, max(1, probe // max(width, 1))))
        if narrowed and has_transparent_pixel(im):
            return True
        if width * height > max_pixels:
            return None
    with open_image() as im:  # within the budget: the whole image
        return has_transparent_pixel(im)


def has_transparent_pixel(im: Image.Image) -> bool:
    alpha = im.getchannel("A") if im.mode in _ALPHA_MODES else im.convert("RGBA").getchannel("A")
    low, _ = alpha.getextrema()
    return int(low) < 255  # type: ignore[arg-type]


def _narrow_to_rows(im: Image.Image, rows: int) -> bool:
    """Make a still, non-interlaced PNG decode only its first `rows` rows."""
    if im.format != "PNG" or im.info.get("interlace") or getattr(im, "is_animated", False):
        return False
    if len(im.tile) != 1 or im.tile[0].codec_name != "zip":
        return False
    width = im.width
    im.tile = [im.tile[0]._replace(extents=(0, 0, width, rows))]
    im._size = (width, rows)  # noqa: SLF001 - the decoder fills an image of this size
    # After the rows, Pillow would read (not decode) the rest of the file up to IEND for the
    # chunks after the image data; nothing there is wanted, so that step is skipped.
    im.load_end = _nothing  # type: ignore[method-assign]
    im.decodermaxblock = PROBE_READ_BYTES  # read in small blocks: the decoder stops early
    return True


def _nothing() -> None:
    return None
