"""The approaches the per-file benchmark compares, each a `prepare_*()` that imports only what
it needs (the cell process measures its peak RSS) and returns a run(data, path) -> CPU seconds
of metadata and of both thumbnails:

  ours   snowpark_procs.metadata.extract_metadata + ecs_render.thumbnails.render_thumbnails
  naive  Pillow as a first draft writes it: lazy open + getexif() + sha256 for metadata, then
         for each size a full decode (load() before thumbnail(), so no JPEG draft), Pillow's
         default thumbnail() and WebP save (quality 80, method 4)
  pyvips our metadata + libvips thumbnails: thumbnail_buffer(1024) (shrink-on-load),
         copy_memory(), thumbnail_image(256), WebP at our quality and effort; PDF is drawn by
         pdfium and PSD decoded by Pillow (pyvips-binary has neither loader)
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from pixelforge_core.render_wire import THUMBNAIL_SIZES

NAIVE_VECTOR_PX = 2048  # the naive path draws PDF/SVG at this size, then thumbnails it


def kind_of(path: Path) -> str:
    """The corpus kind of a file, by its extension."""
    return {
        ".jpg": "jpeg",
        ".png": "png",
        ".webp": "webp",
        ".tif": "tiff",
        ".psd": "psd",
        ".pdf": "pdf",
        ".svg": "svg",
    }[path.suffix.lower()]


# --- ours -----------------------------------------------------------------------------------


def prepare_ours() -> Callable[[bytes, Path], dict[str, Any]]:
    from ecs_render.thumbnails import render_thumbnails
    from snowpark_procs.metadata import extract_metadata

    def run(data: bytes, path: Path) -> dict[str, Any]:
        source: BinaryIO = io.BytesIO(data) if data else path.open("rb")
        try:
            started = time.process_time()
            metadata = extract_metadata(source, path.name)
            middle = time.process_time()
            thumbnails = render_thumbnails(source, THUMBNAIL_SIZES)
            ended = time.process_time()
        finally:
            source.close()
        out: dict[str, Any] = {
            "meta_cpu_s": middle - started,
            "render_cpu_s": ended - middle,
            "metadata": type(metadata).__name__,
            "reason_code": getattr(metadata, "reason_code", None),
        }
        if isinstance(thumbnails, list):
            out["thumbnails"] = [[t.width_px, t.height_px, len(t.data)] for t in thumbnails]
        else:
            out["render_reason_code"] = thumbnails.reason_code
        return out

    return run


# --- naive ----------------------------------------------------------------------------------


def naive_8bit(im: Any) -> Any:
    """Mode normalisation every path needs (the naive one still scales 16-bit correctly)."""
    mode = im.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return im
    if mode.startswith("I;16") or mode == "I":
        return im.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    if mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    return im.convert("RGBA" if "A" in mode else "RGB")


def _naive_meta(data: bytes, kind: str) -> dict[str, Any]:
    from PIL import Image

    out: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest()}
    if kind == "svg":
        import xml.etree.ElementTree as ElementTree

        for _, element in ElementTree.iterparse(io.BytesIO(data), events=("start",)):
            out.update(width=element.get("width"), height=element.get("height"))
            break
        return out
    if kind == "pdf":
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(data)
        out["pages"] = len(document)
        document.close()
        return out
    im = Image.open(io.BytesIO(data))
    exif = im.getexif()  # on PNG this decodes the whole image (the trap the core avoids)
    out.update(size=im.size, mode=im.mode, dpi=im.info.get("dpi"), exif_tags=len(exif))
    out["frames"] = getattr(im, "n_frames", 1)
    return out


def _naive_draw_vector(data: bytes, kind: str) -> Any:
    if kind == "pdf":
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(data)
        page = document[0]
        width, height = page.get_size()
        image = page.render(scale=NAIVE_VECTOR_PX / max(width, height)).to_pil().convert("RGB")
        page.close()
        document.close()
        return image
    from ecs_render.libvips_decode import draw_svg

    return draw_svg(data, NAIVE_VECTOR_PX)


def prepare_naive() -> Callable[[bytes, Path], dict[str, Any]]:
    from PIL import Image

    transposes = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_270}
    transposes[8] = Image.Transpose.ROTATE_90

    def run(data: bytes, path: Path) -> dict[str, Any]:
        data = data or path.read_bytes()
        kind = kind_of(path)
        started = time.process_time()
        _naive_meta(data, kind)
        middle = time.process_time()
        sizes = []
        for size in THUMBNAIL_SIZES:
            if kind in ("pdf", "svg"):
                im = _naive_draw_vector(data, kind)
                orientation = 1
            else:
                im = Image.open(io.BytesIO(data))
                orientation = im.getexif().get(0x0112, 1)
                im.load()  # the first-draft habit that disables JPEG draft()
                im = naive_8bit(im)
            im.thumbnail((size, size))
            if orientation in transposes:
                im = im.transpose(transposes[orientation])
            buffer = io.BytesIO()
            im.save(buffer, "WEBP")  # Pillow's defaults: quality 80, method 4
            sizes.append([im.width, im.height, buffer.tell()])
        ended = time.process_time()
        return {"meta_cpu_s": middle - started, "render_cpu_s": ended - middle, "thumbnails": sizes}

    return run


# --- pyvips ---------------------------------------------------------------------------------


def vips_thumbnails(data: bytes, path: Path) -> list[Any]:
    """The 1024 and 256 px pyvips images (the caller encodes them); one decode, cascaded."""
    import pyvips
    from PIL import Image

    kind, largest = kind_of(path), THUMBNAIL_SIZES[0]

    def from_pil(im: Any) -> Any:
        im = naive_8bit(im)
        bands = len(im.getbands())
        return pyvips.Image.new_from_memory(im.tobytes(), im.width, im.height, bands, "uchar")

    if kind == "pdf":  # no pdfload in pyvips-binary: pdfium draws page 1
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(data or path.read_bytes())
        page = document[0]
        width, height = page.get_size()
        drawn = page.render(scale=largest / max(width, height)).to_pil()
        page.close()
        document.close()
        source = from_pil(drawn).thumbnail_image(largest, height=largest, size="down")
    elif kind == "psd":  # no PSD loader in pyvips-binary: Pillow decodes the composite
        composite = Image.open(io.BytesIO(data or path.read_bytes()))
        source = from_pil(composite).thumbnail_image(largest, height=largest, size="down")
    elif not data:
        source = pyvips.Image.thumbnail(str(path), largest, height=largest, size="down")
    else:  # shrink-on-load for JPEG, WebP and SVG
        source = pyvips.Image.thumbnail_buffer(data, largest, height=largest, size="down")
    big = source.copy_memory()
    small = big.thumbnail_image(THUMBNAIL_SIZES[1], height=THUMBNAIL_SIZES[1], size="down")
    # Keep `source` alive with the results: copy_memory() of a CMYK thumbnail whose parent is
    # freed crashes libvips 8.18.7 on ICC access (thumbnail-performance.md, section 7.8).
    return [big, small, source]


def prepare_pyvips() -> Callable[[bytes, Path], dict[str, Any]]:
    import pyvips  # the caller checked that it imports

    from ecs_render.thumbnails import DEFAULT_RENDER_LIMITS
    from snowpark_procs.metadata import extract_metadata

    pyvips.cache_set_max(0)  # no operation cache between repeats
    quality, effort = DEFAULT_RENDER_LIMITS.webp_quality, DEFAULT_RENDER_LIMITS.webp_method

    def run(data: bytes, path: Path) -> dict[str, Any]:
        started = time.process_time()
        source: BinaryIO = io.BytesIO(data) if data else path.open("rb")
        with source:
            extract_metadata(source, path.name)
        middle = time.process_time()
        big, small, _ = vips_thumbnails(data, path)
        sizes = [
            [im.width, im.height, len(im.webpsave_buffer(Q=quality, effort=effort, keep="none"))]
            for im in (big, small)
        ]
        ended = time.process_time()
        return {"meta_cpu_s": middle - started, "render_cpu_s": ended - middle, "thumbnails": sizes}

    return run
