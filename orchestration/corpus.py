"""Deterministic design files for the demo and the tests: same seed, same bytes, no downloads.

Each generator returns the bytes of one file. Content is procedural (a low-frequency colour
field, shapes and a little tiled noise so that sizes look like real exports).
"""

from __future__ import annotations

import hashlib
import io
import math
import time
import zlib

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
