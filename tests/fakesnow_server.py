"""An in-process fakesnow server for tests that need a warehouse but not the whole stack."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import fakesnow.server
import uvicorn
from fakesnow.instance import FakeSnow


@contextlib.contextmanager
def fakesnow_server(instance: FakeSnow | None = None) -> Iterator[dict[str, Any]]:
    """fakesnow.server(), serving `instance`, on a free loopback port.

    The same steps as fakesnow's own helper, which cannot be reused here: its first call
    imports the fakesnow.server module, and that import replaces the package attribute
    `fakesnow.server` (the helper) with the module for the rest of the process. The
    server reads the module-level `shared_fs` per request, so pointing it at a fresh
    instance keeps this module's tables apart from any other in-process server's.
    """
    with contextlib.closing(socket.socket(type=socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    saved_instance = fakesnow.server.shared_fs
    fakesnow.server.shared_fs = instance or FakeSnow()
    server = uvicorn.Server(
        uvicorn.Config(fakesnow.server.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="fakesnow server", daemon=True)
    thread.start()
    while thread.is_alive() and not server.started:
        time.sleep(0.05)
    try:
        assert server.started, "fakesnow server did not start"
        yield {
            "user": "fake",
            "password": "snow",
            "account": "fakesnow",
            "host": "127.0.0.1",
            "port": port,
            "protocol": "http",
            "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
            "network_timeout": 30,
        }
    finally:
        server.should_exit = True
        thread.join()
        fakesnow.server.shared_fs = saved_instance
