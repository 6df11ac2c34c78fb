"""The local scheduler: the task graph's CRON schedules, walked on the runner host.

Like Snowflake, a missed tick is not replayed one by one: when the host wakes up late it runs
once for the latest tick, and a run still executing makes the next tick skip (no overlap).
While the graph is suspended (SUSPEND_TASK_AFTER_NUM_FAILURES reached, see the runner) no run
starts and its ticks pass unreplayed, as a suspended root's scheduled runs are cancelled; the
nightly reconciliation still queues its request, which the first run after `pixelforge resume`
serves (in production the reconcile task queues it and starts the root only if it is started).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from orchestration.graph import Pipeline
from orchestration.history import RunKind, utc_now
from snowpark_procs.run_config import RunConfig


@dataclass(frozen=True)
class Trigger:
    """One schedule of the graph: its CRON, the kind of run it starts and the run's config."""

    name: str
    cron: str
    time_zone: str
    kind: RunKind
    config: RunConfig


def triggers(pipeline: Pipeline) -> tuple[Trigger, ...]:
    """The incremental root's schedule and the nightly reconciliation, from graph.py."""
    return (
        Trigger(
            "incremental", pipeline.schedule_cron, pipeline.time_zone, "scheduled", RunConfig()
        ),
        Trigger(
            "reconcile",
            pipeline.reconciliation_cron,
            pipeline.time_zone,
            "reconcile",
            RunConfig("reconcile"),
        ),
    )


def latest_tick(cron: str, time_zone: str, now: datetime) -> datetime:
    """The schedule's last tick at or before `now` (naive UTC in, naive UTC out)."""
    zone = ZoneInfo(time_zone)
    local_now = now.replace(tzinfo=UTC).astimezone(zone)
    tick: datetime = croniter(cron, local_now).get_prev(datetime)
    if croniter.match(cron, local_now.replace(second=0, microsecond=0)):
        tick = local_now.replace(second=0, microsecond=0)
    return tick.astimezone(UTC).replace(tzinfo=None)


@dataclass
class Scheduler:
    """Starts a run for each trigger whose latest tick has not run yet, unless the graph is
    suspended; then a reconciliation's request is only queued (`queue_request`)."""

    pipeline: Pipeline
    start_run: Callable[[Trigger, datetime], None]
    clock: Callable[[], datetime] = utc_now
    started_at: datetime | None = None
    is_suspended: Callable[[], bool] = lambda: False
    queue_request: Callable[[Trigger], None] | None = None

    def __post_init__(self) -> None:
        # Ticks before the scheduler started are not owed: a root resumed at 10:07 first
        # runs at 10:15, not for 10:00.
        start = self.started_at or self.clock()
        self._last: dict[str, datetime] = {
            t.name: latest_tick(t.cron, t.time_zone, start) for t in triggers(self.pipeline)
        }

    def due(self) -> list[tuple[Trigger, datetime]]:
        now = self.clock()
        due = []
        for trigger in triggers(self.pipeline):
            tick = latest_tick(trigger.cron, trigger.time_zone, now)
            if tick > self._last[trigger.name]:
                due.append((trigger, tick))
        return due

    def run_due(self) -> int:
        """Start the due runs; returns how many started."""
        started = 0
        for trigger, tick in self.due():
            self._last[trigger.name] = tick
            if not self.is_suspended():  # a run just before may have suspended the graph
                self.start_run(trigger, tick)
                started += 1
            elif trigger.config.mode != "incremental" and self.queue_request is not None:
                self.queue_request(trigger)
        return started

    def serve(self, stop: threading.Event, poll_s: float = 5.0) -> None:
        while not stop.is_set():
            self.run_due()
            stop.wait(poll_s)
