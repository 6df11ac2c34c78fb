from __future__ import annotations

import json

import pytest

from ecs_render.protocol import (
    BatchError,
    RenderRequest,
    RowFailure,
    ThumbnailResult,
    build_response,
    failed_result,
    ok_result,
    parse_batch,
)
from snowpark_procs.reason_codes import ALL_REASON_CODES, FILE_MISSING, RENDER_FAILED

SHA = "ab" * 32


def batch(*rows: object) -> bytes:
    return json.dumps({"data": list(rows)}).encode()


def test_parse_batch_keeps_rows_in_order():
    rows = parse_batch(batch([1, "b.png", '"e1"', SHA, 10], [0, "a.psd", "e0", SHA.upper(), 20.0]))

    assert rows == [
        RenderRequest(1, "b.png", '"e1"', SHA, 10),
        RenderRequest(0, "a.psd", "e0", SHA, 20),
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

    assert [type(row) for row in rows] == [RenderRequest, RowFailure, RenderRequest]
    assert [row.row_number for row in rows] == [0, 1, 2]


def test_build_response_has_the_wire_shape():
    thumbnail = ThumbnailResult(256, "v1/ab/key/256.webp", 256, 171, 1234, True)
    body = build_response([(3, ok_result([thumbnail])), (1, failed_result(FILE_MISSING, "gone"))])

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
                },
            ],
            [
                1,
                {
                    "status": "failed",
                    "reason_code": "file_missing",
                    "message": "gone",
                    "thumbnails": [],
                },
            ],
        ]
    }


def test_malformed_rows_use_a_vocabulary_code():
    (parsed,) = parse_batch(batch([0, "a.png"]))

    assert isinstance(parsed, RowFailure)
    assert parsed.result.reason_code in ALL_REASON_CODES
