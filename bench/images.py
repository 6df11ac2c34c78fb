"""The benchmark corpus's image content (bench/corpus.py builds its files from it): procedural
camera-like photos and flat RGBA artwork, tiled large content, EXIF blocks, and the TIFF writers
Pillow lacks (48-bit RGB) or that take a minute (the 200 MB print master).

Photo content is colour fields at two scales, shapes, band-limited texture and sensor noise,
tuned so that a 24 MP q85 JPEG lands near the 5 MB average of the workload.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageCms, ImageDraw

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _field(height: int, width: int, bands: int, cells: int, seed: int) -> np.ndarray:
    """A smooth random colour field: a few control points, bicubic-upsampled."""
    rng = np.random.default_rng(seed)
    grid = rng.uniform(0, 255, (cells, max(2, round(cells * width / height)), bands))
    small = Image.fromarray(grid.astype(np.uint8).squeeze(), "L" if bands == 1 else "RGB")
    resized = small.resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.float32).reshape(height, width, bands)


def photo(width: int, height: int, noise: float, seed: int, bands: int = 3) -> Image.Image:
    """Camera-like content: two scales of colour, a gradient, shapes, texture, sensor noise."""
    rng = np.random.default_rng(seed)
    pixels = 0.6 * _field(height, width, bands, 8, seed) + 0.4 * _field(
        height, width, bands, 60, seed + 1
    )
    pixels += np.linspace(-40, 40, height, dtype=np.float32)[:, None, None]
    mode = "L" if bands == 1 else "RGB"
    base = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8).squeeze(), mode)
    draw = ImageDraw.Draw(base)
    for _ in range(60):
        x, y = int(rng.uniform(0, width)), int(rng.uniform(0, height))
        side = int(rng.uniform(width / 50, width / 6))
        colour = tuple(int(v) for v in rng.integers(0, 255, bands))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x, y, x + side, y + side], fill=colour if bands > 1 else colour[0])
    pixels = np.asarray(base, dtype=np.float32).reshape(height, width, bands)
    pixels += 0.5 * (_field(height, width, bands, max(2, height // 6), seed + 2) - 128)
    pixels += rng.standard_normal((height, width, bands), dtype=np.float32) * noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8).squeeze(), mode)


def design_rgba(width: int, height: int, seed: int) -> Image.Image:
    """Flat artwork with alpha: gradients, shapes, strokes, a photo inset and a soft vignette."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    xs = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    rgb = np.stack([255 * xs * np.ones_like(ys), 255 * ys * np.ones_like(xs), 255 * (1 - xs) * ys])
    image = Image.fromarray(np.moveaxis(rgb, 0, -1).astype(np.uint8), "RGB").convert("RGBA")
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y = int(rng.uniform(0, width)), int(rng.uniform(0, height))
        side = int(rng.uniform(10, width / 8))
        colour = tuple(int(v) for v in rng.integers(0, 255, 4))
        pick = rng.random()
        if pick < 0.4:
            draw.ellipse([x, y, x + side, y + side], fill=colour)
        elif pick < 0.8:
            draw.rectangle([x, y, x + side, y + side // 3], fill=colour)
        else:
            draw.line([x, y, x + side, y + side], fill=colour, width=8)
    image.paste(
        photo(width // 2, height // 2, 5.0, seed + 7).convert("RGBA"), (width // 4, height // 4)
    )
    pixels = np.asarray(image).copy()
    vignette = np.clip(255 * (1.2 - 1.6 * np.hypot(xs - 0.5, ys - 0.5)), 0, 255)
    pixels[..., 3] = np.minimum(pixels[..., 3], vignette.astype(np.uint8))
    return Image.fromarray(pixels, "RGBA")


def tiled(width: int, height: int, seed: int, noise: int, bands: int = 3) -> np.ndarray:
    """Cheap large content: one 1000 px photo tile repeated, plus fresh noise everywhere."""
    tile = np.asarray(photo(1000, 1000, 0.0, seed)).reshape(1000, 1000, 3)[..., :bands]
    reps = (-(-height // 1000), -(-width // 1000), 1)
    pixels = np.tile(tile, reps)[:height, :width].astype(np.int16)
    rng = np.random.default_rng(seed)
    pixels += rng.integers(-noise, noise + 1, pixels.shape, dtype=np.int16)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def exif_block(orientation: int = 1) -> bytes:
    """An EXIF block of a camera file edited in Photoshop, with `orientation`."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Canon", "EOS 5D Mark IV", orientation
    exif[0x0131], exif[0x0132] = "Adobe Photoshop 25.0 (Macintosh)", "2024:05:01 12:00:00"
    return exif.tobytes()


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    """The image encoded as `fmt` with Pillow's `options`."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def tiff_rgb16(pixels: np.ndarray, dpi: int = 300) -> bytes:
    """A deflate-compressed 48-bit RGB TIFF (Pillow can read but not write one)."""
    height, width, _ = pixels.shape
    rows_per_strip = 64
    data = pixels.astype(">u2")
    strips = [
        zlib.compress(data[top : top + rows_per_strip].tobytes(), 6)
        for top in range(0, height, rows_per_strip)
    ]
    offsets, position = [], 8
    for strip in strips:
        offsets.append(position)
        position += len(strip)
    extra_at = position  # BitsPerSample, offsets, counts and resolutions follow the strips
    bits_at = extra_at
    offsets_at = bits_at + 6
    counts_at = offsets_at + 4 * len(strips)
    resolution_at = counts_at + 4 * len(strips)
    ifd_at = resolution_at + 8
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 3, bits_at),
        (259, 3, 1, 8),  # deflate
        (262, 3, 1, 2),  # RGB
        (273, 4, len(strips), offsets_at),
        (277, 3, 1, 3),
        (278, 4, 1, rows_per_strip),
        (279, 4, len(strips), counts_at),
        (282, 5, 1, resolution_at),
        (283, 5, 1, resolution_at),
        (296, 3, 1, 2),  # inches
    ]
    out = io.BytesIO()
    out.write(b"MM\x00\x2a" + struct.pack(">I", ifd_at))
    for strip in strips:
        out.write(strip)
    out.write(struct.pack(">3H", 16, 16, 16))
    out.write(struct.pack(f">{len(strips)}I", *offsets))
    out.write(struct.pack(f">{len(strips)}I", *(len(s) for s in strips)))
    out.write(struct.pack(">2I", dpi, 1))
    out.write(struct.pack(">H", len(entries)))
    for tag, kind, count, value in entries:
        if kind == 3 and count == 1:
            out.write(struct.pack(">HHIHH", tag, kind, count, value, 0))
        else:
            out.write(struct.pack(">HHII", tag, kind, count, value))
    out.write(struct.pack(">I", 0))
    return out.getvalue()


def uncompressed_tiff_200mb() -> bytes:
    """The workload's largest file: an 8165 x 8165 RGB print master, no compression (200 MB)."""
    return save(Image.fromarray(tiled(8165, 8165, 200, 3), "RGB"), "TIFF", dpi=(300, 300))


# --- the sets -------------------------------------------------------------------------------
