from __future__ import annotations

import io
import math
import time
from pathlib import Path

import pytest
import pyvips
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageStat
from PIL.JpegImagePlugin import JpegImageFile
from pypdf import PdfReader, PdfWriter

from ecs_render import libvips_decode
from ecs_render.libvips_decode import jpeg_shrink
from ecs_render.thumbnails import (
    RenderFailure,
    RenderLimits,
    Thumbnail,
    draft_request,
    fit_box,
    render_thumbnails,
)
from orchestration.corpus import HOSTILE_SVG_KINDS
from tests.budget import examples
from tests.fixtures.design_files import design_file, small, stream


def render(data: bytes, sizes=(1024, 256), limits: RenderLimits | None = None) -> list[Thumbnail]:
    result = render_thumbnails(stream(data), sizes, *(limits,) if limits else ())
    assert isinstance(result, list), result
    return result


def refusal(data: bytes, limits: RenderLimits | None = None) -> RenderFailure:
    result = render_thumbnails(stream(data), (1024, 256), *(limits,) if limits else ())
    assert isinstance(result, RenderFailure), result
    return result


def decode(thumbnail: Thumbnail) -> Image.Image:
    assert thumbnail.data[:4] == b"RIFF" and thumbnail.data[8:12] == b"WEBP"
    image = Image.open(io.BytesIO(thumbnail.data))
    image.load()
    assert image.size == (thumbnail.width_px, thumbnail.height_px)
    return image


def test_fit_box_keeps_aspect_and_never_upscales():
    assert fit_box((6000, 4000), 1024) == (1024, 683)
    assert fit_box((4000, 6000), 256) == (171, 256)
    assert fit_box((300, 200), 1024) == (300, 200)
    assert fit_box((100_000, 10), 256) == (256, 1)


def test_draft_request_is_aspect_correct_not_square():
    assert draft_request((6000, 4000), (1024, 683)) == (2048, 1366)
    assert draft_request((300, 200), (300, 200)) == (300, 200)


@pytest.mark.parametrize(
    ("kind", "big", "small_size", "mode"),
    [
        ("png_with_alpha", (600, 400), (256, 171), "RGBA"),
        ("jpeg_cmyk", (600, 400), (256, 171), "RGB"),
        ("tiff_16bit", (600, 400), (256, 171), "RGB"),
        ("webp", (600, 450), (256, 192), "RGB"),
        ("gif_animated", (400, 300), (256, 192), "RGB"),
        ("bmp_simple", (300, 200), (256, 171), "RGB"),
        ("psd_layered", (400, 300), (256, 192), "RGB"),
    ],
)
def test_rasters_give_webp_of_the_right_size_without_upscaling(kind, big, small_size, mode):
    large, little = render(small(kind))
    assert (large.size_px, little.size_px) == (1024, 256)
    assert (large.width_px, large.height_px) == big
    assert (little.width_px, little.height_px) == small_size
    assert decode(large).mode == mode


def test_camera_jpeg_is_turned_upright():
    large, little = render(design_file("jpeg_large"))
    # Stored 6000x4000 with orientation 6: shown as a 4000x6000 portrait.
    assert (large.width_px, large.height_px) == (683, 1024)
    assert (little.width_px, little.height_px) == (171, 256)
    # The marker in the stored top-left corner ends up top-right once rotated clockwise.
    image = decode(large)
    red, green, blue = image.getpixel((image.width - 10, 10))
    assert red > 200 and green < 60 and blue < 60
    assert image.getpixel((10, 10)) != image.getpixel((image.width - 10, 10))


def libvips_option_calls(monkeypatch, loader: str, option: str) -> list:
    """The values of one option passed to a pyvips loader, call by call."""
    calls = []
    original = getattr(pyvips.Image, loader)

    def spy(source, **options):
        calls.append(options[option])
        return original(source, **options)

    monkeypatch.setattr(pyvips.Image, loader, spy)
    return calls


