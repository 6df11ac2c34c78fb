from __future__ import annotations

import pytest

from pixelforge_core.formats import HEAD_BYTES, sniff_format
from tests.fixtures.design_files import design_file, small


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("png_with_alpha", "png"),
        ("jpeg_large", "jpeg"),
        ("jpeg_cmyk", "jpeg"),
        ("tiff_16bit", "tiff"),
        ("webp", "webp"),
        ("gif_animated", "gif"),
        ("bmp_simple", "bmp"),
        ("psd_layered", "psd"),
        ("svg_simple", "svg"),
        ("pdf_multipage", "pdf"),
    ],
)
def test_sniffs_every_corpus_format_from_its_head(kind, expected):
    assert sniff_format(small(kind)[:HEAD_BYTES]) == expected


def test_mislabelled_jpeg_is_a_jpeg():
    assert sniff_format(design_file("jpeg_named_png")[:HEAD_BYTES]) == "jpeg"


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"hello world",
        b"BM" + b"\x00" * 30,  # 'BM' alone is not enough: the DIB header size must be known
        b"<html><body>not svg</body></html>",
        b"<?xml version='1.0'?><root/>",
        b'{"json": true}',
    ],
)
def test_refuses_non_design_heads(head):
    assert sniff_format(head) is None


def test_random_bytes_are_no_format():
    assert sniff_format(design_file("random_bytes_named_png")[:HEAD_BYTES]) is None


@pytest.mark.parametrize(
    "text",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        b"\xef\xbb\xbf  <?xml version='1.0' encoding='UTF-8'?>\n<!-- made by hand -->\n<svg>",
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://x/svg11.dtd">\n<svg>',
        b"<svg:svg xmlns:svg='http://www.w3.org/2000/svg'/>",
        "<svg width='1'/>".encode("utf-16"),
    ],
)
def test_recognises_svg_behind_prolog_bom_and_prefix(text):
    assert sniff_format(text) == "svg"


def test_entity_expansion_svg_is_still_sniffed_as_svg():
    # Its DOCTYPE names svg: it must reach the SVG checker, which refuses it as hostile.
    assert sniff_format(design_file("svg_hostile", kind="entity_expansion")) == "svg"


def test_pdf_header_may_follow_leading_junk():
    assert sniff_format(b"\x00" * 100 + b"%PDF-1.7\n") == "pdf"
