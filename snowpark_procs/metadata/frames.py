"""TIFF page counts walked from the headers, one at a time and no further than a limit.

Pillow's n_frames walks every TIFF directory in quadratic time (a 10 MB TIFF of 100000 pages
took 44 s); a small file can hold millions. The walk restores the stream position, so it can
run while Pillow holds the same stream open. (GIF frames are walked by animation.py, which
counts them and sums their delays in one pass.)
"""

from __future__ import annotations

from typing import BinaryIO


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
