"""Hostile inputs through the thumbnail renderer: each gives WebP thumbnails or a failure with a
clear reason, quickly and in bounded memory, and nothing but the file itself is ever read."""

from __future__ import annotations

import codecs
import io
import time

import numpy as np
import pypdfium2 as pdfium
import pytest
import pyvips
from PIL import Image, ImageFile

from ecs_render import libvips_decode, thumbnails
from ecs_render.thumbnails import RenderFailure, Thumbnail, render_thumbnails
from pixelforge_core.limits import MAX_LAYER_DEPTH
from tests.hostile import corpus, corpus_facets
from tests.hostile.helpers import (
    HOSTILE_CASES,
    OK,
    HostileCase,
    hostile_bytes,
    measure_in_subprocess,
)

SIZES = (1024, 256)
BOMB_SECONDS = 2.0
TOLERANCE = 14  # lossy WebP moves flat colours by a few levels


def render(data: bytes) -> list[Thumbnail] | RenderFailure:
    return render_thumbnails(io.BytesIO(data), SIZES)


def rendered(name: str) -> list[Image.Image]:
    result = render(hostile_bytes(name))
    assert isinstance(result, list), result
    return [Image.open(io.BytesIO(thumbnail.data)) for thumbnail in result]


def near(pixel: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= TOLERANCE for a, b in zip(pixel, expected, strict=False))


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=lambda case: case.name)
def test_hostile_file_is_rendered_or_refused_with_its_reason(case: HostileCase):
    result = render(hostile_bytes(case.name))

    if case.render == OK:
        assert isinstance(result, list), result
        assert [t.size_px for t in result] == list(SIZES)
        for thumbnail in result:
            assert max(thumbnail.width_px, thumbnail.height_px) <= thumbnail.size_px
            with Image.open(io.BytesIO(thumbnail.data)) as image:
                assert image.format == "WEBP"
                assert image.size == (thumbnail.width_px, thumbnail.height_px)
    else:
        assert isinstance(result, RenderFailure), result
        assert result.reason_code == case.render, result.message
        assert "\n" not in result.message and len(result.message) < 400


