"""What every generated design file is made of: a procedural artwork (a low-frequency colour
field, shapes and a little tiled noise, so that sizes look like real exports), camera EXIF, an
encoder call, and a PNG chunk writer for the files built byte by byte."""

from __future__ import annotations

import io
import math
import time
import zlib

import numpy as np
from PIL import Image, ImageChops, ImageDraw

EXIF_IFD = 0x8769
FIXED_DATE = time.strptime("2026-01-15 09:30:00", "%Y-%m-%d %H:%M:%S")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIB = 1 << 20


def artwork(width: int, height: int, seed: int, noise: int = 6) -> Image.Image:
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
    return add_noise(image, rng, noise) if noise else image


def add_noise(image: Image.Image, rng: np.random.Generator, amplitude: int) -> Image.Image:
    # A 256 px noise tile repeated over the image: cheap, and no encoder can exploit the repeat.
    bands = len(image.getbands())
    tile = rng.integers(0, 2 * amplitude + 1, size=(256, 256, bands), dtype=np.uint8)
    width, height = image.size
    reps = (math.ceil(height / 256), math.ceil(width / 256), 1)
    noise = np.tile(tile, reps)[:height, :width]
    layer = Image.fromarray(noise if bands > 1 else noise[:, :, 0], image.mode)
    return ImageChops.add(image, layer, scale=1.0, offset=-amplitude)


def camera_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PixelForge Optics"
    exif[0x0110] = "PF-24 Mark II"
    exif[0x0112] = orientation
    exif[0x0131] = "PixelForge corpus 1.0"
    exif.get_ifd(EXIF_IFD)[0x9003] = "2026:03:14 09:26:53"
    return exif


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(chunk_type + data).to_bytes(4, "big")
    return len(data).to_bytes(4, "big") + chunk_type + data + crc
