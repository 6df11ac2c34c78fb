"""Byte writers that stream a large file to an open binary file instead of building it in memory."""

from __future__ import annotations

import io
import math
import struct
from typing import BinaryIO

import numpy as np

from orchestration.corpus.content import MIB


def write_tiff_rgb(
    out: BinaryIO,
    width: int,
    height: int,
    bits: int = 8,
    seed: int = 0,
    fill: tuple[int, int, int] | None = None,
) -> int:
    """Stream an uncompressed RGB TIFF (8 or 16 bits per sample) in ~1 MiB strips, the IFD
    after the pixels as most writers do; noise unless `fill` gives one colour."""
    sample = np.dtype("<u2" if bits == 16 else "u1")
    row_bytes = 3 * sample.itemsize * width
    rows_per_strip = max(1, MIB // row_bytes)
    if fill is None:
        strip = np.random.default_rng(seed).integers(0, 256, rows_per_strip * row_bytes, np.uint8)
    else:
        strip = np.tile(np.array(fill, sample), rows_per_strip * width).view(np.uint8)
    strips = math.ceil(height / rows_per_strip)
    data_end = 8 + row_bytes * height
    ifd = data_end + (data_end & 1)  # word-aligned
    written = out.write(b"II*\x00" + struct.pack("<I", ifd))
    offsets, counts = [], []
    for index in range(strips):
        rows = min(rows_per_strip, height - index * rows_per_strip)
        offsets.append(written)
        counts.append(rows * row_bytes)
        written += out.write(strip[: rows * row_bytes].tobytes())
    written += out.write(b"\x00" * (ifd - written))
    entries = 10
    arrays = ifd + 2 + 12 * entries + 4
    tags = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 3, arrays),
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 2),  # RGB
        (273, 4, strips, offsets[0] if strips == 1 else arrays + 6),
        (277, 3, 1, 3),
        (278, 4, 1, rows_per_strip),
        (279, 4, strips, counts[0] if strips == 1 else arrays + 6 + 4 * strips),
        (284, 3, 1, 1),  # chunky
    ]
    directory = struct.pack("<H", entries)
    for tag, kind, count, value in tags:
        # A lone SHORT sits left-justified in the 4-byte value field.
        field = (
            struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
        )
        directory += struct.pack("<HHI", tag, kind, count) + field
    directory += struct.pack("<I", 0) + struct.pack("<3H", bits, bits, bits)
    if strips > 1:
        directory += struct.pack(f"<{strips}I", *offsets) + struct.pack(f"<{strips}I", *counts)
    return written + out.write(directory)


def tiff_rgb16(width: int = 600, height: int = 400) -> bytes:
    """48-bit RGB TIFF, pure red at full 16-bit scale."""
    buffer = io.BytesIO()
    write_tiff_rgb(buffer, width, height, bits=16, fill=(65_535, 0, 0))
    return buffer.getvalue()
