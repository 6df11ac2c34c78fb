"""The structure and text facets of PSD, SVG and PDF files, on generated files: the layer tree
and artboards, SVG elements, PDF pages, text runs and fonts, and the limits that cut them."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image
from psd_tools import PSDImage

from orchestration.corpus.rich import ARABIC_HELLO, make_type_layer
from orchestration.corpus.rich_pdf import PDF_PAGE_SIZES
from pixelforge_core.facets import FACET_NAMES, facet, facets_of
from pixelforge_core.limits import DEFAULT_LIMITS, ExtractionLimits
from pixelforge_core.records import DesignMetadata
from snowpark_procs.metadata import extract_metadata
from snowpark_procs.metadata.facet_extraction import EXTRACTORS
from snowpark_procs.metadata.svg_facets import css_font_families
from tests.fixtures.design_files import design_file, small, stream


def facets(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> dict[str, dict]:
    result = extract_metadata(stream(data), "file", limits)
    assert isinstance(result, DesignMetadata), result
    for each in result.facets:
        assert (each.status, each.version) == ("ok", facet(each.facet).version), each
    return {each.facet: each.payload for each in result.facets}


def test_every_extraction_facet_has_an_extractor_for_exactly_its_formats():
    extraction = {f.name for f in facets_of("extract_metadata")}
    assert set(EXTRACTORS) == extraction and extraction < set(FACET_NAMES)
    for name, by_format in EXTRACTORS.items():
        assert set(by_format) == facet(name).formats, name


# --- PSD --------------------------------------------------------------------------------------


def test_psd_layer_tree_with_kinds_parents_depths_and_artboard():
    structure = facets(design_file("psd_with_text"))["structure"]
    rows = [
        (x["index"], x["parent_index"], x["depth"], x["name"], x["kind"], x["visible"])
        for x in structure["layers"]
    ]
    assert rows == [
        (0, None, 0, "Instagram post", "group", True),
        (1, 0, 1, "Background", "pixel", True),
        (2, 0, 1, "Shade", "pixel", False),
        (3, 0, 1, "Headline", "text", True),
        (4, 0, 1, "Subline", "text", True),
        (5, 0, 1, "Badges", "group", True),
        (6, 5, 2, "Badge text", "text", True),
    ]
    shade = structure["layers"][2]
    assert (shade["opacity"], shade["blend_mode"], shade["bbox"]) == (
        0.502,
        "multiply",
        [0, 10, 400, 310],
    )
    badges = structure["layers"][5]
    assert badges["blend_mode"] == "pass_through"
    assert badges["bbox"] == structure["layers"][6]["bbox"] == [300, 200, 380, 240]  # its child's
    assert structure["artboards"] == [{"name": "Instagram post", "bbox": [0, 0, 800, 600]}]
    assert structure["layers_truncated"] is False
    assert (structure["svg"], structure["pages"], structure["has_forms"]) == (None, [], None)


def test_psd_layer_listing_stops_at_its_limit_and_says_so():
    limits = ExtractionLimits(max_layers=3)
    structure = facets(design_file("psd_with_text"), limits)["structure"]
    assert [x["index"] for x in structure["layers"]] == [0, 1, 2]
    assert structure["layers_truncated"] is True
    header = extract_metadata(stream(design_file("psd_with_text")), "f", limits)
    assert header.layer_count == 7  # the header still counts them all


def test_psd_text_layers_give_runs_by_layer_index_and_their_fonts():
    text = facets(design_file("psd_with_text"))["text"]
    assert text["runs"] == [
        {"source": "layer", "ref": 3, "text": "Summer sale"},
        {"source": "layer", "ref": 4, "text": f"Up to 50% off \u2013 {ARABIC_HELLO}"},
        {"source": "layer", "ref": 6, "text": "NEW"},
    ]
    assert text["fonts"] == ["ArialMT", "Inter-Bold", "Inter-Regular"]
    assert text["truncated"] is False


def test_psd_without_text_layers_has_an_empty_text_facet():
    assert facets(small("psd_layered"))["text"] == {"runs": [], "fonts": [], "truncated": False}


def _psd_with_texts(texts: list[str], fonts: list[str]) -> bytes:
    psd = PSDImage.new("RGB", (64, 64))
    for index, text in enumerate(texts):
        layer = psd.create_pixel_layer(Image.new("RGBA", (8, 8)), name=f"t{index}")
        make_type_layer(layer, text, fonts, [(i, 1) for i in range(len(fonts))])
    buffer = io.BytesIO()
    psd.save(buffer)
    return buffer.getvalue()


def test_text_is_cut_at_its_character_and_run_limits():
    data = _psd_with_texts(["a" * 40, "b" * 40, "c" * 40], ["Inter"])
    text = facets(data, ExtractionLimits(max_text_chars=50))["text"]
    assert [len(r["text"]) for r in text["runs"]] == [40, 10]
    assert text["truncated"] is True
    text = facets(data, ExtractionLimits(max_text_runs=2))["text"]
    assert [r["text"][0] for r in text["runs"]] == ["a", "b"] and text["truncated"] is True


def test_photoshop_line_breaks_become_newlines():
    text = facets(_psd_with_texts(["one\rtwo\r\nthree"], ["Inter"]))["text"]
    assert text["runs"][0]["text"] == "one\ntwo\nthree"


# --- SVG --------------------------------------------------------------------------------------


def test_svg_structure_counts_its_own_elements_and_embedded_rasters():
    structure = facets(design_file("svg_with_text"))["structure"]
    svg = structure["svg"]
    assert svg["view_box"] == [0.0, 0.0, 600.0, 400.0]
    assert svg["embedded_rasters"] == 1
    assert svg["element_counts"] == {
        "circle": 2,
        "defs": 1,
        "g": 2,
        "image": 1,
        "linearGradient": 1,
        "metadata": 1,
        "rect": 1,
        "stop": 1,
        "svg": 1,
        "text": 2,
        "title": 1,
        "tspan": 1,
    }  # fmt: skip  (the XMP inside <metadata> is not SVG and is not counted)
    assert (structure["layers"], structure["pages"], structure["has_annotations"]) == ([], [], None)


def test_svg_text_elements_and_font_families():
    text = facets(design_file("svg_with_text"))["text"]
    assert text["runs"] == [
        {"source": "svg", "ref": 1, "text": "Spring collection"},
        {"source": "svg", "ref": 2, "text": "Caf\u00e9 \u2013 2026"},
    ]
    assert text["fonts"] == ["Inter", "Playfair Display", "Roboto Mono"]  # sans-serif: generic


def test_svg_without_a_view_box_or_text():
    data = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
    found = facets(data)
    assert found["structure"]["svg"] == {
        "view_box": None,
        "element_counts": {"rect": 1, "svg": 1},
        "embedded_rasters": 0,
    }
    assert found["text"] == {"runs": [], "fonts": [], "truncated": False}


@pytest.mark.parametrize(
    ("css", "families"),
    [
        ("font-family: 'Open Sans', Arial, sans-serif", ["Open Sans", "Arial"]),
        (
            '.a{font-family:"Noto Sans JP"} .b{font: italic bold 12px/30px Georgia, serif}',
            ["Noto Sans JP", "Georgia"],
        ),
        ("font-family: Inter !important; fill: red", ["Inter"]),
        ("font-fam\\69 ly: Lato", ["Lato"]),  # a CSS escape, resolved as a renderer does
        ("fill: red", []),
    ],
)
def test_css_font_families(css, families):
    assert css_font_families(css) == families


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_pages_annotations_and_forms():
    structure = facets(design_file("pdf_with_text"))["structure"]
    assert structure["pages"] == [
        {"page": n + 1, "width_pt": w, "height_pt": h} for n, (w, h) in enumerate(PDF_PAGE_SIZES)
    ]
    assert (structure["has_annotations"], structure["has_forms"]) == (True, True)
    plain = facets(small("pdf_multipage"))["structure"]
    assert (plain["has_annotations"], plain["has_forms"]) == (False, False)
    assert len(plain["pages"]) == 3


def test_pdf_page_listing_is_capped():
    structure = facets(design_file("pdf_with_text", pages=5), ExtractionLimits(max_pages=2))[
        "structure"
    ]
    assert [p["page"] for p in structure["pages"]] == [1, 2]


def test_pdf_text_of_the_first_pages_and_font_names_without_subset_prefixes():
    text = facets(design_file("pdf_with_text"))["text"]
    assert text["runs"] == [
        {"source": "page", "ref": n, "text": f"Chapter {n}\nBrand colours and type, page {n}."}
        for n in (1, 2, 3)
    ]
    assert text["fonts"] == ["Helvetica", "Inter-Bold"]  # "QXKZAB+Inter-Bold" in the file
    assert text["truncated"] is False


def test_pdf_text_stops_at_its_page_limit_and_says_so():
    limits = ExtractionLimits(max_text_pages=2)
    text = facets(design_file("pdf_with_text", pages=4), limits)["text"]
    assert [r["ref"] for r in text["runs"]] == [1, 2]
    assert text["truncated"] is True


def test_pdf_text_stops_at_its_content_budget():
    data = design_file("pdf_with_text")
    text = facets(data, ExtractionLimits(max_text_content_bytes=10))["text"]
    assert text["runs"] == [] and text["truncated"] is True
    assert text["fonts"] == ["Helvetica", "Inter-Bold"]  # fonts come from the resources
    page = len(zlib.decompress(_first_content_stream(data)))
    text = facets(data, ExtractionLimits(max_text_content_bytes=2 * page + 1))["text"]
    assert [r["ref"] for r in text["runs"]] == [1, 2] and text["truncated"] is True


def _first_content_stream(pdf: bytes) -> bytes:
    start = pdf.index(b"/FlateDecode >>\nstream\n") + len(b"/FlateDecode >>\nstream\n")
    return pdf[start : pdf.index(b"\nendstream", start)]
