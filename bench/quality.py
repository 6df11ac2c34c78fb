"""Thumbnail quality for the per-file benchmark: PSNR of our WebP thumbnails (and the naive and
pyvips ones) against a full-resolution LANCZOS resize of the fully decoded image, over RGB
composited on grey, and the WebP encoder's cost and quality at each (quality, method)."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from bench.approaches import kind_of, naive_8bit, vips_thumbnails
from pixelforge_core.render_wire import THUMBNAIL_SIZES

# --- quality --------------------------------------------------------------------------------


def psnr(reference: Any, candidate: Any, mode: str = "L") -> float:
    """PSNR in dB over luma ("L", BT.601) or "RGB", both images composited on mid-grey first
    (WebP may change the colour of fully transparent pixels). Luma is the codec convention:
    lossy WebP always stores chroma at half resolution, so RGB PSNR measures the corpus's
    synthetic colour noise more than the thumbnail path."""
    import numpy as np
    from PIL import Image

    def flat(im: Any) -> Any:
        im = im.convert("RGBA")
        grey = Image.new("RGBA", im.size, (128, 128, 128, 255))
        return np.asarray(Image.alpha_composite(grey, im).convert(mode), dtype=np.float64)

    error = float(np.mean((flat(reference) - flat(candidate)) ** 2))
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


def measure_quality(path: Path) -> dict[str, Any]:
    from PIL import Image, ImageOps

    from ecs_render.thumbnails import DEFAULT_RENDER_LIMITS, render_thumbnails

    kind = kind_of(path)
    if kind in ("pdf", "svg"):
        return {"skipped": "vector: no full-resolution raster to compare against"}
    data = path.read_bytes()
    thumbnails = render_thumbnails(io.BytesIO(data), THUMBNAIL_SIZES)
    if not isinstance(thumbnails, list):
        return {"error": thumbnails.reason_code}
    full = Image.open(io.BytesIO(data))
    full.load()
    full = naive_8bit(full) if kind == "psd" else ImageOps.exif_transpose(naive_8bit(full))
    full = full.convert("RGBA" if "A" in full.mode else "RGB")

    def reference(size: tuple[int, int]) -> Any:
        return full.resize(size, Image.Resampling.LANCZOS)

    out: dict[str, Any] = {}
    for thumbnail in thumbnails:
        ours = Image.open(io.BytesIO(thumbnail.data))
        exact = reference(ours.size)
        out[f"psnr_{thumbnail.size_px}_db"] = round(psnr(exact, ours), 2)
        out[f"psnr_{thumbnail.size_px}_rgb_db"] = round(psnr(exact, ours, "RGB"), 2)
        out[f"bytes_{thumbnail.size_px}"] = len(thumbnail.data)
    # the naive path's 1024 output: Pillow's default thumbnail() and WebP settings
    naive = full.copy()
    naive.thumbnail((THUMBNAIL_SIZES[0], THUMBNAIL_SIZES[0]))
    buffer = io.BytesIO()
    naive.save(buffer, "WEBP")
    out["naive_psnr_1024_db"] = round(psnr(reference(naive.size), Image.open(buffer)), 2)
    big = vips_thumbnails(data, path)[0]
    limits = DEFAULT_RENDER_LIMITS
    encoded = big.webpsave_buffer(Q=limits.webp_quality, effort=limits.webp_method, keep="none")
    vips = Image.open(io.BytesIO(encoded))
    out["pyvips_psnr_1024_db"] = round(psnr(reference(vips.size), vips), 2)
    return out


def measure_encoder(path: Path, settings: list[tuple[int, int]], repeat: int) -> dict[str, Any]:
    """Encode the exact 1024 px LANCZOS thumbnail with each (quality, method): ms, bytes, dB."""
    from PIL import Image, ImageOps

    full = Image.open(path)
    full.load()
    full = ImageOps.exif_transpose(naive_8bit(full))
    full = full.convert("RGBA" if "A" in full.mode else "RGB")
    full.thumbnail(
        (THUMBNAIL_SIZES[0], THUMBNAIL_SIZES[0]), Image.Resampling.LANCZOS, reducing_gap=None
    )
    rows = []
    for quality, method in settings:
        times = []
        for _ in range(repeat):
            buffer = io.BytesIO()
            started = time.process_time()
            full.save(buffer, "WEBP", quality=quality, method=method)
            times.append(time.process_time() - started)
        rows.append(
            {
                "quality": quality,
                "method": method,
                "cpu_ms": round(1000 * sorted(times)[len(times) // 2], 1),
                "bytes": buffer.tell(),
                "psnr_db": round(psnr(full, Image.open(buffer)), 2),
            }
        )
    return {"image": list(full.size), "mode": full.mode, "settings": rows}
