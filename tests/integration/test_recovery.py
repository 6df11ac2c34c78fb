"""Failure recovery on the embedded stack: faults injected into steps, services and files.

Every test here has "fault" in its name (`pytest -k fault`). After recovery the pipeline must be
consistent with the designs bucket: no file lost, nothing duplicated, no retry left pending.
"""

from __future__ import annotations

import fcntl
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from orchestration import corpus
from orchestration.history import list_step_runs, utc_now
from pixelforge_core.facets import FACET_NAMES
from pixelforge_core.render_wire import RenderRequest
from snowpark_procs.rendering import ThumbnailRenderer
from snowpark_procs.run_config import RunConfig, backfill_config
from tests.fault_totals import FAULT_TOTALS
from tests.integration.conftest import (
    FILES_ONLY,
    check_consistency,
    query,
    runner_for,
    small_corpus,
    snapshot,
    upload,
    warehouse_down,
)

pytestmark = pytest.mark.integration


def _assert_recovered(stack) -> None:
    consistency = check_consistency(stack)
    runs = query(stack, "select count(*) as n from ops.pipeline_runs")[0]["N"]
    FAULT_TOTALS.record(schedules=runs, faults=1, consistency=consistency)
    assert consistency.lost == []
    assert consistency.duplicated == []
    assert consistency.problems == []


def _failed_step(report) -> str:
    return next(o.step_run.step for o in report.steps if o.step_run.state == "FAILED")


def test_fault_backfill_reprocesses_its_window_and_duplicates_nothing(start_stack):
    stack = start_stack()
    upload(stack, small_corpus())
    runner = runner_for(stack)
    # the first load's files (the next whole run builds the marts of both)
    assert runner_for(stack, pipeline=FILES_ONLY).run(kind="scheduled").succeeded
    window_start = utc_now().replace(microsecond=0)  # S3 keeps whole seconds
    late = {"late/poster.png": corpus.png_with_alpha(300, 200, seed=41)}
    upload(stack, late)
    assert runner.run(kind="scheduled").succeeded
    before = snapshot(stack)
    state_before = query(stack, "select relative_path, committed_run_id from raw.directory_state")

    config = backfill_config(
        f"{window_start.isoformat()}Z", f"{(utc_now() + timedelta(minutes=1)).isoformat()}Z"
    )
    report = runner.run(kind="backfill", config=config)

    assert report.succeeded, report.run.error_message
    discover = next(o for o in report.steps if o.step_run.step == "discover")
    assert discover.summary.details["changes"] == {"backfill": 1}
    extracted = next(o for o in report.steps if o.step_run.step == "extract_metadata")
    assert extracted.step_run.files_in == 1  # reprocessed although already extracted
    assert snapshot(stack) == before  # same rows, same thumbnails: nothing duplicated
    # the backfill never moves the scheduled runs' discovery state
    assert query(stack, "select relative_path, committed_run_id from raw.directory_state") == (
        state_before
    )
    runs = query(stack, "select kind, state from ops.pipeline_runs where kind = 'backfill'")
    assert runs == [{"KIND": "backfill", "STATE": "SUCCEEDED"}]
    _assert_recovered(stack)


def test_fault_render_service_killed_then_the_next_run_catches_up(start_stack):
    stack = start_stack()
    upload(stack, small_corpus())

    def kill_renderer(step: str, phase: str) -> None:
        if step == "render_thumbnails" and phase == "before":
            stack.kill_service("render")

    failed = runner_for(stack, fault_hook=kill_renderer).run(kind="scheduled")

    assert failed.run.state == "FAILED"
    assert _failed_step(failed) == "render_thumbnails"
    assert "render service unreachable" in (failed.run.error_message or "")
    assert query(stack, "select count(*) as n from raw.directory_state")[0]["N"] == 0
    stack.restart_service("render")
    recovered = runner_for(stack).run(kind="scheduled")
    assert recovered.succeeded, recovered.run.error_message
    _assert_recovered(stack)


