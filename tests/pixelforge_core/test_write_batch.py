"""The write batch (pixelforge_core/write_batch.py): binds packed up to MAX_BIND_BYTES, and the
largest row of every kind the steps bind fitting one bind, so packing never refuses a row.

The largest rows are built from the limits (pixelforge_core/limits.py and the modules that cut
to them): every string at its cut length in the character whose JSON takes the most bytes. A
cleaned string (snowpark_procs/metadata/clean.py removes control characters and lone
surrogates) takes at most 4 bytes a character (an astral one, in UTF-8); a string nothing
cleans (a key, an error message) 6 (a control character as \\u0001, a lone surrogate as
\\udcff). S3 keys are at most 1,024 bytes of UTF-8 ("Naming Amazon S3 objects",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from ecs_render.visual import MAX_DOMINANT_COLORS
from pixelforge_core.limits import DEFAULT_LIMITS
from pixelforge_core.write_batch import (
    MAX_BIND_BYTES,
    BindTooLargeError,
    json_binds,
    json_dumps,
    utf8_len,
)
from snowpark_procs.metadata.svg_facets import MAX_ELEMENT_KINDS

L = DEFAULT_LIMITS
ASTRAL = "\U0001f600"  # 4 bytes of UTF-8, 12 as \u escapes
CONTROL = "\x01"  # 1 byte of a key, 6 in JSON
KEY = CONTROL * 1024  # the longest S3 key, in its costliest character
ETAG = "f" * 32 + "-10000"  # a multipart ETag
MESSAGE = "\udcff" * 2000  # messages are cut to 2,000 characters where they are bound
BIG = 2**63  # any whole number
RUN_ID = "0" * 36


def name() -> str:
    return ASTRAL * L.max_name_chars


def keyed(row: dict[str, Any]) -> dict[str, Any]:
    return {"relative_path": KEY, "etag": ETAG, "run_id": RUN_ID, **row}


def facet_row(facet: str, payload: dict[str, Any]) -> dict[str, Any]:
    return keyed(
        {
            "facet": facet,
            "facet_version": BIG,
            "status": "ok",
            "reason_code": None,
            "error_message": MESSAGE,
            "payload": payload,
        }
    )


def structure() -> dict[str, Any]:
    """Every shape at once (a file has one of them): the layer tree and artboards of a PSD, an
    SVG's counts, a PDF's pages."""
    box = [-BIG, -BIG, BIG, BIG]
    layers = [
        {
            "index": BIG,
            "parent_index": BIG,
            "depth": BIG,
            "name": name(),
            "kind": "smart_object",
            "visible": False,
            "opacity": 0.123456789012345,
            "blend_mode": name(),
            "bbox": box,
        }
        for _ in range(L.max_layers)
    ]
    return {
        "layers": layers,
        "layers_truncated": True,
        # an artboard is a listed layer (psd_facets.py)
        "artboards": [{"name": name(), "bbox": box} for _ in range(L.max_layers)],
        "svg": {
            "view_box": [-1.2345678901234567e300] * 4,
            "element_counts": {f"{i:03d}{name()[3:]}": BIG for i in range(MAX_ELEMENT_KINDS)},
            "embedded_rasters": BIG,
        },
        "pages": [
            {"page": BIG, "width_pt": -1.2345678901234567e300, "height_pt": -1.2e300}
            for _ in range(L.max_pages)
        ],
        "has_annotations": True,
        "has_forms": True,
    }


def text() -> dict[str, Any]:
    """max_text_chars in all over max_text_runs runs, and max_fonts names."""
    per_run = L.max_text_chars // L.max_text_runs
    runs = [{"source": "layer", "ref": BIG, "text": ASTRAL * per_run}] * L.max_text_runs
    return {"runs": runs, "fonts": [name()] * L.max_fonts, "truncated": True}


def document() -> dict[str, Any]:
    strings = [
        *("creator_tool", "document_id", "instance_id", "derived_from", "title", "author"),
        *("creator", "producer", "icc_profile", "color_space"),
    ]
    return {
        **dict.fromkeys(strings, name()),
        "uses_transparency": True,
        "animation_duration_ms": BIG,
        "loop_count": BIG,
    }


def visual() -> dict[str, Any]:
    colours = [{"hex": "#ffffff", "share": 0.123456789012345}] * MAX_DOMINANT_COLORS
    return {"dominant_colors": colours, "phash": "f" * 16, "thumbhash": "A" * 64}


def metadata() -> dict[str, Any]:
    numbers = "width_px height_px bit_depth frame_count page_count layer_count size_bytes"
    return keyed(
        {
            "status": "failed",
            "reason_code": "retries_exhausted",
            "error_message": MESSAGE,
            "format": "tiff",
            "mode": name(),
            "dpi_x": -1.2345678901234567e300,
            "dpi_y": -1.2345678901234567e300,
            # EXIF: five tags, each value cut to MAX_VALUE_CHARS (pixelforge_core/exif.py)
            "exif": dict.fromkeys(
                ["Make", "Model", "Orientation", "Software", "DateTimeOriginal"], name()
            ),
            "sha256": "f" * 64,
            **dict.fromkeys(numbers.split(), BIG),
        }
    )


WORST_ROWS: dict[str, dict[str, Any]] = {
    "structure facet": facet_row("structure", structure()),
    "text facet": facet_row("text", text()),
    "document facet": facet_row("document", document()),
    "visual facet": facet_row("visual", visual()),
    "metadata": metadata(),
    "thumbnail": keyed(
        {
            "size_px": BIG,
            "status": "failed",
            "reason_code": "retries_exhausted",
            "error_message": MESSAGE,
            "thumbnail_key": "thumbnails/" + "f" * 64 + "/1024.webp",
            "width_px": BIG,
            "height_px": BIG,
            "thumbnail_bytes": BIG,
        }
    ),
    "retry": keyed(
        {
            "step": "extract_metadata",
            "attempts": BIG,
            "reason_code": "extraction_incomplete",
            "error_message": MESSAGE,
        }
    ),
    "extraction request": {"relative_path": KEY, "etag": ETAG, "facets": "document,structure,text"},
    "render request": {"relative_path": KEY, "etag": ETAG, "sha256": "f" * 64, "size_bytes": BIG},
}


@pytest.mark.parametrize("kind", sorted(WORST_ROWS))
def test_the_largest_row_of_each_kind_fits_one_bind(kind: str) -> None:
    row = WORST_ROWS[kind]
    ((bind, count),) = json_binds([row])
    assert count == 1 and json.loads(bind) == [row]
    assert utf8_len(bind) <= MAX_BIND_BYTES


def test_the_largest_rows_are_the_limits_worth() -> None:
    """The builders above reach the limits (a test that the worst case is the worst case)."""
    assert utf8_len(json_dumps(WORST_ROWS["structure facet"])) > 2 * L.max_layers * (
        4 * L.max_name_chars
    )
    assert utf8_len(json_dumps(WORST_ROWS["text facet"])) > 4 * L.max_text_chars
    assert utf8_len(json_dumps({"k": KEY})) > 6 * 1024
    # in \\u escapes the structure facet would not fit: the steps bind UTF-8
    assert utf8_len(json.dumps(WORST_ROWS["structure facet"])) > MAX_BIND_BYTES


def test_rows_are_packed_into_as_few_binds_as_fit_in_order() -> None:
    rows = [{"i": i, "text": "x" * (i % 7) * 10} for i in range(500)]
    limit = 2_000
    binds = list(json_binds(rows, max_bytes=limit))
    assert all(utf8_len(bind) <= limit for bind, _ in binds)
    assert [row for bind, _ in binds for row in json.loads(bind)] == rows
    assert [count for _, count in binds] == [len(json.loads(bind)) for bind, _ in binds]
    # as few as fit: each bind would overflow with the next bind's first row
    for (bind, _), (following, _) in itertools.pairwise(binds):
        nxt = json.loads(following)[0]
        assert utf8_len(bind) + 1 + utf8_len(json_dumps(nxt)) > limit
    assert list(json_binds([])) == []
    ((one, count),) = json_binds(rows)  # the steps' own limit: one bind
    assert count == len(rows) and json.loads(one) == rows


def test_a_row_that_alone_does_not_fit_is_refused() -> None:
    with pytest.raises(BindTooLargeError, match="exceeds a bind"):
        list(json_binds([{"text": "x" * 100}], max_bytes=50))


def test_a_lone_surrogate_is_bound_as_an_escape() -> None:
    """A message nothing cleaned may hold one (UTF-8 cannot carry it): it alone as its \\u
    escape, the same value once parsed."""
    row = {"error_message": "bad \udcff name", "text": ASTRAL}
    text = json_dumps(row)
    text.encode("utf-8")
    assert json.loads(text) == row
    assert "\\udcff" in text and ASTRAL in text
    assert ASTRAL in json_dumps({"text": ASTRAL})
