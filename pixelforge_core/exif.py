"""A small EXIF subset, read without decoding pixels.

PngImageFile.getexif() calls load() (a full decode) when no eXIf chunk precedes IDAT, so PNG
EXIF comes from im.info or from a walk over the chunk headers instead.
"""

from __future__ import annotations

import contextlib
from typing import BinaryIO

from PIL import Image

from pixelforge_core.integrity import iter_png_chunks

_IFD0_TAGS = {0x010F: "Make", 0x0110: "Model", 0x0112: "Orientation", 0x0131: "Software"}
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
ORIENTATION_TAG = 0x0112
MAX_VALUE_CHARS = 256
MAX_PNG_EXIF_BYTES = 1024 * 1024


def exif_subset(exif: Image.Exif) -> dict[str, str]:
    """Make, Model, Orientation, Software and DateTimeOriginal as strings (absent when empty)."""
    found: dict[str, str] = {}
    for tag, name in _IFD0_TAGS.items():
        _put(found, name, exif.get(tag))
    # A broken Exif sub-IFD must not cost the other tags.
    with contextlib.suppress(Exception):
        _put(found, "DateTimeOriginal", exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL))
    return found


def _put(found: dict[str, str], name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).replace("\x00", "").strip()[:MAX_VALUE_CHARS]
    if text:
        found[name] = text


def png_exif_payload(source: BinaryIO, size: int) -> bytes | None:
    """The eXIf chunk of a PNG, found by walking chunk headers (IDAT is skipped, not read)."""
    start = source.tell()
    try:
        for chunk_type, offset, length in iter_png_chunks(source, size):
            if chunk_type == b"eXIf":
                if length > MAX_PNG_EXIF_BYTES:
                    return None
                source.seek(offset)
                return source.read(length)
        return None
    finally:
        source.seek(start)


def load_exif(raw: bytes | None) -> Image.Exif:
    exif = Image.Exif()
    if raw:
        exif.load(raw)
    return exif


def read_exif(im: Image.Image, fmt: str, source: BinaryIO, size: int) -> Image.Exif:
    """The EXIF of an image opened lazily from source; never triggers a pixel decode."""
    if fmt == "png":
        raw = im.info.get("exif")
        return load_exif(raw if isinstance(raw, bytes) else png_exif_payload(source, size))
    if fmt in ("jpeg", "webp", "tiff"):
        # Their getexif() reads im.info or the TIFF IFDs, never the pixel data.
        return im.getexif()
    return Image.Exif()


def orientation_of(exif: Image.Exif) -> int:
    value = exif.get(ORIENTATION_TAG)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
