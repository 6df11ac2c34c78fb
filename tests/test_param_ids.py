"""The parameter ids of the suite read as their values do (tests/param_ids.py)."""

from __future__ import annotations

import unicodedata

import pytest

from tests.param_ids import readable_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("plain/key.png", "plain/key.png", id="ascii"),
        pytest.param("unicode/café-日本語.png", "unicode/café-日本語.png", id="unicode"),
        pytest.param(
            unicodedata.normalize("NFD", "café.png"),
            unicodedata.normalize("NFD", "café.png") + " (not NFC)",
            id="nfd",
        ),
        pytest.param("line\nbreak", "line\\nbreak", id="control"),
        pytest.param("x" * 100, "x" * 47 + "…(100 bytes)", id="long"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(20), "png-28B", id="png-bytes"),
        pytest.param(b"\xff\xfe", "bytes-fffe", id="short-bytes"),
        pytest.param(b'{"data": []}', '{"data": []}', id="text-bytes"),
        pytest.param(TimeoutError("timed out"), "TimeoutError(timed out)", id="exception"),
        pytest.param((0, 256), "0,256", id="tuple"),
        pytest.param(3, None, id="number"),
    ],
)
def test_readable_id(value, expected):
    assert readable_id(value) == expected
