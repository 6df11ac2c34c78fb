"""Tools of the hostile-input tests: what each hostile file must become, a loopback listener
that counts connections, an inotify watch that sees any process open a file, and a fresh
subprocess that measures the peak memory of one step.

Run as `python -m tests.hostile.helpers <extract|render> <path>` it is that subprocess.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.hostile import corpus, corpus_facets

REPO_ROOT = Path(__file__).resolve().parents[2]
OK = "ok"
MIB = 1024 * 1024


# --- what each hostile file must become -------------------------------------------------------


@dataclass(frozen=True)
class HostileCase:
    """One hostile file: the name it is stored under (its extension may lie), its bytes, and
    the outcome of extraction and of rendering: OK or the reason code it must be refused with."""

    name: str
    make: Callable[[], bytes]
    extraction: str
    render: str


def _case(name: str, make: Callable[[], bytes], extraction: str, render: str = "") -> HostileCase:
    # The renderer reports content it cannot parse as render_failed, not unreadable_file.
    return HostileCase(name, make, extraction, render or extraction)


_EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}

HOSTILE_CASES: tuple[HostileCase, ...] = (
    _case("zero-byte.png", corpus.zero_byte, "empty_file"),
    _case("cut-upload.png", corpus.png_truncated, "truncated_file"),
    _case("cut-camera.jpg", corpus.jpeg_truncated, "truncated_file"),
    # wrong extensions: the magic bytes decide
    _case("really-a-jpeg.png", lambda: corpus.jpeg_large(640, 480, orientation=1), OK),
    _case("really-a-pdf.jpg", lambda: corpus.pdf_multipage(1, 0, 300, 400), OK),
    _case("noise.png", corpus.random_bytes_named_png, "unsupported_format"),
    _case("zip-renamed.psd", corpus.zip_archive, "unsupported_format"),
    _case("png-then-pdf-polyglot.png", corpus.png_pdf_polyglot, OK),
    # declared dimensions far over the pixel limit
    *(
        _case(
            f"bomb-{fmt}.{_EXTENSIONS.get(fmt, fmt)}",
            lambda fmt=fmt: corpus.huge_declared_size(fmt),
            "decompression_bomb",
        )
        for fmt in corpus.HUGE_DECLARED_FORMATS
    ),
    # entity expansion (in UTF-8, and in UTF-16 where a byte regex cannot see the DOCTYPE)
    _case("billion-laughs.svg", corpus.svg_billion_laughs, "hostile_content"),
    _case(
        "billion-laughs-utf16.svg",
        lambda: corpus.svg_billion_laughs(encoding="utf-16"),
        "hostile_content",
    ),
    # an SVG is tiny, its inline rasters need not be: librsvg decodes each one in full
    _case(
        "embedded-png-bomb.svg",
        lambda: corpus.svg_embedding(corpus.png_bomb(15_000)),
        "decompression_bomb",
    ),
    _case(
        "embedded-huge-header.svg",
        lambda: corpus.svg_embedding(corpus.huge_declared_size("png")),
        "decompression_bomb",
    ),
    _case(
        "embedded-small-images.svg",
        lambda: corpus.svg_embedding(corpus.png_with_alpha(64, 48), copies=3),
        OK,
    ),
    # renderers recurse per nesting level and per <use>: deep ones crashed resvg (SIGSEGV)
    _case("nested-300-deep.svg", corpus.svg_deep, "hostile_content"),
    _case("use-chain-400.svg", lambda: corpus.svg_deep(400, use_chain=True), "hostile_content"),
    _case("nested-100000-deep.svg", lambda: corpus.svg_deep(100_000), "hostile_content"),
    _case("nested-40-deep.svg", lambda: corpus.svg_deep(40), OK),
    _case("use-chain-20.svg", lambda: corpus.svg_deep(20, use_chain=True), OK),
    # psd-tools composites a PSD without a stored composite image recursively, group by group:
    # nested past pixelforge_core/limits.py MAX_LAYER_DEPTH, extraction lists it to that depth
    # and the renderer refuses it (a RecursionError before the cap existed)
    _case(
        "groups-1000-deep.psd",
        lambda: corpus_facets.psd_deep_groups(1_000, 64, 16, has_composite=False),
        OK,
        "hostile_content",
    ),
    # PDFs: encrypted, malformed, thousands of pages
    _case("locked.pdf", corpus.pdf_encrypted, "encrypted_file"),
    _case(
        "page-tree-cycle.pdf",
        lambda: corpus.pdf_malformed("page_tree_cycle"),
        "unreadable_file",
        "render_failed",
    ),
    _case(
        "no-pages.pdf", lambda: corpus.pdf_malformed("no_pages"), "unreadable_file", "render_failed"
    ),
    _case("count-lie.pdf", lambda: corpus.pdf_malformed("count_lie"), OK),
    _case("broken-xref.pdf", lambda: corpus.pdf_malformed("broken_xref"), OK),
    _case("3000-pages.pdf", corpus.pdf_many_pages, OK),
    # PSDs in odd modes
    *(
        _case(f"mode-{mode}.psd", lambda mode=mode: corpus.psd_odd_mode(mode), OK)
        for mode in corpus.PSD_ODD_MODES
    ),
    # CMYK, 16-bit, palette, animated, odd metadata
    _case("print-cmyk.jpg", lambda: corpus.jpeg_cmyk(600, 400), OK),
    _case("print-cmyk.tif", corpus.tiff_cmyk, OK),
    _case("scan-rgb16.tif", corpus.tiff_rgb16, OK),
    _case("scan-grey16.tif", lambda: corpus.tiff_16bit(600, 400), OK),
    _case("ramp-rgb16.png", corpus.png_rgb16, OK),
    _case("palette-transparent.png", corpus.png_palette_transparent, OK),
    _case("animated.gif", lambda: corpus.gif_animated(160, 120), OK),
    _case("5000-frames.gif", corpus.gif_many_frames, OK),
    # tens of thousands of pages or frames in a small file: counted up to a limit, then refused
    _case("100000-pages.tif", corpus.tiff_page_flood, "hostile_content", OK),
    _case("50000-frames.gif", corpus.gif_frame_flood, "hostile_content", OK),
    _case("page-loop.tif", lambda: corpus.tiff_page_flood(3, loop=True), OK),
    _case("animated.webp", corpus.webp_animated, OK),
    _case("animated.png", corpus.png_animated, OK),
    _case("full-exif-segment.jpg", corpus.jpeg_huge_exif, OK),
)


def hostile_case(name: str) -> HostileCase:
    return next(case for case in HOSTILE_CASES if case.name == name)


@functools.cache
def hostile_bytes(name: str) -> bytes:
    """The bytes of the named case, generated once per session."""
    return hostile_case(name).make()


# --- no URL fetched ----------------------------------------------------------------------------


class ConnectionCounter:
    """A TCP listener on loopback that accepts and records every connection made to it."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.05)
        self.port = int(self._socket.getsockname()[1])
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/x.png") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1.0)
                try:
                    self.requests.append(connection.recv(4096) or b"<connected, sent nothing>")
                except OSError:
                    self.requests.append(b"<connected>")

    def __enter__(self) -> ConnectionCounter:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()


