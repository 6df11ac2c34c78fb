from __future__ import annotations

import base64

import pytest

from orchestration.corpus import HOSTILE_SVG_KINDS
from snowpark_procs.metadata import SvgInfo, check_svg, extract_metadata
from snowpark_procs.records import DesignMetadata, MetadataFailure
from tests.fixtures.design_files import design_file, stream

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def svg(attributes: str = "", body: str = "") -> bytes:
    return f"<svg {NS} {attributes}>{body}</svg>".encode()


def test_simple_svg_metadata():
    meta = extract_metadata(stream(design_file("svg_simple")), "logo-café.svg")
    assert isinstance(meta, DesignMetadata), meta
    assert (meta.format, meta.width_px, meta.height_px) == ("svg", 1200, 800)
    assert meta.mode is None and meta.exif == {}


@pytest.mark.parametrize(
    ("attributes", "size"),
    [
        ('width="300" height="150"', (300, 150)),
        ('width="300px" height="1.5e2"', (300, 150)),
        ('width="1in" height="72pt"', (96, 96)),
        ('width="25.4mm" height="2.54cm"', (96, 96)),
        ('viewBox="0 0 640 480"', (640, 480)),
        ('width="320" viewBox="0,0,640,480"', (320, 240)),
        ('height="100%" viewBox="0 0 640 480"', (640, 480)),
        ("", (None, None)),
        ('width="-5" height="abc"', (None, None)),
    ],
)
def test_intrinsic_size_in_css_pixels(attributes, size):
    info = check_svg(svg(attributes))
    assert isinstance(info, SvgInfo), info
    assert (info.width_px, info.height_px) == size


def test_view_box_is_reported():
    info = check_svg(svg('viewBox="10 20 300 200"'))
    assert isinstance(info, SvgInfo)
    assert info.view_box == (10.0, 20.0, 300.0, 200.0)


@pytest.mark.parametrize("kind", HOSTILE_SVG_KINDS)
def test_hostile_corpus_svgs_are_refused(kind):
    result = check_svg(design_file("svg_hostile", kind=kind))
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "hostile_content"


@pytest.mark.parametrize(
    "body",
    [
        '<image href="https://example.invalid/x.png" width="1" height="1"/>',
        '<image xlink:href="/etc/passwd" width="1" height="1"/>',
        '<use href="other.svg#icon"/>',
        '<rect fill="url(\'file:///tmp/p.svg#g\')" width="1" height="1"/>',
        "<style>rect { fill: url(http://example.invalid/a.svg#b) }</style>",
        "<style>@IMPORT url(x.css);</style>",
        '<image href="data:image/svg+xml;base64,PHN2Zy8+" width="1" height="1"/>',
        "<g><SCRIPT>1</SCRIPT></g>",
    ],
)
def test_external_references_scripts_and_nested_svg_are_refused(body):
    result = check_svg(svg('width="10" height="10"', body))
    assert isinstance(result, MetadataFailure), body
    assert result.reason_code == "hostile_content"


def test_internal_references_and_inline_rasters_pass():
    png = base64.b64encode(design_file("png_with_alpha", width=4, height=4)).decode()
    body = (
        '<defs><linearGradient id="g"/><rect id="r" width="2" height="2"/></defs>'
        '<rect fill="url(#g)" width="5" height="5"/><use href="#r"/><use xlink:href="#r"/>'
        f'<image href="data:image/png;base64,{png}" width="4" height="4"/>'
        "<style>rect { fill: url( '#g' ) }</style>"
    )
    assert isinstance(check_svg(svg('width="10" height="10"', body)), SvgInfo)


def test_public_doctype_without_internal_subset_is_accepted():
    # What Illustrator's "SVG 1.1" export writes; expat never fetches the external DTD.
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' + svg('width="5" height="5"')
    )
    assert isinstance(check_svg(data), SvgInfo)


def test_stylesheet_processing_instruction_is_refused():
    data = b'<?xml-stylesheet href="https://example.invalid/s.css"?>' + svg()
    result = check_svg(data)
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "hostile_content"


def test_truncated_svg():
    data = design_file("svg_simple")
    result = check_svg(data[: len(data) // 2])
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "truncated_file"


def test_malformed_svg_is_unreadable():
    result = check_svg(b"<svg>\n<rect></circle>\n</svg>\n\n")
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "unreadable_file"


def test_other_root_element_is_unreadable():
    result = check_svg(b'<html xmlns="http://www.w3.org/1999/xhtml"/>')
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "unreadable_file"


def test_svg_over_the_byte_cap():
    result = check_svg(svg(body="<g/>" * 100), max_bytes=100)
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "file_too_large"


def test_hostile_svg_through_extraction_keeps_hash_and_format():
    data = design_file("svg_hostile", kind="entity_expansion")
    result = extract_metadata(stream(data), "bomb.svg")
    assert isinstance(result, MetadataFailure)
    assert (result.reason_code, result.format, result.size_bytes) == (
        "hostile_content",
        "svg",
        len(data),
    )


def test_entities_are_refused_by_the_parser_too():
    # UTF-16 hides the DOCTYPE from the byte-level pre-check; defusedxml still refuses it.
    text = '<!DOCTYPE svg [<!ENTITY e "x">]><svg xmlns="http://www.w3.org/2000/svg">&e;</svg>'
    result = check_svg(text.encode("utf-16"))
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "hostile_content"
