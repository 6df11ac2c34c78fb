"""Every table the CLI prints fits an 80-column terminal and never cuts an identifier: run ids,
kinds, states and step names are whole (a production run id too long for its column folds onto
the next line, it does not end in an ellipsis)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, get_args

import pytest
from rich.console import Console, RenderableType

from orchestration import tables
from orchestration.graph import INCREMENTAL
from orchestration.history import PipelineRun, RunKind, State, StepRun

WIDTH = 80
T0 = datetime(2026, 12, 6, 4, 45)
LOCAL_RUN_ID = "20261206T044500Z-1a2b3c4d"  # orchestration.local.runner.new_run_id
GRAPH_RUN_ID = "01b8c3f2-0000-4d1e-0000-00a1b2c3d4e5"  # production: the graph run group id
# Rows recorded before issue 11 keep the kind "reconciliation" (docs/deploy.md): shown whole too.
KINDS: tuple[str, ...] = (*get_args(RunKind), "reconciliation")
STATES: tuple[str, ...] = get_args(State)
STEPS = tuple(step.name for step in INCREMENTAL.steps)
LONG_ERROR = "ConnectionError: renderer unreachable after 3 attempts (" + "x" * 150 + ")"


def render(renderable: RenderableType) -> str:
    out = io.StringIO()
    Console(file=out, width=WIDTH, color_system=None).print(renderable)
    return out.getvalue()


def fits(output: str) -> None:
    assert "…" not in output, output
    assert max(len(line) for line in output.splitlines()) <= WIDTH, output


def whole_words(output: str, *words: str) -> None:
    """Each word appears intact on one line of the output."""
    for word in words:
        assert any(word in line for line in output.splitlines()), (word, output)


def folded(output: str, word: str) -> bool:
    """The word is on one line, or starts a line's cell and continues the next line."""
    lines = output.splitlines()
    if any(word in line for line in lines):
        return True
    return any(
        word[:k] in lines[i] and word[k:] in lines[i + 1]
        for i in range(len(lines) - 1)
        for k in range(1, len(word))
    )


def run_row(run_id: str, kind: str, state: str) -> dict[str, Any]:
    failed = state == "FAILED"
    return {
        "run_id": run_id,
        "kind": kind,
        "state": state,
        "scheduled_at": T0,
        "started_at": T0,
        "ended_at": T0 + timedelta(seconds=598.7),
        "duration_seconds": 598.7,
        "files_discovered": 100_000,
        "files_queryable": 99_998,
        "files_quarantined": 2,
        "failed_step": "render_thumbnails" if failed else None,
        "error_message": LONG_ERROR if failed else None,
    }


def failure_row(run_id: str, state: str, step: str, final: bool) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "step": step,
        "attempt": 3,
        "state": "FAILED",
        "is_final_attempt": final,
        "started_at": T0,
        "completed_at": T0,
        "error_message": LONG_ERROR,
        "run_kind": "scheduled",
        "run_state": state,
    }


def test_status_runs_every_kind_and_state_whole():
    rows = [run_row(LOCAL_RUN_ID, kind, state) for kind in KINDS for state in STATES]
    output = render(tables.runs_table(rows))
    fits(output)
    whole_words(output, LOCAL_RUN_ID, *KINDS, *STATES, "100000/99998/2")
    assert output.count("ConnectionError:") == len(KINDS)  # each failed run, under the table


def test_a_production_run_id_folds_instead_of_being_cut():
    output = render(tables.runs_table([run_row(GRAPH_RUN_ID, "reconcile", "SUCCEEDED")]))
    fits(output)
    whole_words(output, "reconcile", "SUCCEEDED")
    assert folded(output, GRAPH_RUN_ID), output


def test_a_folded_run_id_is_recognised_by_the_helper():
    """The helper itself fails on a cut id (this test cannot pass by accident)."""
    assert not folded("01b8c3f2-0000-4d1e-0…  reconciliation\n", GRAPH_RUN_ID)
    assert folded("01b8c3f2-0000-4d1e-0000-00a1  reconciliation\nb2c3d4e5\n", GRAPH_RUN_ID)


