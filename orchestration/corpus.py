"""Deterministic design files for the demo and the tests: same seed, same bytes, no downloads.

Each generator returns the bytes of one file. Content is procedural (a low-frequency colour
field, shapes and a little tiled noise so that sizes look like real exports).
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import struct
import time
import zipfile
import zlib
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageChops, ImageDraw
from psd_tools import PSDImage
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject

_EXIF_IFD = 0x8769
_FIXED_DATE = time.strptime("2026-01-15 09:30:00", "%Y-%m-%d %H:%M:%S")


# --- content --------------------------------------------------------------------------------


def _artwork(width: int, height: int, seed: int, noise: int = 6) -> Image.Image:
    """An RGB 'design': smooth colour field, a few shapes, optional fine noise."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, size=(6, 9, 3), dtype=np.uint8)
    image = Image.fromarray(cells, "RGB").resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(24):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        side = int(rng.integers(max(2, width // 40), max(3, width // 6)))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x, y, x + side, y + side], fill=colour)
    return _add_noise(image, rng, noise) if noise else image


def _add_noise(image: Image.Image, rng: np.random.Generator, amplitude: int) -> Image.Image:
    # A 256 px noise tile repeated over the image: cheap, and no encoder can exploit the repeat.
    bands = len(image.getbands())
    tile = rng.integers(0, 2 * amplitude + 1, size=(256, 256, bands), dtype=np.uint8)
    width, height = image.size
    reps = (math.ceil(height / 256), math.ceil(width / 256), 1)
    noise = np.tile(tile, reps)[:height, :width]
    layer = Image.fromarray(noise if bands > 1 else noise[:, :, 0], image.mode)
    return ImageChops.add(image, layer, scale=1.0, offset=-amplitude)


def _camera_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PixelForge Optics"
    exif[0x0110] = "PF-24 Mark II"
    exif[0x0112] = orientation
    exif[0x0131] = "PixelForge corpus 1.0"
    exif.get_ifd(_EXIF_IFD)[0x9003] = "2026:03:14 09:26:53"
    return exif


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


# --- valid files ----------------------------------------------------------------------------


def png_with_alpha(width: int = 2400, height: int = 1600, seed: int = 0) -> bytes:
    """RGBA PNG whose alpha fades to fully transparent corners (144 dpi)."""
    rgb = _artwork(width, height, seed, noise=4)
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    alpha = np.clip(255 * (1.4 - np.hypot(xs, ys)), 0, 255).astype(np.uint8)
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha, "L"))
    return _encode(rgba, "PNG", dpi=(144, 144), compress_level=6)


def jpeg_large(width: int = 6000, height: int = 4000, seed: int = 0, orientation: int = 6) -> bytes:
    """Camera-like JPEG with EXIF (orientation 6 by default) and a red marker in the stored
    top-left corner, so a test can tell whether the rotation was applied."""
    image = _artwork(width, height, seed, noise=14)
    marker = max(8, min(width, height) // 8)
    ImageDraw.Draw(image).rectangle([0, 0, marker, marker], fill=(255, 0, 0))
    return _encode(
        image, "JPEG", quality=85, exif=_camera_exif(orientation).tobytes(), dpi=(300, 300)
    )


def jpeg_cmyk(width: int = 3000, height: int = 2000, seed: int = 0) -> bytes:
    """A print export: CMYK JPEG, no ICC profile."""
    image = _artwork(width, height, seed, noise=4).convert("CMYK")
    return _encode(image, "JPEG", quality=90, dpi=(300, 300))


def tiff_16bit(width: int = 2400, height: int = 1600, seed: int = 0) -> bytes:
    """16-bit greyscale scan (I;16) with values across the 16-bit range, deflate-compressed."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(9_000, 56_000, width, dtype=np.float32)[None, :]
    bands = 4_000 * np.sin(np.linspace(0, 6 * math.pi, height, dtype=np.float32))[:, None]
    tile = rng.integers(-300, 301, size=(256, 256)).astype(np.float32)
    noise = np.tile(tile, (math.ceil(height / 256), math.ceil(width / 256)))[:height, :width]
    values = np.clip(ramp + bands + noise, 0, 65_535).astype(np.uint16)
    image = Image.fromarray(values)  # mode I;16
    return _encode(image, "TIFF", compression="tiff_adobe_deflate", dpi=(600, 600))


def webp(width: int = 2000, height: int = 1500, seed: int = 0) -> bytes:
    """A still lossy WebP with EXIF."""
    image = _artwork(width, height, seed, noise=4)
    return _encode(image, "WEBP", quality=85, exif=_camera_exif(1).tobytes())


def webp_animated(width: int = 320, height: int = 240, frames: int = 4, seed: int = 0) -> bytes:
    images = [_artwork(width, height, seed + i, noise=0) for i in range(frames)]
    return _encode(
        images[0], "WEBP", save_all=True, append_images=images[1:], duration=120, quality=80
    )


def gif_animated(width: int = 400, height: int = 300, frames: int = 5, seed: int = 0) -> bytes:
    """A palette GIF animation: a square moving across a fixed background."""
    background = _artwork(width, height, seed, noise=0)
    images = []
    for i in range(frames):
        frame = background.copy()
        x = i * (width - height // 3) // max(1, frames - 1)
        ImageDraw.Draw(frame).rectangle([x, height // 3, x + height // 3, 2 * height // 3], "white")
        images.append(frame.quantize(64))
    return _encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def bmp_simple(width: int = 800, height: int = 600, seed: int = 0) -> bytes:
    return _encode(_artwork(width, height, seed, noise=0), "BMP")


def psd_layered(width: int = 1200, height: int = 900, seed: int = 0) -> bytes:
    """A 5-entry Layers panel: background, two pixel layers (one with a user mask), and a group
    holding a fourth layer. Pillow's PSD reader skips masked layers; psd-tools does not."""
    psd = PSDImage.new("RGB", (width, height), color=(255, 255, 255))
    psd.create_pixel_layer(_artwork(width, height, seed, noise=3), name="Background")
    half = (width // 2, height // 2)
    headline = _artwork(*half, seed + 1, noise=0).convert("RGBA")
    psd.create_pixel_layer(headline, name="Headline", top=height // 8, left=width // 8)
    masked = psd.create_pixel_layer(
        _artwork(*half, seed + 2, noise=0), name="Masked photo", top=height // 2, left=width // 2
    )
    mask = Image.new("L", half, 0)
    ImageDraw.Draw(mask).ellipse([0, 0, half[0] - 1, half[1] - 1], fill=255)
    masked.create_mask(mask)
    group = psd.create_group(name="Badges")
    group.create_pixel_layer(
        Image.new("RGBA", (width // 5, height // 5), (250, 200, 20, 230)),
        name="Sale badge",
        top=height // 20,
        left=width - width // 4,
    )
    buffer = io.BytesIO()
    psd.save(buffer)  # regenerates the merged composite that Pillow and the renderer read
    return buffer.getvalue()


def svg_simple(seed: int = 0, width: int = 1200, height: int = 800) -> bytes:
    """A self-contained SVG: gradient, shapes, an internal <use> reference, text."""
    rng = np.random.default_rng(seed)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        '<defs><linearGradient id="sky" x1="0" y1="0" x2="1" y2="1">'
        '<stop offset="0" stop-color="#1e3c72"/><stop offset="1" stop-color="#f0a35e"/>'
        '</linearGradient><circle id="dot" r="18" fill="#ffffff" fill-opacity="0.8"/></defs>',
        f'<rect width="{width}" height="{height}" fill="url(#sky)"/>',
    ]
    for _ in range(60):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(10, width / 10)
        colour = "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rng.integers(0, 256, 3)))
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{colour}" '
            f'fill-opacity="{rng.uniform(0.2, 0.9):.2f}"/>'
        )
    for _ in range(8):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        parts.append(f'<use xlink:href="#dot" x="{x:.1f}" y="{y:.1f}"/>')
    parts.append(
        f'<text x="{width // 12}" y="{height // 2}" font-family="sans-serif" '
        f'font-size="{height // 8}" fill="#ffffff">Café Lumière</text></svg>'
    )
    return "\n".join(parts).encode("utf-8")


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


def pdf_multipage(pages: int = 3, seed: int = 0, width: int = 1240, height: int = 1754) -> bytes:
    """A raster PDF (A4 at 150 dpi per page), fixed dates so the bytes are reproducible."""
    images = []
    for page in range(pages):
        image = _artwork(width, height, seed + page, noise=0)
        draw = ImageDraw.Draw(image)
        draw.rectangle([60, 60, width - 60, 200], fill="white")
        draw.text((90, 100), f"Brand guidelines, page {page + 1}", fill="black", font_size=60)
        images.append(image)
    return _encode(
        images[0],
        "PDF",
        save_all=True,
        append_images=images[1:],
        resolution=150.0,
        title="PixelForge corpus",
        creationDate=_FIXED_DATE,
        modDate=_FIXED_DATE,
    )


def pdf_encrypted(seed: int = 0) -> bytes:
    """A small PDF that needs a user password (RC4-128: no crypto package needed)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_multipage(1, seed, 300, 400))))
    # pypdf draws the file identifier (an input of the RC4 key) at random; a fixed one keeps
    # the bytes reproducible. There is no public setter, hence the private attribute.
    file_id = ByteStringObject(hashlib.md5(f"pixelforge-{seed}".encode()).digest())
    writer._ID = ArrayObject((file_id, file_id))  # noqa: SLF001
    writer.encrypt(user_password="open sesame", owner_password="owner", algorithm="RC4-128")
    writer._ID = ArrayObject((file_id, file_id))  # noqa: SLF001
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def png_bomb(side: int = 20_000) -> bytes:
    """A real, valid, all-black 1-bit PNG of side x side pixels that compresses to a few KiB."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000))
    idat += compressor.compress(row * (side % 1000)) + compressor.flush()
    header = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])  # 1-bit grey
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + (_png_chunk(b"IEND", b""))
    )


def _png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(chunk_type + data).to_bytes(4, "big")
    return len(data).to_bytes(4, "big") + chunk_type + data + crc


# --- broken files ---------------------------------------------------------------------------


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


# --- hostile files --------------------------------------------------------------------------
# Byte-level builders for what no well-behaved encoder writes: huge declared sizes, odd colour
# modes, files that point outside themselves. The 200 MB-class files are streamed to a writer.

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MIB = 1 << 20
_ZIP_DATE = (2026, 1, 15, 9, 30, 0)


def _png(width: int, height: int, depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG from row bytes that already carry their filter byte."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, 6))
        + _png_chunk(b"IEND", b"")
    )


def write_png_noise(out: BinaryIO, width: int, height: int, seed: int = 0) -> int:
    """Stream an RGB noise PNG whose deflate blocks are stored, not compressed (about
    3 x width x height bytes), a block of rows at a time; returns the bytes written."""
    row_bytes = 1 + 3 * width
    rows_per_block = max(1, 4 * _MIB // row_bytes)
    # One noise block repeated down the image: stored blocks cost the same for any content.
    block = np.random.default_rng(seed).integers(0, 256, (rows_per_block, row_bytes), np.uint8)
    block[:, 0] = 0  # filter type None
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    written = out.write(_PNG_SIGNATURE + _png_chunk(b"IHDR", header))
    compressor = zlib.compressobj(0)
    for start in range(0, height, rows_per_block):
        rows = block[: min(rows_per_block, height - start)].tobytes()
        written += out.write(_png_chunk(b"IDAT", compressor.compress(rows)))
    written += out.write(_png_chunk(b"IDAT", compressor.flush()) + _png_chunk(b"IEND", b""))
    return written


# kind -> (colour type, bit depth, top-half pixel, bottom-half pixel, chunks before IDAT)
_FLAT_PNGS: dict[str, tuple[int, int, bytes, bytes, bytes]] = {
    "grey16": (0, 16, struct.pack(">H", 40_000), struct.pack(">H", 40_000), b""),
    "rgba": (6, 8, bytes([200, 40, 40, 255]), bytes([40, 40, 200, 128]), b""),
    "la": (4, 8, bytes([200, 255]), bytes([60, 128]), b""),
    "palette_transparent": (
        3,
        8,
        b"\x00",  # transparent
        b"\x01",  # opaque red
        _png_chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0])) + _png_chunk(b"tRNS", b"\x00\xff"),
    ),
}
FLAT_PNG_KINDS: tuple[str, ...] = tuple(_FLAT_PNGS)


