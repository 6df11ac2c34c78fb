"""Vector sources drawn at the size asked: PDF by pdfium (its first drawable page), SVG by librsvg
after the same checks extraction runs (pixelforge_core.svg). Part of thumbnails.py's render."""

from __future__ import annotations

import math
import threading
from typing import BinaryIO

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image
from pypdf import PdfReader

from ecs_render import libvips_decode
from ecs_render.results import RenderFailure
from pixelforge_core.reason_codes import ENCRYPTED_FILE, RENDER_FAILED, UNREADABLE_FILE
from pixelforge_core.records import MetadataFailure
from pixelforge_core.svg import check_svg

# pdfium is not thread-safe: one document at a time per process.
_PDFIUM_LOCK = threading.Lock()


def scale_box(size: tuple[float, float], target: int) -> tuple[int, int]:
    """Like fit_box, but for vector sources, which are drawn at the target even when small."""
    width, height = size
    scale = target / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def draw_pdf(source: BinaryIO, largest: int, max_pages_scanned: int) -> Image.Image | RenderFailure:
    """The first drawable page among the first max_pages_scanned, its longest edge `largest`."""
    source.seek(0)
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(source, autoclose=False)
        except pdfium.PdfiumError as exc:
            # pdfium's last error outlives the document that set it: a broken PDF opened after
            # an encrypted one fails with "password" too, so the trailer decides (as extraction).
            if _is_encrypted(source):
                return RenderFailure(ENCRYPTED_FILE, "PDF is encrypted")
            if "password" in str(exc).lower():
                return RenderFailure(RENDER_FAILED, "pdfium could not load the document")
            raise
        try:
            # Owner-password-only files open without a password; refuse them like extraction.
            if pdfium_c.FPDF_GetSecurityHandlerRevision(document.raw) != -1:
                return RenderFailure(ENCRYPTED_FILE, "PDF is encrypted")
            for index in range(min(len(document), max_pages_scanned)):
                image = _draw_pdf_page(document, index, largest)
                if image is not None:
                    return image
            return RenderFailure(
                RENDER_FAILED, f"no drawable page among the first {max_pages_scanned}"
            )
        finally:
            document.close()


def _is_encrypted(source: BinaryIO) -> bool:
    source.seek(0)
    try:
        return bool(PdfReader(source, strict=False).is_encrypted)
    except Exception:  # unreadable for pypdf too: whatever it is, it is not a password problem
        return False


def _draw_pdf_page(document: pdfium.PdfDocument, index: int, largest: int) -> Image.Image | None:
    page = document[index]
    try:
        width, height = page.get_size()
        if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
            return None
        box = scale_box((width, height), largest)
        bitmap = page.render(scale=largest / max(width, height), may_draw_forms=True)
        image = bitmap.to_pil().convert("RGB")  # a copy, independent of pdfium's buffer
        return image if image.size == box else image.resize(box, Image.Resampling.LANCZOS)
    finally:
        page.close()


def draw_svg(source: BinaryIO, largest: int, max_svg_bytes: int) -> Image.Image | RenderFailure:
    """The SVG checked as extraction checks it (pixelforge_core.svg), then drawn by librsvg."""
    source.seek(0)
    data = source.read(max_svg_bytes + 1)
    info = check_svg(data, max_svg_bytes)
    if isinstance(info, MetadataFailure):
        code = info.reason_code  # unreadable_file is extraction's word for render_failed
        return RenderFailure(RENDER_FAILED if code == UNREADABLE_FILE else code, info.message)
    image = libvips_decode.draw_svg(data, largest)
    box = scale_box(image.size, largest)  # librsvg rounds the scaled size its own way
    return image if image.size == box else image.resize(box, Image.Resampling.LANCZOS)
