"""The production read seam (SnowflakeFile on the designs stage) checks the version it read."""

from __future__ import annotations

import hashlib
import io
import sys
import types
from collections.abc import Iterator

import pytest

from pixelforge_core import reason_codes
from snowpark_procs.byte_sources import SourceFileError, StageFileByteSource

CONTENT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


@pytest.fixture
def stage_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bytes]]:
    """SnowflakeFile.open over a dict (the module exists only inside Snowflake's runtime)."""
    files: dict[str, bytes] = {}
    opened: list[tuple[str, bool]] = []

    class FakeSnowflakeFile:
        @staticmethod
        def open(location: str, mode: str, require_scoped_url: bool = True) -> io.BytesIO:
            assert mode == "rb"
            opened.append((location, require_scoped_url))
            if location not in files:
                raise FileNotFoundError(location)
            return io.BytesIO(files[location])

    module = types.ModuleType("snowflake.snowpark.files")
    module.SnowflakeFile = FakeSnowflakeFile  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snowflake.snowpark.files", module)
    yield files
    assert all(not scoped for _, scoped in opened)  # owner's-rights procedure, own stage


def test_the_discovered_version_is_read(stage_files: dict[str, bytes]) -> None:
    stage_files["@raw.designs_stage/a/b.png"] = CONTENT
    etag = hashlib.md5(CONTENT, usedforsecurity=False).hexdigest()
    with StageFileByteSource("raw.designs_stage").open("a/b.png", etag) as stream:
        assert stream.read() == CONTENT


def test_an_overwritten_file_is_file_changed(stage_files: dict[str, bytes]) -> None:
    stage_files["@raw.designs_stage/a/b.png"] = CONTENT + b"new version"
    etag = hashlib.md5(CONTENT, usedforsecurity=False).hexdigest()
    with (
        pytest.raises(SourceFileError) as error,
        StageFileByteSource("raw.designs_stage").open("a/b.png", etag),
    ):
        pytest.fail("an overwritten file must not be yielded")
    assert error.value.reason_code == reason_codes.FILE_CHANGED


def test_a_multipart_etag_cannot_be_verified_from_bytes(stage_files: dict[str, bytes]) -> None:
    stage_files["@raw.designs_stage/big.tif"] = CONTENT
    with StageFileByteSource("raw.designs_stage").open("big.tif", "0" * 32 + "-3") as stream:
        assert stream.read() == CONTENT


def test_a_deleted_file_is_file_missing(stage_files: dict[str, bytes]) -> None:
    with (
        pytest.raises(SourceFileError) as error,
        StageFileByteSource("raw.designs_stage").open("gone.png", "0" * 32),
    ):
        pytest.fail("unreachable")
    assert error.value.reason_code == reason_codes.FILE_MISSING
