"""The local scheduler follows graph.py's CRON schedules the way Snowflake's tasks do."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from orchestration.graph import INCREMENTAL
from orchestration.local.scheduler import Scheduler, latest_tick


def test_latest_tick_of_the_quarter_hour_schedule():
    assert latest_tick("*/15 * * * *", "UTC", datetime(2026, 11, 26, 10, 7, 30)) == datetime(
        2026, 11, 26, 10, 0
    )
    assert latest_tick("*/15 * * * *", "UTC", datetime(2026, 11, 26, 10, 15, 0)) == datetime(
        2026, 11, 26, 10, 15
    )


def test_a_schedule_in_another_time_zone_ticks_in_that_zone():
    # 03:00 in Berlin (CET, UTC+1 in November) is 02:00 UTC
    tick = latest_tick("0 3 * * *", "Europe/Berlin", datetime(2026, 11, 26, 2, 30))
    assert tick == datetime(2026, 11, 26, 2, 0)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_runs_start_once_per_tick_and_missed_ticks_are_not_replayed():
    clock = Clock(datetime(2026, 11, 26, 10, 7))
    started: list[tuple[str, datetime]] = []
    scheduler = Scheduler(INCREMENTAL, lambda t, tick: started.append((t.kind, tick)), clock)

    assert scheduler.run_due() == 0  # 10:00 came before the scheduler started
    clock.now = datetime(2026, 11, 26, 10, 15, 2)
    assert scheduler.run_due() == 1
    assert scheduler.run_due() == 0  # the same tick never runs twice
    clock.now += timedelta(hours=1)  # the host slept through four ticks
    scheduler.run_due()
    assert started == [
        ("scheduled", datetime(2026, 11, 26, 10, 15)),
        ("scheduled", datetime(2026, 11, 26, 11, 15)),
    ]


def test_the_nightly_reconciliation_comes_from_the_graph():
    pipeline = replace(INCREMENTAL, reconciliation_cron="30 2 * * *")
    clock = Clock(datetime(2026, 11, 26, 2, 29))
    started: list[tuple[str, str]] = []
    scheduler = Scheduler(pipeline, lambda t, tick: started.append((t.kind, t.config.mode)), clock)
    clock.now = datetime(2026, 11, 26, 2, 31)
    scheduler.run_due()
    assert started == [("scheduled", "incremental"), ("reconcile", "reconcile")]


def test_a_suspended_graph_starts_nothing_until_resumed():
    clock = Clock(datetime(2026, 11, 26, 2, 50))
    suspended = [True]
    started: list[tuple[str, datetime]] = []
    queued: list[str] = []
    scheduler = Scheduler(
        INCREMENTAL,
        lambda t, tick: started.append((t.kind, tick)),
        clock,
        is_suspended=lambda: suspended[0],
        queue_request=lambda t: queued.append(t.config.mode),
    )

    clock.now = datetime(2026, 11, 26, 3, 1)  # the 03:00 tick of both schedules
    assert scheduler.run_due() == 0
    assert started == []
    assert queued == ["reconcile"]  # the nightly request waits for the resumed graph
    suspended[0] = False  # pixelforge resume
    assert scheduler.run_due() == 0  # the ticks that passed while suspended are not owed
    clock.now = datetime(2026, 11, 26, 3, 15)
    assert scheduler.run_due() == 1
    assert started == [("scheduled", datetime(2026, 11, 26, 3, 15))]