def test_fault_s3_down_for_a_while(start_stack):
    stack = start_stack()
    upload(stack, small_corpus())
    stack.save_object_store()
    stack.kill_service("s3")

    failed = runner_for(stack).run(kind="scheduled")

    assert failed.run.state == "FAILED"
    assert _failed_step(failed) == "discover"
    attempts = query(
        stack,
        "select attempt, state from ops.step_runs where run_id = ? and step = 'discover'",
        [failed.run.run_id],
    )
    assert [a["STATE"] for a in attempts] == ["FAILED"] * 3  # retried: the error is transient
    stack.restart_service("s3")
    recovered = runner_for(stack).run(kind="scheduled")
    assert recovered.succeeded, recovered.run.error_message
    _assert_recovered(stack)


# A killed warehouse leaves the connector's abort-request thread failing in the background.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_fault_warehouse_killed_mid_run(start_stack):
    stack = start_stack()
    upload(stack, small_corpus())

    def kill_warehouse(step: str, phase: str) -> None:
        if step == "extract_metadata" and phase == "after":
            stack.kill_service("warehouse")

    with warehouse_down(stack):
        aborted = runner_for(stack, fault_hook=kill_warehouse).run(kind="scheduled")

    assert aborted.run.state == "FAILED"
    assert "warehouse" in (aborted.run.error_message or "")
    stack.restart_service("warehouse")
    recovered = runner_for(stack).run(kind="scheduled")
    assert recovered.succeeded, recovered.run.error_message
    _assert_recovered(stack)


class CrashingSource:
    """A read seam that crashes on its n-th file: a fault in the middle of a batch."""

    def __init__(self, source: Any, crash_at: int) -> None:
        self._source = source
        self._crash_at = crash_at
        self.opened = 0

    def open(self, relative_path: str, etag: str) -> Any:
        self.opened += 1
        if self.opened == self._crash_at:
            raise RuntimeError(f"injected crash while reading {relative_path}")
        return self._source.open(relative_path, etag)


