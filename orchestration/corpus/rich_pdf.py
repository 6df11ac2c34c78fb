"""A PDF with what the extraction facets read: text on pages of several sizes, fonts (one
subset-prefixed as embedding tools name them), a link annotation, a form field, an info
dictionary and XMP. Written object by object: pypdf has no text drawing."""

from __future__ import annotations

import zlib

from orchestration.corpus.rich import DOCUMENT_ID, xmp_packet

PDF_DOCUMENT_ID = "xmp.did:9a8b7c6d-5e4f-4031-8b2a-1c0d9e8f7a6b"
PDF_INSTANCE_ID = "xmp.iid:5f4e3d2c-1b0a-4998-8776-655443322110"

PDF_PAGE_SIZES = ((595.0, 842.0), (842.0, 595.0), (612.0, 792.0))  # A4, A4 landscape, Letter


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def pdf_with_text(
    pages: int = 3, heading_font: str = "QXKZAB+Inter-Bold", body: str | None = None
) -> bytes:
    """Pages of PDF_PAGE_SIZES in turn, each with a heading in a subset-prefixed font and a
    line of body text (`body`, or one naming the page) in Helvetica; a link annotation and a
    text field on page 1; XMP and an info dictionary. `heading_font` is written as a PDF name
    (characters outside printable ASCII, and delimiters, as #xx escapes of their UTF-8)."""
    objects: dict[int, bytes] = {}
    page_ids = [10 + 2 * index for index in range(pages)]
    # a document of its own, derived from the key visual the raster and PSD exports carry
    xmp = xmp_packet(
        creator_tool="Adobe InDesign 19.0 (Macintosh)",
        document_id=PDF_DOCUMENT_ID,
        instance_id=PDF_INSTANCE_ID,
        derived_from=DOCUMENT_ID,
    )
    objects[1] = (
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 3 0 R /AcroForm << /Fields [6 0 R] >> >>"
    )
    kids = " ".join(f"{page} 0 R" for page in page_ids)
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()
    objects[3] = (
        b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp)
        + xmp
        + b"\nendstream"
    )
    font = "<< /Type /Font /Subtype /Type1 /BaseFont /{} /Encoding /WinAnsiEncoding >>"
    objects[4] = font.format("Helvetica").encode()
    objects[5] = font.format(_pdf_name(heading_font)).encode()
    objects[6] = (
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /Rect [72 100 272 120] /P 10 0 R >>"
    )
    objects[7] = (
        b"<< /Type /Annot /Subtype /Link /Rect [72 700 272 720] "
        b"/A << /S /URI /URI (https://example.com/) >> >>"
    )
    info = (
        "<< /Title (Brand guidelines 2026) /Author (PixelForge design team) "
        "/Creator (Adobe InDesign 19.0) /Producer (Adobe PDF Library 17.0) >>"
    )
    objects[8] = info.encode()
    for index, page in enumerate(page_ids):
        width, height = PDF_PAGE_SIZES[index % len(PDF_PAGE_SIZES)]
        content = (
            f"BT /F2 28 Tf 72 {height - 90:.0f} Td {_pdf_string(f'Chapter {index + 1}')} Tj ET\n"
            f"BT /F1 12 Tf 72 {height - 130:.0f} Td "
            f"{_pdf_string(body or f'Brand colours and type, page {index + 1}.')} Tj ET"
        ).encode("latin-1")
        compressed = zlib.compress(content)
        annots = " /Annots [7 0 R 6 0 R]" if index == 0 else ""
        objects[page] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:g} {height:g}] "
            f"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents {page + 1} 0 R"
            f"{annots} >>"
        ).encode()
        objects[page + 1] = (
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(compressed)
            + compressed
            + b"\nendstream"
        )
    return pdf_file(objects, root=1, info=8)


def _pdf_name(name: str) -> str:
    return "".join(
        chr(byte) if 0x21 <= byte <= 0x7E and byte not in b"#/()<>[]{}%" else f"#{byte:02X}"
        for byte in name.encode("utf-8", "surrogatepass")
    )


def pdf_file(objects: dict[int, bytes], root: int, info: int) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        if number in offsets:
            out += b"%010d 00000 n \n" % offsets[number]
        else:
            out += b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n" % (size, root, info)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
