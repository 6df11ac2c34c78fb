"""Hostile inputs through the extraction facets: layer floods, deep nesting, text bombs, fonts
and names with control characters, bidirectional overrides, right-to-left script and 10000
characters, XMP entity expansion. Each file is described (its header facts stand) with every
facet ok within its limits or failed with a reason, in bounded time and memory."""

from __future__ import annotations

import io
import json
import time
import unicodedata
from pathlib import Path

import pytest

from orchestration.corpus.rich import psd_transparent
from pixelforge_core.facets import FacetResult
from pixelforge_core.limits import DEFAULT_LIMITS
from pixelforge_core.records import DesignMetadata
from snowpark_procs.metadata import extract_metadata
from tests.hostile import corpus_facets as hostile
from tests.hostile.helpers import measure_in_subprocess

# CPU seconds (user+sys of this process): the host is shared, wall time is not this file's.
# Each takes 2 s or less alone.
CPU_SECONDS = 5.0
PEAK_MIB = 300  # above the worker's own baseline


def extract(
    data: bytes, name: str, folder: Path | None = None
) -> tuple[DesignMetadata, dict[str, FacetResult]]:
    """Extract in this process (its CPU time bounded); with `folder`, also in a fresh one whose
    peak memory (RSS high-water mark above its baseline) is bounded."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = extract_metadata(io.BytesIO(data), name)
    cpu = time.process_time() - cpu_started
    print(f"{name} ({len(data)} bytes): {cpu:.2f} s CPU, {time.perf_counter() - started:.2f} s")
    assert isinstance(result, DesignMetadata), result
    assert cpu < CPU_SECONDS
    facets = {each.facet: each for each in result.facets}
    json.dumps([each.payload for each in result.facets])  # every payload is storable as JSON
    if folder is not None:
        path = folder / name
        path.write_bytes(data)
        measured = measure_in_subprocess("extract", path)
        print(f"{name} in a fresh process: {measured}")
        assert measured["facets"] == {k: v.reason_code or v.status for k, v in facets.items()}
        assert measured["peak_mib"] - measured["baseline_mib"] < PEAK_MIB
    return result, facets


def ok(facets: dict[str, FacetResult], name: str) -> dict:
    result = facets[name]
    assert result.status == "ok", result
    assert result.payload is not None
    return result.payload


def readable(text: str) -> bool:
    """No control character, no bidirectional override, no lone surrogate."""
    return not any(
        unicodedata.category(c) in ("Cc", "Cs") or 0x202A <= ord(c) <= 0x202E for c in text
    )


@pytest.mark.slow  # a 5,000-layer PSD built and parsed in a fresh process
def test_hostile_psd_with_5000_layers_lists_the_first_ones(tmp_path):
    meta, facets = extract(hostile.psd_layer_flood(5_000), "flood.psd", tmp_path)
    assert meta.layer_count == 5_000
    structure = ok(facets, "structure")
    assert len(structure["layers"]) == DEFAULT_LIMITS.max_layers
    assert structure["layers_truncated"] is True
    assert ok(facets, "text") == {"runs": [], "fonts": [], "truncated": False}


def test_hostile_psd_with_groups_2000_deep_is_walked_without_recursion(tmp_path):
    meta, facets = extract(hostile.psd_deep_groups(2_000), "deep.psd", tmp_path)
    assert meta.layer_count == 2_001
    structure = ok(facets, "structure")
    layers = structure["layers"]
    assert [layer["depth"] for layer in layers[:3]] == [0, 1, 2]
    # one group per level, listed down to the cap; the walk stops at the 1,000th entry too
    cap = DEFAULT_LIMITS.max_layer_depth
    assert [layer["depth"] for layer in layers] == list(range(cap + 1))
    assert structure["layers_truncated"] is True
    assert facets["structure"].message == (
        f"cut at max_layer_depth = {cap}, max_layers = 1,000 (pixelforge_core/limits.py)"
    )
    assert facets["structure"].reason_code is None


@pytest.mark.parametrize("depth", [DEFAULT_LIMITS.max_layer_depth, 4_000])
def test_hostile_psd_nested_to_the_cap_is_listed_whole_and_past_it_to_the_cap(depth):
    """A PSD's layer count is a signed 16-bit number: two records a group, at most 16,383
    levels (about 8 s of psd-tools parsing, as a 32,767-layer flood); the walk never recurses."""
    meta, facets = extract(hostile.psd_deep_groups(depth, 64, 16, has_composite=False), "d.psd")
    assert meta.layer_count == depth + 1
    structure = ok(facets, "structure")
    cap = DEFAULT_LIMITS.max_layer_depth
    assert len(structure["layers"]) == min(depth, cap) + 1
    assert structure["layers_truncated"] is (depth > cap)
    assert (facets["structure"].message is None) is (depth <= cap)
    assert structure["layers"][-1]["name"] == ("deepest" if depth <= cap else f"group {cap + 1}")


def test_hostile_psd_text_over_its_limit_is_cut(tmp_path):
    data = hostile.psd_text(["x" * 5_000] * 30, ["Inter"], noise_side=1_000)
    _, facets = extract(data, "text-bomb.psd", tmp_path)
    text = ok(facets, "text")
    assert sum(len(run["text"]) for run in text["runs"]) == DEFAULT_LIMITS.max_text_chars
    assert text["truncated"] is True
    assert facets["text"].message == "cut at max_text_chars = 100,000 (pixelforge_core/limits.py)"


@pytest.mark.slow  # a 10 MB SVG parsed in a fresh process
def test_hostile_svg_text_flood_is_cut_at_its_limits(tmp_path):
    _, facets = extract(hostile.svg_text_flood(50_000, 200), "flood.svg", tmp_path)
    text = ok(facets, "text")
    assert sum(len(run["text"]) for run in text["runs"]) == DEFAULT_LIMITS.max_text_chars
    assert len(text["runs"]) <= DEFAULT_LIMITS.max_text_runs and text["truncated"] is True
    assert ok(facets, "structure")["svg"]["element_counts"]["text"] == 50_000


def test_hostile_pdf_text_bomb_is_skipped_past_its_content_limit(tmp_path):
    _, facets = extract(hostile.pdf_text_bomb(60), "text-bomb.pdf", tmp_path)
    text = ok(facets, "text")
    assert text["runs"] == [] and text["truncated"] is True
    assert "max_text_content_bytes = 1,048,576" in facets["text"].message


@pytest.mark.slow  # a megabyte of PDF text operators parsed in a fresh process
def test_hostile_pdf_dense_text_operators_stop_at_the_content_budget(tmp_path):
    _, facets = extract(hostile.pdf_dense_text(10, 35_000), "dense-text.pdf", tmp_path)
    text = ok(facets, "text")
    assert len(text["runs"]) == 2 and text["truncated"] is True  # about 0.5 MB a page


def _check_names(names: list[str]) -> None:
    assert names and all(readable(name) for name in names), names
    assert all(len(name) <= DEFAULT_LIMITS.max_name_chars for name in names)
    assert any("\u0646\u0633\u062e" in name for name in names)  # right-to-left script kept


def test_hostile_psd_layer_names_are_cleaned():
    _, facets = extract(hostile.psd_odd_layer_names(), "odd-names.psd")
    _check_names([layer["name"] for layer in ok(facets, "structure")["layers"]])


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("odd-fonts.psd", lambda: hostile.psd_text(["x" * 40], list(hostile.ODD_NAMES), 200)),
        ("odd-fonts.svg", hostile.svg_odd_fonts),
        ("odd-fonts.pdf", hostile.pdf_odd_fonts),
    ],
)
def test_hostile_font_names_are_cleaned(name, make):
    _, facets = extract(make(), name)
    fonts = ok(facets, "text")["fonts"]
    _check_names(fonts)
    assert any("W" * 100 in font for font in fonts)  # the long name, cut


def test_hostile_pdf_font_name_over_pypdfs_token_limit_fails_the_text_facet_alone():
    meta, facets = extract(hostile.pdf_odd_fonts(long_name_chars=10_000), "long-font.pdf")
    assert meta.page_count == 1
    assert (facets["text"].status, facets["text"].reason_code) == ("failed", "unreadable_file")
    assert facets["structure"].status == facets["document"].status == "ok"


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "psd", "pdf"])
def test_hostile_xmp_billion_laughs_fails_the_document_facet(fmt):
    meta, facets = extract(hostile.xmp_bomb(fmt), f"laughs.{fmt}")
    assert meta.width_px  # the header facts stand
    document = facets["document"]
    assert (document.status, document.reason_code) == ("failed", "hostile_content")
    assert document.payload is None
    assert all(each.status == "ok" for name, each in facets.items() if name != "document")


def _merged_data_offset(data: bytes) -> int:
    position = 26
    for _ in range(3):  # colour mode data, image resources, layer and mask information
        position += 4 + int.from_bytes(data[position : position + 4], "big")
    return position


@pytest.mark.parametrize("damage", ["cut", "huge-row-lengths", "zip-compressed"])
def test_hostile_psd_merged_transparency_data_that_lies(damage):
    data = bytearray(psd_transparent(width=300, height=200))
    merged = _merged_data_offset(bytes(data))
    if damage == "cut":
        data = data[: merged + 2 + 4 * 200 * 2 + 10]  # the row table, then almost nothing
    elif damage == "huge-row-lengths":
        data[merged + 2 : merged + 2 + 4 * 200 * 2] = b"\xff\xff" * (4 * 200)
    else:
        data[merged : merged + 2] = (3).to_bytes(2, "big")  # ZIP with prediction: not sampled
    _, facets = extract(bytes(data), f"{damage}.psd")
    document = ok(facets, "document")
    assert document["uses_transparency"] is None
