"""The wire between the server and a decode worker: length-prefixed frames over two pipes.

A frame is a 12-byte prefix (JSON length: u32, payload length: u64, big-endian), a JSON object
and a payload of raw bytes (the source file one way, the WebP thumbnails back). Nothing is
pickled: the server reads what a possibly compromised worker wrote, so it parses only bounded
JSON and bytes (ecs_render.decode_pool validates every field).

The server side reads and writes with a deadline on non-blocking pipes; the worker side blocks.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

PREFIX = struct.Struct(">IQ")
MAX_HEADER_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024


class FrameError(Exception):
    """The other side sent something that is not a frame, or went away (EOF, broken pipe)."""


class FrameTimeoutError(FrameError):
    """The deadline passed before the frame was sent or received in full."""


@dataclass(frozen=True)
class Frame:
    header: dict[str, Any]
    payload: bytes


def encode_prefix(header: dict[str, Any], payload_bytes: int) -> bytes:
    """The prefix and JSON of a frame whose payload (payload_bytes long) follows."""
    text = json.dumps(header, separators=(",", ":")).encode()
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError(f"frame header of {len(text)} bytes, over {MAX_HEADER_BYTES}")
    return PREFIX.pack(len(text), payload_bytes) + text


def decode_header(raw: bytes) -> dict[str, Any]:
    """A frame's JSON object; FrameError for anything else."""
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise FrameError(f"frame header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise FrameError("frame header is not a JSON object")
    return header


# --- the worker's side: blocking ------------------------------------------------------------


def read_frame_blocking(stream: BinaryIO, max_payload: int) -> Frame | None:
    """The next frame from a buffered stream, or None at a clean end of stream."""
    prefix = stream.read(PREFIX.size)
    if not prefix:
        return None
    if len(prefix) < PREFIX.size:
        raise FrameError("stream ended inside a frame prefix")
    header_bytes, payload_bytes = PREFIX.unpack(prefix)
    if header_bytes > MAX_HEADER_BYTES or payload_bytes > max_payload:
        raise FrameError(f"frame of {header_bytes} + {payload_bytes} bytes is over the limit")
    header = decode_header(stream.read(header_bytes))
    # BufferedReader.read(n) allocates the n bytes once and reads into them: no second copy.
    payload = stream.read(payload_bytes) if payload_bytes else b""
    if len(payload) != payload_bytes:
        raise FrameError("stream ended inside a frame payload")
    return Frame(header, payload)


def write_frame_blocking(fd: int, header: dict[str, Any], parts: tuple[bytes, ...] = ()) -> None:
    _write_all(fd, encode_prefix(header, sum(len(part) for part in parts)), None)
    for part in parts:
        _write_all(fd, part, None)


# --- the server's side: non-blocking, with a deadline ---------------------------------------


def send_frame(fd: int, header: dict[str, Any], source: BinaryIO | None, deadline: float) -> None:
    """Send header and the whole of source (a seekable stream, read from its start)."""
    size = 0
    if source is not None:
        size = source.seek(0, os.SEEK_END)
        source.seek(0)
    _write_all(fd, encode_prefix(header, size), deadline)
    if source is not None:
        for chunk in _chunks(source):
            _write_all(fd, chunk, deadline)


def receive_frame(fd: int, deadline: float, max_payload: int) -> Frame:
    """One frame, read before deadline; FrameError if it is malformed or over max_payload."""
    header_bytes, payload_bytes = PREFIX.unpack(_read_exact(fd, PREFIX.size, deadline))
    if header_bytes > MAX_HEADER_BYTES:
        raise FrameError(f"frame header of {header_bytes} bytes, over {MAX_HEADER_BYTES}")
    if payload_bytes > max_payload:
        raise FrameError(f"frame payload of {payload_bytes} bytes, over {max_payload}")
    header = decode_header(_read_exact(fd, header_bytes, deadline))
    return Frame(header, _read_exact(fd, payload_bytes, deadline))


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    while chunk := source.read(CHUNK_BYTES):
        yield chunk


def _wait(fd: int, events: int, deadline: float | None) -> None:
    if deadline is None:
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FrameTimeoutError("deadline passed")
    poller = select.poll()
    poller.register(fd, events)
    if not poller.poll(remaining * 1000):
        raise FrameTimeoutError("deadline passed")


def _write_all(fd: int, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        _wait(fd, select.POLLOUT, deadline)
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        except OSError as error:  # BrokenPipeError: the worker is gone
            raise FrameError(f"cannot write to the worker: {error}") from None
        view = view[written:]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        _wait(fd, select.POLLIN, deadline)
        try:
            got = os.readv(fd, [view[done:]])
        except BlockingIOError:
            continue
        except OSError as error:
            raise FrameError(f"cannot read from the worker: {error}") from None
        if got == 0:
            raise FrameError("the worker closed its pipe")
        done += got
    return bytes(buffer)
