"""What a run is asked to do: the task graph's CONFIG and the run requests, parsed and validated
once (the one owner of the backfill window and re-processing rules; OPS.BACKFILL and
OPS.REPROCESS repeat them in SQL, orchestration/deploy/templates)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pixelforge_core import facets as facet_registry
from pixelforge_core.formats import SUPPORTED_FORMATS
from pixelforge_core.render_budget import RENDER_BUDGET
from pixelforge_core.write_batch import EXTRACT_BATCH_ROWS

RunMode = Literal["incremental", "backfill", "reconcile", "reprocess"]
MODES: tuple[RunMode, ...] = ("incremental", "backfill", "reconcile", "reprocess")
# What ops.run_requests holds: a backfill window, a reconciliation or a re-processing (an
# incremental run needs no request).
REQUEST_MODES: tuple[RunMode, ...] = ("backfill", "reconcile", "reprocess")
# Modes that redo file versions already processed (a window's, or the current ones chosen by a
# re-processing), never moving the scheduled runs' discovery state.
REDO_MODES: tuple[RunMode, ...] = ("backfill", "reprocess")
# A backfill reprocesses every file of its window: keep one within a month of uploads.
MAX_BACKFILL_WINDOW = timedelta(days=31)
# The steps a re-processing can re-run, by their names in orchestration/graph.py (its handlers'
# in snowpark_procs/handlers.py; tests/snowpark_procs/test_run_config.py holds them equal), in
# graph order; the dbt steps run in every run anyway.
REPROCESS_STEPS: tuple[str, ...] = ("extract_metadata", "render_thumbnails")


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
    # Re-processing: the steps to re-run (REPROCESS_STEPS order) and the filters on the current
    # file versions (a key prefix; the sniffed format, pixelforge_core.formats). Empty: none.
    steps: tuple[str, ...] = ()
    prefix: str = ""
    file_format: str = ""
    # A facet re-processing (pixelforge_core/facets.py): the facet whose stored version is
    # older than its extractor's, or missing, on the versions chosen; its step is `steps`, and
    # extraction computes that facet alone. Empty: a re-processing of whole steps.
    facet: str = ""
    # Seconds a bounded step (extraction, rendering) takes new batches for: a fraction of the
    # step timeout, declared once in orchestration/graph.py and passed in the graph CONFIG.
    # None: unbounded.
    step_budget_s: float | None = None
    # Renderer tasks the render step may count on (its statements are
    # RENDER_BUDGET.statement_rows of it): the procedure cannot see ECS, so the graph CONFIG
    # carries the maximum (orchestration/deploy/tasks.py graph_config; docs/runbook.md
    # "Day zero" raises it with RenderMaxTasks). Absent: the budget's steady max_tasks.
    render_max_tasks: int = RENDER_BUDGET.max_tasks
    # File versions an extraction batch takes (pixelforge_core/write_batch.py): the graph
    # CONFIG carries it (orchestration/deploy/tasks.py graph_config); docs/runbook.md "Day
    # zero" raises it for the load. Absent: EXTRACT_BATCH_ROWS.
    extract_batch_rows: int = EXTRACT_BATCH_ROWS

    @property
    def reprocess(self) -> bool:
        """Backfills redo every file of their window, re-processings the current versions they
        chose, even ones already processed."""
        return self.mode in REDO_MODES

    @property
    def advances_discovery_state(self) -> bool:
        """A backfill or a re-processing never moves the scheduled runs' discovery state."""
        return self.mode not in REDO_MODES

    @property
    def redone_steps(self) -> tuple[str, ...]:
        """The file steps this run redoes for the versions it selected: all of them for a
        backfill, the chosen ones for a re-processing, none otherwise."""
        if self.mode == "backfill":
            return REPROCESS_STEPS
        return self.steps if self.mode == "reprocess" else ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "mode": self.mode,
                "window_start": _iso(self.window_start),
                "window_end": _iso(self.window_end),
                "request_id": self.request_id,
                "step_budget_s": self.step_budget_s,
                "render_max_tasks": self.render_max_tasks,
                "extract_batch_rows": self.extract_batch_rows,
                **(
                    {
                        "steps": list(self.steps),
                        "prefix": self.prefix,
                        "format": self.file_format,
                        "facet": self.facet,
                    }
                    if self.mode == "reprocess"
                    else {}
                ),
            }
        )

    def serving(self, request: RunConfig) -> RunConfig:
        """This graph config running the mode and window of a claimed request."""
        return replace(
            request,
            step_budget_s=self.step_budget_s,
            render_max_tasks=self.render_max_tasks,
            extract_batch_rows=self.extract_batch_rows,
        )

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
        extra = {
            "request_id": raw.get("request_id"),
            "step_budget_s": _budget(raw),
            "render_max_tasks": _positive_int(raw, "render_max_tasks", RENDER_BUDGET.max_tasks),
            "extract_batch_rows": _positive_int(raw, "extract_batch_rows", EXTRACT_BATCH_ROWS),
        }
        if mode == "reprocess":
            chosen = reprocess_config(
                raw.get("steps"), raw.get("prefix"), raw.get("format"), raw.get("facet")
            )
            return replace(chosen, **extra)
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
        if mode == "reprocess":
            chosen = reprocess_config(
                row.get("REDO_STEPS"),
                row.get("PATH_PREFIX"),
                row.get("FORMAT_FILTER"),
                row.get("REDO_FACET"),
            )
            return replace(chosen, request_id=request_id)
        window = backfill_config(_iso(row.get("WINDOW_START")), _iso(row.get("WINDOW_END")))
        return replace(window, request_id=request_id)


