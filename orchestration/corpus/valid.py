"""Valid design files in every format the pipeline reads, at any size: same seed, same bytes."""

from __future__ import annotations

import hashlib
import io
import math

import numpy as np
from PIL import Image, ImageDraw
from psd_tools import PSDImage
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject

from orchestration.corpus.content import FIXED_DATE, artwork, camera_exif, encode


def png_with_alpha(width: int = 2400, height: int = 1600, seed: int = 0) -> bytes:
    """RGBA PNG whose alpha fades to fully transparent corners (144 dpi)."""
    rgb = artwork(width, height, seed, noise=4)
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    alpha = np.clip(255 * (1.4 - np.hypot(xs, ys)), 0, 255).astype(np.uint8)
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha, "L"))
    return encode(rgba, "PNG", dpi=(144, 144), compress_level=6)


def jpeg_large(width: int = 6000, height: int = 4000, seed: int = 0, orientation: int = 6) -> bytes:
    """Camera-like JPEG with EXIF (orientation 6 by default) and a red marker in the stored
    top-left corner, so a test can tell whether the rotation was applied."""
    image = artwork(width, height, seed, noise=14)
    marker = max(8, min(width, height) // 8)
    ImageDraw.Draw(image).rectangle([0, 0, marker, marker], fill=(255, 0, 0))
    return encode(
        image, "JPEG", quality=85, exif=camera_exif(orientation).tobytes(), dpi=(300, 300)
    )


def jpeg_cmyk(width: int = 3000, height: int = 2000, seed: int = 0) -> bytes:
    """A print export: CMYK JPEG, no ICC profile."""
    image = artwork(width, height, seed, noise=4).convert("CMYK")
    return encode(image, "JPEG", quality=90, dpi=(300, 300))


def tiff_16bit(width: int = 2400, height: int = 1600, seed: int = 0) -> bytes:
    """16-bit greyscale scan (I;16) with values across the 16-bit range, deflate-compressed."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(9_000, 56_000, width, dtype=np.float32)[None, :]
    bands = 4_000 * np.sin(np.linspace(0, 6 * math.pi, height, dtype=np.float32))[:, None]
    tile = rng.integers(-300, 301, size=(256, 256)).astype(np.float32)
    noise = np.tile(tile, (math.ceil(height / 256), math.ceil(width / 256)))[:height, :width]
    values = np.clip(ramp + bands + noise, 0, 65_535).astype(np.uint16)
    image = Image.fromarray(values)  # mode I;16
    return encode(image, "TIFF", compression="tiff_adobe_deflate", dpi=(600, 600))


def webp(width: int = 2000, height: int = 1500, seed: int = 0) -> bytes:
    """A still lossy WebP with EXIF."""
    image = artwork(width, height, seed, noise=4)
    return encode(image, "WEBP", quality=85, exif=camera_exif(1).tobytes())


def webp_animated(width: int = 320, height: int = 240, frames: int = 4, seed: int = 0) -> bytes:
    images = [artwork(width, height, seed + i, noise=0) for i in range(frames)]
    return encode(
        images[0], "WEBP", save_all=True, append_images=images[1:], duration=120, quality=80
    )


def gif_animated(width: int = 400, height: int = 300, frames: int = 5, seed: int = 0) -> bytes:
    """A palette GIF animation: a square moving across a fixed background."""
    background = artwork(width, height, seed, noise=0)
    images = []
    for i in range(frames):
        frame = background.copy()
        x = i * (width - height // 3) // max(1, frames - 1)
        ImageDraw.Draw(frame).rectangle([x, height // 3, x + height // 3, 2 * height // 3], "white")
        images.append(frame.quantize(64))
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def bmp_simple(width: int = 800, height: int = 600, seed: int = 0) -> bytes:
    return encode(artwork(width, height, seed, noise=0), "BMP")


def psd_layered(width: int = 1200, height: int = 900, seed: int = 0) -> bytes:
    """A 5-entry Layers panel: background, two pixel layers (one with a user mask), and a group
    holding a fourth layer. Pillow's PSD reader skips masked layers; psd-tools does not."""
    psd = PSDImage.new("RGB", (width, height), color=(255, 255, 255))
    psd.create_pixel_layer(artwork(width, height, seed, noise=3), name="Background")
    half = (width // 2, height // 2)
    headline = artwork(*half, seed + 1, noise=0).convert("RGBA")
    psd.create_pixel_layer(headline, name="Headline", top=height // 8, left=width // 8)
    masked = psd.create_pixel_layer(
        artwork(*half, seed + 2, noise=0), name="Masked photo", top=height // 2, left=width // 2
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


def pdf_multipage(pages: int = 3, seed: int = 0, width: int = 1240, height: int = 1754) -> bytes:
    """A raster PDF (A4 at 150 dpi per page), fixed dates so the bytes are reproducible."""
    images = []
    for page in range(pages):
        image = artwork(width, height, seed + page, noise=0)
        draw = ImageDraw.Draw(image)
        draw.rectangle([60, 60, width - 60, 200], fill="white")
        draw.text((90, 100), f"Brand guidelines, page {page + 1}", fill="black", font_size=60)
        images.append(image)
    return encode(
        images[0],
        "PDF",
        save_all=True,
        append_images=images[1:],
        resolution=150.0,
        title="PixelForge corpus",
        creationDate=FIXED_DATE,
        modDate=FIXED_DATE,
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
