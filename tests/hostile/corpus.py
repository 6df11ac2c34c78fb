"""The corpus of the hostile-input tests: the pipeline's own generators (orchestration.corpus)
and the hostile ones that belong to these tests (corpus_raster, corpus_documents), under one
name, so a test reads `corpus.huge_declared_size("png")` beside `corpus.png_with_alpha()`."""

from orchestration.corpus import *  # noqa: F403  (the pipeline's generators, re-exported)
from orchestration.corpus import __all__ as _pipeline
from tests.hostile.corpus_documents import (
    PDF_MALFORMED_KINDS,
    SVG_FETCH_KINDS,
    pdf_external_references,
    pdf_malformed,
    pdf_many_pages,
    png_pdf_polyglot,
    svg_billion_laughs,
    svg_deep,
    svg_embedding,
    svg_fetching,
    zip_archive,
)
from tests.hostile.corpus_raster import (
    FLAT_PNG_KINDS,
    HUGE_DECLARED_FORMATS,
    PSD_ODD_MODES,
    gif_frame_flood,
    gif_many_frames,
    huge_declared_size,
    jpeg_huge_exif,
    png_animated,
    png_palette_transparent,
    png_rgb16,
    psd_deep_flat,
    psd_odd_mode,
    tiff_cmyk,
    tiff_page_flood,
    write_png_flat,
    write_png_noise,
)

__all__ = [
    *_pipeline,
    "FLAT_PNG_KINDS",
    "HUGE_DECLARED_FORMATS",
    "PDF_MALFORMED_KINDS",
    "PSD_ODD_MODES",
    "SVG_FETCH_KINDS",
    "gif_frame_flood",
    "gif_many_frames",
    "huge_declared_size",
    "jpeg_huge_exif",
    "pdf_external_references",
    "pdf_malformed",
    "pdf_many_pages",
    "png_animated",
    "png_palette_transparent",
    "png_pdf_polyglot",
    "png_rgb16",
    "psd_deep_flat",
    "psd_odd_mode",
    "svg_billion_laughs",
    "svg_deep",
    "svg_embedding",
    "svg_fetching",
    "tiff_cmyk",
    "tiff_page_flood",
    "write_png_flat",
    "write_png_noise",
    "zip_archive",
]
