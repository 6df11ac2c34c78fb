"""Hostile inputs through metadata extraction: each gives metadata or a failure with a clear
reason, quickly and in bounded memory, and nothing but the file itself is ever read."""

from __future__ import annotations

import hashlib
import io
import time
import tracemalloc

import pytest
from PIL import Image, ImageFile

from pixelforge_core.records import DesignMetadata, MetadataFailure
from snowpark_procs.metadata import extract_metadata
from tests.hostile import corpus
from tests.hostile.helpers import (
    HOSTILE_CASES,
    MIB,
    OK,
    HostileCase,
    hostile_bytes,
    measure_in_subprocess,
)

BOMB_SECONDS = 2.0


def extract(data: bytes, name: str = "hostile") -> DesignMetadata | MetadataFailure:
    return extract_metadata(io.BytesIO(data), name)


def described(name: str) -> DesignMetadata:
    result = extract(hostile_bytes(name), name)
    assert isinstance(result, DesignMetadata), result
    return result


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=lambda case: case.name)
def test_hostile_file_is_described_or_refused_with_its_reason(case: HostileCase):
    data = hostile_bytes(case.name)

    result = extract(data, case.name)

    if case.extraction == OK:
        assert isinstance(result, DesignMetadata), result
        assert result.width_px and result.height_px
    else:
        assert isinstance(result, MetadataFailure), result
        assert (result.reason_code, case.name) == (case.extraction, case.name), result.message
        # a clear reason: it names the file and stays one short line
        assert result.message.startswith(f"{case.name}: ")
        assert "\n" not in result.message and len(result.message) < 400
    # refused files are hashed too: the quarantine shows which bytes were refused
    assert result.size_bytes == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("really-a-jpeg.png", "jpeg"),
        ("really-a-pdf.jpg", "pdf"),
        ("png-then-pdf-polyglot.png", "png"),  # the leading format wins; the tail is ignored
    ],
)
def test_hostile_wrong_extension_is_read_by_its_magic_bytes(name, fmt):
    assert described(name).format == fmt


