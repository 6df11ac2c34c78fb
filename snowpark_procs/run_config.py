"""What a run is asked to do: the task graph's CONFIG and the run requests, parsed and validated
once (the one owner of the backfill window rules; OPS.BACKFILL repeats them in SQL)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

RunMode = Literal["incremental", "backfill", "reconcile"]
MODES: tuple[RunMode, ...] = ("incremental", "backfill", "reconcile")
# What ops.run_requests holds: a backfill window or a reconciliation (an incremental run needs
# no request).
REQUEST_MODES: tuple[RunMode, ...] = ("backfill", "reconcile")
# A backfill reprocesses every file of its window: keep one within a month of uploads.
MAX_BACKFILL_WINDOW = timedelta(days=31)


class RunConfigError(ValueError):
    """A run configuration or backfill window that cannot be honoured."""


@dataclass(frozen=True)
class RunConfig:
    mode: RunMode = "incremental"
    # Backfill window on LAST_MODIFIED, UTC, start inclusive, end exclusive.
    window_start: datetime | None = None
    window_end: datetime | None = None
    # The ops.run_requests row this run serves (backfill and reconcile runs).
    request_id: str | None = None
    # Seconds a bounded step (extraction, rendering) takes new batches for: a fraction of the
    # step timeout, declared once in orchestration/graph.py and passed in the graph CONFIG.
    # None: unbounded.
    step_budget_s: float | None = None

    @property
    def reprocess(self) -> bool:
        """Backfills redo every file of their window, even ones already processed."""
        return self.mode == "backfill"

    @property
    def advances_discovery_state(self) -> bool:
        """A backfill never moves the scheduled runs' discovery state."""
        return self.mode != "backfill"

    def to_json(self) -> str:
        return json.dumps(
            {
                "mode": self.mode,
                "window_start": _iso(self.window_start),
                "window_end": _iso(self.window_end),
                "request_id": self.request_id,
                "step_budget_s": self.step_budget_s,
            }
        )

    def serving(self, request: RunConfig) -> RunConfig:
        """This graph config running the mode and window of a claimed request."""
        return replace(request, step_budget_s=self.step_budget_s)

    @classmethod
    def from_json(cls, text: str | None) -> RunConfig:
        """The graph CONFIG as JSON text; empty or null means an incremental run. Keys other
        than the run's own (task names, the heartbeat integration) are ignored here."""
        if not text:
            return cls()
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise RunConfigError(f"run config is not JSON: {error}") from error
        if not isinstance(raw, dict):
            raise RunConfigError("run config must be a JSON object")
        mode = raw.get("mode") or "incremental"
        if mode not in MODES:
            raise RunConfigError(f"run mode {mode!r} is not one of {', '.join(MODES)}")
        extra = {"request_id": raw.get("request_id"), "step_budget_s": _budget(raw)}
        if mode != "backfill":
            return cls(mode=mode, **extra)
        window = backfill_config(raw.get("window_start"), raw.get("window_end"))
        return replace(window, **extra)

    @classmethod
    def from_request(cls, row: dict[str, Any]) -> RunConfig:
        """A claimed ops.run_requests row (upper-case column names), validated again: a row
        written by hand, or by an older OPS.BACKFILL, must meet the same rules."""
        mode = row.get("MODE")
        if mode not in REQUEST_MODES:
            raise RunConfigError(f"request mode {mode!r} is not one of {', '.join(REQUEST_MODES)}")
        request_id = str(row["REQUEST_ID"])
        if mode == "reconcile":
            return cls("reconcile", request_id=request_id)
        window = backfill_config(_iso(row.get("WINDOW_START")), _iso(row.get("WINDOW_END")))
        return replace(window, request_id=request_id)


def _budget(raw: dict[str, Any]) -> float | None:
    value = raw.get("step_budget_s")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise RunConfigError(f"step_budget_s={value!r} must be a positive number of seconds")
    return float(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def parse_timestamp(value: object, name: str) -> datetime:
    """An ISO 8601 timestamp with an explicit time zone, as naive UTC."""
    if not isinstance(value, str) or not value.strip():
        raise RunConfigError(f"{name} is required, as ISO 8601 with a time zone")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise RunConfigError(
            f"{name}={value!r} is not an ISO 8601 timestamp (e.g. 2026-11-26T08:00:00Z)"
        ) from error
    if parsed.tzinfo is None:
        raise RunConfigError(
            f"{name}={value!r} has no time zone: add Z or an offset such as +01:00"
        )
    return parsed.astimezone(UTC).replace(tzinfo=None)


def backfill_config(start: object, end: object, now: datetime | None = None) -> RunConfig:
    """A validated backfill of the files last modified in [start, end)."""
    window_start = parse_timestamp(start, "start")
    window_end = parse_timestamp(end, "end")
    if window_end <= window_start:
        raise RunConfigError(f"end ({end}) must be after start ({start})")
    if window_end - window_start > MAX_BACKFILL_WINDOW:
        raise RunConfigError(
            f"the window is {window_end - window_start}; split it into backfills of at most "
            f"{MAX_BACKFILL_WINDOW.days} days"
        )
    current = now or datetime.now(UTC).replace(tzinfo=None)
    if window_start > current:
        raise RunConfigError(f"start ({start}) is in the future: nothing can have been uploaded")
    return RunConfig("backfill", window_start, window_end)
