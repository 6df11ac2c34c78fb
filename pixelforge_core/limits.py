"""Safety limits for extraction and rendering, passed in by the caller (no module settings)."""

from __future__ import annotations

from dataclasses import dataclass

from psd_tools import ParseLimits

MIB = 1024 * 1024

# Pillow refuses more than 2 x Image.MAX_IMAGE_PIXELS at open(); the default matches it so that
# our verdict and Pillow's agree. A higher limit is still capped by Pillow's own check.
PILLOW_HARD_PIXEL_LIMIT = 178_956_970


@dataclass(frozen=True)
class ExtractionLimits:
    """What one file may cost extraction before it is refused."""

    max_file_bytes: int = 256 * MIB
    max_pixels: int = PILLOW_HARD_PIXEL_LIMIT
    max_svg_bytes: int = 16 * MIB
    # Pages of a TIFF or frames of an animation; design files have a handful, a few-MB file
    # can declare millions.
    max_frames: int = 10_000
    chunk_bytes: int = MIB


DEFAULT_LIMITS = ExtractionLimits()


def psd_parse_limits(size_bytes: int) -> ParseLimits:
    """What psd-tools may materialise while it parses a PSD of size_bytes: extraction
    (snowpark_procs/metadata/psd.py) and the renderer parse with the same limits, so a document
    cannot cost the renderer more than it cost extraction (tests/ecs_render/test_thumbnails.py)."""
    return ParseLimits(max_total_bytes=2 * size_bytes + 1024)