# --- no file read outside the designs bucket ---------------------------------------------------

_IN_ACCESS = 0x001
_IN_OPEN = 0x020
_IN_NONBLOCK = 0o4000
_EVENT = struct.Struct("iIII")


class OpenWatch:
    """inotify on a few files: sees an open or a read by any process, native code included."""

    def __init__(self, *paths: Path) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(_IN_NONBLOCK)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._paths: dict[int, Path] = {}
        for path in paths:
            watch = self._libc.inotify_add_watch(self._fd, os.fsencode(path), _IN_OPEN | _IN_ACCESS)
            if watch < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch failed for {path}")
            self._paths[watch] = path

    def opened(self) -> list[Path]:
        """Files opened or read since the last call (or since the watch began)."""
        seen: list[Path] = []
        while True:
            try:
                data = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                return seen
            offset = 0
            while offset < len(data):
                watch, _mask, _cookie, name_length = _EVENT.unpack_from(data, offset)
                seen.append(self._paths.get(watch, Path("?")))
                offset += _EVENT.size + name_length

    def close(self) -> None:
        os.close(self._fd)


# --- peak memory of one step, in a fresh process ---------------------------------------------


def measure_in_subprocess(step: str, path: Path, timeout_s: float = 120) -> dict[str, Any]:
    """Run extraction or rendering of one file in a fresh interpreter; returns its outcome,
    seconds and peak RSS in MiB (VmHWM: the high-water mark of this process's own memory)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    completed = subprocess.run(
        [sys.executable, "-m", "tests.hostile.helpers", step, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=REPO_ROOT,
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"the {step} subprocess failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _high_water_mib() -> float:
    # Not ru_maxrss: Linux carries the parent's high-water mark into a child across exec.
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(step: str, path: str) -> dict[str, Any]:
    from ecs_render.thumbnails import render_thumbnails
    from snowpark_procs.metadata import extract_metadata

    baseline = _high_water_mib()
    started = time.perf_counter()
    with open(path, "rb") as source:  # a file on disk, as the byte sources spool large objects
        if step == "extract":
            result: Any = extract_metadata(source, Path(path).name)
            outcome = getattr(result, "reason_code", OK)
            facts = {"width_px": result.width_px, "height_px": result.height_px}
            facets = getattr(result, "facets", ())
            facts["facets"] = {f.facet: f.reason_code or f.status for f in facets}
        else:
            result = render_thumbnails(source, (1024, 256))
            outcome = OK if isinstance(result, list) else result.reason_code
            facts = {"sizes": [[t.width_px, t.height_px] for t in result]} if outcome == OK else {}
    return {
        "outcome": outcome,
        "message": getattr(result, "message", ""),
        "seconds": round(time.perf_counter() - started, 3),
        "baseline_mib": round(baseline, 1),
        "peak_mib": round(_high_water_mib(), 1),
        **facts,
    }


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], sys.argv[2])))
