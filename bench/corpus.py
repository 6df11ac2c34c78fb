"""The benchmark corpus "design-mix": generated on first use, cached on disk, never committed.

Modelled on ../shared/reference/perf-harness/gen_corpus.py (the anchor's corpus): camera-like
JPEGs (progressive, CMYK, EXIF orientation 6), RGBA and palette PNGs, RGB and RGBA WebP,
8-bit LZW, 16-bit RGB, 16-bit grey and CMYK TIFFs, a layered PSD, a multi-page PDF and an SVG;
plus a "limits" set: 50 MP files, a 200 MB uncompressed TIFF and a decompression bomb.
Photo content is procedural (colour fields at two scales, shapes, band-limited texture and
sensor noise), tuned so that a 24 MP q85 JPEG lands near the 5 MB average of the workload.
`scale` shrinks every side (0.5 = a quarter of the pixels) for the reduced run.
"""

from __future__ import annotations

import io
import json
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageDraw

from orchestration import corpus as demo

GENERATOR_VERSION = 3  # bump when the content changes, so cached corpora are rebuilt
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@dataclass(frozen=True)
class CorpusFile:
    name: str
    kind: str  # jpeg, png, webp, tiff, psd, pdf, svg
    note: str
    build: Callable[[], bytes]


# --- content --------------------------------------------------------------------------------


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


