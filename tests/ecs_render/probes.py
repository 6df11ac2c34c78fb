"""Decoders the security tests start the real worker pool with (create_app(..., decoder=...)).

They run inside decode workers, so this module imports nothing a worker would not (no boto3, no
test fixtures). A probe reports through the only channel a worker has, its reply: a failure
whose message is a small JSON object, or thumbnails.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import json
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from ecs_render.results import RenderFailure, Thumbnail
from ecs_render.thumbnails import render_thumbnails

CRASH_MARKER = b"pixelforge-test-crash"
HANG_MARKER = b"pixelforge-test-hang"
CRASH_ONCE_PREFIX = b"pixelforge-test-once:"  # must not contain CRASH_MARKER
PTRACE_ATTACH = 16  # <sys/ptrace.h>
# What a worker must not see: credentials of any kind and the ECS endpoints' addresses.
SECRET_HINTS = ("AWS_", "ECS_", "SECRET", "TOKEN", "PASSWORD", "CREDENTIAL", "SNOWFLAKE")


def _socket_outcome(family: int) -> str:
    try:
        probe = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        return errno.errorcode.get(error.errno or 0, type(error).__name__)
    probe.close()
    return "opened"


def _socket_fds() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            continue  # the listing's own fd
    return count


def _trace_outcomes() -> tuple[str, str]:
    """ptrace(PTRACE_ATTACH) and process_vm_readv() on a child of this worker: what they would
    do to the server's memory, tried where success harms nothing."""
    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    try:
        attached = libc.ptrace(PTRACE_ATTACH, child, None, None) == 0
        ptrace = "attached" if attached else errno.errorcode.get(ctypes.get_errno(), "?")
        buffer = ctypes.create_string_buffer(8)
        local = (ctypes.c_void_p * 2)(ctypes.cast(buffer, ctypes.c_void_p), 8)
        remote = (ctypes.c_void_p * 2)(ctypes.cast(buffer, ctypes.c_void_p), 8)
        read = libc.process_vm_readv(child, local, 1, remote, 1, 0)
        vm_read = "read" if read >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    return ptrace, vm_read


def _status(field: str) -> str:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def report_confinement(source: BinaryIO, sizes: Sequence[int]) -> RenderFailure:
    """What this worker can reach, as a failure message (JSON, well under 300 characters)."""
    clients = sum(
        1 for obj in gc.get_objects() if type(obj).__module__.startswith(("botocore", "boto3"))
    )
    findings = {
        "inet": _socket_outcome(socket.AF_INET),
        "inet6": _socket_outcome(socket.AF_INET6),
        "unix": _socket_outcome(socket.AF_UNIX),
        "env": sorted(name for name in os.environ if any(h in name for h in SECRET_HINTS))[:3],
        "boto": sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore")),
        "clients": clients,
        "socket_fds": _socket_fds(),
        "trace": _trace_outcomes(),
        "seccomp": _status("Seccomp"),
        "nnp": _status("NoNewPrivs"),
        "as": resource.getrlimit(resource.RLIMIT_AS)[0],
        "bytes": len(source.read()),
    }
    return RenderFailure("render_failed", json.dumps(findings, separators=(",", ":")))


def crash_on_marker(source: BinaryIO, sizes: Sequence[int]) -> list[Thumbnail] | RenderFailure:
    """render_thumbnails, except that a file containing CRASH_MARKER kills its worker (SIGSEGV,
    as a decoder bug would) and one containing HANG_MARKER hangs with SIGALRM blocked (a C loop
    the worker's own alarm cannot end)."""
    data = source.read()
    if CRASH_MARKER in data:
        os.kill(os.getpid(), signal.SIGSEGV)
    if HANG_MARKER in data:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(3600)
    if data.startswith(CRASH_ONCE_PREFIX):
        # Crashes the first worker that sees it: the flag file outlives that worker.
        flag = Path(data[len(CRASH_ONCE_PREFIX) :].decode())
        if not flag.exists():
            flag.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return []
    return render_thumbnails(source, sizes)


def allocate(source: BinaryIO, sizes: Sequence[int]) -> RenderFailure:
    """Allocate (and touch) as many MiB as the source says: past RLIMIT_AS this is MemoryError."""
    mib = int(source.read().decode())
    block = bytearray(mib * 1024 * 1024)
    block[::4096] = b"\x01" * len(block[::4096])
    return RenderFailure("render_failed", f"allocated {len(block) // (1024 * 1024)} MiB")
