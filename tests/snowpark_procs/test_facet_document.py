"""The document facet: XMP lineage ids, PDF info, ICC profile, transparency and animation timing,
per format, on generated files; a bad XMP fails the facet, never the file."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from orchestration.corpus.rich import (
    DERIVED_FROM,
    DOCUMENT_ID,
    INSTANCE_ID,
    xmp_packet,
)
from orchestration.corpus.rich_pdf import PDF_DOCUMENT_ID, PDF_INSTANCE_ID
from pixelforge_core.facets import FacetResult, facet
from pixelforge_core.limits import DEFAULT_LIMITS, ExtractionLimits
from pixelforge_core.records import DesignMetadata
from snowpark_procs.metadata import extract_metadata
from snowpark_procs.metadata.icc import icc_facts
from snowpark_procs.metadata.xmp import read_xmp
from tests.fixtures.design_files import design_file, small, stream

LINEAGE = {
    "document_id": DOCUMENT_ID,
    "instance_id": INSTANCE_ID,
    "derived_from": DERIVED_FROM,
    "author": "Ana Ruiz; Li Wei",
}


def metadata(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS, **kwargs) -> DesignMetadata:
    result = extract_metadata(stream(data), "file", limits, **kwargs)
    assert isinstance(result, DesignMetadata), result
    return result


def document(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> FacetResult:
    results = {f.facet: f for f in metadata(data, limits).facets}
    return results["document"]


def payload(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> dict:
    result = document(data, limits)
    assert (result.status, result.version) == ("ok", facet("document").version), result
    assert result.payload is not None
    return result.payload


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "transparent"), [("png", True), ("jpeg", False), ("tiff", True), ("webp", True)]
)
def test_raster_exports_give_xmp_lineage_icc_and_transparency(fmt, transparent):
    facts = payload(design_file("raster_with_xmp", fmt=fmt))
    assert facts | LINEAGE == facts  # every lineage field as written
    assert facts["creator_tool"] == "Adobe Photoshop 25.0 (Macintosh)"
    assert facts["title"] == "Spring campaign key visual"
    assert (facts["icc_profile"], facts["color_space"]) == ("sRGB built-in", "RGB")
    assert facts["uses_transparency"] is transparent
    assert (facts["animation_duration_ms"], facts["loop_count"]) == (None, None)


def test_psd_xmp_and_icc_come_from_its_image_resources():
    facts = payload(design_file("psd_with_text"))
    assert facts | LINEAGE == facts
    assert (facts["icc_profile"], facts["color_space"], facts["uses_transparency"]) == (
        "sRGB built-in",
        "RGB",
        False,  # the merged image has no alpha channel
    )


def test_pdf_gives_its_info_dictionary_and_catalog_xmp():
    facts = payload(design_file("pdf_with_text"))
    assert (facts["document_id"], facts["instance_id"], facts["derived_from"]) == (
        PDF_DOCUMENT_ID,
        PDF_INSTANCE_ID,
        DOCUMENT_ID,  # the storyboard derives from the key visual
    )
    assert facts["title"] == "Brand guidelines 2026"  # /Info wins over dc:title
    assert facts["author"] == "PixelForge design team"
    assert (facts["creator"], facts["producer"]) == (
        "Adobe InDesign 19.0",
        "Adobe PDF Library 17.0",
    )
    assert facts["creator_tool"] == "Adobe InDesign 19.0 (Macintosh)"  # XMP's xmp:CreatorTool


def test_svg_gives_metadata_xmp_and_its_title():
    facts = payload(design_file("svg_with_text"))
    assert facts | LINEAGE == facts
    assert (facts["title"], facts["creator_tool"]) == (
        "Spring poster",
        "Adobe Illustrator 28.0 (Macintosh)",
    )


def test_svg_without_xmp_names_its_generator_comment_or_inkscape():
    illustrator = b'<?xml version="1.0"?>\n<!-- Generator: Adobe Illustrator 27.5.0 -->\n'
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    assert payload(illustrator + svg)["creator_tool"] == "Adobe Illustrator 27.5.0"
    inkscape = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
        b'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
        b'inkscape:version="1.3.2 (091e20e, 2023-11-25)"/>'
    )
    assert payload(inkscape)["creator_tool"] == "Inkscape 1.3.2"
    assert payload(svg)["creator_tool"] is None


def test_files_without_metadata_give_nones_not_guesses():
    facts = payload(small("jpeg_cmyk"))
    assert {k: v for k, v in facts.items() if v is not None} == {"uses_transparency": False}


@pytest.mark.parametrize(
    ("kind", "duration_ms", "loop_count"),
    [("gif_animated", 500, 0), ("webp_animated", 480, 0)],
)
def test_animation_duration_is_the_sum_of_frame_durations(kind, duration_ms, loop_count):
    facts = payload(small(kind))
    assert (facts["animation_duration_ms"], facts["loop_count"]) == (duration_ms, loop_count)


def test_apng_duration_and_plays_come_from_its_frame_control_chunks():
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "green", "blue")]
    data = encoded(
        frames[0], "PNG", save_all=True, append_images=frames[1:], duration=[100, 250, 40], loop=3
    )
    facts = payload(data)
    assert (facts["animation_duration_ms"], facts["loop_count"]) == (390, 3)


def test_gif_without_a_loop_extension_has_no_loop_count():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "green", "blue")]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=70)
    facts = payload(data)
    assert (facts["animation_duration_ms"], facts["loop_count"]) == (210, None)


# --- transparency: bounded, never a full decode of a large image ------------------------------


def _rgba(width: int, height: int, transparent_rows: range = range(0)) -> Image.Image:
    image = Image.new("RGBA", (width, height), (10, 20, 30, 255))
    for row in transparent_rows:
        image.putpixel((width // 2, row), (10, 20, 30, 0))
    return image


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (_rgba(64, 64), False),  # an alpha channel, every pixel opaque
        (_rgba(64, 64, range(63, 64)), True),  # one transparent pixel, last row
        (Image.new("RGB", (64, 64)), False),  # no alpha channel: nothing decoded
    ],
    ids=["opaque-alpha", "last-row", "no-alpha"],
)
def test_small_images_are_checked_whole(image, expected):
    assert payload(encoded(image, "PNG"))["uses_transparency"] is expected


def test_palette_png_with_a_transparent_index_uses_transparency():
    image = Image.new("P", (32, 32), 1)
    image.putpixel((5, 5), 0)
    assert payload(encoded(image, "PNG", transparency=0))["uses_transparency"] is True


def test_large_png_is_probed_by_its_first_rows_only():
    limits = ExtractionLimits(max_transparency_pixels=4_096)
    # 400 x 300 is over the budget: transparency in the first rows is found...
    assert payload(encoded(_rgba(400, 300, range(2)), "PNG"), limits)["uses_transparency"] is True
    # ...below them, it is unknown rather than a guess, as is an opaque image
    assert (
        payload(encoded(_rgba(400, 300, range(250, 251)), "PNG"), limits)["uses_transparency"]
        is None
    )
    assert payload(encoded(_rgba(400, 300), "PNG"), limits)["uses_transparency"] is None
    # within the budget the whole image decides
    assert payload(encoded(_rgba(400, 300, range(250, 251)), "PNG"))["uses_transparency"] is True


def test_large_webp_with_alpha_is_not_decoded():
    limits = ExtractionLimits(max_transparency_pixels=4_096)
    data = encoded(_rgba(400, 300, range(2)), "WEBP", lossless=True)
    assert payload(data, limits)["uses_transparency"] is None
    assert payload(data)["uses_transparency"] is True


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, True),  # a transparent pixel in row 20 of 48, every row read
        ({"rle": False}, True),  # raw merged rows
        ({"transparent": ()}, False),  # a transparency channel, all opaque
        ({"merged_alpha": False}, False),  # the fourth channel is a saved selection
    ],
    ids=["rle", "raw", "opaque", "selection"],
)
def test_psd_transparency_comes_from_the_merged_images_transparency_channel(options, expected):
    assert payload(design_file("psd_transparent", **options))["uses_transparency"] is expected


def test_large_psd_samples_evenly_spaced_rows_of_its_transparency_channel():
    limits = ExtractionLimits(max_transparency_pixels=4_000)  # 10 of 300 rows of 400 px
    big = {"width": 400, "height": 300}
    sampled = design_file("psd_transparent", transparent=((5, 0),), **big)
    assert payload(sampled, limits)["uses_transparency"] is True
    between = design_file("psd_transparent", transparent=((5, 150),), **big)
    assert payload(between, limits)["uses_transparency"] is None  # not in a sampled row
    assert payload(between)["uses_transparency"] is True  # every row within the default


# --- XMP that fails the facet, never the file ---------------------------------------------------


def _png_with_xmp(packet: bytes) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet.decode("utf-8"))
    return encoded(Image.new("RGB", (8, 8)), "PNG", pnginfo=info)


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (
            b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>',
            "hostile_content",
        ),
        (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>', "unreadable_file"),
    ],
    ids=["entities", "not-well-formed"],
)
def test_bad_xmp_fails_the_document_facet_only(packet, reason):
    meta = metadata(_png_with_xmp(packet))
    assert (meta.width_px, meta.height_px) == (8, 8)  # the header facts stand
    (result,) = meta.facets
    assert (result.facet, result.status, result.reason_code) == ("document", "failed", reason)
    assert result.payload is None and result.message


def test_xmp_past_its_byte_limit_is_read_no_further():
    packet = xmp_packet(padding=50_000)
    limits = ExtractionLimits(max_xmp_bytes=len(packet) - 20_000)  # cut inside the padding
    facts = payload(_png_with_xmp(packet), limits)
    assert facts["document_id"] == DOCUMENT_ID
    facts = payload(_png_with_xmp(packet), ExtractionLimits(max_xmp_bytes=200))  # cut early
    assert facts["document_id"] is None


# --- which facets run ---------------------------------------------------------------------------


def test_only_the_facets_asked_for_that_cover_the_format_run():
    data = design_file("psd_with_text")
    assert metadata(data, facets=frozenset()).facets == ()
    assert [f.facet for f in metadata(data, facets=frozenset({"document"})).facets] == ["document"]
    png = small("png_with_alpha")
    assert [f.facet for f in metadata(png).facets] == ["document"]  # structure/text: no PNG
    assert metadata(png, facets=frozenset({"structure", "text"})).facets == ()


def test_extraction_is_deterministic():
    data = design_file("pdf_with_text")
    assert metadata(data).facets == metadata(data).facets


# --- ICC ----------------------------------------------------------------------------------------


def _v4_profile(description: str, space: bytes) -> bytes:
    text = description.encode("utf-16-be")
    mluc = b"mluc" + b"\0" * 4 + (1).to_bytes(4, "big") + (12).to_bytes(4, "big")
    mluc += b"enUS" + len(text).to_bytes(4, "big") + (28).to_bytes(4, "big") + text
    header = bytearray(128)
    header[8:12] = b"\x04\x30\x00\x00"
    header[16:20], header[36:40] = space, b"acsp"
    table = (
        (1).to_bytes(4, "big") + b"desc" + (144).to_bytes(4, "big") + len(mluc).to_bytes(4, "big")
    )
    profile = bytes(header) + table + mluc
    return len(profile).to_bytes(4, "big") + profile[4:]


def test_icc_version_4_description_and_colour_space():
    assert icc_facts(_v4_profile("Coated FOGRA39", b"CMYK"), 1 << 20) == ("Coated FOGRA39", "CMYK")
    assert icc_facts(_v4_profile("Dot Gain 20%", b"GRAY"), 1 << 20) == ("Dot Gain 20%", "GRAY")


@pytest.mark.parametrize(
    "profile", [b"", b"\0" * 200, _v4_profile("x", b"RGB ")[:100]], ids=["empty", "zeros", "cut"]
)
def test_what_is_not_an_icc_profile_gives_nothing(profile):
    assert icc_facts(profile, 1 << 20) == (None, None)


def test_icc_profile_over_its_limit_is_not_read():
    assert icc_facts(_v4_profile("Big", b"RGB "), 64) == (None, None)


# --- XMP forms ----------------------------------------------------------------------------------

_NAMESPACES = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
    'xmlns:stRef="http://ns.adobe.com/xap/1.0/sType/ResourceRef#"'
)


def _xmp(description: str) -> bytes:
    return (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_NAMESPACES}>'
        f'<rdf:Description rdf:about="">{description}</rdf:Description></rdf:RDF></x:xmpmeta>'
    ).encode()


def test_xmp_properties_as_elements_and_derived_from_as_a_resource():
    packet = _xmp(
        "<xmp:CreatorTool>Figma</xmp:CreatorTool><xmpMM:DocumentID>d1</xmpMM:DocumentID>"
        '<xmpMM:DerivedFrom rdf:parseType="Resource"><stRef:documentID>p1</stRef:documentID>'
        "</xmpMM:DerivedFrom>"
    )
    fields = read_xmp(packet, 1 << 20, 256)
    assert (fields.creator_tool, fields.document_id, fields.derived_from) == ("Figma", "d1", "p1")


def test_xmp_ids_of_placed_files_and_history_are_not_the_documents():
    packet = _xmp(
        '<xmpMM:DerivedFrom><rdf:Description stRef:documentID="parent"/></xmpMM:DerivedFrom>'
        '<xmpMM:Pantry><rdf:Bag><rdf:li><rdf:Description xmpMM:DocumentID="placed" '
        'xmpMM:InstanceID="placed-i"/></rdf:li></rdf:Bag></xmpMM:Pantry>'
        "<xmpMM:InstanceID>own</xmpMM:InstanceID>"
    )
    fields = read_xmp(packet, 1 << 20, 256)
    assert (fields.document_id, fields.instance_id, fields.derived_from) == (None, "own", "parent")
