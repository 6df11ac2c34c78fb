from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixelforge_core.limits import DEFAULT_LIMITS, MIB, ExtractionLimits
from pixelforge_core.records import DesignMetadata, MetadataFailure
from snowpark_procs.metadata import extract_metadata
from tests.budget import examples
from tests.fixtures.design_files import design_file, small, stream


def failure(data: bytes, name: str = "file", limits: ExtractionLimits = DEFAULT_LIMITS):
    result = extract_metadata(stream(data), name, limits)
    assert isinstance(result, MetadataFailure), result
    return result


# a corpus generator's name (its file made when the test runs, once) or the bytes themselves
@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("zero_byte", "empty_file"),
        ("png_truncated", "truncated_file"),
        ("jpeg_truncated", "truncated_file"),
        ("random_bytes_named_png", "unsupported_format"),
        ("png_bomb", "decompression_bomb"),
        ("svg_hostile", "hostile_content"),
        ("pdf_encrypted", "encrypted_file"),
        (b"GIF89a" + b"\x00" * 4, "truncated_file"),
        (b"\x89PNG\r\n\x1a\n", "truncated_file"),
        (b"%PDF-1.4\n", "truncated_file"),
    ],
)
def test_broken_inputs_get_their_reason_code(source, code):
    data = design_file(source) if isinstance(source, str) else source
    result = failure(data, "uploads/x.png")
    assert result.reason_code == code
    assert result.message.startswith("uploads/x.png: ")
    assert result.size_bytes == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_zero_byte_file_has_the_empty_sha256():
    assert failure(b"").sha256 == hashlib.sha256(b"").hexdigest()


def test_file_over_the_size_limit_is_refused_before_hashing():
    result = failure(small("png_with_alpha"), limits=ExtractionLimits(max_file_bytes=1000))
    assert result.reason_code == "file_too_large"
    assert result.sha256 is None
    assert result.size_bytes == len(small("png_with_alpha"))


def test_pixel_limit_comes_from_the_limits():
    result = failure(small("jpeg_large"), limits=ExtractionLimits(max_pixels=1200 * 800 - 1))
    assert result.reason_code == "decompression_bomb"
    assert result.format == "jpeg"


@pytest.mark.parametrize("kind", ["webp", "gif_animated", "bmp_simple", "tiff_16bit"])
def test_cut_files_never_pass_as_readable(kind):
    data = small(kind)
    result = extract_metadata(stream(data[: len(data) // 2]), kind)
    assert isinstance(result, MetadataFailure) or kind == "gif_animated"


@pytest.mark.parametrize("kind", ["webp", "bmp_simple", "tiff_16bit"])
def test_cut_files_are_truncated(kind):
    data = small(kind)
    assert failure(data[: len(data) // 2]).reason_code == "truncated_file"


def test_jpeg_with_trailing_data_is_not_truncated():
    # Motion photos append a video after the JPEG's end-of-image marker.
    data = small("jpeg_large") + b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 5000
    assert isinstance(extract_metadata(stream(data), "motion.jpg"), DesignMetadata)


class RecordingStream(io.BytesIO):
    """Records every read() and readinto() request, to prove the stream is consumed in bounded
    chunks."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.requests: list[int | None] = []
        self.bytes_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.requests.append(size)
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readinto(self, buffer: Any, /) -> int:
        self.requests.append(len(buffer))
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


@pytest.mark.parametrize(
    "kind",
    [
        "jpeg_large",
        "png_with_alpha",
        "tiff_16bit",
        "webp",
        "gif_animated",
        "bmp_simple",
        # psd-tools would read the layers' pixels and the merged image again: they are skipped
        # (snowpark_procs/metadata/psd_record.py)
        "psd_layered",
    ],
)
def test_stream_is_read_in_bounded_chunks(kind):
    data = small(kind)
    source = RecordingStream(data)
    assert isinstance(extract_metadata(source, kind), DesignMetadata)
    assert all(size is not None and 0 <= size <= MIB for size in source.requests)
    # The hash pass reads the file once; headers add only a little on top. Counting GIF frames
    # means walking every data sub-block, so a GIF is streamed a second time (255 bytes a read).
    passes = 2 if kind == "gif_animated" else 1
    assert source.bytes_read < passes * len(data) + 64 * 1024


# --- property: no input raises --------------------------------------------------------------

_PREFIXES = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"II*\x00",
    b"MM\x00*",
    b"RIFF\x00\x01\x00\x00WEBPVP8X",
    b"GIF89a",
    b"8BPS\x00\x01",
    b"%PDF-1.7\n",
    b"BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00",
    b'<svg xmlns="http://www.w3.org/2000/svg" width="',
]
_VALID = ["png_with_alpha", "jpeg_cmyk", "tiff_16bit", "webp", "gif_animated", "psd_layered"]


@st.composite
def hostile_bytes(draw: st.DrawFn) -> bytes:
    """Random tails behind real magic numbers, and valid files cut or corrupted at random."""
    if draw(st.booleans()):
        return draw(st.sampled_from(_PREFIXES)) + draw(st.binary(max_size=2048))
    data = bytearray(small(draw(st.sampled_from(_VALID))))
    cut = draw(st.integers(min_value=0, max_value=len(data)))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        if data:
            data[position] = draw(st.integers(min_value=0, max_value=255))
    return bytes(data[:cut])


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_bytes())
def test_no_input_raises(data):
    result = extract_metadata(stream(data), "fuzz.bin")
    assert isinstance(result, (DesignMetadata, MetadataFailure))
    if isinstance(result, MetadataFailure):
        assert result.reason_code in {
            "empty_file",
            "unsupported_format",
            "unreadable_file",
            "truncated_file",
            "decompression_bomb",
            "hostile_content",
            "encrypted_file",
        }
    if data:
        assert result.sha256 == hashlib.sha256(data).hexdigest()
