"""`pixelforge status` starts with the graph's state: SUSPENDED says why and how to resume."""

from __future__ import annotations

from datetime import datetime

from orchestration.history import GraphStatus
from orchestration.ops_cli import graph_line


def test_a_started_graph():
    assert graph_line(GraphStatus("pixelforge", "STARTED", None, None)) == (
        "graph pixelforge: [green]STARTED[/]"
    )


def test_a_suspended_graph_says_why_since_when_and_how_to_resume():
    status = GraphStatus(
        "pixelforge",
        "SUSPENDED",
        "10 consecutive failed runs (SUSPEND_TASK_AFTER_NUM_FAILURES = 10)",
        datetime(2026, 11, 26, 3, 15),
    )
    line = graph_line(status)
    assert "[red]SUSPENDED[/] since 2026-11-26 03:15 UTC" in line
    assert "10 consecutive failed runs" in line
    assert "pixelforge resume" in line