def write_png_flat(out: BinaryIO, width: int, height: int, kind: str = "grey16") -> int:
    """Stream a PNG of two flat halves (kind: one of FLAT_PNG_KINDS): a few hundred KB that
    decode to hundreds of MB, as large-format flat-colour designs do."""
    colour_type, depth, top, bottom, chunks = _FLAT_PNGS[kind]
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    written = out.write(_PNG_SIGNATURE + _png_chunk(b"IHDR", header) + chunks)
    # Raw deflate, each block of rows compressed once after a full flush (so it refers to
    # nothing before it) and its bytes repeated: hundreds of MB of rows in a fraction of a second.
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    checksum = zlib.adler32(b"")
    written += out.write(_png_chunk(b"IDAT", b"\x78\x9c"))  # the zlib header
    for pixel, rows in ((top, height // 2), (bottom, height - height // 2)):
        row = b"\x00" + pixel * width
        step = max(1, 4 * _MIB // len(row))
        blocks, rest = divmod(rows, step)
        for block, count in ((row * step, blocks), (row * rest, 1 if rest else 0)):
            data = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
            for _ in range(count):
                checksum = zlib.adler32(block, checksum)
                written += out.write(_png_chunk(b"IDAT", data))
    tail = compressor.flush() + struct.pack(">I", checksum)
    return written + out.write(_png_chunk(b"IDAT", tail) + _png_chunk(b"IEND", b""))


def psd_deep_flat(side: int = 12_000, depth: int = 16) -> bytes:
    """A square 16-bit RGB PSD of one colour, RLE-compressed: about 14 MB at 12000 px (144 MP,
    under the pixel limit) that decode to 864 MB of samples."""
    row_bytes = side * depth // 8
    row = b"".join(bytes([257 - n, 0x80]) for n in _runs(row_bytes, 128))  # PackBits repeats
    header = struct.pack(">4sH6xHIIHH", b"8BPS", 1, 3, side, side, depth, 3)
    counts = struct.pack(">H", len(row)) * (3 * side)
    return header + bytes(12) + b"\x00\x01" + counts + row * (3 * side)


def _runs(total: int, longest: int) -> list[int]:
    return [longest] * (total // longest) + ([total % longest] if total % longest else [])


def write_tiff_rgb(
    out: BinaryIO,
    width: int,
    height: int,
    bits: int = 8,
    seed: int = 0,
    fill: tuple[int, int, int] | None = None,
) -> int:
    """Stream an uncompressed RGB TIFF (8 or 16 bits per sample) in ~1 MiB strips, the IFD
    after the pixels as most writers do; noise unless `fill` gives one colour."""
    sample = np.dtype("<u2" if bits == 16 else "u1")
    row_bytes = 3 * sample.itemsize * width
    rows_per_strip = max(1, _MIB // row_bytes)
    if fill is None:
        strip = np.random.default_rng(seed).integers(0, 256, rows_per_strip * row_bytes, np.uint8)
    else:
        strip = np.tile(np.array(fill, sample), rows_per_strip * width).view(np.uint8)
    strips = math.ceil(height / rows_per_strip)
    data_end = 8 + row_bytes * height
    ifd = data_end + (data_end & 1)  # word-aligned
    written = out.write(b"II*\x00" + struct.pack("<I", ifd))
    offsets, counts = [], []
    for index in range(strips):
        rows = min(rows_per_strip, height - index * rows_per_strip)
        offsets.append(written)
        counts.append(rows * row_bytes)
        written += out.write(strip[: rows * row_bytes].tobytes())
    written += out.write(b"\x00" * (ifd - written))
    entries = 10
    arrays = ifd + 2 + 12 * entries + 4
    tags = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 3, arrays),
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 2),  # RGB
        (273, 4, strips, offsets[0] if strips == 1 else arrays + 6),
        (277, 3, 1, 3),
        (278, 4, 1, rows_per_strip),
        (279, 4, strips, counts[0] if strips == 1 else arrays + 6 + 4 * strips),
        (284, 3, 1, 1),  # chunky
    ]
    directory = struct.pack("<H", entries)
    for tag, kind, count, value in tags:
        # A lone SHORT sits left-justified in the 4-byte value field.
        field = (
            struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
        )
        directory += struct.pack("<HHI", tag, kind, count) + field
    directory += struct.pack("<I", 0) + struct.pack("<3H", bits, bits, bits)
    if strips > 1:
        directory += struct.pack(f"<{strips}I", *offsets) + struct.pack(f"<{strips}I", *counts)
    return written + out.write(directory)


def tiff_rgb16(width: int = 600, height: int = 400) -> bytes:
    """48-bit RGB TIFF, pure red at full 16-bit scale."""
    buffer = io.BytesIO()
    write_tiff_rgb(buffer, width, height, bits=16, fill=(65_535, 0, 0))
    return buffer.getvalue()


def tiff_cmyk(width: int = 600, height: int = 400, seed: int = 0) -> bytes:
    """A print master: 8-bit CMYK TIFF, deflate, no ICC profile."""
    image = _artwork(width, height, seed, noise=2).convert("CMYK")
    return _encode(image, "TIFF", compression="tiff_adobe_deflate", dpi=(300, 300))


def png_rgb16(width: int = 600, height: int = 400) -> bytes:
    """48-bit RGB PNG: a red ramp across the full 16-bit range, green and blue zero."""
    ramp = np.linspace(0, 65_535, width).astype(">u2")
    pixels = np.zeros((height, width, 3), ">u2")
    pixels[:, :, 0] = ramp
    rows = np.concatenate(
        [np.zeros((height, 1), np.uint8), pixels.view(np.uint8).reshape(height, -1)], axis=1
    )
    return _png(width, height, 16, 2, rows.tobytes())


def png_palette_transparent(width: int = 400, height: int = 300, seed: int = 0) -> bytes:
    """A 16-colour palette PNG whose index 0 is fully transparent (tRNS chunk), top half."""
    image = _artwork(width, height, seed, noise=0).quantize(16)
    image.paste(0, (0, 0, width, height // 2))
    return _encode(image, "PNG", transparency=0)


def png_animated(width: int = 320, height: int = 240, frames: int = 4, seed: int = 0) -> bytes:
    """An APNG: a PNG whose first frame is the default image, then more frames."""
    images = [_artwork(width, height, seed + i, noise=0) for i in range(frames)]
    return _encode(images[0], "PNG", save_all=True, append_images=images[1:], duration=100)


def gif_many_frames(frames: int = 5000, side: int = 16) -> bytes:
    """A GIF with thousands of tiny frames, each differing by one pixel (none are merged)."""
    # black, red, green, blue, yellow, cyan, magenta, white
    palette = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0, 0, 255, 255, 255, 0, 255]
    palette += [255, 255, 255]
    images = []
    for index in range(frames):
        image = Image.new("P", (side, side), index % 7)
        image.putpalette(palette)
        image.putpixel((index % side, (index // side) % side), (index + 1) % 8)
        images.append(image)
    return _encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=20)


def tiff_page_flood(pages: int = 100_000, loop: bool = False) -> bytes:
    """A TIFF of `pages` 1 x 1 pages (about 100 bytes each) sharing one strip; with loop, the
    last directory points back at the first."""
    entries = [(256, 1), (257, 1), (258, 8), (259, 1), (262, 1), (273, 8), (278, 1), (279, 1)]
    directory_bytes = 2 + 12 * len(entries) + 4
    first = 10
    out = bytearray(b"II*\x00" + struct.pack("<I", first) + b"\x80\x00")  # header, one pixel
    for page in range(pages):
        following = len(out) + directory_bytes if page < pages - 1 else (first if loop else 0)
        out += struct.pack("<H", len(entries))
        for tag, value in entries:
            if tag in (273, 279):  # offsets and byte counts are LONGs
                out += struct.pack("<HHII", tag, 4, 1, value)
            else:
                out += struct.pack("<HHIHH", tag, 3, 1, value, 0)
        out += struct.pack("<I", following)
    return bytes(out)


def gif_frame_flood(frames: int = 50_000) -> bytes:
    """A GIF of `frames` 1 x 1 frames (about 20 bytes each): tens of thousands of frames fit in
    a few hundred KB."""
    single = _encode(Image.new("P", (1, 1)), "GIF")
    start = single.index(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00")  # the image descriptor
    return single[:start] + single[start:-1] * frames + b";"


def jpeg_huge_exif(seed: int = 0) -> bytes:
    """A JPEG whose EXIF segment is full (64 KiB): thousands of IFD0 entries, a 4000-character
    Model, a Make that claims 2 GiB of text, orientation 9999 and an Exif IFD pointing back at
    IFD0 (a loop)."""
    model = b"M" * 4000 + b"\x00"
    entries = (65_533 - 6 - 8 - 2 - 4 - len(model)) // 12
    model_at = 8 + 2 + 12 * entries + 4
    ifd = [
        struct.pack("<HHII", 0x0110, 2, len(model), model_at),
        struct.pack("<HHII", 0x010F, 2, 0x7FFF_FFFF, 8),
        struct.pack("<HHIHH", 0x0112, 3, 1, 9999, 0),
        struct.pack("<HHII", _EXIF_IFD, 4, 1, 8),
    ]
    ifd += [struct.pack("<HHIHH", 0xC000 + i, 3, 1, i, 0) for i in range(entries - len(ifd))]
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", entries) + b"".join(ifd)
    exif = b"Exif\x00\x00" + tiff + struct.pack("<I", 0) + model
    return _encode(_artwork(640, 480, seed, noise=4), "JPEG", quality=85, exif=exif)


def huge_declared_size(fmt: str) -> bytes:
    """A small file whose header declares at least 30000 x 30000 pixels, for fmt one of
    HUGE_DECLARED_FORMATS; decoding it would need gigabytes."""
    if fmt == "png":
        header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
        idat = zlib.compress(b"\x00" * 300_001)  # the first row only
        return (
            _PNG_SIGNATURE
            + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b"")
        )
    if fmt == "jpeg":
        data = bytearray(_encode(Image.new("RGB", (16, 16), "white"), "JPEG"))
        sof = data.index(b"\xff\xc0")
        data[sof + 5 : sof + 9] = struct.pack(">HH", 65_000, 65_000)
        return bytes(data)
    if fmt == "gif":
        data = bytearray(_encode(Image.new("P", (16, 16)), "GIF"))
        data[6:10] = struct.pack("<HH", 65_535, 65_535)  # logical screen size
        return bytes(data)
    if fmt == "tiff":
        data = bytearray(_encode(Image.new("L", (16, 16)), "TIFF"))
        (ifd,) = struct.unpack_from("<I", data, 4)
        (count,) = struct.unpack_from("<H", data, ifd)
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            tag, kind = struct.unpack_from("<HH", data, entry)
            if tag in (256, 257):
                struct.pack_into("<H" if kind == 3 else "<I", data, entry + 8, 65_000)
        return bytes(data)
    if fmt == "bmp":
        # RLE8 has no fixed size: two bytes (end of bitmap) stand for 900 million pixels.
        pixels, palette = b"\x00\x01", bytes(4 * 256)
        offset = 14 + 40 + len(palette)
        dib = struct.pack("<IiiHHIIiiII", 40, 30_000, 30_000, 1, 8, 1, 2, 2835, 2835, 256, 0)
        return b"BM" + struct.pack("<IHHI", offset + 2, 0, 0, offset) + dib + palette + pixels
    if fmt == "webp":
        bits = (16_383) | (16_383 << 14)  # lossless, 16384 x 16384, the format's maximum
        payload = b"\x2f" + struct.pack("<I", bits) + bytes(11)
        chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
        return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
    if fmt == "psd":
        header = struct.pack(">4sH6xHIIHH", b"8BPS", 1, 3, 30_000, 30_000, 8, 3)
        return header + bytes(12) + b"\x00\x00"  # empty sections, raw image data (absent)
    raise ValueError(f"no huge-size builder for {fmt!r}")


HUGE_DECLARED_FORMATS: tuple[str, ...] = ("png", "jpeg", "gif", "tiff", "bmp", "webp", "psd")


# Photoshop colour mode numbers, and how each odd mode is filled (see psd_odd_mode).
PSD_ODD_MODES: tuple[str, ...] = (
    "bitmap",
    "grayscale16",
    "indexed",
    "cmyk",
    "cmyk16",
    "lab",
    "lab16",
    "rgb16",
    "multichannel",
    "duotone",
)


def psd_odd_mode(mode: str, width: int = 64, height: int = 48) -> bytes:
    """A PSD in a colour mode other than 8-bit RGB, raw image data, no layers. The colour is
    known: bitmap is black left / white right, grayscale16 is 40000/65535, indexed, cmyk*, lab*
    and rgb16 are pure red or cyan (see the test expectations), duotone and multichannel grey."""
    pixels = width * height
    colour_data = b""

    def planes(depth: int, *values: int) -> list[bytes]:
        code = ">H" if depth == 16 else ">B"
        return [struct.pack(code, value) * pixels for value in values]

    if mode == "bitmap":
        row = np.zeros(width, np.uint8)
        row[: width // 2] = 1  # 1 is black in Photoshop's bitmap mode
        packed = np.packbits(row).tobytes()
        code, depth, channels = 0, 1, [packed * height]
    elif mode == "grayscale16":
        code, depth, channels = 1, 16, planes(16, 40_000)
    elif mode == "indexed":
        colour_data = bytes([0, 255] + [0] * 254) + bytes(256) + bytes(256)  # index 1 is red
        code, depth, channels = 2, 8, planes(8, 1)
    elif mode in ("cmyk", "cmyk16"):
        depth = 16 if mode == "cmyk16" else 8
        full = 65_535 if depth == 16 else 255
        # Photoshop stores CMYK inverted (0 = full ink): full cyan, no magenta, yellow or black.
        code, channels = 4, planes(depth, 0, full, full, full)
    elif mode in ("lab", "lab16"):
        depth = 16 if mode == "lab16" else 8
        scale = 257 if depth == 16 else 1
        # sRGB red is L* 53, a* 80, b* 67; stored as L * 255/100 and a, b + 128.
        code, channels = 9, planes(depth, 135 * scale, 208 * scale, 195 * scale)
    elif mode == "rgb16":
        code, depth, channels = 3, 16, planes(16, 65_535, 0, 0)
    elif mode == "multichannel":
        code, depth, channels = 7, 8, planes(8, 100, 100, 100)
    elif mode == "duotone":
        # The duotone specification is opaque to readers; the pixels are one grey channel.
        colour_data = b"\x00\x01" + bytes(100)
        code, depth, channels = 8, 8, planes(8, 100)
    else:
        raise ValueError(f"no PSD builder for mode {mode!r}")
    header = struct.pack(">4sH6xHIIHH", b"8BPS", 1, len(channels), height, width, depth, code)
    sections = struct.pack(">I", len(colour_data)) + colour_data + bytes(8)
    return header + sections + b"\x00\x00" + b"".join(channels)


def _pdf(objects: dict[int, bytes], broken_xref: bool = False) -> bytes:
    """A PDF from numbered object bodies (object 1 is the catalog) and its xref table; with
    broken_xref every entry points at byte 0, so readers must rebuild the table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = 0 if broken_xref else len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets.get(number, 0)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def _pdf_stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def pdf_many_pages(pages: int = 3000) -> bytes:
    """A valid PDF of `pages` A4 pages sharing one small content stream (fast to build)."""
    kids = b" ".join(b"%d 0 R" % (4 + index) for index in range(pages))
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] >>" % (kids, pages),
        3: _pdf_stream(b"0.1 0.3 0.8 rg 50 50 495 742 re f"),
    }
    for index in range(pages):
        objects[4 + index] = b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R >>"
    return _pdf(objects)


PDF_MALFORMED_KINDS: tuple[str, ...] = ("page_tree_cycle", "count_lie", "broken_xref", "no_pages")


def pdf_malformed(kind: str) -> bytes:
    """A PDF with a broken structure; kind is one of PDF_MALFORMED_KINDS."""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 3 0 R >>"
    content = _pdf_stream(b"1 0 0 rg 0 0 300 200 re f")
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    if kind == "page_tree_cycle":  # a Pages node whose kid is its own parent
        return _pdf(
            {
                1: catalog,
                2: b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
                3: content,
                4: b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
            }
        )
    if kind == "count_lie":  # one page, /Count claims two billion
        return _pdf(
            {
                1: catalog,
                2: b"<< /Type /Pages /Kids [4 0 R] /Count 2000000000 >>",
                3: content,
                4: page,
            }
        )
    if kind == "broken_xref":
        objects = {1: catalog, 2: b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", 3: content}
        return _pdf({**objects, 4: page}, broken_xref=True)
    if kind == "no_pages":
        return _pdf({1: catalog, 2: b"<< /Type /Pages /Kids [] /Count 0 >>"})
    raise ValueError(f"no malformed PDF of kind {kind!r}")


def pdf_external_references(url: str, path: str = "/etc/passwd") -> bytes:
    """A PDF that points outside itself every way a viewer might follow: an open action, a link,
    JavaScript and a remote go-to to `url`, a Launch of `path`, a content stream whose data
    lives in `path` and images whose data live in `path` and at `url` (/F file specs)."""
    values = {b"@URL@": url.encode(), b"@PATH@": path.encode()}

    def fill(text: bytes) -> bytes:
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    image = b"/Type /XObject /Subtype /Image /Width 10 /Height 10 /ColorSpace /DeviceRGB "
    image += b"/BitsPerComponent 8 "
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R /Names << /JavaScript << "
        b"/Names [(x) << /S /JavaScript /JS (app.launchURL('@URL@');) >>] >> >> >>",
        2: b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        3: _pdf_stream(b"0 0.6 0 rg 0 0 300 200 re f q 100 0 0 100 0 0 cm /A Do /B Do Q"),
        4: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents [3 0 R 7 0 R] "
        b"/Resources << /XObject << /A 8 0 R /B 9 0 R >> >> /Annots [6 0 R] "
        b"/AA << /O << /S /Launch /F (@PATH@) >> >> >>",
        5: b"<< /S /URI /URI (@URL@) /Next << /S /GoToR /F (@URL@) /D [0 /Fit] >> >>",
        6: b"<< /Type /Annot /Subtype /Link /Rect [0 0 300 200] /A << /S /URI /URI (@URL@) >> >>",
        7: _pdf_stream(b"", b"/F (@PATH@) "),
        8: _pdf_stream(b"", image + b"/F (@PATH@) "),
        9: _pdf_stream(b"", image + b"/F << /FS /URL /F (@URL@) >> "),
    }
    return _pdf({number: fill(body) for number, body in objects.items()})


SVG_FETCH_KINDS: tuple[str, ...] = (
    "image_xlink_href",
    "image_href",
    "use_href",
    "fe_image",
    "css_url_attribute",
    "css_url_style_element",
    "css_import",
    "font_face",
    "xml_stylesheet",
    "xinclude",
    "external_entity",
    "external_dtd",
    "parameter_entity",
)


def svg_fetching(kind: str, url: str) -> bytes:
    """An SVG that asks its renderer to read `url` (http://, file:// or a plain path)."""
    open_tag = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:xi="http://www.w3.org/2001/XInclude" width="100" height="100">'
    )
    rect = '<rect width="100" height="100" fill="#36c"/>'
    bodies = {
        "image_xlink_href": f'<image xlink:href="{url}" width="100" height="100"/>',
        "image_href": f'<image href="{url}" width="100" height="100"/>',
        "use_href": f'<use href="{url}#shape"/>',
        "fe_image": f'<filter id="f"><feImage href="{url}"/></filter>'
        f'<rect width="100" height="100" filter="url(#f)"/>',
        "css_url_attribute": f'<rect width="100" height="100" fill="url({url}#paint)"/>',
        "css_url_style_element": f"<style>rect {{ fill: url('{url}#paint') }}</style>{rect}",
        "css_import": f"<style>@import url('{url}');</style>{rect}",
        "font_face": f"<style>@font-face {{ font-family: x; src: url('{url}') }}</style>"
        '<text x="10" y="50" font-family="x">hi</text>',
        "xinclude": f'<xi:include href="{url}" parse="text"/>{rect}',
    }
    if kind in bodies:
        return f"{open_tag}{rect}{bodies[kind]}</svg>".encode()
    prolog = {
        "xml_stylesheet": f'<?xml-stylesheet type="text/css" href="{url}"?>\n',
        "external_entity": f'<!DOCTYPE svg [<!ENTITY ext SYSTEM "{url}">]>\n',
        "external_dtd": f'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "{url}">\n',
        "parameter_entity": f'<!DOCTYPE svg [<!ENTITY % ext SYSTEM "{url}"> %ext;]>\n',
    }
    if kind not in prolog:
        raise ValueError(f"no fetching SVG of kind {kind!r}")
    text = "&ext;" if kind == "external_entity" else ""
    body = f"{rect}<text x='10' y='50'>{text}</text>"
    return f'<?xml version="1.0"?>\n{prolog[kind]}{open_tag}{body}</svg>'.encode()


def svg_billion_laughs(levels: int = 10, encoding: str = "utf-8") -> bytes:
    """The classic entity expansion: 10 levels of 10 references, 10^levels 'lol's."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)
    ]
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE svg [\n'
        + "\n".join(entities)
        + f'\n]>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        f"<text>&lol{levels - 1};</text></svg>"
    )
    return text.encode(encoding)


def svg_embedding(image: bytes, mime: str = "image/png", copies: int = 1) -> bytes:
    """An SVG drawing `copies` <image> elements, each an inline data: URI of `image`: a small
    SVG can carry a raster bomb past any pixel check made on the SVG's own size."""
    uri = f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"
    images = "".join(
        f'<image x="{i}" width="100" height="100" href="{uri}"/>' for i in range(copies)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        f'<rect width="100" height="100" fill="#36c"/>{images}</svg>'
    ).encode()


def svg_deep(depth: int = 300, use_chain: bool = False) -> bytes:
    """An SVG nesting `depth` groups, or chaining `depth` <use>s each drawing the previous one:
    renderers recurse once per level."""
    if use_chain:
        uses = "".join(f'<use id="u{i}" href="#u{i - 1}"/>' for i in range(1, depth))
        body = f'<defs><rect id="u0" width="50" height="50"/>{uses}</defs>'
        body += f'<use href="#u{depth - 1}" fill="#36c"/>'
    else:
        body = "<g>" * depth + '<rect width="50" height="50" fill="#36c"/>' + "</g>" * depth
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">{body}</svg>'.encode()


def png_pdf_polyglot(seed: int = 0) -> bytes:
    """A valid PNG with a complete PDF appended after IEND: both readers accept it."""
    return png_with_alpha(320, 240, seed) + pdf_multipage(1, seed, 300, 400)


def zip_archive(seed: int = 0) -> bytes:
    """A ZIP (as .sketch, .fig, .afdesign or a renamed .psd would be), holding a PNG."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("document.json", _ZIP_DATE), b'{"layers": []}')
        archive.writestr(zipfile.ZipInfo("preview.png", _ZIP_DATE), png_with_alpha(64, 48, seed))
    return buffer.getvalue()


# --- the demo set ---------------------------------------------------------------------------


def demo_corpus(seed: int = 0) -> dict[str, bytes]:
    """relative_path -> bytes: 18 files, about 30 MB, valid, broken and hostile ones mixed."""
    return {
        "team-a/2026/03/hero-banner.png": png_with_alpha(seed=seed),
        "team-a/2026/03/campaign photo 6000x4000.jpg": jpeg_large(seed=seed + 1),
        "team-a/2026/04/print-poster-cmyk.jpg": jpeg_cmyk(seed=seed + 2),
        "team-a/2026/04/archive-scan-16bit.tif": tiff_16bit(seed=seed + 3),
        "team-b/2026/02/product-shot.webp": webp(seed=seed + 4),
        "team-b/2026/02/loading-spinner.gif": gif_animated(seed=seed + 5),
        "team-b/2026/03/landing-page-mockup.psd": psd_layered(seed=seed + 6),
        "team-b/2026/03/logo-café-lumière.svg": svg_simple(seed=seed + 7),
        "team-c/2026/01/brand-guidelines.pdf": pdf_multipage(seed=seed + 8),
        "team-c/2026/01/contract-locked.pdf": pdf_encrypted(seed=seed + 9),
        "team-c/2026/02/legacy-icon-sheet.bmp": bmp_simple(seed=seed + 10),
        "uploads/2026/05/empty-export.png": zero_byte(),
        "uploads/2026/05/broken-upload.png": png_truncated(seed=seed + 11),
        "uploads/2026/05/interrupted-camera.jpg": jpeg_truncated(seed=seed + 12),
        "uploads/2026/05/not-really-an-image.png": random_bytes_named_png(seed=seed + 13),
        "uploads/2026/05/mislabelled-photo.png": jpeg_named_png(seed=seed + 14),
        "uploads/2026/05/entity-bomb.svg": svg_hostile("entity_expansion"),
        "uploads/2026/05/huge-canvas.png": png_bomb(),
    }
