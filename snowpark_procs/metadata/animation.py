"""Animation timing from the container's own blocks, walked without decoding a frame (Pillow
reports one frame's duration, and summing them through seek() decodes every frame).

- GIF (GIF89a spec, https://www.w3.org/Graphics/GIF/spec-gif89a.txt): each Graphic Control
  Extension's delay (1/100 s) applies to the next image; the loop count is the NETSCAPE2.0
  application extension's (0: forever; absent: the animation plays once).
- APNG (https://wiki.mozilla.org/APNG_Specification): acTL's num_plays (0: forever), each
  fcTL's delay_num / delay_den seconds (a zero denominator means 1/100 s).
- WebP (RFC 9649 §2.7): ANIM's loop count (0: forever), each ANMF frame's 24-bit duration in ms.

Each walk is capped (frames, chunks); a walk that hits its cap reports no duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from snowpark_procs.metadata.webp import read_at, riff_chunks, riff_end

_GIF_HEADER_BYTES = 13  # signature and logical screen descriptor
_GIF_DESCRIPTOR_BYTES = 10  # image separator and descriptor
_GIF_EXTENSION = 0x21
_GIF_IMAGE = 0x2C
_GIF_CONTROL = 0xF9
_GIF_APPLICATION = 0xFF
_GIF_LOOPING_APPS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")
_PNG_SIGNATURE_BYTES = 8
MAX_PNG_CHUNKS = 200_000


@dataclass(frozen=True)
class Timing:
    frames: int
    duration_ms: int | None
    loop_count: int | None


def gif_timing(source: BinaryIO, size: int, max_frames: int) -> Timing:
    """Image descriptors before the trailer (or the first byte that starts no block, where
    Pillow stops too), their delays and the loop count; past max_frames, frames is
    max_frames + 1 and no duration. Restores the stream position (Pillow may hold it)."""
    start = source.tell()
    try:
        return _walk_gif(source, size, max_frames)
    finally:
        source.seek(start)


def _walk_gif(source: BinaryIO, size: int, max_frames: int) -> Timing:
    flags = read_at(source, 10, 1)
    position = _GIF_HEADER_BYTES + (colour_table_bytes(flags[0]) if flags else 0)
    frames = total = delay = 0
    loop: int | None = None
    while position < size:
        block = read_at(source, position, 2)
        if not block or block[0] not in (_GIF_IMAGE, _GIF_EXTENSION):
            break
        if block[0] == _GIF_IMAGE:
            frames += 1
            if frames > max_frames:
                return Timing(frames, None, None)
            total, delay = total + delay, 0
            descriptor = read_at(source, position + 1, _GIF_DESCRIPTOR_BYTES - 1)
            if len(descriptor) < _GIF_DESCRIPTOR_BYTES - 1:
                break
            # a local colour table, then the LZW minimum code size byte
            position += _GIF_DESCRIPTOR_BYTES + colour_table_bytes(descriptor[-1]) + 1
        else:
            label = block[1] if len(block) > 1 else None
            data = read_at(source, position + 2, 12)  # the first sub-block, if that long
            if label == _GIF_CONTROL and len(data) >= 4:
                delay = int.from_bytes(data[2:4], "little")
            elif label == _GIF_APPLICATION and data[1:12] in _GIF_LOOPING_APPS:
                loop_block = read_at(source, position + 2 + 12, 4)
                if len(loop_block) == 4 and loop_block[0] >= 3 and loop_block[1] == 1:
                    loop = int.from_bytes(loop_block[2:4], "little")
            position += 2  # introducer and label
        position = skip_sub_blocks(source, position)
    animated = frames > 1
    return Timing(frames, 10 * total if animated else None, loop if animated else None)


def colour_table_bytes(flags: int) -> int:
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def skip_sub_blocks(source: BinaryIO, position: int) -> int:
    """The position after a chain of data sub-blocks (each a length byte, then its data)."""
    while True:
        length = read_at(source, position, 1)
        if not length:
            return position
        position += 1 + length[0]
        if length[0] == 0:
            return position


def apng_timing(source: BinaryIO, size: int, max_frames: int) -> Timing:
    position = _PNG_SIGNATURE_BYTES
    frames = 0
    total = 0.0
    plays: int | None = None
    for _ in range(MAX_PNG_CHUNKS):
        header = read_at(source, position, 8)
        if len(header) < 8:
            break
        length, kind = int.from_bytes(header[:4], "big"), header[4:]
        if kind == b"acTL":
            plays = int.from_bytes(read_at(source, position + 12, 4), "big")
        elif kind == b"fcTL":
            frames += 1
            if frames > max_frames:
                return Timing(frames, None, plays)
            data = read_at(source, position + 8 + 20, 4)
            if len(data) == 4:
                numerator, denominator = data[:2], data[2:]
                total += int.from_bytes(numerator, "big") / (
                    int.from_bytes(denominator, "big") or 100
                )
        elif kind == b"IEND":
            return Timing(frames, round(1000 * total) if frames > 1 else None, plays)
        position += 12 + length
        if position >= size:
            break
    return Timing(frames, round(1000 * total) if frames > 1 else None, plays)


def webp_timing(source: BinaryIO, size: int, max_frames: int) -> Timing:
    frames = total = 0
    loop: int | None = None
    for fourcc, position, length in riff_chunks(source, min(riff_end(source), size), size):
        if fourcc == b"ANIM" and length >= 6:
            loop = int.from_bytes(read_at(source, position + 4, 2), "little")
        elif fourcc == b"ANMF" and length >= 16:
            frames += 1
            if frames > max_frames:
                return Timing(frames, None, loop)
            total += int.from_bytes(read_at(source, position + 12, 3), "little")
    animated = frames > 1
    return Timing(frames, total if animated else None, loop if animated else None)
