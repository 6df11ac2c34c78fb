"""A file's facets on the embedded stack: one run over design files that hold them (layers,
text, fonts, XMP lineage, near-duplicates, a quarantined file), then `pixelforge explain` and
the dashboard's Files page (AppTest, then headless Chromium with a screenshot) over the real
marts."""

from __future__ import annotations

import io
import re
import urllib.parse

import pytest
from PIL import Image, PngImagePlugin
from streamlit.testing.v1 import AppTest

from dashboard.files_page import literal
from orchestration.corpus import rich, rich_pdf
from orchestration.corpus.content import artwork, encode
from orchestration.local.alerting import ensure_ops_views
from orchestration.local.stack import LocalStack
from tests.hostile.corpus_facets import pdf_odd_fonts
from tests.integration.conftest import runner_for, upload
from tests.ops.browser import capture, chromium_or_skip, served_dashboard
from tests.ops.conftest import ops_command
from tests.stack_pool import StackPool

pytestmark = pytest.mark.integration

POSTER = "campaign/poster.psd"
KEY_VISUAL = "campaign/key visual.png"
SMALL = "campaign/key visual small.png"
MASTER = "campaign/key visual master.png"
EMPTY = "broken/empty.png"
# facets a cap cut, or that failed, while the file stands (outside the "campaign" search)
LONG_PDF = "limits/eleven pages.pdf"
LONG_FONT_PDF = "limits/long font name.pdf"


def files_with_facets() -> dict[str, bytes]:
    """A PSD with type layers, an SVG and a PDF with text, a PNG export with XMP and a smaller
    copy of it (a near-duplicate), the master it derives from (its DocumentID is their
    DerivedFrom), an empty file, a PDF longer than its text facet reads and one whose font name
    fails its text facet."""
    key_visual = rich.raster_with_xmp("png", 320, 200, seed=11)
    small = Image.open(io.BytesIO(key_visual)).resize((288, 180), Image.Resampling.LANCZOS)
    master_xmp = rich.xmp_packet(
        document_id=rich.DERIVED_FROM,
        instance_id="xmp.iid:master",
        derived_from="xmp.did:brief",
        title="Campaign master",
    )
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", master_xmp.decode("utf-8"))
    return {
        POSTER: rich.psd_with_text(400, 300, seed=4),
        "campaign/flyer.svg": rich.svg_with_text(seed=6),
        "campaign/brochure.pdf": rich_pdf.pdf_with_text(pages=2),
        KEY_VISUAL: key_visual,
        SMALL: encode(small, "PNG"),
        MASTER: encode(artwork(320, 200, 23, noise=0), "PNG", pnginfo=info),
        EMPTY: b"",
        LONG_PDF: rich_pdf.pdf_with_text(pages=11),
        LONG_FONT_PDF: pdf_odd_fonts(long_name_chars=10_000),
    }


@pytest.fixture(scope="module")
def stack(stack_pool: StackPool) -> LocalStack:
    stack = stack_pool.fresh()
    upload(stack, files_with_facets())
    assert runner_for(stack).run(kind="scheduled").succeeded
    ensure_ops_views(stack)
    return stack


def explain(stack: LocalStack, path: str) -> str:
    result = ops_command(stack, "explain", path, columns=80)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # tables fold long words at 80 columns


def test_explain_prints_a_psds_layers_text_fonts_and_lineage(stack):
    words = explain(stack, POSTER)
    assert "stage: queryable" in words
    for fact in (f"creator tool {rich.CREATOR_TOOL}", "Instagram post", "Headline",
                 "Badge text", "Summer sale", "Inter", "dominant colours"):  # fmt: skip
        assert fact in words, fact
    # its XMP DerivedFrom is the master's DocumentID
    assert f"derived from {MASTER}" in words


def test_explain_prints_near_duplicates_and_the_files_derived_from_one(stack):
    words = explain(stack, KEY_VISUAL)
    near = re.search(r"near-duplicates .*? file distance (.*?) (document lineage|lineage)", words)
    assert near is not None and SMALL in near.group(1), words
    assert f"derived from {MASTER}" in words
    master = explain(stack, MASTER)
    for derived in (POSTER, KEY_VISUAL):
        assert f"source of {derived}" in master


def test_explain_says_a_facet_was_truncated_or_failed_and_why(stack):
    """Through the ops view ops_marts.fct_file_facet_statuses over the run's raw.file_facets."""
    words = explain(stack, LONG_PDF)
    assert "stage: queryable" in words
    assert "facets (extractor version, status)" in words
    assert "document 1 ok structure 1 ok text 1 truncated" in words
    assert "cut at max_text_pages = 10 (pixelforge_core/limits.py)" in words
    words = explain(stack, LONG_FONT_PDF)
    assert "stage: queryable" in words  # the file stands, its text facet failed
    failed = re.search(r"text 1 failed unreadable_file: (\S+)", words)
    assert failed is not None, words


def test_explain_of_a_quarantined_file(stack):
    words = explain(stack, EMPTY)
    assert "stage: quarantined" in words and "empty_file" in words
    assert "layers (" not in words


def test_the_files_page_on_the_stack(stack, monkeypatch):
    for name, value in stack.settings.client_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PIXELFORGE_S3_PORT", str(stack.settings.s3_port))
    at = AppTest.from_string("from dashboard.files_page import page\npage()\n", default_timeout=60)
    at.query_params["q"] = "summer sale"
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox[0].value == POSTER  # both terms, in its text
    assert len(at.image) >= 2  # its thumbnail in the grid and beside its metadata
    assert at.table[0].value.loc["creator tool", "value"] == rich.CREATOR_TOOL
    labels = [tab.label for tab in at.tabs]
    assert labels[0].startswith("layers (") and labels[0] != "layers (0)"
    at.query_params["q"] = "empty"
    at.query_params["file"] = EMPTY
    at.run()
    (error,) = at.error
    assert error.value.startswith(f"quarantined ({literal('empty_file')})")


def test_the_files_page_in_headless_chromium(stack):
    chromium_or_skip()
    query = urllib.parse.urlencode({"q": "campaign", "file": POSTER})
    with served_dashboard(stack) as url:
        page = capture(f"{url}files?{query}", "files.png", "Design files", charts=1, images=6)
    text = page.text
    assert "Design files" in text and POSTER in text
    assert rich.CREATOR_TOOL in text  # the metadata table
    assert page.images >= 6, "the thumbnails did not load"  # five in the grid, one beside
    assert page.charts >= 1, "the colour swatches did not draw"
    assert page.screenshot.stat().st_size > 20_000
