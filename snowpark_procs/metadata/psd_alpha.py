"""Whether a PSD's flattened (merged) image uses transparency, from a sample of its rows.

Photoshop marks a merged image whose first extra channel is the composite's transparency by a
negative layer count (Adobe Photoshop File Formats Specification, "Layer info": "If it is a
negative number, its absolute value is the number of layers and the first alpha channel
contains the transparency data for the merged result"); other extra channels are saved
selections, not transparency. The merged image follows the layer and mask section: a 2-byte
compression, then, for RLE (PackBits), a table of every row's compressed length (2 bytes each,
4 in PSB), channel after channel; raw rows have a fixed length.

Bounded: only that channel's rows are read, at most `max_pixels` of them in all, evenly spaced
(every row when they fit): True when a sampled pixel is below 255, False when every row was
read and none is, else None. 8-bit documents only (others: None); ZIP-compressed merged data
(rare in PSD) is not sampled (None); neither is a row-length table over MAX_TABLE_BYTES.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import numpy as np
from PIL import Image

from snowpark_procs.metadata.webp import read_at

MAX_TABLE_BYTES = 16 * 1024 * 1024
_HEADER = struct.Struct(">4sH6xHIIHH")
_BASE_CHANNELS = {1: 1, 3: 3, 4: 4, 9: 3}  # grey, RGB, CMYK, Lab
_RAW, _RLE = 0, 1


def psd_transparency(source: BinaryIO, size: int, max_pixels: int) -> bool | None:
    _, version, channels, height, width, depth, mode = _HEADER.unpack(read_at(source, 0, 26))
    base = _BASE_CHANNELS.get(mode)
    psb = version == 2
    position = _HEADER.size
    for length_bytes in (4, 4):  # colour mode data, image resources
        position += length_bytes + int.from_bytes(read_at(source, position, length_bytes), "big")
    length_bytes = 8 if psb else 4
    section = int.from_bytes(read_at(source, position, length_bytes), "big")
    layer_info = int.from_bytes(read_at(source, position + length_bytes, length_bytes), "big")
    count = 0
    if section >= length_bytes + 2 and layer_info >= 2:
        count = struct.unpack(">h", read_at(source, position + 2 * length_bytes, 2))[0]
    if base is None or count >= 0 or channels <= base:
        return False  # no transparency channel in the merged image
    if depth != 8 or width == 0 or height == 0:
        return None
    data = position + length_bytes + section
    compression = int.from_bytes(read_at(source, data, 2), "big")
    sampled = _rows(height, max(1, max_pixels // width))
    if compression == _RAW:
        offsets = [(data + 2 + (base * height + row) * width, width) for row in sampled]
        rows = (read_at(source, offset, length) for offset, length in offsets)
    elif compression == _RLE:
        entry = 4 if psb else 2
        if channels * height * entry > MAX_TABLE_BYTES:
            return None
        table = np.frombuffer(read_at(source, data + 2, channels * height * entry), f">u{entry}")
        if len(table) < channels * height:
            return None
        starts = np.concatenate(([0], np.cumsum(table, dtype=np.int64)))
        first = data + 2 + channels * height * entry
        index = [base * height + row for row in sampled]
        packed = ((first + int(starts[i]), int(table[i])) for i in index)
        rows = (_unpack(read_at(source, offset, length), width) for offset, length in packed)
    else:
        return None
    for row in rows:
        if len(row) < width or min(row) < 255:
            return True if len(row) == width else None
    return False if len(sampled) == height else None


def _rows(height: int, wanted: int) -> list[int]:
    if wanted >= height:
        return list(range(height))
    return sorted({round(i * (height - 1) / max(wanted - 1, 1)) for i in range(wanted)})


def _unpack(packed: bytes, width: int) -> bytes:
    """One PackBits row (Pillow's decoder, as TIFF uses it); short if the data is broken."""
    try:
        return Image.frombytes("L", (width, 1), packed, "packbits", "L").tobytes()
    except ValueError:  # not enough data for the row
        return b""
