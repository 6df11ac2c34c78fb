"""PDF facts via pypdf: page count and the size of page 1. Encrypted files are refused."""

from __future__ import annotations

import math

from pypdf import PdfReader

from pixelforge_core.integrity import pdf_truncation
from pixelforge_core.reason_codes import ENCRYPTED_FILE, TRUNCATED_FILE, UNREADABLE_FILE
from pixelforge_core.records import DesignMetadata, MetadataFailure
from snowpark_procs.metadata.opened import OpenedFile

POINTS_PER_INCH = 72.0


def read_pdf(opened: OpenedFile) -> DesignMetadata | MetadataFailure:
    problem = pdf_truncation(opened.source, opened.size)
    if problem:
        return MetadataFailure(TRUNCATED_FILE, problem)
    reader = opened.pdf
    # Any /Encrypt dictionary is refused, owner-password-only files included: the renderer
    # refuses the same files, so extraction and thumbnails agree.
    if reader.is_encrypted:
        return MetadataFailure(ENCRYPTED_FILE, "PDF is encrypted")
    page_count = len(reader.pages)
    if page_count == 0:
        return MetadataFailure(UNREADABLE_FILE, "PDF has no pages")
    width_px, height_px = first_page_size(reader)
    return DesignMetadata(
        format="pdf",
        width_px=width_px,
        height_px=height_px,
        mode=None,
        bit_depth=None,
        dpi_x=POINTS_PER_INCH,
        dpi_y=POINTS_PER_INCH,
        frame_count=None,
        page_count=page_count,
        layer_count=None,
        exif={},
    )


def first_page_size(reader: PdfReader) -> tuple[int | None, int | None]:
    """Page 1 as displayed (after /Rotate and /UserUnit), in points: pixels at 72 dpi."""
    page = reader.pages[0]
    unit = float(page.user_unit or 1)
    width = abs(float(page.mediabox.width)) * unit
    height = abs(float(page.mediabox.height)) * unit
    if page.rotation % 180 == 90:
        width, height = height, width
    return _pixels(width), _pixels(height)


def _pixels(points: float) -> int | None:
    # Zero or non-finite sizes are reported as missing; dbt's absurd_dimensions rule flags them.
    return max(1, round(points)) if math.isfinite(points) and points > 0 else None
