"""Format sniffing from magic bytes: the extension of a file is never trusted."""

from __future__ import annotations

import re

# Enough for every magic number and for an SVG prolog (XML declaration, comments, DOCTYPE).
HEAD_BYTES = 4096

SUPPORTED_FORMATS: tuple[str, ...] = (
    "png",
    "jpeg",
    "tiff",
    "webp",
    "gif",
    "psd",
    "svg",
    "pdf",
    "bmp",
)

# Formats Pillow opens lazily, mapped to the plugin that must handle them (no plugin guessing).
PILLOW_PLUGINS: dict[str, str] = {
    "png": "PNG",
    "jpeg": "JPEG",
    "tiff": "TIFF",
    "webp": "WEBP",
    "gif": "GIF",
    "bmp": "BMP",
    "psd": "PSD",
}

_BMP_DIB_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_SVG_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?svg[\s/>]")
_SVG_DOCTYPE = re.compile(r"<!DOCTYPE\s+(?:[A-Za-z_][\w.-]*:)?svg[\s>\[]")


def sniff_format(head: bytes) -> str | None:
    """Name the format of a file from its first bytes (HEAD_BYTES is enough), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"8BPS" and head[4:6] in (b"\x00\x01", b"\x00\x02"):
        return "psd"
    # PDF readers accept the header anywhere in the first KiB (some writers prepend junk).
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if (
        head[:2] == b"BM"
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in _BMP_DIB_HEADER_SIZES
    ):
        return "bmp"
    if _looks_like_svg(head):
        return "svg"
    return None


def _decode_text_head(head: bytes) -> str | None:
    """Decode the head of a possible XML document; None when it cannot be text."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
        head = head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in head and encoding == "utf-8":
        return None
    # The head may end in the middle of a multi-byte character: ignore only that tail.
    return head.decode(encoding, errors="ignore")


def _looks_like_svg(head: bytes) -> bool:
    text = _decode_text_head(head)
    if text is None:
        return False
    text = text.lstrip()
    if not text.startswith("<"):
        return False
    # Skip the prolog: XML declaration, processing instructions and comments.
    while text.startswith(("<?", "<!--")):
        closer = "?>" if text.startswith("<?") else "-->"
        end = text.find(closer)
        if end < 0:
            return False
        text = text[end + len(closer) :].lstrip()
    if text.startswith("<!DOCTYPE"):
        # A DOCTYPE naming svg settles it, even when its internal subset is too long for the head
        # (that is how entity-expansion SVGs look, and they must reach the SVG checker).
        return _SVG_DOCTYPE.match(text) is not None
    return _SVG_ROOT.match(text) is not None
