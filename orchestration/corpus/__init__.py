"""Deterministic design files for the demo, the benchmarks and the tests: same seed, same bytes,
no downloads. Each generator returns the bytes of one file.

By concern: `content` (the artwork and encoders every file is made of), `valid` (every format
the pipeline reads), `broken` (what the demo and unit tests upload by mistake or malice),
`rich`, `rich_pdf` (what the extraction facets read: XMP, ICC, text layers, SVG and PDF text),
`writers` (large files streamed to disk) and `demo` (the demo's 18 files). The rest of the
hostile corpus (huge declared sizes, odd modes, files that point outside themselves) lives with
its tests in tests/hostile/.
"""

from orchestration.corpus.broken import (
    HOSTILE_SVG_KINDS,
    jpeg_named_png,
    jpeg_truncated,
    png_bomb,
    png_truncated,
    random_bytes_named_png,
    svg_hostile,
    zero_byte,
)
from orchestration.corpus.demo import demo_corpus
from orchestration.corpus.rich import (
    psd_transparent,
    psd_with_text,
    raster_with_xmp,
    svg_with_text,
    xmp_packet,
)
from orchestration.corpus.rich_pdf import pdf_with_text
from orchestration.corpus.valid import (
    bmp_simple,
    gif_animated,
    jpeg_cmyk,
    jpeg_large,
    pdf_encrypted,
    pdf_multipage,
    png_with_alpha,
    psd_layered,
    svg_simple,
    tiff_16bit,
    webp,
    webp_animated,
)
from orchestration.corpus.writers import tiff_rgb16, write_tiff_rgb

__all__ = [
    "HOSTILE_SVG_KINDS",
    "bmp_simple",
    "demo_corpus",
    "gif_animated",
    "jpeg_cmyk",
    "jpeg_large",
    "jpeg_named_png",
    "jpeg_truncated",
    "pdf_encrypted",
    "pdf_multipage",
    "pdf_with_text",
    "png_bomb",
    "png_truncated",
    "png_with_alpha",
    "psd_layered",
    "psd_transparent",
    "psd_with_text",
    "random_bytes_named_png",
    "raster_with_xmp",
    "svg_hostile",
    "svg_simple",
    "svg_with_text",
    "tiff_16bit",
    "tiff_rgb16",
    "webp",
    "webp_animated",
    "write_tiff_rgb",
    "xmp_packet",
    "zero_byte",
]
