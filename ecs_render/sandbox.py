"""Confinement of a decode worker: no new sockets, no tracing, a capped address space.

seccomp is installed with a small classic-BPF filter through ctypes (prctl(PR_SET_NO_NEW_PRIVS)
then seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC)), not through a library:
PyPI has no well-kept binding with a wheel (pyseccomp's last release is from 2021,
libseccomp's own Python bindings are not published there, and the others are personal
repackagings or whole sandboxes), and a library would add a dependency, and the C library
libseccomp2, to the image for a filter of about twenty instructions. The kernel interface is
documented in seccomp(2) (https://man7.org/linux/man-pages/man2/seccomp.2.html, "seccomp(2) —
Linux manual page") and prctl(2).

The filter, for the native architecture only (x86-64 or aarch64; any other audit arch, such as
i386 system calls made through int 0x80 on x86-64, and x32 system calls, fail with EPERM):
- socket(2) and socketpair(2) fail with EPERM for every address family: AF_INET, AF_INET6,
  AF_UNIX, AF_NETLINK, AF_PACKET... The worker needs none: its two pipes were open before.
- ptrace(2), process_vm_readv(2) and process_vm_writev(2) fail: a worker runs as the server's
  user and must not read the server's memory (where the S3 credentials live) or a sibling's.
- io_uring_setup(2) fails: io_uring can open sockets without calling socket(2).
Everything else is allowed. The filter survives fork and execve: a shell started by an exploit
is confined the same way. Each worker also marks itself not dumpable (PR_SET_DUMPABLE 0), so
that a sibling cannot open its /proc/<pid>/mem; the server does the same for itself.

Where the kernel has no seccomp filter support (or a container runtime forbids it), confine()
raises SandboxUnavailableError and the service refuses to start, unless
PIXELFORGE_RENDER_ALLOW_UNCONFINED says otherwise (then a worker runs with its stripped
environment and RLIMIT_AS only, and the server logs a warning for each worker).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass

# <linux/prctl.h>, <linux/seccomp.h>, <linux/filter.h>, <linux/audit.h>
PR_SET_DUMPABLE = 4
PR_GET_SECCOMP = 21
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
SECCOMP_RET_ALLOW = 0x7FFF_0000
SECCOMP_RET_ERRNO = 0x0005_0000
_BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_BPF_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_BPF_RET_K = 0x06  # BPF_RET | BPF_K
# struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
_OFFSET_NR, _OFFSET_ARCH = 0, 4
_X32_SYSCALL_BIT = 0x4000_0000


@dataclass(frozen=True)
class SyscallTable:
    """The audit arch and the numbers of the denied system calls on one architecture."""

    audit_arch: int
    seccomp: int
    denied: Mapping[str, int]
    has_x32: bool


# Numbers from the kernel's tables: arch/x86/entry/syscalls/syscall_64.tbl and
# include/uapi/asm-generic/unistd.h (aarch64); io_uring_setup is 425 on both.
SYSCALLS: dict[str, SyscallTable] = {
    "x86_64": SyscallTable(
        audit_arch=0xC000_003E,
        seccomp=317,
        denied={
            "socket": 41,
            "socketpair": 53,
            "ptrace": 101,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "io_uring_setup": 425,
        },
        has_x32=True,
    ),
    "aarch64": SyscallTable(
        audit_arch=0xC000_00B7,
        seccomp=277,
        denied={
            "socket": 198,
            "socketpair": 199,
            "ptrace": 117,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "io_uring_setup": 425,
        },
        has_x32=False,
    ),
}


class SandboxUnavailableError(RuntimeError):
    """Raised when this kernel or container cannot install the seccomp filter."""


def _instruction(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    # struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }
    return struct.pack("=HBBI", code, jt, jf, k)


def filter_program(table: SyscallTable, deny_errno: int = errno.EPERM) -> list[bytes]:
    """The BPF instructions: deny table.denied (and foreign arches) with deny_errno."""
    deny = SECCOMP_RET_ERRNO | deny_errno
    numbers = list(table.denied.values())
    # Layout: arch check, load nr, [x32 check], one JEQ per denied number, ALLOW, DENY.
    program = [_instruction(_BPF_LD_W_ABS, _OFFSET_ARCH)]
    # Jumps count from the next instruction. From the arch check to DENY: load nr, the x32
    # check, the JEQs and ALLOW lie between.
    to_deny = 1 + (1 if table.has_x32 else 0) + len(numbers) + 1
    program.append(_instruction(_BPF_JEQ_K, table.audit_arch, jt=0, jf=to_deny))
    program.append(_instruction(_BPF_LD_W_ABS, _OFFSET_NR))
    if table.has_x32:
        program.append(_instruction(_BPF_JGE_K, _X32_SYSCALL_BIT, jt=len(numbers) + 1, jf=0))
    for index, number in enumerate(numbers):
        program.append(_instruction(_BPF_JEQ_K, number, jt=len(numbers) - index, jf=0))
    program.append(_instruction(_BPF_RET_K, SECCOMP_RET_ALLOW))
    program.append(_instruction(_BPF_RET_K, deny))
    return program


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise SandboxUnavailableError(f"{what} failed: {os.strerror(code)} (errno {code})")


def install_seccomp_filter(machine: str | None = None) -> None:
    """Install the filter on every thread of this process; SandboxUnavailableError if impossible."""
    machine = machine or platform.machine()
    table = SYSCALLS.get(machine)
    if table is None:
        raise SandboxUnavailableError(f"no seccomp filter for the {machine} architecture")
    libc = _libc()
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]  # fmt: skip
    if libc.prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0:
        code = ctypes.get_errno()
        raise SandboxUnavailableError(f"the kernel has no seccomp support: {os.strerror(code)}")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    instructions = b"".join(filter_program(table))
    buffer = ctypes.create_string_buffer(instructions, len(instructions))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    program = SockFprog(len(instructions) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(
        ctypes.c_long(table.seccomp),
        ctypes.c_long(SECCOMP_SET_MODE_FILTER),
        ctypes.c_long(SECCOMP_FILTER_FLAG_TSYNC),
        ctypes.byref(program),
    )
    # With TSYNC a positive result is the id of a thread that could not be synchronised.
    _check(int(result), "seccomp(SECCOMP_SET_MODE_FILTER)")


def set_not_dumpable() -> None:
    """No core dumps, and /proc/<pid>/mem, environ and ptrace closed to the same user."""
    libc = _libc()
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]  # fmt: skip
    _check(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def cap_address_space(limit_bytes: int) -> None:
    """RLIMIT_AS: past it mmap/brk fail, so a decoder gets MemoryError instead of the host's
    memory (both soft and hard limits: a compromised worker cannot raise it again)."""
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def socket_is_blocked() -> bool:
    """Whether this process can no longer create an AF_INET socket (used by the self-check)."""
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except PermissionError:
        return True
    probe.close()
    return False


@dataclass(frozen=True)
class Confinement:
    """What confine() achieved; reported by the worker to the server at start-up."""

    seccomp: bool
    address_space_bytes: int
    detail: str = ""


def confine(address_space_bytes: int, *, allow_unconfined: bool) -> Confinement:
    """Confine this process: RLIMIT_AS, not dumpable, then the seccomp filter (checked).

    Without seccomp, raises SandboxUnavailableError unless allow_unconfined.
    """
    cap_address_space(address_space_bytes)
    set_not_dumpable()
    try:
        install_seccomp_filter()
        if not socket_is_blocked():
            raise SandboxUnavailableError("seccomp filter installed, yet socket() still works")
    except SandboxUnavailableError as error:
        if not allow_unconfined:
            raise
        return Confinement(False, address_space_bytes, str(error))
    return Confinement(True, address_space_bytes)
