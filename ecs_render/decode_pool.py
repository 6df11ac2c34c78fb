"""The server's side of decoding: a pool of confined worker processes, one row at a time each.

Each worker is `python -m ecs_render.decode_worker`, started with an environment reduced to an
allow-list and two pipes, the only file descriptors it inherits (with stdin on /dev/null and
stdout on the server's stderr). Dropped by the allow-list, among everything else: AWS_*
credentials, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI, which name the task role's
credentials endpoint (AWS "Amazon ECS task IAM role",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html), and
ECS_CONTAINER_METADATA_URI / _V4, the task metadata endpoint (AWS "Amazon ECS task metadata
endpoint version 4 for tasks on Fargate",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html).
Knowing those addresses would not help a worker anyway: it cannot open a socket.

The server sends the source bytes it read and checked; the worker answers WebP bytes
and dimensions, or a failure. A reply is untrusted input: it is bounded JSON and bytes, never a
pickle, and every field is checked before it reaches S3 or the response.

Crashes are charged to the row that caused them: a worker decodes one row at a time, so when a
worker dies (or answers nonsense) only its row is affected. That row is retried once, alone, in
a fresh worker; a second crash makes it render_failed. A row over the hard deadline (the
worker's own alarm did not answer) is render_timeout and its worker is killed. When no worker
can be started the row is renderer_unavailable: the renderer, not the file, failed.

A worker also computes the visual facet of a stored 256 px thumbnail (ecs_render/visual.py):
the same exchange, retry and deadline, a header-only reply checked like the thumbnails.

One module on purpose (~430 lines): the pool's start, reply checks, crash retry and deadline
share one lock and one worker-state machine; split apart they would share private state.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

from ecs_render.results import RenderFailure, Thumbnail
from ecs_render.worker_frames import Frame, FrameError, FrameTimeoutError, receive_frame, send_frame
from pixelforge_core.reason_codes import ALL_REASON_CODES, RENDER_FAILED, RENDER_TIMEOUT
from pixelforge_core.render_wire import RENDERER_UNAVAILABLE, visual_payload_problem

T = TypeVar("T")

logger = logging.getLogger("ecs_render")

RENDER_THUMBNAILS = "ecs_render.thumbnails:render_thumbnails"
VISUAL_OF_THUMBNAIL = "ecs_render.visual:visual_of_thumbnail"
STARTUP_TIMEOUT_S = 120.0  # imports take 1-3 s; a loaded host (CI) can take far longer
HARD_TIMEOUT_GRACE_S = 5.0  # the worker's own alarm should answer first; this catches C hangs
MAX_MESSAGE_CHARS = 400
# The environment a worker may see: what Python, the C libraries and locale need. Everything
# else (credentials of any kind, the task metadata endpoint, PIXELFORGE_* settings) is dropped.
ENVIRONMENT_ALLOWED = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        "PYTHONHASHSEED",
        "VIRTUAL_ENV",
        "LD_LIBRARY_PATH",
        "FONTCONFIG_FILE",
        "FONTCONFIG_PATH",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_DIRS",
    }
)
ENVIRONMENT_ALLOWED_PREFIXES = ("LC_", "VIPS_")


class WorkerStartError(RuntimeError):
    """A worker could not be started or confined (e.g. no seccomp and not allowed to run
    without it)."""


class WorkerLostError(Exception):
    """The worker died, or broke the protocol, while it had this row."""


class WorkerHungError(Exception):
    """The worker did not answer within the hard deadline."""


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker is started with (from RenderSettings)."""

    address_space_bytes: int
    timeout_s: float
    max_source_bytes: int
    allow_unconfined: bool = False
    decode: str = RENDER_THUMBNAILS
    visual: str = VISUAL_OF_THUMBNAIL

    @property
    def hard_timeout_s(self) -> float:
        return self.timeout_s + HARD_TIMEOUT_GRACE_S