@pytest.mark.parametrize("fmt", corpus.HUGE_DECLARED_FORMATS)
def test_hostile_bomb_is_refused_from_the_header_without_decoding(fmt, monkeypatch):
    def no_decode(self):
        raise AssertionError(f"{fmt}: pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    data = corpus.huge_declared_size(fmt)

    started = time.perf_counter()
    result = extract(data, f"bomb.{fmt}")
    seconds = time.perf_counter() - started

    print(f"extraction refused the {fmt} bomb ({len(data)} bytes) in {seconds * 1000:.1f} ms")
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "decompression_bomb", result.message
    assert "pixels" in result.message
    assert seconds < BOMB_SECONDS


@pytest.mark.parametrize("kind", ["png", "tiff"])
def test_hostile_200mb_file_is_described_under_1gib_peak_rss(kind, large_files):
    path = large_files[kind]
    assert path.stat().st_size > 195 * 1_000_000

    measured = measure_in_subprocess("extract", path)

    print(f"extraction of {path.name}: {measured}")
    assert measured["outcome"] == OK, measured
    assert (measured["width_px"], measured["height_px"]) == (8165, 8165)
    assert measured["peak_mib"] < 1024


def test_hostile_pdf_with_3000_pages_is_counted_not_rendered():
    data = corpus.pdf_many_pages(3000)
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result = extract(data, "3000-pages.pdf")
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    print(f"3000-page PDF: {seconds:.2f} s, peak Python heap {peak / MIB:.1f} MiB")
    assert isinstance(result, DesignMetadata), result
    assert result.page_count == 3000
    assert (result.width_px, result.height_px) == (595, 842)
    assert seconds < 10
    assert peak < 200 * MIB


def test_hostile_pdf_page_count_comes_from_the_tree_not_a_lying_count():
    assert described("count-lie.pdf").page_count == 1
    assert described("broken-xref.pdf").page_count == 1


def test_hostile_pdf_page_tree_cycle_is_named():
    result = extract(hostile_bytes("page-tree-cycle.pdf"), "cycle.pdf")

    assert isinstance(result, MetadataFailure)
    assert "cycl" in result.message.lower()


PSD_FACTS = {
    "bitmap": ("1", 1),
    "grayscale16": ("L", 16),
    "indexed": ("P", 8),
    "cmyk": ("CMYK", 8),
    "cmyk16": ("CMYK", 16),
    "lab": ("LAB", 8),
    "lab16": ("LAB", 16),
    "rgb16": ("RGB", 16),
    "multichannel": ("multichannel", 8),
    "duotone": ("duotone", 8),
}


@pytest.mark.parametrize("mode", corpus.PSD_ODD_MODES)
def test_hostile_psd_in_an_odd_mode_reports_mode_and_depth(mode):
    result = described(f"mode-{mode}.psd")

    assert (result.format, result.width_px, result.height_px) == ("psd", 64, 48)
    assert (result.mode, result.bit_depth) == PSD_FACTS[mode]


@pytest.mark.parametrize(
    ("name", "mode", "bit_depth", "frames"),
    [
        ("print-cmyk.jpg", "CMYK", 8, 1),
        ("print-cmyk.tif", "CMYK", 8, 1),
        ("scan-rgb16.tif", "RGB", 16, 1),
        ("scan-grey16.tif", "I;16", 16, 1),
        ("ramp-rgb16.png", "RGB", 16, 1),
        ("palette-transparent.png", "P", 4, 1),
        ("animated.gif", "P", 8, 5),
        ("animated.webp", "RGB", 8, 4),
        ("animated.png", "RGB", 8, 4),
    ],
)
def test_hostile_colour_modes_depths_and_frames(name, mode, bit_depth, frames):
    result = described(name)

    assert (result.mode, result.bit_depth, result.frame_count) == (mode, bit_depth, frames)


def test_hostile_gif_with_5000_frames_is_counted_quickly():
    data = hostile_bytes("5000-frames.gif")

    started = time.perf_counter()
    result = extract(data, "5000-frames.gif")
    seconds = time.perf_counter() - started

    print(f"5000-frame GIF counted in {seconds * 1000:.0f} ms")
    assert isinstance(result, DesignMetadata)
    assert result.frame_count == 5000
    assert seconds < 5


@pytest.mark.parametrize(
    ("name", "unit"), [("100000-pages.tif", "pages"), ("50000-frames.gif", "frames")]
)
def test_hostile_page_and_frame_floods_are_refused_quickly(name, unit):
    data = hostile_bytes(name)

    started = time.perf_counter()
    result = extract(data, name)
    seconds = time.perf_counter() - started

    print(f"{name} ({len(data)} bytes) refused in {seconds:.2f} s")
    assert isinstance(result, MetadataFailure), result
    assert result.reason_code == "hostile_content", result.message
    assert f"more than 10000 {unit}" in result.message
    assert seconds < BOMB_SECONDS


def test_hostile_tiff_directory_loop_ends_the_page_count():
    assert described("page-loop.tif").frame_count == 3


def test_hostile_full_exif_segment_gives_bounded_values():
    result = described("full-exif-segment.jpg")

    # 4000 characters are cut to 256; a Make claiming 2 GiB is skipped, not read
    assert result.exif["Model"] == "M" * 256
    assert "Make" not in result.exif
    assert result.exif["Orientation"] == "9999"  # reported as stored; the renderer ignores it
    assert all(len(value) <= 256 for value in result.exif.values())


# --- nothing outside the file is read or fetched ------------------------------------------------


def _targets(listener, sentinel) -> dict[str, str]:
    return {
        "http": listener.url("/x.svg"),
        "file_url": sentinel.path.as_uri(),
        "absolute_path": str(sentinel.path),
    }


@pytest.mark.parametrize("target", ["http", "file_url", "absolute_path"])
@pytest.mark.parametrize("kind", corpus.SVG_FETCH_KINDS)
def test_hostile_svg_reference_is_refused_and_never_followed(kind, target, listener, sentinel):
    data = corpus.svg_fetching(kind, _targets(listener, sentinel)[target])

    result = extract(data, f"{kind}.svg")

    if kind == "external_dtd":
        # A DOCTYPE that only names an external DTD: the parser never loads it, so the file
        # is described like any SVG (and the checks below prove nothing was read).
        assert isinstance(result, DesignMetadata), result
    else:
        assert isinstance(result, MetadataFailure), result
        assert result.reason_code == "hostile_content", result.message
    assert listener.requests == []
    assert sentinel.watch.opened() == []


def test_hostile_pdf_actions_and_external_streams_are_not_followed(listener, sentinel):
    data = corpus.pdf_external_references(listener.url("/doc"), str(sentinel.path))

    result = extract(data, "links-out.pdf")

    assert isinstance(result, DesignMetadata), result
    assert result.page_count == 1
    assert listener.requests == []
    assert sentinel.watch.opened() == []


@pytest.mark.parametrize(
    ("image", "copies", "reason"),
    [  # the images are made when the test runs, not when the suite is collected
        (lambda: corpus.png_bomb(3_000), 1, None),  # 9 MP: within the budget
        (lambda: corpus.png_bomb(3_000), 8, "decompression_bomb"),  # 72 MP in all
        (lambda: corpus.huge_declared_size("png"), 1, "decompression_bomb"),  # over Pillow's limit
        (lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 1, "hostile_content"),  # size unreadable
    ],
    ids=["one-9mp", "eight-9mp", "header-100000px", "garbage-png"],
)
def test_hostile_svg_inline_rasters_are_sized_from_their_headers(image, copies, reason):
    result = extract(corpus.svg_embedding(image(), copies=copies), "inline.svg")

    if reason is None:
        assert isinstance(result, DesignMetadata), result
        assert (result.format, result.width_px) == ("svg", 100)
    else:
        assert isinstance(result, MetadataFailure), result
        assert result.reason_code == reason, result.message
        assert "embeds" in result.message


def _multipage_tiff(**options) -> bytes:
    pages = [Image.new("RGB", (32, 24), (i * 30, 0, 0)) for i in range(7)]
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:], **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "make",
    [
        lambda: hostile_bytes("animated.gif"),
        lambda: hostile_bytes("5000-frames.gif"),
        lambda: hostile_bytes("scan-grey16.tif"),
        lambda: hostile_bytes("print-cmyk.tif"),
        lambda: hostile_bytes("scan-rgb16.tif"),
        _multipage_tiff,
        lambda: _multipage_tiff(big_tiff=True),
        lambda: _multipage_tiff(compression="tiff_lzw"),
    ],
    ids=["gif-5", "gif-5000", "grey16", "cmyk", "rgb16", "7-pages", "bigtiff-7", "lzw-7"],
)
def test_hostile_frame_walkers_count_ordinary_files_as_pillow_does(make):
    data = make()
    with Image.open(io.BytesIO(data)) as image:
        expected = image.n_frames

    assert described_bytes(data).frame_count == expected


def described_bytes(data: bytes) -> DesignMetadata:
    result = extract(data, "ordinary")
    assert isinstance(result, DesignMetadata), result
    return result