def _budget(raw: dict[str, Any]) -> float | None:
    value = raw.get("step_budget_s")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise RunConfigError(f"step_budget_s={value!r} must be a positive number of seconds")
    return float(value)


def _positive_int(raw: dict[str, Any], key: str, default: int) -> int:
    """A positive whole number of the CONFIG (renderer tasks, rows); absent: `default`."""
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RunConfigError(f"{key}={value!r} must be a positive whole number")
    return value


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


def reprocess_config(
    steps: object = None, prefix: object = None, file_format: object = None, facet: object = None
) -> RunConfig:
    """A validated re-processing: `steps` (a list, or comma-separated text; none: every step of
    REPROCESS_STEPS) re-run for the current file versions under `prefix` whose sniffed format is
    `file_format` (none: every one). With `facet` (a name of pixelforge_core/facets.py): the
    facet's own step, for those of the versions whose format the facet covers and whose stored
    facet version is older or missing (steps/selections.py); `steps` may only repeat that
    step."""
    chosen = _steps(steps)
    path_prefix = _text(prefix, "prefix")
    if path_prefix.startswith("/"):
        raise RunConfigError(f"prefix={path_prefix!r}: keys have no leading '/'")
    fmt = _text(file_format, "format").lower()
    if fmt and fmt not in SUPPORTED_FORMATS:
        raise RunConfigError(f"unknown format {fmt!r}: choose from {', '.join(SUPPORTED_FORMATS)}")
    name = _text(facet, "facet").lower()
    if name:
        try:
            redone = facet_registry.facet(name)
        except ValueError as error:
            raise RunConfigError(str(error)) from error
        if steps not in (None, "", []) and chosen != (redone.step,):
            raise RunConfigError(
                f"facet {name!r} is re-processed by its own step ({redone.step}): "
                "give --facet or --steps, not both"
            )
        if fmt and fmt not in redone.formats:
            raise RunConfigError(
                f"facet {name!r} does not cover format {fmt!r} "
                f"(it covers {', '.join(sorted(redone.formats))})"
            )
        chosen = (redone.step,)
    return RunConfig("reprocess", steps=chosen, prefix=path_prefix, file_format=fmt, facet=name)


def _steps(steps: object) -> tuple[str, ...]:
    """Re-processing steps: a list or comma-separated text, in REPROCESS_STEPS order; none:
    all of them."""
    if steps is None or steps == "" or steps == []:
        return REPROCESS_STEPS
    names = steps.split(",") if isinstance(steps, str) else steps
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise RunConfigError(f"steps={steps!r} must be step names")
    wanted = {name.strip().lower() for name in names if name.strip()}
    unknown = sorted(wanted - set(REPROCESS_STEPS))
    if unknown or not wanted:
        raise RunConfigError(
            f"unknown step {', '.join(unknown) or repr(steps)}: choose from "
            f"{', '.join(REPROCESS_STEPS)}"
        )
    return tuple(step for step in REPROCESS_STEPS if step in wanted)


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RunConfigError(f"{name}={value!r} must be text")
    return value.strip()