def worker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed subset of environ that a worker is started with."""
    return {
        name: value
        for name, value in environ.items()
        if name in ENVIRONMENT_ALLOWED or name.startswith(ENVIRONMENT_ALLOWED_PREFIXES)
    }


class DecodeWorker:
    """One confined worker process and its two pipes; used by one row at a time."""

    def __init__(self, config: WorkerConfig) -> None:
        self._config = config
        request_read, self._requests = os.pipe()
        self._replies, reply_write = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "ecs_render.decode_worker", str(request_read),
                 str(reply_write)],
                pass_fds=(request_read, reply_write),
                env=worker_environment(os.environ),
                stdin=subprocess.DEVNULL,
                stdout=2,  # its prints go to the server's stderr, never into a pipe
                close_fds=True,
            )  # fmt: skip
        except OSError as error:
            for fd in (self._requests, self._replies):
                os.close(fd)
            raise WorkerStartError(f"cannot start a decode worker: {error}") from None
        finally:
            os.close(request_read)
            os.close(reply_write)
        os.set_blocking(self._requests, False)
        os.set_blocking(self._replies, False)
        self.seccomp, self.confinement_detail = self._handshake()

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def _handshake(self) -> tuple[bool, str]:
        config = self._config
        hello = {
            "type": "hello",
            "address_space_bytes": config.address_space_bytes,
            "allow_unconfined": config.allow_unconfined,
            "timeout_s": config.timeout_s,
            "max_source_bytes": config.max_source_bytes,
            "decode": config.decode,
            "visual": config.visual,
            "sys_path": list(sys.path),
        }
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        try:
            send_frame(self._requests, hello, None, deadline)
            reply = receive_frame(self._replies, deadline, max_payload=0).header
        except FrameError as error:
            self.kill()
            raise WorkerStartError(f"decode worker did not start: {error}") from None
        if reply.get("type") != "ready" or not isinstance(reply.get("seccomp"), bool):
            self.kill()
            raise WorkerStartError(f"decode worker refused to start: {reply.get('message')}")
        detail = str(reply.get("detail", ""))
        if not reply["seccomp"]:
            logger.warning("decode worker %s runs WITHOUT seccomp: %s", self.pid, detail)
        return reply["seccomp"], detail

    def decode(self, source: BinaryIO, sizes: Sequence[int]) -> list[Thumbnail] | RenderFailure:
        """Send one row's bytes and read the answer (else WorkerLostError, WorkerHungError)."""
        request = {"type": "render", "sizes": list(sizes)}
        return parse_reply(self._exchange(request, source, _max_reply_bytes(sizes)), sizes)

    def visual(self, thumbnail: bytes) -> dict[str, Any] | RenderFailure:
        """Send a stored thumbnail's bytes; its visual payload, checked, or a failure."""
        frame = self._exchange({"type": "visual"}, io.BytesIO(thumbnail), 0)
        return parse_visual_reply(frame)

    def _exchange(self, header: dict[str, Any], source: BinaryIO, max_reply: int) -> Frame:
        deadline = time.monotonic() + self._config.hard_timeout_s
        try:
            send_frame(self._requests, header, source, deadline)
            # The budget starts when the worker has the bytes, as its own alarm does.
            deadline = time.monotonic() + self._config.hard_timeout_s
            return receive_frame(self._replies, deadline, max_payload=max_reply)
        except FrameTimeoutError:
            raise WorkerHungError from None
        except FrameError as error:
            raise WorkerLostError(str(error)) from None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
        self._process.wait()
        self._close_pipes()

    def close(self, grace_s: float) -> None:
        """End of input for an idle worker: it exits (killed after grace_s)."""
        self._close_pipes()
        try:
            self._process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def signal_kill(self) -> None:
        """SIGKILL only: safe from another thread than the one using the pipes."""
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()

    def _close_pipes(self) -> None:
        for fd in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._requests = self._replies = -1