def test_backlog_and_latency():
    backlog = render(
        tables.backlog_table(
            [
                {"pipeline_stage": stage, "files": 8_000_000, "oldest_upload_at": T0}
                for stage in ("queryable", "quarantined", "deleted", "in_backlog", "failed_run")
            ]
        )
    )
    fits(backlog)
    whole_words(backlog, "quarantined", "in_backlog", "8000000")
    latency = render(
        tables.latency_table(
            [
                {
                    "period_grain": grain,
                    "period_start": T0,
                    "loaded_files": 1_000_000,
                    "p50_seconds": 812.3,
                    "p95_seconds": 1301.0,
                    "p99_seconds": 1380.2,
                    "max_seconds": 86_400.0,
                    "breaching_files": 12_345,
                }
                for grain in ("hour", "day")
            ]
        )
    )
    fits(latency)
    whole_words(latency, "hour", "day", "1000000", "86400", "12345")


@pytest.mark.parametrize("run_id", [LOCAL_RUN_ID, GRAPH_RUN_ID])
def test_failures(run_id):
    rows = [
        failure_row(run_id, state, step, final)
        for step in STEPS
        for state in STATES
        for final in (True, False)
    ]
    output = render(tables.failures_table(rows))
    fits(output)
    whole_words(output, *STEPS, *STATES, "3 final")
    assert folded(output, run_id)
    assert output.count("ConnectionError:") == len(rows)  # every attempt's error


def test_history_and_a_run_report_show_each_step_whole():
    for kind in KINDS:
        run = PipelineRun(LOCAL_RUN_ID, kind, T0, "FAILED", T0, T0 + timedelta(seconds=93))
        steps = [
            StepRun(
                LOCAL_RUN_ID,
                step,
                attempt,
                state,
                T0,
                T0 + timedelta(seconds=599.9),
                1_000_000,
                999_998,
                2,
                LONG_ERROR if state == "FAILED" else None,
            )
            for step in STEPS
            for attempt, state in enumerate(STATES, start=1)
        ]
        output = render(tables.steps_table(run, steps))
        fits(output)
        whole_words(output, LOCAL_RUN_ID, kind, *STEPS, *STATES, "999998")
        assert output.count("ConnectionError:") == len(STEPS)


def test_explain_lineage():
    state = [
        {
            "relative_path": "team-a/2026/03/hero-banner.png",
            "etag": "d41d8cd98f00b204e9800998ecf8427e",
            "pipeline_stage": "quarantined",
            "not_queryable_reason": "quarantined: truncated_file",
            "latest_discovered_run_id": LOCAL_RUN_ID,
            "latest_run_failed_step": None,
            "latest_run_error_message": None,
            "metadata_error_message": "image file is truncated",
            "metadata_reason_code": "truncated_file",
            "upload_to_queryable_seconds": None,
        }
    ]
    events = [
        {
            "event_at": T0,
            "event_name": name,
            "detail": detail,
            "reason_code": reason,
            "etag": "d41d8cd98f00b204e9800998ecf8427e",
            "run_id": run_id,
            "run_state": "SUCCEEDED" if run_id else None,
        }
        for name, detail, reason, run_id in (
            ("discovered", "new", None, LOCAL_RUN_ID),
            ("extracted", "failed", "truncated_file", GRAPH_RUN_ID),
            ("rendered", "1024 px succeeded", None, LOCAL_RUN_ID),
            ("loaded", "quarantined", "truncated_file, decompression_bomb", None),
        )
    ]
    parts = tables.explain_view(state, events)
    output = "".join(render(part) for part in parts)
    fits(output)
    whole_words(output, LOCAL_RUN_ID, "(SUCCEEDED)", "[truncated_file]", "quarantined")
    assert folded(output, GRAPH_RUN_ID)
    assert "loaded     quarantined" in output  # the event column keeps its layout


def test_sql_results_fold_values():
    long_path = "team-a/" + "very-long-folder-name/" * 6 + "file.png"
    output = render(tables.result_table([{"RELATIVE_PATH": long_path, "IS_VALID": True}]))
    fits(output)
    assert "".join(line.split("  ")[0].strip() for line in output.splitlines()[2:]) == long_path


@pytest.mark.parametrize(
    "build",
    [tables.runs_table, tables.failures_table],
    ids=["status", "failures"],
)
def test_markup_in_data_is_printed_literally(build: Callable[[list[dict[str, Any]]], Any]):
    if build is tables.runs_table:
        row = run_row(LOCAL_RUN_ID, "manual", "FAILED")
    else:
        row = failure_row(LOCAL_RUN_ID, "FAILED", "validate", True)
    row["error_message"] = "dbt test [not_null] failed on [bold]column[/bold]"
    output = render(build([row]))
    assert "[not_null]" in output and "[bold]column[/bold]" in output
