"""Cheap structural checks that a file is complete, without decoding any pixels.

Each check walks headers only (PNG chunks, JPEG markers, RIFF and BMP sizes, TIFF strip
offsets, PDF trailer) and returns why the file ends early, or None. The stream position is
restored afterwards so the checks can run while Pillow holds the same stream open.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from PIL import Image

MIB = 1024 * 1024
# A PNG made of millions of empty chunks would make the walk slow; past this we stop judging.
MAX_PNG_CHUNKS = 200_000
_PNG_SIGNATURE_BYTES = 8
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def iter_png_chunks(source: BinaryIO, size: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, data_offset, length) per PNG chunk; stops at IEND, EOF or the chunk cap."""
    position = _PNG_SIGNATURE_BYTES
    for _ in range(MAX_PNG_CHUNKS):
        if position + 8 > size:
            return
        source.seek(position)
        header = source.read(8)
        if len(header) < 8:
            return
        length, chunk_type = struct.unpack(">I4s", header)
        yield chunk_type, position + 8, length
        if chunk_type == b"IEND":
            return
        position += 12 + length


def png_truncation(source: BinaryIO, size: int) -> str | None:
    start = source.tell()
    try:
        chunks = 0
        for chunk_type, offset, length in iter_png_chunks(source, size):
            chunks += 1
            if offset + length + 4 > size:
                return f"PNG chunk {chunk_type!r} runs past the end of the file"
            if chunk_type == b"IEND":
                return None
        if chunks >= MAX_PNG_CHUNKS:
            return None
        return "PNG ends before its IEND chunk"
    finally:
        source.seek(start)


def jpeg_truncation(source: BinaryIO, size: int) -> str | None:
    """Walk the marker segments to the first scan, then look for the EOI marker after it.

    Almost every complete JPEG ends with EOI, and a cut one cannot (FF is always followed by
    00 inside scan data), so the tail settles it without a second pass over the file; only
    files with trailing data (motion photos, padding) are scanned.
    """
    start = source.tell()
    try:
        source.seek(max(0, size - 2))
        if source.read(2) == b"\xff\xd9":
            return None
        position = 2
        while True:
            source.seek(position)
            marker = source.read(2)
            if len(marker) < 2:
                return "JPEG ends before its image data"
            if marker[0] != 0xFF:
                return None  # not a marker where one should be: leave it to the decoder
            code = marker[1]
            if code == 0xFF:  # fill byte
                position += 1
                continue
            if code in _JPEG_STANDALONE:
                position += 2
                continue
            if code == 0xD9:
                return None
            length_bytes = source.read(2)
            if len(length_bytes) < 2:
                return "JPEG ends inside a marker segment"
            length = int.from_bytes(length_bytes, "big")
            if position + 2 + length > size:
                return "JPEG ends inside a marker segment"
            position += 2 + length
            if code == 0xDA:  # start of scan: entropy-coded data never contains FF D9
                return (
                    None
                    if _find_after(source, position, b"\xff\xd9")
                    else ("JPEG ends before its end-of-image marker")
                )
    finally:
        source.seek(start)


def _find_after(source: BinaryIO, position: int, needle: bytes) -> bool:
    source.seek(position)
    carry = b""
    while True:
        chunk = source.read(MIB)
        if not chunk:
            return False
        if needle in carry + chunk:
            return True
        carry = chunk[-(len(needle) - 1) :]


def webp_truncation(head: bytes, size: int) -> str | None:
    declared = int.from_bytes(head[4:8], "little") + 8
    if declared > size:
        return f"WebP declares {declared} bytes but the file has {size}"
    return None


def bmp_truncation(head: bytes, size: int) -> str | None:
    """For uncompressed BMPs the pixel array size follows from the header."""
    if len(head) < 34:
        return "BMP ends inside its header"
    data_offset = int.from_bytes(head[10:14], "little")
    dib_size = int.from_bytes(head[14:18], "little")
    if dib_size == 12:
        width, height = struct.unpack("<HH", head[18:22])
        bits, compression = int.from_bytes(head[24:26], "little"), 0
    else:
        width, height = struct.unpack("<ii", head[18:26])
        bits = int.from_bytes(head[28:30], "little")
        compression = int.from_bytes(head[30:34], "little")
    if compression not in (0, 3):  # RLE and embedded JPEG/PNG have no fixed size
        return None
    row_bytes = (bits * abs(width) + 31) // 32 * 4
    expected = data_offset + row_bytes * abs(height)
    if expected > size:
        return f"BMP pixel data needs {expected} bytes but the file has {size}"
    return None


def tiff_truncation(im: Image.Image, size: int) -> str | None:
    """The first IFD's strips or tiles must lie inside the file."""
    tags = getattr(im, "tag_v2", None)
    if tags is None:
        return None
    for offsets_tag, counts_tag in ((273, 279), (324, 325)):
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        end = max((int(o) + int(c) for o, c in zip(offsets, counts, strict=False)), default=0)
        if end > size:
            return f"TIFF image data runs to byte {end} but the file has {size}"
    return None


def pdf_truncation(source: BinaryIO, size: int) -> str | None:
    start = source.tell()
    try:
        source.seek(max(0, size - 1024))
        tail = source.read(1024)
    finally:
        source.seek(start)
    if b"%%EOF" not in tail:
        return "PDF has no %%EOF marker at its end"
    return None


def tiff_ifd_truncation(head: bytes, size: int) -> str | None:
    """Writers often put the first IFD after the image data: a cut file loses it."""
    byte_order = "little" if head[:2] == b"II" else "big"
    big = head[2:4] in (b"+\x00", b"\x00+")
    raw = head[8:16] if big else head[4:8]
    if len(raw) < (8 if big else 4):
        return "TIFF ends inside its header"
    offset = int.from_bytes(raw, byte_order)
    if offset + 2 > size:
        return f"TIFF directory at byte {offset} lies past the end of the file ({size} bytes)"
    return None


# Shortest complete header per format; anything shorter was cut.
_MIN_HEADER_BYTES = {"gif": 13, "bmp": 26, "tiff": 8, "webp": 16, "psd": 26}


def truncation_before_open(fmt: str, source: BinaryIO, head: bytes, size: int) -> str | None:
    """Checks that need only the stream: run them before any decoder sees the file."""
    if size < _MIN_HEADER_BYTES.get(fmt, 0):
        return f"{fmt.upper()} ends inside its header ({size} bytes)"
    if fmt == "tiff":
        return tiff_ifd_truncation(head, size)
    if fmt == "png":
        return png_truncation(source, size)
    if fmt == "jpeg":
        return jpeg_truncation(source, size)
    if fmt == "webp":
        return webp_truncation(head, size)
    if fmt == "bmp":
        return bmp_truncation(head, size)
    if fmt == "pdf":
        return pdf_truncation(source, size)
    return None