def _max_reply_bytes(sizes: Sequence[int]) -> int:
    # A WebP is never larger than the raw RGBA of its box, plus container overhead.
    return sum(4 * size * size + 1024 * 1024 for size in sizes)


def _failure_reply(header: dict[str, Any]) -> RenderFailure:
    code, message = header.get("reason_code"), header.get("message")
    if not isinstance(code, str) or not isinstance(message, str):
        raise WorkerLostError("failure reply without a reason code and message")
    text = " ".join(message.split())[:MAX_MESSAGE_CHARS]
    if code not in ALL_REASON_CODES:  # the worker may not claim "not the file's fault"
        return RenderFailure(RENDER_FAILED, f"renderer answered {code[:40]!r}: {text}")
    return RenderFailure(code, text)


def parse_visual_reply(frame: Frame) -> dict[str, Any] | RenderFailure:
    """A worker's visual facet, checked (render_wire.visual_payload_problem); WorkerLostError
    when it is not a valid answer."""
    header = frame.header
    if header.get("type") == "failure":
        return _failure_reply(header)
    if header.get("type") != "visual" or frame.payload:
        raise WorkerLostError(f"unexpected reply type {str(header.get('type'))[:40]!r}")
    problem = visual_payload_problem(header.get("payload"))
    if problem:
        raise WorkerLostError(problem)
    return header["payload"]


def parse_reply(frame: Frame, sizes: Sequence[int]) -> list[Thumbnail] | RenderFailure:
    """A worker's answer, checked field by field; WorkerLostError when it is not a valid answer."""
    header = frame.header
    if header.get("type") == "failure":
        return _failure_reply(header)
    entries = header.get("thumbnails")
    if header.get("type") != "thumbnails" or not isinstance(entries, list):
        raise WorkerLostError(f"unexpected reply type {str(header.get('type'))[:40]!r}")
    thumbnails, offset = [], 0
    for entry in entries:
        thumbnail = _thumbnail(entry, frame.payload, offset, sizes)
        offset += len(thumbnail.data)
        thumbnails.append(thumbnail)
    if offset != len(frame.payload) or len({t.size_px for t in thumbnails}) != len(thumbnails):
        raise WorkerLostError("thumbnail lengths do not add up to the payload, or sizes repeat")
    return thumbnails


def _thumbnail(entry: Any, payload: bytes, offset: int, sizes: Sequence[int]) -> Thumbnail:
    if not isinstance(entry, dict):
        raise WorkerLostError("a thumbnail entry is not an object")
    values = [entry.get(name) for name in ("size_px", "width_px", "height_px", "bytes")]
    if not all(type(value) is int for value in values):
        raise WorkerLostError("a thumbnail entry has a non-integer field")
    size_px, width, height, length = values
    if size_px not in sizes or not (1 <= width <= size_px and 1 <= height <= size_px):
        raise WorkerLostError(f"thumbnail {width}x{height} does not fit a requested size {size_px}")
    if length < 0 or offset + length > len(payload):
        raise WorkerLostError("thumbnail length runs past the payload")
    data = payload[offset : offset + length]
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise WorkerLostError("a thumbnail is not WebP")
    return Thumbnail(size_px, width, height, data)


