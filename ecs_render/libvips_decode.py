"""libvips for the formats where it beats Pillow and resvg (measured by `python -m bench.per_file`):
RGB/grey JPEG, PNG (but 16-bit grey) and WebP are decoded and shrunk, SVG is drawn with librsvg.

libvips streams a raster through the resize (scanlines in, thumbnail out), scales WebP while
decoding and reads PNG with libspng: about half Pillow's CPU on those formats, and the memory of
a few scanlines instead of the whole image (a 50 MP WebP: Pillow held three full-size copies).
librsvg draws straight into pixels, where resvg_py could only return PNG bytes to decode again
(a quarter of the CPU). The caller has already checked the file (header, pixel limit, the SVG
checker): this module only does the pixel work and hands back a Pillow image.
"""

from __future__ import annotations

from typing import BinaryIO

import pyvips
from PIL import Image

# A render worker is one process per vCPU: libvips' own thread pool would oversubscribe them.
pyvips.concurrency_set(1)
# No operation cache: it would keep each file's decoded pixels alive after the call.
pyvips.cache_set_max(0)

# JPEG modes libvips and Pillow decode alike without colour management (CMYK is not one:
# libvips runs it through an ICC transform at twice Pillow's cost).
JPEG_MODES = frozenset({"RGB", "L"})
# Pillow reads 16-bit RGB(A) PNGs as RGB(A) too; 16-bit grey ("I;16") is left to its
# range-aware conversion (thumbnails._to_8bit_grey).
PNG_MODES = frozenset({"RGB", "RGBA", "L", "LA", "P"})
# libvips' bands -> the Pillow mode of the same pixels.
_PIL_MODE = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_READ_CHUNK = 256 * 1024


def can_shrink(fmt: str, mode: str) -> bool:
    """Whether libvips takes this header's pixels (everything else stays with Pillow)."""
    if fmt == "jpeg":
        return mode in JPEG_MODES
    if fmt == "png":
        return mode in PNG_MODES
    return fmt == "webp"


def jpeg_shrink(size: tuple[int, int], request: tuple[int, int]) -> int:
    """The DCT scale to decode at, picked as Pillow's draft() picks it: the largest of 1/2/4/8
    that the size holds whole times over the request (never a zero-pixel side)."""
    ratio = min(size[0] // request[0], size[1] // request[1])
    return next(factor for factor in (8, 4, 2, 1) if ratio >= factor)


def shrink_to_box(
    source: BinaryIO,
    fmt: str,
    size: tuple[int, int],
    box: tuple[int, int],
    gap: float,
    decode_request: tuple[int, int],
) -> Image.Image:
    """Decode source (size pixels, rewound first) and resize it to exactly box with LANCZOS3.

    JPEG and WebP are scaled while decoding, to no less than decode_request (their scalers
    alias: the LANCZOS pass after them needs the margin to reach 40 dB). Alpha is
    premultiplied for the resize, so transparent pixels do not bleed their colour.
    """
    source.seek(0)
    stream = _stream(source)
    options = {"access": "sequential", "fail_on": "truncated"}
    if fmt == "jpeg":
        image = pyvips.Image.jpegload_source(
            stream, shrink=jpeg_shrink(size, decode_request), **options
        )
    elif fmt == "png":
        image = pyvips.Image.pngload_source(stream, **options)
    else:
        scale = min(1.0, max(decode_request[0] / size[0], decode_request[1] / size[1]))
        image = pyvips.Image.webpload_source(stream, scale=scale, **options)
    if image.format == "ushort":  # a 16-bit PNG: keep the high byte, as Pillow does
        image = image.cast("uchar", shift=True)
    elif image.format != "uchar":
        raise ValueError(f"libvips decoded {fmt} as {image.format}, expected 8 or 16 bits")
    alpha = image.hasalpha()
    if alpha:
        # premultiplied in 8 bits, as Pillow's RGBa: libvips' float premultiply would make the
        # resize run in float (measured: 2x the CPU of the whole uchar path)
        # (max_alpha given: a shifted 16-bit image still says rgb16/grey16, meaning 65535)
        image = image.premultiply(max_alpha=255).cast("uchar")
    resized = image.resize(
        box[0] / image.width, vscale=box[1] / image.height, kernel="lanczos3", gap=gap
    )
    if alpha:
        resized = resized.unpremultiply(max_alpha=255)
    resized = resized.cast("uchar")
    if (resized.width, resized.height) != box:  # scales are box / size: libvips rounds to box
        raise ValueError(f"libvips resized to {resized.width}x{resized.height}, not {box}")
    pixels = resized.write_to_memory()
    return Image.frombuffer(_PIL_MODE[resized.bands], box, pixels, "raw")


def _stream(source: BinaryIO) -> pyvips.SourceCustom:
    """A libvips source reading the caller's stream (a spooled temp file in the service):
    no copy of the file's bytes."""
    stream = pyvips.SourceCustom()
    stream.on_read(lambda length: source.read(min(length, _READ_CHUNK)))
    stream.on_seek(lambda offset, whence: source.seek(offset, whence))
    return stream


def draw_svg(data: bytes, largest: int) -> Image.Image:
    """Draw a checked SVG so that its longest side is largest pixels (up or down: it is vector)."""
    intrinsic = pyvips.Image.svgload_buffer(data)  # reads the document's size, draws nothing
    scale = largest / max(intrinsic.width, intrinsic.height)
    drawn = pyvips.Image.svgload_buffer(data, scale=scale, fail_on="error")
    if drawn.bands != 4 or drawn.format != "uchar":
        raise ValueError(f"librsvg drew {drawn.bands} bands of {drawn.format}, expected RGBA")
    return Image.frombuffer("RGBA", (drawn.width, drawn.height), drawn.write_to_memory(), "raw")
