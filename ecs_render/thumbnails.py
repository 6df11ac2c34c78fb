"""STEP 3 "render_thumbnails" core: one design file in, WebP thumbnails out. Pure: no HTTP, no S3.

One decode serves every size: the file is opened lazily and refused from its header if it
declares too many pixels; JPEG (but CMYK), PNG and WebP are then decoded and shrunk by libvips
(ecs_render/libvips_decode.py: DCT scaling and scaled WebP decoding with an aspect-correct
margin, streamed through LANCZOS3), SVG is drawn by librsvg and PDF by pdfium, and the other
rasters are reduce()d + LANCZOS-resized by Pillow (CMYK JPEG drafted first). Each smaller size
is cascaded from the previous one. Failures come back as RenderFailure with a reason code;
nothing is raised. The opening preamble is the core's (pixelforge_core.raster, as extraction's),
vector drawing is ecs_render/vector.py; the raster paths (libvips, Pillow in strips, deep PSDs)
stay together here, about 360 lines, as they share the limits and resize helpers.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image
from psd_tools import PSDImage

from ecs_render import libvips_decode
from ecs_render.results import RenderFailure, Thumbnail
from ecs_render.vector import draw_pdf, draw_svg
from pixelforge_core.exif import orientation_of, read_exif
from pixelforge_core.failures import classify_exception, describe
from pixelforge_core.formats import HEAD_BYTES, sniff_format
from pixelforge_core.limits import (
    MAX_LAYER_DEPTH,
    MIB,
    PILLOW_HARD_PIXEL_LIMIT,
    psd_parse_limits,
)
from pixelforge_core.psd_tree import nesting_depth
from pixelforge_core.raster import open_raster, pixel_limit_failure, truncation_failure
from pixelforge_core.reason_codes import (
    DECOMPRESSION_BOMB,
    EMPTY_FILE,
    FILE_TOO_LARGE,
    HOSTILE_CONTENT,
    RENDER_FAILED,
    UNREADABLE_FILE,
    UNSUPPORTED_FORMAT,
)
from pixelforge_core.records import MetadataFailure
from pixelforge_core.render_wire import THUMBNAIL_SIZES

# Scaled decoders (JPEG's DCT scaling, libwebp's rescaler) are asked for this factor times the
# largest box, so they keep a margin above the target that the LANCZOS pass then removes
# (Pillow's thumbnail() does the same). Measured on a 24 MP WebP: asking for 1.5x the box
# gave 39.5 dB after encoding, 2x the box 40.7 dB for 3% more CPU.
DRAFT_GAP = 2.0
# EXIF orientation -> the transpose that shows the image upright.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class RenderLimits:
    """What one file may cost the renderer, and how thumbnails are encoded."""

    max_file_bytes: int = 256 * MIB
    max_pixels: int = PILLOW_HARD_PIXEL_LIMIT
    max_svg_bytes: int = 16 * MIB
    max_pdf_pages_scanned: int = 5
    # 16/32-bit and 1-bit PSDs are decoded whole by psd-tools: their estimated cost must fit
    # (768 MiB lets a 16-bit RGB PSD of about 20 MP through).
    max_deep_psd_bytes: int = 768 * MIB
    # Such a PSD without a stored composite image is composited from its layers, recursively
    # per group level (pixelforge_core/limits.py MAX_LAYER_DEPTH): a deeper one is refused.
    max_layer_depth: int = MAX_LAYER_DEPTH
    # Chosen by `python -m bench.per_file` (design-mix corpus, 1024 + 256 px, CPU time): quality
    # 92 method 0 is the cheapest setting that keeps every thumbnail at >= 40 dB luma PSNR
    # against a full-resolution LANCZOS resize (quality 80 method 2, the earlier choice, gave
    # 35-36 dB on photos). Method 0 encodes RGB as fast as method 2 did at quality 80 and RGBA
    # 1.7x faster; the price is 40-60% more bytes on that noisy corpus.
    webp_quality: int = 92
    webp_method: int = 0
    # reduce() (a box filter) shrinks by whole factors while at least this factor above the
    # target remains for LANCZOS. 1.5 instead of Pillow's 2.0 lets a 4000 px side reduce by 2
    # first (measured: 186 -> 113 ms for a 12 MP TIFF, still >= 48 dB before encoding).
    reducing_gap: float = 1.5


DEFAULT_RENDER_LIMITS = RenderLimits()


def render_thumbnails(
    source: BinaryIO,
    sizes: Sequence[int] = THUMBNAIL_SIZES,
    limits: RenderLimits = DEFAULT_RENDER_LIMITS,
) -> list[Thumbnail] | RenderFailure:
    """Render one thumbnail per size (in the order asked) from a seekable stream (rewound first).

    Raster images are never upscaled; PDF and SVG are vector and are drawn at the size asked.
    Raises ValueError only for a caller bug (no sizes, or a size below 1).
    """
    wanted = list(dict.fromkeys(sizes))
    if not wanted or any(size < 1 for size in wanted):
        raise ValueError(f"sizes must be positive integers, got {list(sizes)}")
    try:
        images = _render_images(source, sorted(wanted, reverse=True), limits)
        if isinstance(images, RenderFailure):
            return images
        return [_encode(size, images[size], limits) for size in wanted]
    except MemoryError:
        # In the service a decode worker's address space is capped (RLIMIT_AS): the file needs
        # more memory than one worker may take.
        return RenderFailure(RENDER_FAILED, "decoding needs more memory than the renderer allows")
    except Exception as exc:  # per-file boundary: any decoder error is a fact about this file
        code = classify_exception(exc)
        return RenderFailure(RENDER_FAILED if code == UNREADABLE_FILE else code, describe(exc))


def _render_images(
    source: BinaryIO, descending: list[int], limits: RenderLimits
) -> dict[int, Image.Image] | RenderFailure:
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    if size == 0:
        return RenderFailure(EMPTY_FILE, "the file has zero bytes")
    if size > limits.max_file_bytes:
        return RenderFailure(FILE_TOO_LARGE, f"{size} bytes, over {limits.max_file_bytes}")
    head = source.read(HEAD_BYTES)
    fmt = sniff_format(head)
    if fmt is None:
        return RenderFailure(UNSUPPORTED_FORMAT, "not a supported design format")
    deep_psd = fmt == "psd" and int.from_bytes(head[22:24], "big") != 8
    if fmt == "svg":
        first = draw_svg(source, descending[0], limits.max_svg_bytes)
    elif fmt == "pdf" or deep_psd:
        truncated = truncation_failure(fmt, source, size)
        if truncated:
            return _render_failure(truncated)
        if fmt == "pdf":
            first = draw_pdf(source, descending[0], limits.max_pdf_pages_scanned)
        else:
            # Pillow cannot open 16/32-bit PSDs and reads 1-bit ones inverted.
            first = _decode_deep_psd(source, head, size, descending[0], limits)
    else:
        first = _decode_raster(source, fmt, size, descending[0], limits)
    if isinstance(first, RenderFailure):
        return first
    return _cascade(first, descending, limits)


def _cascade(
    first: Image.Image, descending: list[int], limits: RenderLimits
) -> dict[int, Image.Image]:
    """Each smaller size is resized from the previous one: the file was decoded only once."""
    images = {descending[0]: first}
    previous = first
    for size in descending[1:]:
        previous = _resize(previous, fit_box(previous.size, size), limits)
        images[size] = previous
    return images


def fit_box(size: tuple[int, int], target: int) -> tuple[int, int]:
    """The size whose longest edge is target, keeping the aspect ratio; never larger than size."""
    width, height = size
    longest = max(width, height)
    if longest <= target:
        return size
    scale = target / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def draft_request(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The JPEG draft request for a thumbnail box: aspect-correct, DRAFT_GAP times the box.

    A square request on a 3:2 photo asks for the short side on both axes, so libjpeg picks a
    smaller DCT scale (often none at all) and decodes far more pixels than needed.
    """
    return (
        min(size[0], math.ceil(box[0] * DRAFT_GAP)),
        min(size[1], math.ceil(box[1] * DRAFT_GAP)),
    )


