from __future__ import annotations

import json
import time

import pytest

from ecs_render.protocol import (
    MAX_JSON_DEPTH,
    BatchError,
    BatchRow,
    RowFailure,
    build_response,
    max_batch_bytes,
    parse_batch,
)
from pixelforge_core.facets import FacetResult
from pixelforge_core.reason_codes import ALL_REASON_CODES, FILE_MISSING, RENDER_FAILED
from pixelforge_core.render_wire import RenderRequest, ThumbnailResult, failed_result, ok_result

SHA = "ab" * 32


def batch(*rows: object) -> bytes:
    return json.dumps({"data": list(rows)}).encode()


def test_parse_batch_keeps_rows_in_order():
    rows = parse_batch(batch([1, "b.png", '"e1"', SHA, 10], [0, "a.psd", "e0", SHA.upper(), 20.0]))

    assert rows == [
        BatchRow(1, RenderRequest("b.png", '"e1"', SHA, 10)),
        BatchRow(0, RenderRequest("a.psd", "e0", SHA, 20)),
    ]


def test_parse_batch_accepts_an_empty_batch():
    assert parse_batch(b'{"data": []}') == []


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe", b"[]", b'{"rows": []}', b'{"data": {"0": 1}}', b"null"],
)
def test_parse_batch_rejects_a_malformed_batch(body):
    with pytest.raises(BatchError):
        parse_batch(body)


@pytest.mark.parametrize(
    ("row", "row_number", "words"),
    [
        ([7, "a.png", "e", SHA], 7, "4 values"),
        ([7, "a.png", "e", SHA, 1, "extra"], 7, "6 values"),
        ("just a string", 0, "JSON array"),
        ([], 0, "JSON array"),
        (["7", "a.png", "e", SHA, 1], 0, "row_number"),
        ([True, "a.png", "e", SHA, 1], 0, "row_number"),
        ([7, "", "e", SHA, 1], 7, "relative_path"),
        ([7, None, "e", SHA, 1], 7, "relative_path"),
        ([7, "a" * 1025, "e", SHA, 1], 7, "longer than"),
        ([7, "a.png", "", SHA, 1], 7, "etag"),
        ([7, "a.png", 5, SHA, 1], 7, "etag"),
        ([7, "a.png", "e", None, 1], 7, "sha256 is null"),
        ([7, "a.png", "e", "abc", 1], 7, "64 hex"),
        ([7, "a.png", "e", "g" * 64, 1], 7, "64 hex"),
        ([7, "a.png", "e", SHA, -1], 7, "size_bytes"),
        ([7, "a.png", "e", SHA, "12"], 7, "size_bytes"),
        ([7, "a.png", "e", SHA, 1.5], 7, "size_bytes"),
        ([7, "a.png", "e", SHA, None], 7, "size_bytes"),
    ],
)
def test_a_malformed_row_is_a_failed_row(row, row_number, words):
    (parsed,) = parse_batch(batch(row))

    assert isinstance(parsed, RowFailure)
    assert parsed.row_number == row_number
    assert parsed.result.status == "failed"
    assert parsed.result.reason_code == RENDER_FAILED
    assert words in (parsed.result.message or "")


def test_a_malformed_row_does_not_spoil_its_neighbours():
    rows = parse_batch(batch([0, "a.png", "e", SHA, 1], [1, "b.png"], [2, "c.png", "e", SHA, 3]))

    assert [type(row) for row in rows] == [BatchRow, RowFailure, BatchRow]
    assert [row.row_number for row in rows] == [0, 1, 2]


def test_build_response_has_the_wire_shape():
    thumbnail = ThumbnailResult(256, "v1/ab/key/256.webp", 256, 171, 1234, True)
    payload = {
        "dominant_colors": [{"hex": "#112233", "share": 1.0}],
        "phash": "8f00ff00ff00ff00",
        "edge_phash": "0f0f33cc0f0f33cc",
        "thumbhash": "HwgCBYDZvfVpZoWmiVi4Z2SQHPdq",
    }
    visual = FacetResult("visual", 1, "ok", payload)
    body = build_response(
        [(3, ok_result([thumbnail], visual)), (1, failed_result(FILE_MISSING, "gone"))]
    )

    assert json.loads(body) == {
        "data": [
            [
                3,
                {
                    "status": "ok",
                    "reason_code": None,
                    "message": None,
                    "thumbnails": [
                        {
                            "size_px": 256,
                            "thumbnail_key": "v1/ab/key/256.webp",
                            "width_px": 256,
                            "height_px": 171,
                            "thumbnail_bytes": 1234,
                            "created": True,
                        }
                    ],
                    "visual": {
                        "facet": "visual",
                        "version": 1,
                        "status": "ok",
                        "payload": payload,
                        "reason_code": None,
                        "message": None,
                    },
                },
            ],
            [
                1,
                {
                    "status": "failed",
                    "reason_code": "file_missing",
                    "message": "gone",
                    "thumbnails": [],
                    "visual": None,
                },
            ],
        ]
    }


def test_malformed_rows_use_a_vocabulary_code():
    (parsed,) = parse_batch(batch([0, "a.png"]))

    assert isinstance(parsed, RowFailure)
    assert parsed.result.reason_code in ALL_REASON_CODES


# --- hostile bodies (security) -------------------------------------------------------------------

ROW = [0, "a.png", "e", SHA, 1]


