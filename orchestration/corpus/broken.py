"""Files a customer uploads by mistake or by malice that the demo and the unit tests use: empty,
cut, noise, mislabelled, a decompression bomb and SVGs the checker must refuse. The rest of
the hostile corpus belongs to the tests (tests/hostile/)."""

from __future__ import annotations

import zlib

import numpy as np

from orchestration.corpus.content import PNG_SIGNATURE, png_chunk
from orchestration.corpus.valid import jpeg_large, png_with_alpha


def png_bomb(side: int = 20_000) -> bytes:
    """A real, valid, all-black 1-bit PNG of side x side pixels that compresses to a few KiB."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000))
    idat += compressor.compress(row * (side % 1000)) + compressor.flush()
    header = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])  # 1-bit grey
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + (png_chunk(b"IEND", b""))
    )


def zero_byte() -> bytes:
    return b""


def png_truncated(seed: int = 0) -> bytes:
    """A PNG cut inside its image data."""
    data = png_with_alpha(400, 300, seed)
    return data[: len(data) * 3 // 5]


def jpeg_truncated(seed: int = 0) -> bytes:
    """A JPEG cut inside its scan, as an interrupted upload leaves it."""
    data = jpeg_large(800, 600, seed, orientation=1)
    return data[: len(data) * 3 // 5]


def random_bytes_named_png(seed: int = 0, size: int = 64 * 1024) -> bytes:
    """Noise that matches no format; the demo stores it under a .png name."""
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def jpeg_named_png(seed: int = 0) -> bytes:
    """A valid JPEG; the demo stores it under a .png name (mislabelled, not broken)."""
    return jpeg_large(1600, 1200, seed, orientation=1)


_HOSTILE_SVGS = {
    "entity_expansion": (
        '<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY a "lollollollollollollollollollol">\n'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(8))
        + ']>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        "<text>&i;</text></svg>"
    ),
    "external_entity": (
        '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&xxe;</text></svg>'
    ),
    "external_href": (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="10" height="10"><image xlink:href="file:///etc/passwd" width="10" height="10"/>'
        "</svg>"
    ),
    "css_url": (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10" style="fill: url(https://example.invalid/p.svg#x)"/></svg>'
    ),
    "css_import": (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        "<style>@import 'https://example.invalid/a.css';</style></svg>"
    ),
    "script": (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        "<script>alert(1)</script></svg>"
    ),
    "foreign_object": (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><foreignObject>'
        '<div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject></svg>'
    ),
}
HOSTILE_SVG_KINDS: tuple[str, ...] = tuple(_HOSTILE_SVGS)


def svg_hostile(kind: str = "entity_expansion") -> bytes:
    """An SVG the checker must refuse; kind is one of HOSTILE_SVG_KINDS."""
    return _HOSTILE_SVGS[kind].encode("utf-8")
