"""SQL the orchestrator runs (run history); `?` binds only."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read_sql(name: str) -> str:
    """The text of `orchestration/sql/<name>.sql`."""
    return resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