def test_rgb_jpeg_is_dct_scaled_by_libvips_to_the_aspect_correct_request(monkeypatch):
    calls = libvips_option_calls(monkeypatch, "jpegload_source", "shrink")
    monkeypatch.setattr(JpegImageFile, "load", lambda self: pytest.fail("Pillow decoded it"))
    render(design_file("jpeg_large", width=6000, height=4000))
    # (2048, 1366) asked: 1/2 covers it, 1/4 (1500x1000) would not
    assert calls == [2]


def test_jpeg_shrink_is_the_largest_scale_covering_the_request():
    assert jpeg_shrink((6000, 4000), (2048, 1366)) == 2
    assert jpeg_shrink((6000, 4000), (1500, 1000)) == 4
    assert jpeg_shrink((6000, 4000), (1501, 1000)) == 2
    assert jpeg_shrink((6000, 4000), (6000, 4000)) == 1
    assert jpeg_shrink((20000, 300), (2048, 31)) == 8


def test_cmyk_jpeg_is_drafted_by_pillow_aspect_correctly_before_any_load(monkeypatch):
    calls = []
    original = JpegImageFile.draft

    def spy(self, mode, size):
        calls.append((size, self._im is None))
        return original(self, mode, size)

    monkeypatch.setattr(JpegImageFile, "draft", spy)
    render(design_file("jpeg_cmyk", width=3000, height=2000))
    assert calls == [((2048, 1366), True)]


@pytest.mark.parametrize("kind", ["png_with_alpha", "webp", "jpeg_large"])
def test_libvips_and_pillow_paths_give_the_same_thumbnail(kind, monkeypatch):
    data = design_file(kind, width=1800, height=1200)
    via_libvips = decode(render(data)[0])
    monkeypatch.setattr(libvips_decode, "can_shrink", lambda fmt, mode: False)
    via_pillow = decode(render(data)[0])
    assert via_libvips.size == via_pillow.size and via_libvips.mode == via_pillow.mode
    assert psnr(via_libvips, via_pillow) > 35


def psnr(first: Image.Image, second: Image.Image) -> float:
    """Over all bands: both paths resample with LANCZOS, so they differ only by rounding."""
    rms = ImageStat.Stat(ImageChops.difference(first, second)).rms
    mse = sum(value * value for value in rms) / len(rms)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["PNG", "JPEG", "WEBP"]),
    st.integers(min_value=1, max_value=3000),
    st.integers(min_value=1, max_value=3000),
    st.integers(min_value=1, max_value=1100),
)
def test_libvips_path_gives_exactly_the_fitted_box(fmt, width, height, target):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 140, 90)).save(buffer, fmt)
    result = render_thumbnails(stream(buffer.getvalue()), (target,))
    assert isinstance(result, list), result
    assert (result[0].width_px, result[0].height_px) == fit_box((width, height), target)


@pytest.mark.parametrize("bands", [2, 3, 4])
def test_16bit_png_through_libvips_keeps_its_colour(bands):
    pixel = [40_000, 20_000, 10_000, 65_535][:bands] if bands > 2 else [40_000, 65_535]
    interpretation = "rgb16" if bands > 2 else "grey16"
    image = (
        (pyvips.Image.black(1800, 1200) + pixel).cast("ushort").copy(interpretation=interpretation)
    )
    large, _ = render(image.pngsave_buffer())
    expected = (156, 78, 39) if bands > 2 else (156, 156, 156)
    red, green, blue, *_ = decode(large).convert("RGBA").getpixel((900, 600))
    assert all(abs(got - want) <= 2 for got, want in zip((red, green, blue), expected, strict=True))


def test_webp_is_scaled_while_decoding(monkeypatch):
    scales = libvips_option_calls(monkeypatch, "webpload_source", "scale")
    render(design_file("webp", width=4000, height=3000))
    assert scales == [pytest.approx(2048 / 4000)]