@pytest.mark.parametrize("fmt", corpus.HUGE_DECLARED_FORMATS)
def test_hostile_bomb_is_refused_from_the_header_without_decoding(fmt, monkeypatch):
    def no_decode(self):
        raise AssertionError(f"{fmt}: pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    data = corpus.huge_declared_size(fmt)

    started = time.perf_counter()
    result = render(data)
    seconds = time.perf_counter() - started

    print(f"the renderer refused the {fmt} bomb ({len(data)} bytes) in {seconds * 1000:.1f} ms")
    assert isinstance(result, RenderFailure)
    assert result.reason_code == "decompression_bomb", result.message
    assert seconds < BOMB_SECONDS


@pytest.mark.parametrize(
    ("side", "copies", "refused"), [(3_000, 1, False), (3_000, 8, True), (15_000, 1, True)]
)
def test_hostile_svg_inline_rasters_share_one_pixel_budget(side, copies, refused, svg_draws):
    data = corpus.svg_embedding(corpus.png_bomb(side), copies=copies)

    started = time.perf_counter()
    result = render(data)
    seconds = time.perf_counter() - started

    print(f"SVG of {len(data)} bytes with {copies} x {side}x{side} inline: {seconds:.2f} s")
    if refused:
        assert isinstance(result, RenderFailure), result
        assert result.reason_code == "decompression_bomb", result.message
        assert svg_draws == []
        assert seconds < BOMB_SECONDS
    else:
        assert isinstance(result, list), result


@pytest.mark.parametrize("kind", ["png", "tiff"])
def test_hostile_200mb_file_is_rendered_under_1gib_peak_rss(kind, large_files):
    measured = measure_in_subprocess("render", large_files[kind])

    print(f"rendering of {large_files[kind].name}: {measured}")
    assert measured["outcome"] == OK, measured
    assert measured["sizes"] == [[1024, 1024], [256, 256]]
    assert measured["peak_mib"] < 1024


# What each flat PNG half must look like (top, bottom) as RGBA, through lossy WebP.
FLAT_COLOURS = {
    "grey16": ((156, 156, 156, 255), (156, 156, 156, 255)),
    "rgba": ((200, 40, 40, 255), (40, 40, 200, 128)),
    "la": ((200, 200, 200, 255), (60, 60, 60, 128)),
    "palette_transparent": (None, (255, 0, 0, 255)),  # None: fully transparent
}


@pytest.mark.slow  # hundreds of MB decoded in a fresh process
@pytest.mark.parametrize("kind", corpus.FLAT_PNG_KINDS)
def test_hostile_flat_png_near_the_pixel_limit_renders_under_1gib(kind, tmp_path):
    """A few hundred KB decoding to 177 MP: 16-bit grey, alpha and palette transparency are
    the paths that copy the whole image when done naively."""
    path = tmp_path / f"{kind}.png"
    with path.open("wb") as out:
        corpus.write_png_flat(out, 13_300, 13_300, kind)

    measured = measure_in_subprocess("render", path)

    print(f"{kind} ({path.stat().st_size} bytes, 13300 x 13300): {measured}")
    assert measured["outcome"] == OK, measured
    assert measured["peak_mib"] < 1024, measured


@pytest.mark.parametrize("kind", corpus.FLAT_PNG_KINDS)
def test_hostile_flat_png_keeps_its_colours_and_alpha(kind):
    buffer = io.BytesIO()
    corpus.write_png_flat(buffer, 5_000, 3_400, kind)  # 17 MP: alpha goes the strip way

    large, _ = (Image.open(io.BytesIO(t.data)).convert("RGBA") for t in render(buffer.getvalue()))

    top, bottom = FLAT_COLOURS[kind]
    top_pixel, bottom_pixel = large.getpixel((512, 100)), large.getpixel((512, 600))
    assert top_pixel[3] == 0 if top is None else near(top_pixel, top), top_pixel
    assert near(bottom_pixel, bottom), bottom_pixel


def test_hostile_strip_reduction_matches_pillows_own_resize():
    """Large alpha images are reduced strip by strip; the thumbnail must match Pillow's
    whole-image resize, including colour hidden under transparent pixels (which a reduction
    without premultiplied alpha would bleed in)."""
    width, height = 3_200, 2_200  # reduced by 2 x 2, in four strips of 8 MiB
    xs, ys = np.arange(width)[None, :], np.arange(height)[:, None]
    rgba = np.empty((height, width, 4), np.uint8)
    rgba[..., 0] = xs * 255 // width
    rgba[..., 1] = ys * 255 // height
    rgba[..., 2] = (xs // 7 % 2) * 255  # colour under transparent pixels must not bleed
    rgba[..., 3] = (xs + ys) % 256
    image = Image.fromarray(rgba, "RGBA")
    limits = thumbnails.DEFAULT_RENDER_LIMITS
    box = thumbnails.fit_box(image.size, 1024)

    ours = thumbnails._resize_alpha_in_strips(image, box, limits).convert("RGBA")
    pillows = image.resize(box, Image.Resampling.LANCZOS, reducing_gap=limits.reducing_gap)

    difference = np.abs(np.asarray(ours, np.int16) - np.asarray(pillows, np.int16))
    assert ours.size == pillows.size
    assert int(width / box[0] / limits.reducing_gap) == 2  # the reduce step is exercised
    assert difference.max() <= 1, difference.max()  # bit-exact with Pillow 13


@pytest.mark.slow  # hundreds of MB decoded in a fresh process
def test_hostile_deep_psd_near_the_pixel_limit_is_refused_or_under_1gib(tmp_path):
    """14 MB of RLE that decode to 144 MP of 16-bit RGB."""
    path = tmp_path / "deep.psd"
    path.write_bytes(corpus.psd_deep_flat(12_000))

    measured = measure_in_subprocess("render", path)

    print(f"deep PSD ({path.stat().st_size} bytes): {measured}")
    assert measured["peak_mib"] < 1024, measured
    assert measured["outcome"] in (OK, "decompression_bomb"), measured


@pytest.mark.parametrize(
    ("depth", "has_composite", "outcome"),
    [
        (MAX_LAYER_DEPTH, False, OK),  # composited from its layers, to the cap
        (MAX_LAYER_DEPTH + 1, False, "hostile_content"),
        (3_000, False, "hostile_content"),
        (3_000, True, OK),  # the stored composite is read: the layers are not walked
    ],
)
def test_hostile_psd_nested_past_the_cap_without_a_composite_is_refused(
    depth, has_composite, outcome, tmp_path
):
    """A 16-bit PSD (psd-tools decodes it) without a stored composite is composited group by
    group, recursively: past MAX_LAYER_DEPTH levels it is refused with its reason, in bounded
    time and memory, instead of a RecursionError."""
    data = corpus_facets.psd_deep_groups(depth, 64, 16, has_composite=has_composite)
    started = time.process_time()
    result = render(data)
    cpu = time.process_time() - started
    print(f"{depth} deep, composite {has_composite}: {cpu:.2f} s CPU, {result!r:.200}")
    assert cpu < 5.0
    if outcome == OK:
        assert isinstance(result, list), result
        return
    assert isinstance(result, RenderFailure), result
    assert result.reason_code == outcome
    assert result.message == (
        f"layer groups nested {depth} deep and no stored composite image: compositing the "
        f"layers is refused past {MAX_LAYER_DEPTH} levels"
    )
    if depth > 1_000:
        path = tmp_path / "deep.psd"
        path.write_bytes(data)
        measured = measure_in_subprocess("render", path)
        print(f"in a fresh process: {measured}")
        assert measured["outcome"] == outcome
        assert measured["peak_mib"] - measured["baseline_mib"] < 300, measured


def test_hostile_pdf_with_3000_pages_draws_page_one_only(monkeypatch, tmp_path):
    drawn: list[int] = []
    original = pdfium.PdfPage.render

    def counting_render(page, *args, **kwargs):
        drawn.append(1)
        return original(page, *args, **kwargs)

    monkeypatch.setattr(pdfium.PdfPage, "render", counting_render)
    data = hostile_bytes("3000-pages.pdf")

    started = time.perf_counter()
    result = render(data)
    seconds = time.perf_counter() - started

    assert isinstance(result, list), result
    assert drawn == [1]
    assert (result[0].width_px, result[0].height_px) == (724, 1024)  # A4 portrait
    # and the whole render, in a fresh process: bounded time and memory
    path = tmp_path / "3000-pages.pdf"
    path.write_bytes(data)
    measured = measure_in_subprocess("render", path)
    print(f"3000-page PDF: {seconds:.2f} s in process; fresh process {measured}")
    assert measured["outcome"] == OK
    assert measured["seconds"] < 10
    assert measured["peak_mib"] < 512


# --- colours survive odd modes -------------------------------------------------------------

RED, CYAN, BLACK, WHITE = (255, 0, 0), (0, 255, 255), (0, 0, 0), (255, 255, 255)

PSD_COLOURS = {
    "bitmap": (BLACK, WHITE),  # left half set bits: black in Photoshop, white is unset
    "grayscale16": ((156, 156, 156),) * 2,  # 40000 / 257
    "indexed": (RED, RED),
    "cmyk": (CYAN, CYAN),
    "cmyk16": (CYAN, CYAN),
    "lab": (RED, RED),
    "lab16": (RED, RED),
    "rgb16": (RED, RED),
    "multichannel": ((100, 100, 100),) * 2,
    "duotone": ((100, 100, 100),) * 2,
}


@pytest.mark.parametrize("mode", corpus.PSD_ODD_MODES)
def test_hostile_psd_in_an_odd_mode_keeps_its_colours(mode):
    large, small = rendered(f"mode-{mode}.psd")

    assert large.size == small.size == (64, 48)  # never upscaled
    left, right = PSD_COLOURS[mode]
    rgb = large.convert("RGB")
    assert near(rgb.getpixel((8, 24)), left), rgb.getpixel((8, 24))
    assert near(rgb.getpixel((56, 24)), right), rgb.getpixel((56, 24))


def test_hostile_cmyk_is_not_inverted():
    for name in ("print-cmyk.jpg", "print-cmyk.tif"):
        with Image.open(io.BytesIO(hostile_bytes(name))) as source:
            reference = source.convert("RGB").resize((256, 171))
        thumbnail = rendered(name)[1].convert("RGB")
        assert thumbnail.size == reference.size
        for band in range(3):
            ours = sum(thumbnail.get_flattened_data(band)) / (256 * 171)
            theirs = sum(reference.get_flattened_data(band)) / (256 * 171)
            assert abs(ours - theirs) < 6, (name, band, ours, theirs)


def test_hostile_16bit_images_are_scaled_not_clipped():
    assert near(rendered("scan-rgb16.tif")[1].convert("RGB").getpixel((128, 85)), RED)
    ramp = rendered("ramp-rgb16.png")[1].convert("RGB")  # red from 0 at the left to 255
    assert near(ramp.getpixel((2, 85)), BLACK)
    assert near(ramp.getpixel((128, 85)), (128, 0, 0))
    assert near(ramp.getpixel((253, 85)), RED)
    grey = rendered("scan-grey16.tif")[1].convert("L")  # 9000..56000 of 65535: mid greys
    low, high = grey.getextrema()
    assert 15 < low < high < 240


def test_hostile_palette_transparency_becomes_alpha():
    thumbnail = rendered("palette-transparent.png")[1]

    assert thumbnail.mode == "RGBA"
    assert thumbnail.getpixel((128, 20))[3] == 0  # the transparent index (top half)
    assert thumbnail.getpixel((128, 170))[3] == 255


@pytest.mark.parametrize(
    "name", ["animated.gif", "animated.webp", "animated.png", "5000-frames.gif"]
)
def test_hostile_animation_renders_its_first_frame_only(name, monkeypatch):
    seeks: list[int] = []
    original = Image.Image.seek

    def recording_seek(image, frame):
        seeks.append(frame)
        return original(image, frame)

    monkeypatch.setattr(Image.Image, "seek", recording_seek)
    started = time.perf_counter()

    large, _ = rendered(name)

    assert time.perf_counter() - started < 2
    assert all(frame == 0 for frame in seeks), seeks
    with Image.open(io.BytesIO(hostile_bytes(name))) as source:
        first = source.convert("RGB")
    assert large.size == first.size
    corner = (first.width // 4, first.height // 2)
    assert near(large.convert("RGB").getpixel(corner), first.getpixel(corner))


def test_hostile_absurd_exif_orientation_is_ignored():
    large, _ = rendered("full-exif-segment.jpg")  # orientation 9999 in a 640 x 480 photo

    assert large.size == (640, 480)


# --- nothing outside the file is read or fetched ------------------------------------------------


def _targets(listener, sentinel) -> dict[str, str]:
    return {
        "http": listener.url("/x.svg"),
        "file_url": sentinel.path.as_uri(),
        "absolute_path": str(sentinel.path),
    }


@pytest.fixture
def svg_draws(monkeypatch) -> list[bytes]:
    calls: list[bytes] = []
    original = libvips_decode.draw_svg

    def recording(data, largest):
        calls.append(data)
        return original(data, largest)

    monkeypatch.setattr(libvips_decode, "draw_svg", recording)
    return calls


@pytest.mark.parametrize("target", ["http", "file_url", "absolute_path"])
@pytest.mark.parametrize("kind", corpus.SVG_FETCH_KINDS)
def test_hostile_svg_reference_is_refused_before_drawing(
    kind, target, listener, sentinel, svg_draws
):
    data = corpus.svg_fetching(kind, _targets(listener, sentinel)[target])

    result = render(data)

    if kind == "external_dtd":
        # Only a DOCTYPE naming an external DTD: neither parser loads it, the SVG is drawn.
        assert isinstance(result, list), result
        assert len(svg_draws) == 1
    else:
        assert isinstance(result, RenderFailure), result
        assert result.reason_code == "hostile_content", result.message
        assert svg_draws == []
    assert listener.requests == []
    assert sentinel.watch.opened() == []


@pytest.mark.parametrize("target", ["file_url", "absolute_path"])
def test_hostile_librsvg_alone_reads_no_file_from_a_buffer(target, sentinel):
    """Defence in depth: the checker refuses file references, and librsvg, given the SVG as a
    buffer with no base URL, does not read them either (resvg_py, used before, did)."""
    href = sentinel.path.as_uri() if target == "file_url" else str(sentinel.path)
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        f'<image href="{href}" width="64" height="64"/></svg>'
    )

    drawn = pyvips.Image.svgload_buffer(svg.encode())

    assert drawn.getpoint(32, 32) == [0.0, 0.0, 0.0, 0.0]
    assert sentinel.watch.opened() == []


BYPASS_ATTEMPTS = {
    "padded": '<image href="  {path}  " width="64" height="64"/>',
    "char_reference_slash": '<image href="&#47;{rest}" width="64" height="64"/>',
    "other_prefix_for_xlink": (
        '<image xmlns:q="http://www.w3.org/1999/xlink" q:href="{path}" width="64" height="64"/>'
    ),
    "pattern_image": (
        '<defs><pattern id="p" width="64" height="64" patternUnits="userSpaceOnUse">'
        '<image href="{path}" width="64" height="64"/></pattern></defs>'
        '<rect width="64" height="64" fill="url(#p)"/>'
    ),
    "nested_svg_data_uri": (
        '<image href="data:image/svg+xml;utf8,&lt;svg xmlns=&quot;http://www.w3.org/2000/svg&quot;'
        "&gt;&lt;image href=&quot;{path}&quot; width=&quot;64&quot; height=&quot;64&quot;/&gt;"
        '&lt;/svg&gt;" width="64" height="64"/>'
    ),
    "png_mime_with_svg_inside": (
        '<image href="data:image/png;utf8,&lt;svg xmlns=&quot;http://www.w3.org/2000/svg&quot;'
        '&gt;&lt;image href=&quot;{path}&quot;/&gt;&lt;/svg&gt;" width="64" height="64"/>'
    ),
    "upper_case_file_scheme": '<image href="FILE://{path}" width="64" height="64"/>',
    "cdata_style": (
        '<style><![CDATA[ rect {{ fill: url({path}) }} ]]></style><rect width="9" height="9"/>'
    ),
    "symbol_use": '<use href="{path}#x"/>',
}


@pytest.mark.parametrize("attempt", sorted(BYPASS_ATTEMPTS))
def test_hostile_svg_never_shows_or_opens_a_local_file(attempt, sentinel):
    path = str(sentinel.path)
    body = BYPASS_ATTEMPTS[attempt].format(path=path, rest=path.lstrip("/"))
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        f'<rect width="64" height="64" fill="#00f"/>{body}</svg>'
    ).encode()

    result = render(svg)

    if isinstance(result, list):
        image = Image.open(io.BytesIO(result[1].data)).convert("RGB")
        assert not any(near(pixel, RED) for pixel in image.get_flattened_data()), attempt
    else:
        assert result.reason_code == "hostile_content", result.message
    assert sentinel.watch.opened() == [], attempt


def test_hostile_pdf_actions_and_external_streams_are_not_followed(listener, sentinel):
    data = corpus.pdf_external_references(listener.url("/doc"), str(sentinel.path))

    large, _ = (Image.open(io.BytesIO(t.data)) for t in render(data))

    assert near(large.convert("RGB").getpixel((600, 500)), (0, 153, 0))  # the green page
    assert listener.requests == []
    assert sentinel.watch.opened() == []


def test_hostile_broken_pdf_after_an_encrypted_one_is_not_called_encrypted():
    # pdfium keeps its last error across documents, as a long-lived render worker would see.
    assert render(hostile_bytes("locked.pdf")).reason_code == "encrypted_file"

    result = render(hostile_bytes("no-pages.pdf"))

    assert isinstance(result, RenderFailure)
    assert result.reason_code == "render_failed", result.message
    assert "password" not in result.message.lower()


# --- the checker reads what the renderer reads (security) ---------------------------------------


def _as_utf16(data: bytes, order: str) -> bytes:
    mark = codecs.BOM_UTF16_LE if order == "le" else codecs.BOM_UTF16_BE
    return mark + data.decode().encode(f"utf-16-{order}")


@pytest.mark.parametrize("order", ["le", "be"])
@pytest.mark.parametrize("kind", [k for k in corpus.SVG_FETCH_KINDS if k != "external_dtd"])
def test_hostile_security_utf16_svg_reference_is_refused_before_drawing(
    kind, order, listener, svg_draws
):
    data = _as_utf16(corpus.svg_fetching(kind, listener.url("/x.svg")), order)

    result = render(data)

    assert isinstance(result, RenderFailure), result
    assert result.reason_code == "hostile_content", result.message
    assert svg_draws == []
    assert listener.requests == []


CSS_DISGUISES = {
    "hex_escape": "\\75rl(",
    "six_digit_hex_escape": "\\000075 rl(",
    "char_escape": "u\\rl(",
    "comment_inside": "ur/**/l(",
    "upper_case_hex": "\\55RL(",
}


@pytest.mark.parametrize("disguise", sorted(CSS_DISGUISES))
@pytest.mark.parametrize(
    "kind", ["css_url_attribute", "css_url_style_element", "css_import", "font_face"]
)
def test_hostile_security_escaped_css_reference_is_refused_before_drawing(
    kind, disguise, sentinel, svg_draws
):
    text = corpus.svg_fetching(kind, sentinel.path.as_uri()).decode()
    data = text.replace("url(", CSS_DISGUISES[disguise]).encode()

    result = render(data)

    assert isinstance(result, RenderFailure), result
    assert result.reason_code == "hostile_content", result.message
    assert svg_draws == []
    assert sentinel.watch.opened() == []


def test_hostile_security_escaped_import_with_a_string_is_refused(sentinel, svg_draws):
    data = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        f"<style>@\\69mport '{sentinel.path.as_uri()}';</style>"
        '<rect width="64" height="64" fill="#00f"/></svg>'
    ).encode("utf-16")

    result = render(data)

    assert isinstance(result, RenderFailure), result
    assert (result.reason_code, svg_draws) == ("hostile_content", [])
    assert sentinel.watch.opened() == []


def test_hostile_security_benign_utf16_svg_is_drawn(svg_draws):
    data = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        "<style>/* brand */ rect { fill: url(#g) }</style>"
        '<linearGradient id="g"><stop offset="0" stop-color="#0f0"/></linearGradient>'
        '<rect width="64" height="64"/><text y="30">Grüße</text></svg>'
    ).encode("utf-16")

    result = render(data)

    assert isinstance(result, list), result
    assert len(svg_draws) == 1
    large = Image.open(io.BytesIO(result[0].data)).convert("RGB")
    assert near(large.getpixel((5, 5)), (0, 255, 0))