class DecodePool:
    """`workers` confined decode workers handed to one row at a time; thread-safe."""

    def __init__(self, config: WorkerConfig, workers: int) -> None:
        self._config = config
        self._idle: queue.Queue[DecodeWorker | None] = queue.Queue()
        self._all: set[DecodeWorker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._slot_count = workers
        for _ in range(workers):
            self._idle.put(None)  # started by start() or by the first row that needs it

    def start(self) -> None:
        """Start every worker now (so the first batch does not pay for imports); raises
        WorkerStartError when a worker cannot be confined, so the service refuses to start."""
        slots = [self._idle.get() for _ in range(self._idle.qsize())]
        started: list[DecodeWorker | None] = []
        errors: list[WorkerStartError] = []

        def start_one(slot: DecodeWorker | None) -> None:
            try:
                started.append(slot if slot is not None else self._new_worker())
            except WorkerStartError as error:
                errors.append(error)
                started.append(None)

        threads = [threading.Thread(target=start_one, args=(slot,)) for slot in slots]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for worker in started:
            self._idle.put(worker)
        if errors:
            raise errors[0]

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(worker.pid for worker in self._all if worker.alive())

    def decode(self, source: BinaryIO, sizes: Sequence[int]) -> list[Thumbnail] | RenderFailure:
        """Decode one row on an idle worker: thumbnails, or the failure charged to this row."""
        return self._on_worker(lambda worker: worker.decode(source, sizes))

    def visual(self, thumbnail: bytes) -> dict[str, Any] | RenderFailure:
        """A stored 256 px thumbnail's visual payload, computed on an idle worker."""
        return self._on_worker(lambda worker: worker.visual(thumbnail))

    def _on_worker(self, call: Callable[[DecodeWorker], T]) -> T | RenderFailure:
        """call on an idle worker, with the crash retry and deadline every row gets."""
        worker = self._idle.get()
        try:
            if self._closed:
                return RenderFailure(RENDERER_UNAVAILABLE, "the renderer is shutting down")
            for attempt in (1, 2):
                if worker is None or not worker.alive():
                    # Dead before this row was sent (killed, or a crash of an earlier row): a
                    # fresh worker, without charging this row an attempt.
                    worker = self._replace(worker)
                    if isinstance(worker, RenderFailure):
                        return worker
                try:
                    return call(worker)
                except WorkerHungError:
                    logger.warning("decode worker %s hung; killed", worker.pid)
                    self._retire(worker)
                    worker = None
                    return RenderFailure(
                        RENDER_TIMEOUT,
                        f"rendering did not finish within {self._config.hard_timeout_s:g} s; "
                        "worker restarted",
                    )
                except WorkerLostError as error:
                    logger.warning("decode worker %s lost (attempt %d): %s",
                                   worker.pid, attempt, error)  # fmt: skip
                    self._retire(worker)
                    worker = None
            return RenderFailure(RENDER_FAILED, "the render worker crashed on this file twice")
        finally:
            if worker is not None and self._closed:
                self._retire(worker)
                worker = None
            self._idle.put(worker)

    def _replace(self, worker: DecodeWorker | None) -> DecodeWorker | RenderFailure:
        if worker is not None:
            self._retire(worker)
        if self._closed:
            return RenderFailure(RENDERER_UNAVAILABLE, "the renderer is shutting down")
        try:
            return self._new_worker()
        except WorkerStartError as error:
            logger.error("cannot replace a decode worker: %s", error)
            return RenderFailure(RENDERER_UNAVAILABLE, f"renderer unavailable: {error}")

    def _new_worker(self) -> DecodeWorker:
        worker = DecodeWorker(self._config)
        with self._lock:
            if self._closed:
                worker.kill()
                raise WorkerStartError("the renderer is shutting down")
            self._all.add(worker)
        return worker

    def _retire(self, worker: DecodeWorker) -> None:
        worker.kill()
        self._forget(worker)

    def _forget(self, worker: DecodeWorker) -> None:
        with self._lock:
            self._all.discard(worker)

    def close(self, grace_s: float) -> None:
        """Let running rows finish for up to grace_s, then kill the workers still busy.

        Only the thread that holds a worker touches its pipes: busy workers are ended by a
        signal, and their rows see the end of the pipe.
        """
        with self._lock:
            self._closed = True
            slots = self._slot_count
        deadline = time.monotonic() + grace_s
        collected = 0
        while collected < slots:
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            collected += 1
            if worker is not None:
                self._forget(worker)
                worker.close(max(0.0, deadline - time.monotonic()))
        with self._lock:
            busy = list(self._all)
        for worker in busy:
            worker.signal_kill()
        for _ in range(slots):  # rows still waiting for a worker get none and give up
            self._idle.put(None)