def test_one_decode_serves_both_sizes(monkeypatch):
    from PIL import ImageFile

    loads = []
    original = ImageFile.ImageFile.load

    def counting_load(self):
        if self.tile:  # a load() with tiles left is a decode; later calls are no-ops
            loads.append(self.format)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    render(small("png_with_alpha"))
    assert loads == ["PNG"]


def test_alpha_is_kept():
    large, little = render(small("png_with_alpha"))
    for thumbnail in (large, little):
        image = decode(thumbnail)
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] < 10  # transparent corner
        assert image.getpixel((image.width // 2, image.height // 2))[3] > 245


def test_palette_transparency_and_grey_alpha_are_kept():
    palette = Image.new("P", (64, 64), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    buffer = io.BytesIO()
    palette.save(buffer, "PNG", transparency=1)
    assert decode(render(buffer.getvalue())[0]).getpixel((5, 5))[3] == 0
    buffer = io.BytesIO()
    Image.new("LA", (64, 64), (128, 0)).save(buffer, "PNG")
    assert decode(render(buffer.getvalue())[0]).getpixel((5, 5))[3] == 0


def test_16bit_grey_is_scaled_not_clipped_to_white():
    image = decode(render(small("tiff_16bit"))[0]).convert("L")
    mean = ImageStat.Stat(image).mean[0]
    assert 60 < mean < 200
    # The ramp runs dark (left) to light (right), as in the 16-bit source.
    left = image.crop((0, 0, 50, image.height))
    right = image.crop((image.width - 50, 0, image.width, image.height))
    assert ImageStat.Stat(left).mean[0] + 80 < ImageStat.Stat(right).mean[0]


def test_cmyk_becomes_rgb_with_real_colour():
    image = decode(render(small("jpeg_cmyk"))[0])
    assert image.mode == "RGB"
    assert len(set(image.get_flattened_data())) > 100


def test_animated_gif_uses_the_first_frame():
    frames = Image.open(io.BytesIO(small("gif_animated")))
    first = frames.convert("RGB").resize((100, 75))
    image = decode(render(small("gif_animated"), sizes=(100,))[0])
    diff = ImageStat.Stat(Image.frombytes("L", (100, 75), bytes(
        abs(a - b) for a, b in zip(first.convert("L").tobytes(), image.convert("L").tobytes(),
                                   strict=True)
    ))).mean[0]  # fmt: skip
    assert diff < 12


def test_psd_thumbnail_is_the_composite():
    image = decode(render(small("psd_layered"))[0])
    # The yellow 'Sale badge' layer sits in the group at the top right.
    red, green, blue = image.getpixel((image.width - image.width // 8, image.height // 10))
    assert red > 200 and green > 150 and blue < 90


def test_pdf_first_page_at_the_asked_size():
    large, little = render(design_file("pdf_multipage"))
    assert (large.width_px, large.height_px) == (724, 1024)
    assert (little.width_px, little.height_px) == (181, 256)


def test_pdf_rotated_page_is_landscape():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(small("pdf_multipage"))))
    writer.pages[0].rotate(90)
    buffer = io.BytesIO()
    writer.write(buffer)
    large = render(buffer.getvalue(), sizes=(512,))[0]
    assert (large.width_px, large.height_px) == (512, 362)


def test_encrypted_pdfs_are_refused():
    assert refusal(design_file("pdf_encrypted")).reason_code == "encrypted_file"
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(small("pdf_multipage"))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert refusal(buffer.getvalue()).reason_code == "encrypted_file"


def test_svg_is_drawn_at_the_asked_size():
    large, little = render(design_file("svg_simple"))
    assert (large.width_px, large.height_px) == (1024, 683)
    assert (little.width_px, little.height_px) == (256, 171)
    assert len(set(decode(large).get_flattened_data())) > 100


@pytest.mark.skipif(
    not list(Path("/usr/share/fonts").rglob("DejaVuSans.ttf")), reason="needs DejaVu fonts"
)
def test_svg_text_in_a_generic_family_is_drawn():
    text = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
        b'<rect width="200" height="100" fill="black"/><text x="10" y="70" font-size="60" '
        b'font-family="sans-serif" fill="white">Hg</text></svg>'
    )
    image = decode(render(text, sizes=(200,))[0]).convert("L")
    assert ImageStat.Stat(image).extrema[0][1] > 200


def test_small_svg_icon_is_drawn_large_because_it_is_vector():
    icon = b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="32"><rect width="16" height="32" fill="red"/></svg>'  # noqa: E501
    assert [(t.width_px, t.height_px) for t in render(icon)] == [(512, 1024), (128, 256)]


@pytest.mark.parametrize("kind", HOSTILE_SVG_KINDS)
def test_hostile_svgs_are_refused_before_drawing(kind, monkeypatch):
    def must_not_draw(data, largest):
        raise AssertionError("librsvg saw a hostile SVG")

    monkeypatch.setattr(libvips_decode, "draw_svg", must_not_draw)
    assert refusal(design_file("svg_hostile", kind=kind)).reason_code == "hostile_content"


def test_bomb_is_refused_from_the_header_fast():
    start = time.process_time()
    result = refusal(design_file("png_bomb"))
    assert result.reason_code == "decompression_bomb"
    assert time.process_time() - start < 0.5


def test_own_pixel_limit_refuses_before_decoding(monkeypatch):
    from PIL import ImageFile

    def refuse_load(self):
        raise AssertionError("decoded a refused image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse_load)
    result = refusal(small("png_with_alpha"), RenderLimits(max_pixels=600 * 400 - 1))
    assert result.reason_code == "decompression_bomb"


@pytest.mark.parametrize(
    ("generator", "code"),
    [
        ("zero_byte", "empty_file"),
        ("png_truncated", "truncated_file"),
        ("jpeg_truncated", "truncated_file"),
        ("random_bytes_named_png", "unsupported_format"),
    ],
)
def test_broken_files_get_their_reason_code(generator, code):
    assert refusal(design_file(generator)).reason_code == code


def test_mislabelled_jpeg_renders():
    assert render(design_file("jpeg_named_png"))[0].width_px == 1024


def test_corrupt_image_data_is_render_failed_not_raised():
    data = bytearray(small("png_with_alpha"))
    start = data.index(b"IDAT") + 200
    data[start : start + 400] = b"\x00" * 400  # inside the deflate stream: the decoder chokes
    result = render_thumbnails(stream(bytes(data)))
    assert isinstance(result, RenderFailure)
    assert result.reason_code in ("render_failed", "truncated_file")


def test_thumbnails_come_back_in_the_order_asked_without_duplicates():
    sizes = [t.size_px for t in render(small("webp"), sizes=(128, 512, 128))]
    assert sizes == [128, 512]


def test_file_over_the_size_limit_is_refused():
    assert refusal(small("webp"), RenderLimits(max_file_bytes=100)).reason_code == "file_too_large"


@pytest.mark.parametrize("sizes", [(), (0,), (256, -1)])
def test_nonsense_sizes_are_a_caller_bug(sizes):
    with pytest.raises(ValueError):
        render_thumbnails(stream(small("webp")), sizes)


# --- property: no input raises --------------------------------------------------------------

_PREFIXES = [
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"II*\x00",
    b"RIFF\x00\x01\x00\x00WEBPVP8 ",
    b"GIF89a",
    b"8BPS\x00\x01",
    b"%PDF-1.7\n",
    b'<svg xmlns="http://www.w3.org/2000/svg" width="',
]
_VALID = ["png_with_alpha", "jpeg_cmyk", "gif_animated", "psd_layered", "pdf_multipage"]


@st.composite
def hostile_bytes(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.sampled_from(_PREFIXES)) + draw(st.binary(max_size=2048))
    data = bytearray(small(draw(st.sampled_from(_VALID))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        data[position] = draw(st.integers(min_value=0, max_value=255))
    return bytes(data[: draw(st.integers(min_value=0, max_value=len(data)))])


@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_bytes())
def test_no_input_raises(data):
    result = render_thumbnails(stream(data), (128, 64))
    if isinstance(result, list):
        assert [t.size_px for t in result] == [128, 64]
        assert all(max(t.width_px, t.height_px) <= t.size_px for t in result)
    else:
        assert result.reason_code in {
            "empty_file",
            "unsupported_format",
            "render_failed",
            "truncated_file",
            "decompression_bomb",
            "hostile_content",
            "encrypted_file",
        }


def test_16bit_psd_uses_the_psd_tools_composite():
    from psd_tools import PSDImage

    psd = PSDImage.new("RGB", (300, 200), color=(255, 255, 255), depth=16)
    psd.create_pixel_layer(Image.new("RGB", (300, 200), (20, 120, 220)), name="Background")
    buffer = io.BytesIO()
    psd.save(buffer)
    large, little = render(buffer.getvalue())
    assert (large.width_px, large.height_px, little.width_px) == (300, 200, 256)
    red, green, blue = decode(large).getpixel((150, 100))
    assert abs(red - 20) < 8 and abs(green - 120) < 8 and abs(blue - 220) < 8


def _deep_layered_psd() -> bytes:
    from psd_tools import PSDImage

    psd = PSDImage.new("RGB", (300, 200), color=(255, 255, 255), depth=16)
    psd.create_pixel_layer(Image.new("RGB", (300, 200), (20, 120, 220)), name="Background")
    buffer = io.BytesIO()
    psd.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def psd_opens(monkeypatch) -> list[object]:
    """The parse_limits of every PSD parse, in order: extraction's reader without pixels
    (snowpark_procs/metadata/psd_record.py) and PSDImage.open (None when a call passed none)."""
    from psd_tools import PSDImage

    from snowpark_procs.metadata import opened

    calls: list[object] = []
    original_open, original_read = PSDImage.open, opened.read_without_pixels

    def recording_open(fp, *args, **kwargs):
        calls.append(kwargs.get("parse_limits"))
        return original_open(fp, *args, **kwargs)

    def recording_read(fp, parse_limits, *args, **kwargs):
        calls.append(parse_limits)
        return original_read(fp, parse_limits, *args, **kwargs)

    monkeypatch.setattr(PSDImage, "open", recording_open)
    monkeypatch.setattr(opened, "read_without_pixels", recording_read)
    return calls


def test_security_a_deep_psd_is_parsed_with_the_limits_of_extraction(psd_opens):
    from snowpark_procs.metadata import extract_metadata

    data = _deep_layered_psd()

    extract_metadata(stream(data), "deep.psd")
    render(data)

    extraction, rendering = psd_opens
    assert rendering is not None
    assert rendering == extraction  # the same ParseLimits for the same file


def test_security_a_psd_over_its_parse_limits_is_refused_with_a_reason(monkeypatch):
    from psd_tools import ParseLimits

    from ecs_render import thumbnails

    monkeypatch.setattr(thumbnails, "psd_parse_limits", lambda size: ParseLimits(max_objects=2))

    failure = refusal(_deep_layered_psd())

    assert failure.reason_code == "render_failed"
    assert "max_objects" in failure.message


def test_security_an_8bit_psd_is_rendered_without_parsing_its_layers(monkeypatch, psd_opens):
    from PIL import PsdImagePlugin

    def no_layers(*args, **kwargs):
        raise AssertionError("Pillow parsed the PSD's layers")

    monkeypatch.setattr(PsdImagePlugin, "_layerinfo", no_layers)

    large, _ = render(small("psd_layered"))

    assert (large.width_px, large.height_px) == (400, 300)
    assert psd_opens == []  # psd-tools never saw it: Pillow read the merged image only
