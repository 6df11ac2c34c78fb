from __future__ import annotations

import hashlib
import io

from pypdf import PdfReader, PdfWriter

from pixelforge_core.records import DesignMetadata, MetadataFailure
from snowpark_procs.metadata import extract_metadata
from tests.fixtures.design_files import design_file, small, stream


def test_multipage_pdf():
    data = design_file("pdf_multipage")
    meta = extract_metadata(stream(data), "guidelines.pdf")
    assert isinstance(meta, DesignMetadata), meta
    assert (meta.format, meta.page_count) == ("pdf", 3)
    # A4 at 72 dpi (pixels are points): 1240x1754 px pages saved at 150 dpi.
    assert (meta.width_px, meta.height_px) == (595, 842)
    assert (meta.dpi_x, meta.dpi_y) == (72.0, 72.0)
    assert meta.sha256 == hashlib.sha256(data).hexdigest()


def test_rotated_first_page_swaps_width_and_height():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(small("pdf_multipage"))))
    writer.pages[0].rotate(90)
    buffer = io.BytesIO()
    writer.write(buffer)
    meta = extract_metadata(stream(buffer.getvalue()), "rotated.pdf")
    assert isinstance(meta, DesignMetadata), meta
    assert meta.width_px > meta.height_px


def test_user_password_pdf_is_encrypted_file():
    result = extract_metadata(stream(design_file("pdf_encrypted")), "locked.pdf")
    assert isinstance(result, MetadataFailure)
    assert (result.reason_code, result.format) == ("encrypted_file", "pdf")


def test_owner_password_only_pdf_is_refused_too():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(small("pdf_multipage"))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    result = extract_metadata(stream(buffer.getvalue()), "protected.pdf")
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "encrypted_file"


def test_truncated_pdf():
    data = small("pdf_multipage")
    result = extract_metadata(stream(data[: len(data) // 2]), "cut.pdf")
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "truncated_file"


def test_garbage_after_pdf_header_is_unreadable_not_raised():
    result = extract_metadata(stream(b"%PDF-1.7\n" + b"\x00garbage" * 100 + b"\n%%EOF\n"), "x.pdf")
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "unreadable_file"