def nested(depth: int) -> bytes:
    """A batch whose one row holds a value nested so that the deepest sits at depth."""
    value = "[" * (depth - 3) + "1" + "]" * (depth - 3)
    return b'{"data": [[0, "a.png", "e", "' + SHA.encode() + b'", ' + value.encode() + b"]]}"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b"{not json", "not_json", id="malformed-json"),
        pytest.param(b"", "not_json", id="empty-body"),
        pytest.param(batch(ROW).replace(b"1]", b"NaN]"), "not_json", id="nan-constant"),
        pytest.param(b'{"data": [[0, "\xff.png", "e", "x", 1]]}', "not_utf8", id="latin1-bytes"),
        pytest.param('{"data": []}'.encode("utf-16"), "not_utf8", id="utf16-json"),
        pytest.param(b"[]", "not_a_batch", id="top-level-array"),
        pytest.param(b'{"data": "x"}', "not_a_batch", id="data-not-a-list"),
        pytest.param(batch([2**63, "a.png", "e", SHA, 1]), "number_out_of_range", id="int64+1"),
        pytest.param(
            batch([-(2**63) - 1, "a.png", "e", SHA, 1]), "number_out_of_range", id="int64-min-1"
        ),
        pytest.param(batch([0, "a.png", "e", SHA, 10**30]), "number_out_of_range", id="size-1e30"),
        pytest.param(
            b'{"data": [[' + b"9" * 5000 + b', "a", "e", "x", 1]]}',
            "number_out_of_range",
            id="5000-digit-int",  # past int()'s own 4300-digit limit, a ValueError before
        ),
        pytest.param(
            b'{"data": [[0, "a", "e", "x", 1.' + b"5" * 100 + b"]]}",
            "number_out_of_range",
            id="100-digit-float",
        ),
        pytest.param(nested(MAX_JSON_DEPTH + 1), "too_deep", id="one-level-too-deep"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "too_deep", id="100000-deep-recursion"),
        pytest.param(
            b'{"data": [' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"]}",
            "too_deep",
            id="50000-deep-objects",
        ),
        pytest.param(batch(*[ROW] * 65), "too_many_rows", id="65-rows"),
        pytest.param(b" " * (max_batch_bytes(64) + 1), "body_too_large", id="over-the-byte-bound"),
    ],
)
def test_security_hostile_body_is_a_batch_error_with_a_stable_code(body, code):
    with pytest.raises(BatchError) as raised:
        parse_batch(body, max_rows=64)

    assert raised.value.code == code, raised.value
    assert str(raised.value) and len(str(raised.value)) < 200


def test_security_the_deepest_allowed_nesting_only_fails_its_row():
    (parsed,) = parse_batch(nested(MAX_JSON_DEPTH))

    assert isinstance(parsed, RowFailure)
    assert "size_bytes" in (parsed.result.message or "")


def test_security_a_million_digit_integer_is_refused_at_once():
    body = b'{"data": [[' + b"7" * 1_000_000 + b', "a", "e", "x", 1]]}'

    started = time.perf_counter()
    with pytest.raises(BatchError) as raised:
        parse_batch(body, max_rows=64)
    seconds = time.perf_counter() - started

    assert raised.value.code == "number_out_of_range"
    assert seconds < 0.5


def test_security_int64_bounds_themselves_are_accepted():
    rows = parse_batch(
        batch([2**63 - 1, "a.png", "e", SHA, 2**63 - 1], [-(2**63), "b.png", "e", SHA, 0])
    )

    assert rows == [
        BatchRow(2**63 - 1, RenderRequest("a.png", "e", SHA, 2**63 - 1)),
        BatchRow(-(2**63), RenderRequest("b.png", "e", SHA, 0)),
    ]


def test_security_the_row_cap_is_inclusive():
    assert len(parse_batch(batch(*[ROW] * 64), max_rows=64)) == 64


@pytest.mark.parametrize(
    ("value_at", "value", "words"),
    [
        pytest.param(1, {"key": "a.png"}, "relative_path", id="path-object"),
        pytest.param(1, ["a.png"], "relative_path", id="path-list"),
        pytest.param(1, True, "relative_path", id="path-bool"),
        pytest.param(1, "\ud800.png", "lone surrogate", id="path-lone-surrogate"),
        pytest.param(2, "e\r\nX-Injected: 1", "etag", id="etag-crlf"),
        pytest.param(2, "e" * 256, "longer than", id="etag-too-long"),
        pytest.param(2, '""', "etag", id="etag-only-quotes"),
        pytest.param(2, ["e"], "etag", id="etag-list"),
        pytest.param(3, "f" * 100_000, "64 hex", id="sha-100k-chars"),
        pytest.param(3, {"sha": SHA}, "64 hex", id="sha-object"),
        pytest.param(4, 1e300, "int64", id="size-1e300-float"),
        pytest.param(4, float("inf"), "int64", id="size-infinity"),
        pytest.param(4, True, "int64", id="size-bool"),
        pytest.param(4, [[[[1]]]], "int64", id="size-nested-list"),
        pytest.param(0, 1.0, "row_number", id="row-number-float"),
        pytest.param(0, None, "row_number", id="row-number-null"),
    ],
)
def test_security_a_wrong_type_in_a_row_fails_that_row_with_a_short_message(value_at, value, words):
    row: list[object] = [7, "a.png", "e", SHA, 1]
    row[value_at] = value
    body = json.dumps({"data": [row, ROW]}, allow_nan=True).replace("Infinity", "1e999")

    parsed, neighbour = parse_batch(body.encode())

    assert isinstance(parsed, RowFailure), parsed
    assert parsed.result.reason_code == RENDER_FAILED
    assert words in (parsed.result.message or "")
    assert len(parsed.result.message or "") < 200
    assert isinstance(neighbour, BatchRow)
