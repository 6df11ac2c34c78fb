"""A decode worker: `python -m ecs_render.decode_worker REQUEST_FD REPLY_FD`, started by
ecs_render.decode_pool with an environment that holds no credentials.

It receives one source file at a time as bytes and answers with WebP thumbnails or a failure,
or one stored 256 px thumbnail and answers with its visual facet (ecs_render/visual.py).
Before it reads any request it confines itself (ecs_render.sandbox: RLIMIT_AS, not dumpable,
the seccomp filter that makes socket(2) fail), and only then imports the decoders. It never
imports boto3 and holds no S3 client: the server does all S3 I/O.

Each row runs under the per-row time budget (SIGALRM): a row over it is answered
render_timeout and the worker goes on; a C-level hang that ignores the alarm is ended by the
server's hard deadline, which kills this process.
"""

from __future__ import annotations

import importlib
import io
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, BinaryIO

from ecs_render import sandbox
from ecs_render.worker_frames import (
    Frame,
    FrameError,
    read_frame_blocking,
    write_frame_blocking,
)

# Reason codes spelled here, not imported: the worker imports nothing it does not need.
RENDER_FAILED = "render_failed"
RENDER_TIMEOUT = "render_timeout"
MIB = 1024 * 1024
MAX_MESSAGE_CHARS = 300

Decoder = Callable[[BinaryIO, Sequence[int]], Any]
VisualFunction = Callable[[bytes], Any]


class _RowTimeout(BaseException):
    """Raised by SIGALRM; a BaseException so no decoder's `except Exception` swallows it."""


# Set with the SIGALRM that ends a row. The signal's exception is lost when it lands inside a C
# callback into Python (libvips' read and log handlers: cffi prints and drops it), so the flag
# is checked again once the decoder returns.
_row_expired = False


def _raise_row_timeout(signum: int, frame: FrameType | None) -> None:
    global _row_expired  # read back by decode_within_budget
    _row_expired = True
    raise _RowTimeout


def load_decoder(spec: str) -> Callable[..., Any]:
    """ "package.module:function" -> the function (the service's are render_thumbnails and
    visual_of_thumbnail)."""
    module_name, _, name = spec.partition(":")
    decoder = getattr(importlib.import_module(module_name), name)
    if not callable(decoder):
        raise TypeError(f"{spec} is not callable")
    return decoder


def _within_budget(
    work: Callable[[], Any], timeout_s: float, cap_bytes: int
) -> tuple[Any, dict[str, Any] | None]:
    """Run work under the row's alarm: (its result, None), or (None, the failure reply)."""
    global _row_expired  # reset for this row before its alarm is armed
    _row_expired = False
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            result = work()
            if _row_expired:
                raise _RowTimeout
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _RowTimeout:
        return None, _failure(RENDER_TIMEOUT, f"rendering took longer than {timeout_s:g} s")
    except MemoryError:
        return None, _failure(
            RENDER_FAILED,
            f"decoding needs more memory than a render worker's {cap_bytes // MIB} MiB cap",
        )
    except Exception as error:  # a decoder bug: a fact about this file as far as we know
        return None, _failure(RENDER_FAILED, f"unexpected renderer error: {error!r}")
    return result, None


def decode_within_budget(
    decode: Decoder, data: bytes, sizes: Sequence[int], timeout_s: float, cap_bytes: int
) -> dict[str, Any] | tuple[dict[str, Any], tuple[bytes, ...]]:
    """Run the decoder on data; the reply header (and the thumbnails' bytes when it rendered)."""
    rendered, failure = _within_budget(
        lambda: decode(io.BytesIO(data), sizes), timeout_s, cap_bytes
    )
    if failure is not None:
        return failure
    if isinstance(rendered, list):
        header = {
            "type": "thumbnails",
            "thumbnails": [
                {
                    "size_px": thumbnail.size_px,
                    "width_px": thumbnail.width_px,
                    "height_px": thumbnail.height_px,
                    "bytes": len(thumbnail.data),
                }
                for thumbnail in rendered
            ],
        }
        return header, tuple(thumbnail.data for thumbnail in rendered)
    return _failure(rendered.reason_code, rendered.message)


def visual_within_budget(
    visual: VisualFunction, data: bytes, timeout_s: float, cap_bytes: int
) -> dict[str, Any]:
    """The visual facet of a stored thumbnail's bytes: {"type": "visual", "payload"} or a
    failure (its bytes are ours, but decoded here all the same: the server decodes nothing)."""
    payload, failure = _within_budget(lambda: visual(data), timeout_s, cap_bytes)
    return failure if failure is not None else {"type": "visual", "payload": payload}


def _failure(reason_code: str, message: str) -> dict[str, Any]:
    text = " ".join(str(message).split())[:MAX_MESSAGE_CHARS]
    return {"type": "failure", "reason_code": reason_code, "message": text}


def serve(requests: BinaryIO, reply_fd: int) -> int:
    """The worker's life: hello, confinement, then one row per request until end of stream."""
    hello = read_frame_blocking(requests, max_payload=0)
    if hello is None:
        return 0
    config = hello.header
    cap_bytes = int(config["address_space_bytes"])
    try:
        confinement = sandbox.confine(cap_bytes, allow_unconfined=bool(config["allow_unconfined"]))
        # Decoders are imported confined: nothing they run at import time escapes either.
        sys.path[:] = [str(entry) for entry in config["sys_path"]]
        decode = load_decoder(str(config["decode"]))
        visual = load_decoder(str(config["visual"]))
    except Exception as error:
        write_frame_blocking(reply_fd, {"type": "error", "message": f"{error!r}"})
        return 1
    signal.signal(signal.SIGALRM, _raise_row_timeout)
    write_frame_blocking(
        reply_fd,
        {
            "type": "ready",
            "pid": os.getpid(),
            "seccomp": confinement.seccomp,
            "detail": confinement.detail,
        },
    )
    timeout_s, max_source = float(config["timeout_s"]), int(config["max_source_bytes"])
    while True:
        frame = read_frame_blocking(requests, max_payload=max_source)
        if frame is None:
            return 0
        reply = _answer(frame, decode, visual, timeout_s, cap_bytes)
        if isinstance(reply, dict):
            write_frame_blocking(reply_fd, reply)
        else:
            write_frame_blocking(reply_fd, *reply)


def _answer(
    frame: Frame, decode: Decoder, visual: VisualFunction, timeout_s: float, cap_bytes: int
) -> dict[str, Any] | tuple[dict[str, Any], tuple[bytes, ...]]:
    if frame.header.get("type") == "visual":
        return visual_within_budget(visual, frame.payload, timeout_s, cap_bytes)
    sizes = [int(size) for size in frame.header["sizes"]]
    return decode_within_budget(decode, frame.payload, sizes, timeout_s, cap_bytes)


def main(argv: Sequence[str]) -> int:
    # No PR_SET_PDEATHSIG: it fires when the *thread* that started the worker ends, and the
    # server starts workers from short-lived threads. A worker ends at the end of its input.
    request_fd, reply_fd = int(argv[1]), int(argv[2])
    with open(request_fd, "rb", buffering=1024 * 1024) as requests:
        try:
            return serve(requests, reply_fd)
        except FrameError as error:  # the server went away mid-frame: nothing left to do
            print(f"decode worker {os.getpid()}: {error}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