def test_fault_crash_in_the_middle_of_a_batch(start_stack):
    stack = start_stack()
    files = small_corpus()
    upload(stack, files)
    runner = runner_for(
        stack, wrap_byte_source=lambda source: CrashingSource(source, crash_at=len(files) // 2)
    )

    failed = runner.run(kind="scheduled")

    assert failed.run.state == "FAILED"
    assert "injected crash" in (failed.run.error_message or "")
    recovered = runner_for(stack).run(kind="scheduled")
    assert recovered.succeeded, recovered.run.error_message
    _assert_recovered(stack)


class FlakyForOneFile:
    """A renderer whose storage keeps failing for one file (a transient reason every time)."""

    def __init__(self, renderer: ThumbnailRenderer, path: str) -> None:
        self._renderer = renderer
        self._path = path

    def render(self, requests: Sequence[RenderRequest]) -> list[dict[str, Any]]:
        results = self._renderer.render(requests)
        return [
            {"status": "failed", "reason_code": "storage_unavailable", "message": "S3 503"}
            if request.relative_path == self._path
            else result
            for request, result in zip(requests, results, strict=True)
        ]


def test_fault_a_file_failing_transiently_is_retried_then_quarantined(start_stack):
    stack = start_stack()
    upload(stack, small_corpus())
    flaky = "team-a/photo.jpg"
    runner = runner_for(stack, wrap_renderer=lambda r: FlakyForOneFile(r, flaky))
    # the files' steps alone but for the third run, which builds the marts checked below
    files_runner = runner_for(
        stack, pipeline=FILES_ONLY, wrap_renderer=lambda r: FlakyForOneFile(r, flaky)
    )

    reports = [files_runner.run(kind="scheduled") for _ in range(2)]
    reports.append(runner.run(kind="scheduled"))

    assert all(r.succeeded for r in reports), [r.run.error_message for r in reports]
    renders = [next(o for o in r.steps if o.step_run.step == "render_thumbnails") for r in reports]
    assert [o.summary.details["retrying"] for o in renders] == [1, 1, 0]
    assert [o.step_run.files_in for o in renders[1:]] == [1, 1]  # only the retried file
    rows = query(
        stack,
        "select status, reason_code from raw.thumbnails where relative_path = ?",
        [flaky],
    )
    assert rows == [{"STATUS": "failed", "REASON_CODE": "retries_exhausted"}] * 2
    assert query(stack, "select count(*) as n from raw.file_retries")[0]["N"] == 0
    quarantined = query(
        stack,
        "select reason_code from marts.fct_quarantined_file_versions where relative_path = ?",
        [flaky],
    )
    assert {"REASON_CODE": "retries_exhausted"} in quarantined
    # not retried forever: the next run leaves it alone
    fourth = files_runner.run(kind="scheduled")
    render = next(o for o in fourth.steps if o.step_run.step == "render_thumbnails")
    assert render.step_run.files_in == 0


def test_fault_overlapping_runs_are_skipped_and_recorded(start_stack):
    stack = start_stack()
    lock_path = stack.settings.data_dir / "pixelforge.run.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run of the graph is executing
        scheduled = runner_for(stack).run(kind="scheduled")
        backfill = runner_for(stack, queue_timeout_s=1.5).run(
            kind="backfill",
            config=backfill_config("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
        )
    assert scheduled.run.state == "SKIPPED"
    assert backfill.run.state == "SKIPPED"  # it queued, then gave up after its timeout
    rows = query(stack, "select kind, state, error_message from ops.pipeline_runs")
    assert {(r["KIND"], r["STATE"]) for r in rows} == {
        ("scheduled", "SKIPPED"),
        ("backfill", "SKIPPED"),
    }
    assert all("another run" in r["ERROR_MESSAGE"] for r in rows)


def test_fault_reconciliation_repairs_what_incremental_runs_missed(start_stack):
    stack = start_stack()
    upload(stack, small_corpus())
    assert runner_for(stack).run(kind="scheduled").succeeded
    s3 = stack.s3()
    thumbnails_bucket = stack.settings.thumbnails_bucket
    # a thumbnail object lost, a metadata row lost, and an object nothing refers to
    lost_key = query(
        stack,
        "select thumbnail_key from raw.thumbnails where relative_path = 'team-a/photo.jpg' "
        "and size_px = 256",
    )[0]["THUMBNAIL_KEY"]
    s3.delete_object(Bucket=thumbnails_bucket, Key=lost_key)
    with stack.session() as session:
        session.sql(
            "delete from raw.file_metadata where relative_path = 'team-b/guide.pdf'"
        ).collect()
    s3.put_object(Bucket=thumbnails_bucket, Key="v1/ff/orphan-1/256.webp", Body=b"orphan")

    report = runner_for(stack).run(kind="reconcile", config=RunConfig("reconcile"))

    assert report.succeeded, report.run.error_message
    checks = {
        r["CHECK_NAME"]: r["FILES"]
        for r in query(
            stack,
            "select check_name, files from ops.reconciliation_checks where run_id = ?",
            [report.run.run_id],
        )
    }
    assert checks == {
        "changed_without_event": 0,
        "thumbnail_objects_lost": 1,
        "unfinished_files_repaired": 2,
        "orphaned_thumbnail_objects": 1,
        # every facet of every current version at its extractor's version (the repaired ones too)
        **{f"stale_facet_{name}": 0 for name in FACET_NAMES},
    }
    assert lost_key in {o["Key"] for o in s3.list_objects_v2(Bucket=thumbnails_bucket)["Contents"]}
    _assert_recovered(stack)
    with stack.session() as session:
        steps = {s.step: s for s in list_step_runs(session, report.run.run_id)}
    assert steps["extract_metadata"].files_in == 1
    assert steps["render_thumbnails"].files_in == 1  # the pdf kept its thumbnails
