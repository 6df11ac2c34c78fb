"""One (approach, file) measurement, run in a fresh process: `python -m bench.per_file_cells`.

A fresh process per cell makes peak RSS (ru_maxrss) belong to that approach and file alone.
The cell imports only what its approach needs, reads the object into memory as an S3 GET
would (or, above the render service's 32 MiB spool limit, reads it from disk as the spooled
object is), runs once to warm up (that run gives the peak RSS), then `repeat` timed runs.

Approaches:
  ours   snowpark_procs.metadata.extract_metadata + ecs_render.thumbnails.render_thumbnails
  naive  Pillow as a first draft writes it: lazy open + getexif() + sha256 for metadata, then
         for each size a full decode (load() before thumbnail(), so no JPEG draft), Pillow's
         default thumbnail() and WebP save (quality 80, method 4)
  pyvips our metadata + libvips thumbnails: thumbnail_buffer(1024) (shrink-on-load),
         copy_memory(), thumbnail_image(256), WebP at our quality and effort; PDF is drawn by
         pdfium and PSD decoded by Pillow (pyvips-binary has neither loader)
  quality PSNR of our WebP thumbnails (and the naive ones) against a full-resolution LANCZOS
         resize of the fully decoded image, over RGB composited on grey
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from bench.common import MIB, peak_rss_mib

SIZES = (1024, 256)
SPOOL_MEMORY_BYTES = 32 * MIB  # ecs_render.storage spools larger objects to disk
NAIVE_VECTOR_PX = 2048  # the naive path draws PDF/SVG at this size, then thumbnails it


def kind_of(path: Path) -> str:
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
            thumbnails = render_thumbnails(source, SIZES)
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


def _naive_8bit(im: Any) -> Any:
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
        for size in SIZES:
            if kind in ("pdf", "svg"):
                im = _naive_draw_vector(data, kind)
                orientation = 1
            else:
                im = Image.open(io.BytesIO(data))
                orientation = im.getexif().get(0x0112, 1)
                im.load()  # the first-draft habit that disables JPEG draft()
                im = _naive_8bit(im)
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


def _vips_thumbnails(data: bytes, path: Path) -> list[Any]:
    """The 1024 and 256 px pyvips images (the caller encodes them); one decode, cascaded."""
    import pyvips
    from PIL import Image

    kind, largest = kind_of(path), SIZES[0]

    def from_pil(im: Any) -> Any:
        im = _naive_8bit(im)
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
    small = big.thumbnail_image(SIZES[1], height=SIZES[1], size="down")
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
        big, small, _ = _vips_thumbnails(data, path)
        sizes = [
            [im.width, im.height, len(im.webpsave_buffer(Q=quality, effort=effort, keep="none"))]
            for im in (big, small)
        ]
        ended = time.process_time()
        return {"meta_cpu_s": middle - started, "render_cpu_s": ended - middle, "thumbnails": sizes}

    return run


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
    thumbnails = render_thumbnails(io.BytesIO(data), SIZES)
    if not isinstance(thumbnails, list):
        return {"error": thumbnails.reason_code}
    full = Image.open(io.BytesIO(data))
    full.load()
    full = _naive_8bit(full) if kind == "psd" else ImageOps.exif_transpose(_naive_8bit(full))
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
    naive.thumbnail((SIZES[0], SIZES[0]))
    buffer = io.BytesIO()
    naive.save(buffer, "WEBP")
    out["naive_psnr_1024_db"] = round(psnr(reference(naive.size), Image.open(buffer)), 2)
    big = _vips_thumbnails(data, path)[0]
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
    full = ImageOps.exif_transpose(_naive_8bit(full))
    full = full.convert("RGBA" if "A" in full.mode else "RGB")
    full.thumbnail((SIZES[0], SIZES[0]), Image.Resampling.LANCZOS, reducing_gap=None)
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


# --- the cell -------------------------------------------------------------------------------

PREPARE = {"ours": prepare_ours, "naive": prepare_naive, "pyvips": prepare_pyvips}


def run_timed(approach: str, path: Path, repeat: int) -> dict[str, Any]:
    result: dict[str, Any] = {"approach": approach, "file": path.name}
    if approach == "pyvips":
        os.environ.setdefault("VIPS_CONCURRENCY", "1")  # per-core comparison
    run = PREPARE[approach]()
    size = path.stat().st_size
    result["mb"] = size / 1e6
    result["base_rss_mib"] = round(peak_rss_mib(), 1)
    data = path.read_bytes() if size <= SPOOL_MEMORY_BYTES else b""
    walls = []
    samples = []
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        try:
            sample = run(data, path)
        except Exception as error:  # a baseline that cannot do a file is a result, not a crash
            return {**result, "error": f"{type(error).__name__}: {error}"[:300]}
        walls.append(time.perf_counter() - started)
        if attempt == 0:
            result["peak_rss_mib"] = round(peak_rss_mib(), 1)
            result["first"] = sample
            result["first_wall_s"] = walls[0]
        else:
            samples.append(sample)
    if samples:
        walls = walls[1:]  # the warm-up run only gave the peak RSS
    else:
        samples = [result["first"]]  # repeat 0: the first run is the only one
    result["meta_cpu_s"] = sorted(s["meta_cpu_s"] for s in samples)[len(samples) // 2]
    result["render_cpu_s"] = sorted(s["render_cpu_s"] for s in samples)[len(samples) // 2]
    result["wall_s"] = sorted(walls)[len(walls) // 2]
    return result


def main(argv: list[str]) -> None:
    command, *rest = argv
    if command == "timed":
        approach, path, repeat = rest
        print(json.dumps(run_timed(approach, Path(path), int(repeat))))
    elif command == "quality":
        print(json.dumps(measure_quality(Path(rest[0]))))
    elif command == "encoder":
        path, settings, repeat = rest
        pairs = [tuple(int(x) for x in item.split(":")) for item in settings.split(",")]
        print(json.dumps(measure_encoder(Path(path), pairs, int(repeat))))  # type: ignore[arg-type]
    else:
        raise SystemExit(f"unknown cell command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
