"""The whole pipeline on the embedded stack: discovery -> metadata -> thumbnails -> dbt marts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from orchestration import corpus
from orchestration.graph import INCREMENTAL, RetryPolicy
from orchestration.history import list_pipeline_runs, list_step_runs, utc_now
from orchestration.local.stack import LocalStack
from tests.integration.conftest import (
    BROKEN,
    query,
    runner_for,
    small_corpus,
    snapshot,
    upload,
)
from tests.stack_pool import stack_settings

pytestmark = pytest.mark.integration

STEPS = ["discover", "extract_metadata", "render_thumbnails", "validate", "load", "finalize"]


def _step(report, name):
    return next(o for o in report.steps if o.step_run.step == name)


def test_two_intervals_with_add_overwrite_delete_then_an_idle_run(start_stack):
    stack = start_stack()
    files = small_corpus()
    upload(stack, files)
    runner = runner_for(stack)
    tick = utc_now().replace(second=0, microsecond=0)

    first = runner.run(kind="scheduled", scheduled_at=tick)

    assert first.succeeded, first.run.error_message
    assert [o.step_run.step for o in first.steps] == STEPS
    assert _step(first, "discover").summary.details["changes"] == {"new": len(files)}
    extracted = _step(first, "extract_metadata").step_run
    assert (extracted.files_in, extracted.files_failed) == (len(files), len(BROKEN))
    rendered = _step(first, "render_thumbnails").step_run
    assert rendered.files_in == len(files) - len(BROKEN)
    assert rendered.files_failed == 0
    # two sizes per readable file, under content-addressed keys
    objects = stack.s3().list_objects_v2(Bucket=stack.settings.thumbnails_bucket, Prefix="v1/")[
        "Contents"
    ]
    assert len(objects) == 2 * (len(files) - len(BROKEN))
    assert all(o["Key"].startswith("v1/") and o["Key"].endswith(".webp") for o in objects)
    reasons = {
        row["RELATIVE_PATH"]: row["REASON_CODE"]
        for row in query(
            stack,
            "select relative_path, reason_code from raw.file_metadata where status = 'failed'",
        )
    }
    assert reasons == {
        "broken/empty.png": "empty_file",
        "broken/truncated.png": "truncated_file",
        "broken/noise.png": "unsupported_format",
    }
    # the marts: every file is queryable; the broken ones are quarantined with their reason
    dim = {r["RELATIVE_PATH"]: r for r in query(stack, "select * from marts.dim_design_files")}
    assert set(dim) == set(files)
    assert {p for p, r in dim.items() if not r["IS_VALID"]} == BROKEN
    quarantined = query(
        stack,
        "select versions.relative_path, quarantine.reason_code "
        "from marts.fct_quarantined_file_versions as quarantine "
        "inner join marts.fct_file_versions as versions "
        "on quarantine.file_version_id = versions.file_version_id",
    )
    assert {(r["RELATIVE_PATH"], r["REASON_CODE"]) for r in quarantined} == set(reasons.items())
    assert len(first.latency_s) == len(files)
    assert all(latency >= 0 for latency in first.latency_s)

    # interval 2: one new, one overwritten, one deleted file
    upload(stack, {"team-c/new.png": corpus.png_with_alpha(300, 200, seed=11)})
    upload(stack, {"team-a/photo.jpg": corpus.jpeg_large(900, 600, seed=12)})
    stack.s3().delete_object(Bucket=stack.settings.designs_bucket, Key="team-b/spinner.gif")

    second = runner.run(kind="scheduled", scheduled_at=tick + timedelta(minutes=15))

    assert second.succeeded, second.run.error_message
    assert _step(second, "discover").summary.details["changes"] == {
        "new": 1,
        "updated": 1,
        "deleted": 1,
    }
    assert _step(second, "extract_metadata").step_run.files_in == 2
    dim = {r["RELATIVE_PATH"]: r for r in query(stack, "select * from marts.dim_design_files")}
    assert dim["team-b/spinner.gif"]["IS_DELETED"] is True
    assert dim["team-c/new.png"]["IS_DELETED"] is False
    photo_etag = (
        stack.s3()
        .head_object(Bucket=stack.settings.designs_bucket, Key="team-a/photo.jpg")["ETag"]
        .strip('"')
    )
    assert dim["team-a/photo.jpg"]["ETAG"] == photo_etag
    versions = query(stack, "select relative_path from marts.fct_file_versions")
    assert len(versions) == len(files) + 2  # the new file and the photo's second version
    state = query(stack, "select relative_path from raw.directory_state")
    assert {r["RELATIVE_PATH"] for r in state} == (set(files) | {"team-c/new.png"}) - {
        "team-b/spinner.gif"
    }

    # interval 3: nothing changed -> nothing discovered, nothing written
    before = snapshot(stack)
    third = runner.run(kind="scheduled", scheduled_at=tick + timedelta(minutes=30))
    assert third.succeeded, third.run.error_message
    assert _step(third, "discover").step_run.files_in == 0
    assert _step(third, "extract_metadata").step_run.files_in == 0
    assert _step(third, "render_thumbnails").step_run.files_in == 0
    assert snapshot(stack) == before

    # the operators' view: newest first, each step recorded, TASK_HISTORY-shaped view agrees
    with stack.session() as session:
        runs = list_pipeline_runs(session, limit=10)
        assert [r.run_id for r in runs] == [third.run.run_id, second.run.run_id, first.run.run_id]
        assert all(r.state == "SUCCEEDED" for r in runs)
        assert [s.step for s in list_step_runs(session, first.run.run_id)] == STEPS
    history = query(
        stack,
        "select name, state, attempt_number from ops.task_history where graph_run_group_id = ?",
        [first.run.run_id],
    )
    assert {r["NAME"] for r in history} == {f"PIXELFORGE_{s.upper()}" for s in STEPS}
    assert {r["STATE"] for r in history} == {"SUCCEEDED"}


def test_same_interval_twice_changes_nothing(start_stack):
    stack = start_stack()
    upload(stack, small_corpus())
    runner = runner_for(stack)
    tick = utc_now()
    assert runner.run(kind="scheduled", scheduled_at=tick).succeeded
    before = snapshot(stack)

    again = runner.run(kind="scheduled", scheduled_at=tick)

    assert again.succeeded
    assert _step(again, "discover").step_run.files_in == 0
    assert snapshot(stack) == before


class InjectedFaultError(RuntimeError):
    pass


def test_failure_after_each_step_recovers_to_the_clean_state(start_stack):
    """Fail after every step in turn (retries exhausted), then run cleanly: the result must
    equal a clean run over the same files: no file lost, no duplicate row or thumbnail."""
    files = small_corpus()
    clean = start_stack("clean")
    upload(clean, files)
    assert runner_for(clean).run().succeeded
    expected = snapshot(clean)

    faulty = start_stack("faulty")  # the same session stack, reset: the clean run is gone
    upload(faulty, files)
    two_attempts = replace(INCREMENTAL, retry=RetryPolicy(max_attempts=2))
    for failing_step in STEPS[:-1]:

        def fault(step: str, phase: str, failing_step: str = failing_step) -> None:
            if step == failing_step and phase == "after":
                raise InjectedFaultError(f"after {step}")

        report = runner_for(faulty, pipeline=two_attempts, fault_hook=fault).run()

        assert report.run.state == "FAILED"
        assert failing_step in (report.run.error_message or "")
        with faulty.session() as session:
            attempts = list_step_runs(session, report.run.run_id)
        assert [(a.step, a.state) for a in attempts if a.step == failing_step] == [
            (failing_step, "FAILED"),
            (failing_step, "FAILED"),
        ]
        # the discovery state never advances on a failed run
        assert query(faulty, "select count(*) as n from raw.directory_state")[0]["N"] == 0

    recovered = runner_for(faulty).run()

    assert recovered.succeeded, recovered.run.error_message
    assert snapshot(faulty) == expected


def test_state_survives_stopping_and_starting_the_stack(tmp_path):
    # starts its own stack (not the session's): stopping and starting is what it tests
    settings = stack_settings(tmp_path / "persistent")
    first = LocalStack(settings)
    first.start()
    try:
        upload(first, small_corpus())
        assert runner_for(first).run(kind="scheduled").succeeded
        before = snapshot(first)
    finally:
        first.stop()  # saves the object store; the warehouse is on disk already

    second = LocalStack(settings)
    second.start()
    try:
        assert snapshot(second) == before
        again = runner_for(second).run(kind="scheduled")
        assert again.succeeded, again.run.error_message
        assert _step(again, "discover").step_run.files_in == 0  # restored, not re-discovered
        assert len(query(second, "select run_id from ops.pipeline_runs")) == 2
    finally:
        second.stop(save=False)
