"""One file's facts (orchestration/file_facts.py), how `pixelforge explain` prints them
(orchestration/facet_tables.py) and the dashboard's Files page (dashboard/files_page.py), on
stand-ins for the marts holding rows made for each case (tests/ops/design_marts.py)."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console
from streamlit.testing.v1 import AppTest

from dashboard.files_page import literal
from orchestration.facet_tables import TEXT_CHARS, facts_view
from orchestration.file_facts import (
    metadata_items,
    quarantined_matches,
    read_file_facts,
    thumbnail_keys,
)
from tests.ops.design_marts import EMPTY, FAILED_REASON, HERO, OLD_HERO, TRUNCATED_REASON


def test_quarantined_matches_hold_every_reason_of_the_current_version(marts):
    (row,) = quarantined_matches(marts.session, ["empty", "absent"], 10)
    assert row["relative_path"] == EMPTY
    assert row["reason_codes"] == "empty_file, unsupported_format"
    assert "zero bytes" in row["reasons"] and "truncated" not in row["reason_codes"]
    assert quarantined_matches(marts.session, ["hero"], 10) == []
    assert quarantined_matches(marts.session, [], 10) == []


def test_one_files_facts(marts):
    facts = read_file_facts(marts.session, HERO, layer_rows=3, text_rows=5)
    assert facts.found and not facts.quarantined
    assert facts.state["pipeline_stage"] == "queryable"
    assert [e["event_name"] for e in facts.events] == ["discovered", "loaded"]
    assert [layer["layer_name"] for layer in facts.layers] == [
        "background",
        "title group",
        "headline",
    ]
    assert facts.layer_total == 4
    assert [t["text_ref"] for t in facts.text] == ["layer 2", "layer 10"]  # reading order
    assert facts.text_total == 2
    assert [c["color_hex"] for c in facts.colors] == ["#ff6600", "#003366", "not-a-colour"]
    assert [(n["relative_path"], n["hamming_distance"]) for n in facts.near_duplicates] == [
        ("team-a/hero banner small.png", 2),
        (OLD_HERO, 6),
    ]
    # the deleted derivative is not current
    assert [(d["relation"], d["relative_path"]) for d in facts.derivation] == [
        ("derived from", OLD_HERO),
        ("source of", "team-a/hero banner small.png"),
    ]
    assert dict(metadata_items(facts.design)) == {
        "format": "psd",
        "size": "800 x 600 px",
        "bytes": "1.5 MB",
        "creator tool": "Adobe Photoshop 25.0",
        "title": "Summer hero",
        "document id": "xmp.did:hero",
        "instance id": "xmp.iid:hero-2",
        "derived from": "xmp.did:old-hero",
        "ICC profile": "sRGB IEC61966-2.1",
        "colour space": "RGB",
        "transparency": "used",
        "dominant colour": "#ff6600",
        "perceptual hash": "c3a1f0e07c3c1e0f",
        "ThumbHash": "1QcSHQRnh493V4dIh4eXh1h4kJUI",
    }


def test_a_quarantined_file_and_an_unknown_path(marts):
    facts = read_file_facts(marts.session, EMPTY)
    assert facts.quarantined and facts.design["quarantine_reason_codes"] == "empty_file"
    assert facts.layers == [] and facts.colors == []
    assert not read_file_facts(marts.session, "no/such.png").found


def test_thumbnail_keys_of_the_found_versions(marts):
    keys = thumbnail_keys(marts.session, ["fv-hero", "fv-empty", "fv-unknown"])
    assert keys == {"fv-hero": "v1/fv-hero/256.webp"}
    assert thumbnail_keys(marts.session, []) == {}
    assert json.dumps(["a'b"])  # ids travel as one JSON bind, never spliced into SQL
    assert thumbnail_keys(marts.session, ["x') or 1=1 --"]) == {}


def render(facts: object) -> str:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system="truecolor")
    for part in facts_view(facts):  # type: ignore[arg-type]
        console.print(part, highlight=False)
    return out.getvalue()


def test_explain_prints_the_facets_in_80_columns(marts):
    output = render(read_file_facts(marts.session, HERO, layer_rows=3))
    words = " ".join(_strip(output).split())  # a title wraps at its table's width
    for title in (
        "metadata (current version)",
        "layers (4 layers, the first 3)",
        "text (2 runs or pages)",
        "dominant colours",
        "near-duplicates (perceptual hash, bits apart)",
        "document lineage (XMP DerivedFrom -> DocumentID)",
        "lineage (times UTC, etags to 8 characters)",
    ):
        assert title in words, title
    assert "\x1b[48;2;255;102;0m" in output  # the #ff6600 swatch, drawn in its colour
    assert "Adobe Photoshop 25.0" in words and "xmp.did:old-hero" in words
    assert "  headline" in _strip(output)  # indented under its group
    assert f"... ({len('fine print ' * 40) - 1:,} characters)" in words
    assert len(f"layer 10 {'fine print ' * 40}") > TEXT_CHARS
    assert all(len(line) <= 80 for line in _strip(output).splitlines())


def _strip(output: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", output)


def test_one_files_facet_statuses_are_its_current_versions(marts):
    facts = read_file_facts(marts.session, HERO)
    assert [(f["facet"], f["facet_version"], f["facet_status"], f["reason"])
            for f in facts.facets] == [
        ("document", 1, "ok", None),
        ("structure", 1, "truncated", TRUNCATED_REASON),
        ("text", 1, "failed", FAILED_REASON),
        ("visual", 1, "ok", None),  # the older version's failed visual facet is not shown
    ]  # fmt: skip
    assert read_file_facts(marts.session, EMPTY).facets == []


def test_explain_says_which_facets_were_truncated_or_failed_and_why(marts):
    output = render(read_file_facts(marts.session, HERO))
    plain = _strip(output)
    words = " ".join(plain.split())
    assert "facets (extractor version, status)" in words
    # one row a facet (a long reason folds under its column, within 80 columns)
    assert (
        f"document 1 ok structure 1 truncated {TRUNCATED_REASON} text 1 failed "
        f"{FAILED_REASON} visual 1 ok"
    ) in words
    assert "an older version" not in words
    assert "\x1b[31mfailed" in output and "\x1b[33mtruncated" in output  # red, yellow
    assert all(len(line) <= 80 for line in plain.splitlines())


def test_explain_of_a_quarantined_file_says_why(marts):
    output = _strip(render(read_file_facts(marts.session, EMPTY)))
    assert "stage: quarantined" in output
    assert "why not queryable: failed quality rules: empty_file" in output
    assert "layers" not in output


class StoredThumbnails:
    """The thumbnails bucket as a dict (the page reads it through the Thumbnails seam)."""

    def __init__(self, images: dict[str, bytes]) -> None:
        self.images = images
        self.reads: list[str] = []

    def image(self, key: str) -> bytes | None:
        self.reads.append(key)
        return self.images.get(key)


def webp(color: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (256, 192), color).save(out, "WEBP")
    return out.getvalue()


@pytest.fixture
def files_page(marts, monkeypatch):
    """The Files page on the stand-ins, its thumbnails from a dict."""
    from dashboard import sources

    thumbnails = StoredThumbnails({"v1/fv-hero/256.webp": webp("#ff6600"),
                                   "v1/fv-logo/256.webp": webp("#003366")})  # fmt: skip
    monkeypatch.setattr(
        sources, "cached_sources", lambda *_: sources.Sources(marts.session, thumbnails)
    )
    script = "from dashboard.files_page import page\npage()\n"
    return AppTest.from_string(script, default_timeout=60), thumbnails


def test_the_files_page_searches_shows_thumbnails_and_one_files_facts(files_page):
    at, thumbnails = files_page
    at.query_params["q"] = "logo sale"
    at.run()
    assert not at.exception and not at.error
    assert "3 queryable files for logo, sale" in at.caption.values
    # the grid: a thumbnail where the bucket has one, a caption where it has none
    assert len(at.image) == 3  # two in the grid, the chosen file's beside its metadata
    assert set(thumbnails.reads) == {f"v1/fv-{n}/256.webp" for n in ("hero", "logo", "photo")}
    assert "(no thumbnail)" in at.caption.values  # the photo's is not in the bucket
    # the first match is shown: its metadata, colours, layers, text, near-duplicates, lineage
    assert at.selectbox[0].value == HERO
    assert at.query_params["file"] == HERO  # kept in the URL
    metadata = at.table[0].value
    assert metadata.loc["creator tool", "value"] == "Adobe Photoshop 25.0"
    assert [tab.label for tab in at.tabs] == [
        "layers (4)", "text (2)", "near-duplicates (2)", "lineage"
    ]  # fmt: skip
    assert len(at.get("vega_lite_chart")) == 1  # the colour swatches


def test_the_files_page_shows_each_facets_status_and_reason(files_page):
    at, _ = files_page
    at.query_params["q"] = "sale"
    at.query_params["file"] = HERO
    at.run()
    assert not at.exception and not at.error
    assert "facets (extractor version, status)" in at.caption.values
    facets = at.table[1].value
    assert list(facets.columns) == ["version", "status", "reason"]
    assert facets["status"].to_dict() == {
        "document": "ok", "structure": "truncated", "text": "failed", "visual": "ok"
    }  # fmt: skip
    assert facets.loc["structure", "reason"] == TRUNCATED_REASON
    assert facets.loc["text", "reason"] == FAILED_REASON


def test_the_files_page_shows_a_quarantined_file_with_its_reason(files_page):
    at, _ = files_page
    at.query_params["q"] = "empty"
    at.query_params["file"] = EMPTY
    at.run()
    assert not at.exception
    assert "0 queryable files for empty; 1 quarantined" in at.caption.values
    assert at.selectbox[0].value == EMPTY
    (error,) = at.error
    assert error.value == (
        f"quarantined ({literal('empty_file')}): {literal('failed quality rules: empty_file')}"
    )


def test_the_files_page_without_a_search(files_page):
    at, thumbnails = files_page
    at.run()
    assert not at.exception
    assert at.info[0].value == "Type a word to search the current design files."
    assert thumbnails.reads == [] and not at.selectbox
