"""Bounded steps: take pending batches while the step's time budget lasts (see steps/__init__)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snowpark_procs.sql import read_sql
from snowpark_procs.steps.common import Clock, SqlSession, T, batched


@dataclass
class Budget:
    """A step's time for new batches, measured with the clock seam (time.monotonic by
    default; tests scale time through it). None: no limit."""

    seconds: float | None
    clock: Clock = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def spent(self) -> bool:
        return self.seconds is not None and self.clock() - self.started >= self.seconds


@dataclass(frozen=True)
class Drained:
    """What a bounded step took from the pending set."""

    attempted: int  # file versions handed to the step this run
    backlog: int  # pending file versions left for later runs
    stopped_by_budget: bool

    def details(self, budget_s: float | None) -> dict[str, Any]:
        return {
            "backlog": self.backlog,
            "stopped_by_budget": self.stopped_by_budget,
            "budget_s": budget_s,
        }


def drain(
    fetch_page: Callable[[], tuple[list[T], int]],
    process: Callable[[list[T]], None],
    batch_rows: int,
    page_rows: int,
    budget: Budget,
    stop: Callable[[], bool] = lambda: False,
) -> Drained:
    """Process pending items batch by batch until none is left or the budget is spent.

    `fetch_page` returns up to `page_rows` items, most urgent first, and how many are pending
    in all; items processed (or deferred) this run never come back in a later page. The batch
    in flight when the budget runs out is finished; at least one batch is taken per run.
    `stop` ends it the same way (no new batch) when it turns true.
    """
    attempted = 0
    while True:
        page, pending = fetch_page()
        taken = 0
        for batch in batched(page, batch_rows):
            if (attempted or taken) and (stop() or budget.spent()):
                return Drained(attempted + taken, pending - taken, budget.spent())
            process(batch)
            taken += len(batch)
        attempted += taken
        if len(page) < page_rows or taken >= pending:
            return Drained(attempted, max(pending - taken, 0), stopped_by_budget=False)


def pending_page(
    session: SqlSession, sql_name: str, params: list[Any]
) -> tuple[list[dict[str, Any]], int]:
    rows = [row.as_dict() for row in session.sql(read_sql(sql_name), params=params).collect()]
    return rows, int(rows[0]["PENDING_FILES"]) if rows else 0