def _tiled(width: int, height: int, seed: int, noise: int, bands: int = 3) -> np.ndarray:
    """Cheap large content: one 1000 px photo tile repeated, plus fresh noise everywhere."""
    tile = np.asarray(photo(1000, 1000, 0.0, seed)).reshape(1000, 1000, 3)[..., :bands]
    reps = (-(-height // 1000), -(-width // 1000), 1)
    pixels = np.tile(tile, reps)[:height, :width].astype(np.int16)
    rng = np.random.default_rng(seed)
    pixels += rng.integers(-noise, noise + 1, pixels.shape, dtype=np.int16)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Canon", "EOS 5D Mark IV", orientation
    exif[0x0131], exif[0x0132] = "Adobe Photoshop 25.0 (Macintosh)", "2024:05:01 12:00:00"
    return exif.tobytes()


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
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
    return _save(Image.fromarray(_tiled(8165, 8165, 200, 3), "RGB"), "TIFF", dpi=(300, 300))


# --- the sets -------------------------------------------------------------------------------


def mix_files(scale: float) -> list[CorpusFile]:
    """The design mix at `scale` (1.0 = the anchor corpus's sizes)."""

    def px(width: int, height: int) -> tuple[int, int]:
        return max(64, round(width * scale)), max(64, round(height * scale))

    def jpeg(size: tuple[int, int], quality: int, seed: int, **options: object) -> bytes:
        image = photo(*size, 3.0, seed)
        return _save(
            image, "JPEG", quality=quality, dpi=(300, 300), icc_profile=SRGB_ICC, **options
        )

    files = [
        CorpusFile("photo_0.jpg", "jpeg", "24 MP q85", lambda: jpeg(px(6000, 4000), 85, 10)),
        CorpusFile("photo_1.jpg", "jpeg", "24 MP q90", lambda: jpeg(px(6000, 4000), 90, 11)),
        CorpusFile(
            "photo_2_progressive.jpg",
            "jpeg",
            "24 MP progressive",
            lambda: jpeg(px(6000, 4000), 85, 12, progressive=True),
        ),
        CorpusFile("photo_3.jpg", "jpeg", "12 MP q95", lambda: jpeg(px(4000, 3000), 95, 13)),
        CorpusFile(
            "photo_4_orientation6.jpg",
            "jpeg",
            "20 MP, EXIF orientation 6",
            lambda: jpeg(px(5472, 3648), 90, 14, exif=_exif(6)),
        ),
        CorpusFile(
            "print_cmyk.jpg",
            "jpeg",
            "CMYK, no ICC",
            lambda: _save(photo(*px(5000, 3500), 2.0, 30).convert("CMYK"), "JPEG", quality=90),
        ),
        CorpusFile(
            "design_rgba_0.png",
            "png",
            "RGBA",
            lambda: _save(design_rgba(*px(4000, 3000), 40), "PNG", dpi=(144, 144)),
        ),
        CorpusFile(
            "design_rgba_1.png",
            "png",
            "RGBA",
            lambda: _save(design_rgba(*px(3000, 3000), 41), "PNG", dpi=(144, 144)),
        ),
        CorpusFile(
            "ui_palette.png",
            "png",
            "palette",
            lambda: _save(design_rgba(*px(3000, 2000), 50).convert("RGB").quantize(256), "PNG"),
        ),
        CorpusFile(
            "photo.webp",
            "webp",
            "RGB lossy",
            lambda: _save(
                photo(*px(6000, 4000), 3.0, 60), "WEBP", quality=90, method=2, exif=_exif()
            ),
        ),
        CorpusFile(
            "design_rgba.webp",
            "webp",
            "RGBA lossy",
            lambda: _save(design_rgba(*px(4000, 3000), 61), "WEBP", quality=90, method=2),
        ),
        CorpusFile(
            "scan_rgb8_lzw.tif",
            "tiff",
            "RGB8 LZW",
            lambda: _save(
                photo(*px(4000, 3000), 3.0, 70),
                "TIFF",
                compression="tiff_lzw",
                dpi=(600, 600),
                icc_profile=SRGB_ICC,
            ),
        ),
        CorpusFile(
            "photo_rgb16.tif",
            "tiff",
            "48-bit RGB, deflate",
            lambda: tiff_rgb16(np.asarray(photo(*px(3000, 2000), 1.0, 72)).astype(np.uint16) * 257),
        ),
        CorpusFile(
            "scan_gray16.tif",
            "tiff",
            "16-bit grey, deflate",
            lambda: _save(
                Image.fromarray(
                    np.asarray(photo(*px(3000, 2000), 2.0, 73, bands=1)).astype(np.uint16) * 257
                ),
                "TIFF",
                compression="tiff_adobe_deflate",
            ),
        ),
        CorpusFile(
            "print_cmyk_deflate.tif",
            "tiff",
            "CMYK, deflate",
            lambda: _save(
                photo(*px(3000, 2000), 3.0, 71).convert("CMYK"),
                "TIFF",
                compression="tiff_adobe_deflate",
                dpi=(300, 300),
            ),
        ),
        CorpusFile(
            "layered.psd",
            "psd",
            "5 layers, 1 masked, group",
            lambda: demo.psd_layered(*px(3000, 2000)),
        ),
        CorpusFile(
            "brochure.pdf",
            "pdf",
            "8 pages A4 at 300 dpi",
            lambda: demo.pdf_multipage(8, 80, *px(2480, 3508)),
        ),
        CorpusFile(
            "poster.svg", "svg", "shapes, <use>, text", lambda: demo.svg_simple(90, 1920, 1080)
        ),
    ]
    return files


def limit_files(full: bool) -> list[CorpusFile]:
    """Files that test the memory and bomb limits (50 MP, 200 MB, 900 MP bomb)."""
    side = (8660, 5774)  # 50.0 MP
    files = [
        CorpusFile(
            "large_50mp.jpg",
            "jpeg",
            "50 MP q90",
            lambda: _save(Image.fromarray(_tiled(*side, 300, 4)), "JPEG", quality=90),
        ),
        CorpusFile(
            "large_50mp_rgba.png",
            "png",
            "50 MP RGBA",
            lambda: _save(
                Image.fromarray(_tiled(*side, 301, 2)).convert("RGBA"), "PNG", compress_level=1
            ),
        ),
        CorpusFile("bomb_30000x30000.png", "png", "900 MP bomb", lambda: demo.png_bomb(30000)),
    ]
    if full:
        files += [
            CorpusFile(
                "large_50mp.webp",
                "webp",
                "50 MP lossy",
                lambda: _save(Image.fromarray(_tiled(*side, 302, 4)), "WEBP", quality=85, method=2),
            ),
            CorpusFile(
                "large_50mp_lzw.tif",
                "tiff",
                "50 MP RGB LZW",
                lambda: _save(
                    Image.fromarray(_tiled(*side, 303, 4)), "TIFF", compression="tiff_lzw"
                ),
            ),
            CorpusFile(
                "print_master_200mb.tif", "tiff", "200 MB uncompressed", uncompressed_tiff_200mb
            ),
        ]
    return files


def materialize(
    files: list[CorpusFile], directory: Path, tag: str
) -> list[tuple[CorpusFile, Path]]:
    """Write the files once per (generator version, tag); later runs reuse them."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    stamp = f"{GENERATOR_VERSION}:{tag}"
    out = []
    for item in files:
        path = directory / item.name
        if manifest.get(item.name) != stamp or not path.exists():
            started = time.perf_counter()
            path.write_bytes(item.build())
            manifest[item.name] = stamp
            manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
            print(
                f"  generated {item.name:28s} {path.stat().st_size / 1e6:7.1f} MB"
                f"  {time.perf_counter() - started:5.1f} s",
                flush=True,
            )
        out.append((item, path))
    return out
