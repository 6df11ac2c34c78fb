"""The benchmark corpus "design-mix": generated on first use, cached on disk, never committed.

Modelled on ../shared/reference/perf-harness/gen_corpus.py (the anchor's corpus): camera-like
JPEGs (progressive, CMYK, EXIF orientation 6), RGBA and palette PNGs, RGB and RGBA WebP,
8-bit LZW, 16-bit RGB, 16-bit grey and CMYK TIFFs, a layered PSD, a multi-page PDF and an SVG;
plus a "limits" set: 50 MP files, a 200 MB uncompressed TIFF and a decompression bomb.
The content comes from bench/images.py.
`scale` shrinks every side (0.5 = a quarter of the pixels) for the reduced run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.images import (
    SRGB_ICC,
    design_rgba,
    exif_block,
    photo,
    save,
    tiff_rgb16,
    tiled,
    uncompressed_tiff_200mb,
)
from orchestration import corpus as demo

GENERATOR_VERSION = 3  # bump when the content changes, so cached corpora are rebuilt


@dataclass(frozen=True)
class CorpusFile:
    name: str
    kind: str  # jpeg, png, webp, tiff, psd, pdf, svg
    note: str
    build: Callable[[], bytes]


# --- the sets -------------------------------------------------------------------------------


def mix_files(scale: float) -> list[CorpusFile]:
    """The design mix at `scale` (1.0 = the anchor corpus's sizes)."""

    def px(width: int, height: int) -> tuple[int, int]:
        return max(64, round(width * scale)), max(64, round(height * scale))

    def jpeg(size: tuple[int, int], quality: int, seed: int, **options: object) -> bytes:
        image = photo(*size, 3.0, seed)
        return save(image, "JPEG", quality=quality, dpi=(300, 300), icc_profile=SRGB_ICC, **options)

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
            lambda: jpeg(px(5472, 3648), 90, 14, exif=exif_block(6)),
        ),
        CorpusFile(
            "print_cmyk.jpg",
            "jpeg",
            "CMYK, no ICC",
            lambda: save(photo(*px(5000, 3500), 2.0, 30).convert("CMYK"), "JPEG", quality=90),
        ),
        CorpusFile(
            "design_rgba_0.png",
            "png",
            "RGBA",
            lambda: save(design_rgba(*px(4000, 3000), 40), "PNG", dpi=(144, 144)),
        ),
        CorpusFile(
            "design_rgba_1.png",
            "png",
            "RGBA",
            lambda: save(design_rgba(*px(3000, 3000), 41), "PNG", dpi=(144, 144)),
        ),
        CorpusFile(
            "ui_palette.png",
            "png",
            "palette",
            lambda: save(design_rgba(*px(3000, 2000), 50).convert("RGB").quantize(256), "PNG"),
        ),
        CorpusFile(
            "photo.webp",
            "webp",
            "RGB lossy",
            lambda: save(
                photo(*px(6000, 4000), 3.0, 60), "WEBP", quality=90, method=2, exif=exif_block()
            ),
        ),
        CorpusFile(
            "design_rgba.webp",
            "webp",
            "RGBA lossy",
            lambda: save(design_rgba(*px(4000, 3000), 61), "WEBP", quality=90, method=2),
        ),
        CorpusFile(
            "scan_rgb8_lzw.tif",
            "tiff",
            "RGB8 LZW",
            lambda: save(
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
            lambda: save(
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
            lambda: save(
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
            lambda: save(Image.fromarray(tiled(*side, 300, 4)), "JPEG", quality=90),
        ),
        CorpusFile(
            "large_50mp_rgba.png",
            "png",
            "50 MP RGBA",
            lambda: save(
                Image.fromarray(tiled(*side, 301, 2)).convert("RGBA"), "PNG", compress_level=1
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
                lambda: save(Image.fromarray(tiled(*side, 302, 4)), "WEBP", quality=85, method=2),
            ),
            CorpusFile(
                "large_50mp_lzw.tif",
                "tiff",
                "50 MP RGB LZW",
                lambda: save(Image.fromarray(tiled(*side, 303, 4)), "TIFF", compression="tiff_lzw"),
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
