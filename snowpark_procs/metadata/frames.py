"""Page and frame counts walked from the headers, one at a time and no further than a limit.

Pillow's n_frames walks every TIFF directory in quadratic time (a 10 MB TIFF of 100000 pages
took 44 s) and every GIF frame header; a small file can hold millions of either. The walks
restore the stream position, so they can run while Pillow holds the same stream open.
"""

from __future__ import annotations

from typing import BinaryIO

_GIF_EXTENSION = 0x21
_GIF_IMAGE = 0x2C
_GIF_TRAILER = 0x3B
_GIF_HEADER_BYTES = 13  # signature and logical screen descriptor
_GIF_DESCRIPTOR_BYTES = 10  # image separator and descriptor


def count_tiff_pages(source: BinaryIO, head: bytes, size: int, limit: int) -> int | None:
    """Directories along the chain from the header, or None past limit. A directory seen
    before ends the chain, as Pillow ends it."""
    order = "little" if head[:2] == b"II" else "big"
    big = head[2:4] in (b"+\x00", b"\x00+")
    count_bytes, entry_bytes, link_bytes = (8, 20, 8) if big else (2, 12, 4)
    offset = int.from_bytes(head[8:16] if big else head[4:8], order)
    seen: set[int] = set()
    start = source.tell()
    try:
        while offset and offset not in seen and offset + count_bytes <= size:
            if len(seen) >= limit:
                return None
            seen.add(offset)
            source.seek(offset)
            entries = int.from_bytes(source.read(count_bytes), order)
            source.seek(offset + count_bytes + entries * entry_bytes)
            link = source.read(link_bytes)
            if len(link) < link_bytes:
                break
            offset = int.from_bytes(link, order)
        return len(seen)
    finally:
        source.seek(start)


def count_gif_frames(source: BinaryIO, size: int, limit: int) -> int | None:
    """Image descriptors before the trailer (or the first byte that starts no block), or None
    past limit."""
    start = source.tell()
    try:
        source.seek(10)
        flags = source.read(1)
        position = _GIF_HEADER_BYTES + (_colour_table_bytes(flags[0]) if flags else 0)
        frames = 0
        while position < size:
            source.seek(position)
            block = source.read(1)
            if not block or block[0] not in (_GIF_IMAGE, _GIF_EXTENSION):
                break  # the trailer, or not a block: where Pillow stops too
            if block[0] == _GIF_IMAGE:
                frames += 1
                if frames > limit:
                    return None
                descriptor = source.read(_GIF_DESCRIPTOR_BYTES - 1)
                if len(descriptor) < _GIF_DESCRIPTOR_BYTES - 1:
                    break
                # a local colour table, then the LZW minimum code size byte
                position += _GIF_DESCRIPTOR_BYTES + _colour_table_bytes(descriptor[-1]) + 1
            else:
                position += 2  # introducer and label
            position = _skip_sub_blocks(source, position)
        return frames
    finally:
        source.seek(start)


def _colour_table_bytes(flags: int) -> int:
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def _skip_sub_blocks(source: BinaryIO, position: int) -> int:
    """The position after a chain of data sub-blocks (each a length byte, then its data)."""
    while True:
        source.seek(position)
        length = source.read(1)
        if not length:
            return position
        position += 1 + length[0]
        if length[0] == 0:
            return position
