"""Loopback servers started in this process: a free port, and a fakesnow server on a thread
(the benchmarks and the tests that need a warehouse but not the whole local stack)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

from fakesnow.instance import FakeSnow


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def fakesnow_in_thread(instance: FakeSnow) -> Iterator[int]:
    """fakesnow's server, serving `instance`, on a free loopback port; yields the port.

    The same steps as fakesnow's own helper, which cannot be reused here: its first call
    imports the fakesnow.server module, and that import replaces the package attribute
    `fakesnow.server` (the helper) with the module for the rest of the process. The server
    reads the module-level `shared_fs` per request, so pointing it at this instance keeps its
    tables apart from any other in-process server's (restored on exit).
    """
    import fakesnow.server
    import uvicorn

    from orchestration.local import fakesnow_speedups

    fakesnow_speedups.install()
    port = free_port()
    saved_instance = fakesnow.server.shared_fs
    fakesnow.server.shared_fs = instance
    server = uvicorn.Server(
        uvicorn.Config(fakesnow.server.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="fakesnow server", daemon=True)
    thread.start()
    while thread.is_alive() and not server.started:
        time.sleep(0.05)
    try:
        if not server.started:
            raise RuntimeError("fakesnow server did not start")
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        fakesnow.server.shared_fs = saved_instance
