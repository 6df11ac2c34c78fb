"""WebP facts from the RIFF chunk headers: Pillow's WebP plugin reads the whole file at open,
so extraction walks the chunks itself and never holds more than one small header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from pixelforge_core.exif import exif_subset, load_exif
from pixelforge_core.limits import ExtractionLimits
from pixelforge_core.raster import pixel_limit_failure
from pixelforge_core.reason_codes import TRUNCATED_FILE, UNREADABLE_FILE
from pixelforge_core.records import DesignMetadata, MetadataFailure

MAX_EXIF_BYTES = 1024 * 1024
MAX_CHUNKS = 100_000
_VP8X_ALPHA = 0x10
_VP8_START_CODE = b"\x9d\x01\x2a"


def read_webp(
    source: BinaryIO, size: int, limits: ExtractionLimits
) -> DesignMetadata | MetadataFailure:
    canvas: tuple[int, int] | None = None
    has_alpha = False
    frames = 0
    exif: dict[str, str] = {}
    end = riff_end(source)
    if end > size:
        return MetadataFailure(TRUNCATED_FILE, f"WebP declares {end} bytes but has {size}")
    try:
        for fourcc, position, length in riff_chunks(source, end, size):
            if fourcc in (b"VP8X", b"VP8 ", b"VP8L") and canvas is None:
                canvas, alpha = webp_canvas(fourcc, read_at(source, position, min(length, 10)))
                has_alpha = has_alpha or alpha
            elif fourcc == b"ANMF":
                frames += 1
            elif fourcc == b"ALPH":
                has_alpha = True
            elif fourcc == b"EXIF" and length <= MAX_EXIF_BYTES:
                exif = exif_subset(load_exif(read_at(source, position, length)))
    except ChunkPastEndError as exc:
        return MetadataFailure(TRUNCATED_FILE, str(exc))
    if canvas is None:
        return MetadataFailure(UNREADABLE_FILE, "WebP has no VP8, VP8L or VP8X chunk")
    width, height = canvas
    bomb = pixel_limit_failure(width, height, limits.max_pixels)
    if bomb:
        return bomb
    return DesignMetadata(
        format="webp",
        width_px=width,
        height_px=height,
        mode="RGBA" if has_alpha else "RGB",
        bit_depth=8,
        dpi_x=None,
        dpi_y=None,
        frame_count=max(frames, 1),
        page_count=None,
        layer_count=None,
        exif=exif,
    )


class ChunkPastEndError(Exception):
    """A chunk runs past the end of the file."""


def riff_end(source: BinaryIO) -> int:
    """Where the RIFF container says it ends (its size field plus the 8-byte header)."""
    return int.from_bytes(read_at(source, 4, 4), "little") + 8


def riff_chunks(source: BinaryIO, end: int, size: int) -> Iterator[tuple[bytes, int, int]]:
    """(fourcc, data position, data length) of the chunks up to `end`, at most MAX_CHUNKS;
    ChunkPastEndError for a chunk that runs past the file's `size`."""
    position = 12
    for _ in range(MAX_CHUNKS):
        if position + 8 > end:
            return
        header = read_at(source, position, 8)
        fourcc, length = header[:4], int.from_bytes(header[4:8], "little")
        if position + 8 + length > size:
            raise ChunkPastEndError(f"WebP chunk {fourcc!r} runs past the end")
        yield fourcc, position + 8, length
        position += 8 + length + (length & 1)  # chunks are padded to an even size


def read_at(source: BinaryIO, position: int, length: int) -> bytes:
    source.seek(position)
    return source.read(length)


def webp_canvas(fourcc: bytes, data: bytes) -> tuple[tuple[int, int] | None, bool]:
    """Canvas size and alpha flag from the first image chunk (VP8X, lossy VP8 or lossless VP8L)."""
    if fourcc == b"VP8X" and len(data) >= 10:
        width = int.from_bytes(data[4:7], "little") + 1
        height = int.from_bytes(data[7:10], "little") + 1
        return (width, height), bool(data[0] & _VP8X_ALPHA)
    if fourcc == b"VP8 " and len(data) >= 10 and data[3:6] == _VP8_START_CODE:
        width = int.from_bytes(data[6:8], "little") & 0x3FFF
        height = int.from_bytes(data[8:10], "little") & 0x3FFF
        return (width, height), False
    if fourcc == b"VP8L" and len(data) >= 5 and data[0] == 0x2F:
        bits = int.from_bytes(data[1:5], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        return (width, height), bool((bits >> 28) & 1)
    return None, False
