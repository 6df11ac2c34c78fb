"""An in-process fakesnow server for tests that need a warehouse but not the whole stack."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fakesnow.instance import FakeSnow

from orchestration.deploy.apply import local_connection_parameters
from orchestration.local.loopback import fakesnow_in_thread


@contextlib.contextmanager
def fakesnow_server(instance: FakeSnow | None = None) -> Iterator[dict[str, Any]]:
    """A fakesnow server serving `instance` (a fresh one by default); yields the connector's
    keyword arguments for it."""
    with fakesnow_in_thread(instance or FakeSnow()) as port:
        yield local_connection_parameters(port)
