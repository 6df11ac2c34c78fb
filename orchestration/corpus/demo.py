"""The demo's set of design files: valid, broken and hostile ones mixed."""

from __future__ import annotations

from orchestration.corpus.broken import (
    jpeg_named_png,
    jpeg_truncated,
    png_bomb,
    png_truncated,
    random_bytes_named_png,
    svg_hostile,
    zero_byte,
)
from orchestration.corpus.valid import (
    bmp_simple,
    gif_animated,
    jpeg_cmyk,
    jpeg_large,
    pdf_encrypted,
    pdf_multipage,
    png_with_alpha,
    psd_layered,
    svg_simple,
    tiff_16bit,
    webp,
)


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
