from __future__ import annotations

import hashlib
import io
import zlib

import pytest
from PIL import Image

from pixelforge_core.records import DesignMetadata
from snowpark_procs.metadata import extract_metadata
from tests.fixtures.design_files import design_file, small, stream

CAMERA_EXIF = {
    "Make": "PixelForge Optics",
    "Model": "PF-24 Mark II",
    "Software": "PixelForge corpus 1.0",
    "DateTimeOriginal": "2026:03:14 09:26:53",
}


def extract(data: bytes, name: str = "file") -> DesignMetadata:
    result = extract_metadata(stream(data), name)
    assert isinstance(result, DesignMetadata), result
    return result


def test_png_with_alpha():
    data = small("png_with_alpha")
    meta = extract(data)
    assert (meta.format, meta.width_px, meta.height_px) == ("png", 600, 400)
    assert (meta.mode, meta.bit_depth, meta.frame_count) == ("RGBA", 8, 1)
    assert meta.dpi_x == pytest.approx(144, abs=0.01)
    assert meta.dpi_y == pytest.approx(144, abs=0.01)
    assert meta.exif == {}
    assert meta.sha256 == hashlib.sha256(data).hexdigest()
    assert meta.size_bytes == len(data)


def test_full_size_camera_jpeg_with_exif_subset():
    data = design_file("jpeg_large")
    meta = extract(data)
    # Stored size: orientation is reported in EXIF, not applied to the header facts.
    assert (meta.format, meta.width_px, meta.height_px) == ("jpeg", 6000, 4000)
    assert (meta.mode, meta.bit_depth, meta.dpi_x, meta.dpi_y) == ("RGB", 8, 300.0, 300.0)
    assert meta.exif == {**CAMERA_EXIF, "Orientation": "6"}
    assert meta.sha256 == hashlib.sha256(data).hexdigest()


def test_cmyk_jpeg():
    meta = extract(small("jpeg_cmyk"))
    assert (meta.format, meta.mode, meta.width_px, meta.height_px) == ("jpeg", "CMYK", 600, 400)


def test_16bit_tiff():
    meta = extract(small("tiff_16bit"))
    assert (meta.format, meta.mode, meta.bit_depth) == ("tiff", "I;16", 16)
    assert (meta.width_px, meta.height_px, meta.dpi_x) == (600, 400, 600.0)


def test_16bit_rgb_png_reports_its_stored_depth():
    buffer = io.BytesIO()
    # Pillow writes 16-bit only for greyscale; the IHDR depth is what extraction reports.
    Image.new("I;16", (30, 20), 40000).save(buffer, "PNG")
    meta = extract(buffer.getvalue())
    assert (meta.bit_depth, meta.width_px, meta.height_px) == (16, 30, 20)


def test_still_webp_from_chunk_headers():
    meta = extract(small("webp"))
    assert (meta.format, meta.width_px, meta.height_px) == ("webp", 600, 450)
    assert (meta.mode, meta.frame_count) == ("RGB", 1)
    assert meta.exif == {**CAMERA_EXIF, "Orientation": "1"}


def test_animated_webp_counts_frames():
    meta = extract(small("webp_animated"))
    assert (meta.width_px, meta.height_px, meta.frame_count) == (320, 240, 4)


def test_lossless_webp_with_alpha():
    buffer = io.BytesIO()
    Image.new("RGBA", (33, 17), (1, 2, 3, 4)).save(buffer, "WEBP", lossless=True)
    meta = extract(buffer.getvalue())
    assert (meta.width_px, meta.height_px, meta.mode) == (33, 17, "RGBA")


def test_animated_gif_counts_frames():
    meta = extract(small("gif_animated"))
    assert (meta.format, meta.mode, meta.width_px, meta.height_px) == ("gif", "P", 400, 300)
    assert meta.frame_count == 5


def test_bmp():
    meta = extract(small("bmp_simple"))
    assert (meta.format, meta.mode, meta.width_px, meta.height_px) == ("bmp", "RGB", 300, 200)


def test_mislabelled_jpeg_is_read_as_jpeg():
    meta = extract(design_file("jpeg_named_png"), "uploads/photo.png")
    assert (meta.format, meta.width_px, meta.height_px) == ("jpeg", 1600, 1200)


def _png_with_exif_after_idat(orientation: int) -> bytes:
    """Pillow puts eXIf before IDAT; some writers put it after, where only a chunk walk sees it."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buffer, "PNG")
    data = buffer.getvalue()
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Late Writer"
    payload = exif.tobytes()
    chunk = (
        len(payload).to_bytes(4, "big")
        + b"eXIf"
        + payload
        + zlib.crc32(b"eXIf" + payload).to_bytes(4, "big")
    )
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + chunk + data[iend:]


def test_png_exif_after_idat_is_found_without_decoding(monkeypatch):
    def refuse_load(self, *args, **kwargs):
        raise AssertionError("extraction decoded pixels")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", refuse_load)
    meta = extract(_png_with_exif_after_idat(8))
    assert meta.exif == {"Make": "Late Writer", "Orientation": "8"}


@pytest.mark.parametrize(
    "kind",
    [
        "png_with_alpha",
        "jpeg_large",
        "jpeg_cmyk",
        "tiff_16bit",
        "webp",
        "webp_animated",
        "gif_animated",
        "bmp_simple",
        "psd_layered",
    ],
)
def test_extraction_never_decodes_pixels(monkeypatch, kind):
    def refuse_load(self, *args, **kwargs):
        raise AssertionError("extraction decoded pixels")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", refuse_load)
    assert isinstance(extract_metadata(stream(small(kind)), kind), DesignMetadata)
