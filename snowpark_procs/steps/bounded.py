"""Bounded steps: take pending batches while the step's time budget lasts (see steps/__init__)."""

from __future__ import annotations

import math
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


@dataclass(frozen=True)
class Progress:
    """A bounded step's progress through its backlog in one run: what it took, what is left,
    how fast it went (with the clock seam's seconds) and, at that pace, how long the rest takes.
    The local runner prints it after each bounded step; `pixelforge status` says the same of
    the recent runs from the ops views (orchestration/sql/ops_backlog_progress.sql)."""

    done: int  # file versions the step took this run
    left: int  # pending file versions left for later runs
    seconds: float  # the step's time this run

    @property
    def files_per_s(self) -> float | None:
        return self.done / self.seconds if self.done and self.seconds > 0 else None

    @property
    def eta_s(self) -> float | None:
        """Step time the rest takes at this run's pace (None: no pace measured)."""
        rate = self.files_per_s
        return self.left / rate if rate else None

    @property
    def runs_left(self) -> int | None:
        """Runs the rest takes if each takes as many as this one."""
        return math.ceil(self.left / self.done) if self.done else None

    def line(self) -> str:
        rate = self.files_per_s
        pace = f", {rate:,.1f} files/s" if rate else ""
        if not self.left:
            return f"{self.done:,} done, none left{pace}"
        eta = self.eta_s
        runs = self.runs_left or 0
        rest = (
            f"; ETA {duration_text(eta)} of step time "
            f"(~{runs:,} more run{'' if runs == 1 else 's'})"
            if eta is not None
            else ""
        )
        return f"{self.done:,} done, {self.left:,} left{pace}{rest}"


def duration_text(seconds: float) -> str:
    """A duration for people: `42 s`, `3 min 05 s`, `2 h 07 min`, `3 d 04 h`."""
    whole = max(round(seconds), 0)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"


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