# --- raster (Pillow) ------------------------------------------------------------------------


def _decode_raster(
    source: BinaryIO, fmt: str, size: int, largest: int, limits: RenderLimits
) -> Image.Image | RenderFailure:
    opened = open_raster(source, fmt, size, limits.max_pixels)
    if isinstance(opened, MetadataFailure):
        return _render_failure(opened)
    with opened as im:
        orientation = orientation_of(read_exif(im, fmt, source, size))
        box = fit_box(im.size, largest)
        if box != im.size and libvips_decode.can_shrink(fmt, im.mode):
            first = libvips_decode.shrink_to_box(
                source, fmt, im.size, box, limits.reducing_gap, draft_request(im.size, box)
            )
            return _orient(_output_mode(first), orientation)
        if fmt == "jpeg":
            # Before anything loads: draft() is a no-op on a loaded image.
            im.draft(None, draft_request(im.size, box))
        if _is_large_with_alpha(im):
            first = _resize_alpha_in_strips(im, box, limits)
        else:
            first = _resize(_resizable(im), box, limits)
    return _orient(_output_mode(first), orientation)


# resize() premultiplies alpha over the whole image first (and palettes become RGBA first): a
# full-size copy. Past this many pixels, strips are premultiplied and reduced one at a time
# (measured on 177 MP flat PNGs: RGBA and LA peaked at 1.4 GiB, palette + tRNS at 1.6 GiB).
_STRIP_REDUCE_PIXELS = 16_000_000
_STRIP_BYTES = 8 * MIB
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "P"})


def _is_large_with_alpha(im: Image.Image) -> bool:
    if im.width * im.height <= _STRIP_REDUCE_PIXELS or im.mode not in _ALPHA_MODES:
        return False
    return im.mode != "P" or im.has_transparency_data


def _resize_alpha_in_strips(
    im: Image.Image, box: tuple[int, int], limits: RenderLimits
) -> Image.Image:
    """What resize() does to an alpha image (premultiply, reduce, resample the exact reduced
    area), with the first two steps done strip by strip; returns RGBa."""
    width, height = im.size
    factor_x = max(1, int(width / box[0] / limits.reducing_gap))
    factor_y = max(1, int(height / box[1] / limits.reducing_gap))
    reduced = Image.new("RGBa", (math.ceil(width / factor_x), math.ceil(height / factor_y)))
    rows = factor_y * max(1, _STRIP_BYTES // (4 * width * factor_y))  # whole reduce blocks
    for top in range(0, height, rows):
        strip = im.crop((0, top, width, min(height, top + rows)))
        if strip.mode != "RGBA":
            strip = strip.convert("RGBA")  # P and LA have no direct conversion to RGBa
        reduced.paste(strip.convert("RGBa").reduce((factor_x, factor_y)), (0, top // factor_y))
    area = (0.0, 0.0, width / factor_x, height / factor_y)  # the last block may be partial
    return reduced.resize(box, Image.Resampling.LANCZOS, box=area)


def _decode_deep_psd(
    source: BinaryIO, head: bytes, size: int, largest: int, limits: RenderLimits
) -> Image.Image | RenderFailure:
    """PSDs Pillow cannot open (16/32-bit) or misreads (1-bit: Photoshop's set bit is black,
    as psd-tools and ImageMagick read it): psd-tools reads the stored composite, or
    composites the layers when the file has none (refused past max_layer_depth levels)."""
    height, width = int.from_bytes(head[14:18], "big"), int.from_bytes(head[18:22], "big")
    failure = pixel_limit_failure(width, height, limits.max_pixels)
    if failure:
        return _render_failure(failure)
    # psd-tools holds the whole image several times over (measured: 144 MP of 16-bit RGB took
    # 2.4 GiB, 12 MP of raw 16-bit RGBA 650 MiB): six copies of the samples plus RGB output.
    channels, depth = int.from_bytes(head[12:14], "big"), int.from_bytes(head[22:24], "big")
    cost = width * height * (6 * channels * depth // 8 + 3)
    if cost > limits.max_deep_psd_bytes:
        return RenderFailure(
            DECOMPRESSION_BOMB,
            f"{width}x{height} {depth}-bit PSD of {channels} channels would need about "
            f"{cost // MIB} MiB to decode, over {limits.max_deep_psd_bytes // MIB} MiB",
        )
    source.seek(0)
    psd = PSDImage.open(source, parse_limits=psd_parse_limits(size))
    if not psd.has_preview():  # composite() walks the layer tree, recursively
        depth = nesting_depth(psd)
        if depth > limits.max_layer_depth:
            return RenderFailure(
                HOSTILE_CONTENT,
                f"layer groups nested {depth} deep and no stored composite image: compositing "
                f"the layers is refused past {limits.max_layer_depth} levels",
            )
    composite = psd.composite()
    box = fit_box(composite.size, largest)
    return _output_mode(_resize(_resizable(composite), box, limits))


def _render_failure(failure: MetadataFailure) -> RenderFailure:
    return RenderFailure(failure.reason_code, failure.message)


def _resizable(im: Image.Image) -> Image.Image:
    """Modes resize() cannot filter well become ones it can; JPEG modes pass untouched."""
    mode = im.mode
    if mode == "P":
        return im.convert("RGBA" if im.has_transparency_data else "RGB")
    if mode == "PA":
        return im.convert("RGBA")
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _to_8bit_grey(im)
    return im


def _to_8bit_grey(im: Image.Image) -> Image.Image:
    """Scale deep greys into 0..255: convert("L") would clip everything above 255 to white."""
    # I;16 is scaled in place (point() keeps the mode): widening it to I takes 4 bytes a pixel
    # twice over (a 177 MP 16-bit PNG peaked at 1.9 GiB).
    wide = im if im.mode == "I;16" else im.convert("F") if im.mode == "F" else im.convert("I")
    low, high = wide.getextrema()
    if wide.mode == "F" and low >= 0 and high <= 1:
        scale, offset = 255.0, 0.0
    elif low >= 0 and high <= 255:
        scale, offset = 1.0, 0.0
    elif low >= 0 and high <= 65535:
        scale, offset = 1 / 257, 0.0
    else:
        span = float(high - low) or 1.0
        scale, offset = 255.0 / span, -float(low) * 255.0 / span
    return wide.point(lambda value: value * scale + offset).convert("L")


def _resize(im: Image.Image, box: tuple[int, int], limits: RenderLimits) -> Image.Image:
    if im.size == box:
        im.load()
        return im.copy()
    return im.resize(box, Image.Resampling.LANCZOS, reducing_gap=limits.reducing_gap)


def _output_mode(im: Image.Image) -> Image.Image:
    """WebP takes RGB or RGBA: alpha is kept, CMYK is converted naively (no ICC)."""
    if im.mode in ("RGB", "RGBA"):
        return im
    if im.mode in ("LA", "La", "RGBa"):
        return im.convert("RGBA")
    return im.convert("RGB")


def _orient(im: Image.Image, orientation: int) -> Image.Image:
    transpose = _TRANSPOSE.get(orientation)
    return im.transpose(transpose) if transpose is not None else im


# --- encoding -------------------------------------------------------------------------------


# libwebp methods 0 and 1 can overflow the 512 KiB first partition on large, detailed images
# ("encoding error 6"; measured: an 8192 px noisy photo at quality 92); method 2 fits it.
_PARTITION_SAFE_METHOD = 2


def _encode(size: int, image: Image.Image, limits: RenderLimits) -> Thumbnail:
    buffer = io.BytesIO()
    try:
        image.save(buffer, "WEBP", quality=limits.webp_quality, method=limits.webp_method)
    except ValueError:
        if limits.webp_method >= _PARTITION_SAFE_METHOD:
            raise
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", quality=limits.webp_quality, method=_PARTITION_SAFE_METHOD)
    return Thumbnail(size, image.width, image.height, buffer.getvalue())
