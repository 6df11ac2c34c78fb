"""Dry runs and re-processing on the embedded stack: a dry run counts what the real run would
discover and writes nothing; a re-processing re-runs the chosen steps for the chosen current
versions, twice without duplicating or rewriting anything; bad arguments are refused clearly.

The graph here is the pipeline's without its dbt steps (what re-processing redoes is extraction
and rendering; dbt costs seconds and is the same in every run).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner, Result

from orchestration import corpus
from orchestration.cli import app
from orchestration.history import utc_now
from orchestration.local.runner import RunReport
from orchestration.local.stack import LocalStack
from snowpark_procs.run_config import reprocess_config
from snowpark_procs.steps.common import StepSummary
from tests.integration.conftest import FILES_ONLY, query, runner_for, upload

pytestmark = pytest.mark.integration


FILES = {
    "team-a/logo.png": corpus.png_with_alpha(64, 48, seed=1),
    "team-a/photo.jpg": corpus.jpeg_large(80, 60, seed=2),
    "team-b/icon.png": corpus.png_with_alpha(32, 32, seed=3),
    "team-b/scan.gif": corpus.gif_animated(seed=4),
    "broken/noise.png": corpus.random_bytes_named_png(seed=5),
}
WRITES = {
    "requests": "select count(*) as n from ops.run_requests",
    "runs": "select count(*) as n from ops.pipeline_runs",
    "changes": "select count(*) as n from raw.file_changes",
}
OUTPUTS = {
    "metadata": "select relative_path, etag, run_id, extracted_at from raw.file_metadata "
    "order by relative_path",
    "thumbnails": "select relative_path, etag, size_px, thumbnail_key, run_id, rendered_at "
    "from raw.thumbnails order by relative_path, size_px",
}


def summary(report: RunReport, step: str) -> StepSummary:
    outcome = next(
        o for o in report.steps if o.step_run.step == step and o.step_run.state == "SUCCEEDED"
    )
    assert outcome.summary is not None, outcome.step_run.error_message
    return outcome.summary


def counts(stack: LocalStack, queries: dict[str, str]) -> dict[str, object]:
    return {name: query(stack, sql) for name, sql in queries.items()}


def thumbnail_objects(stack: LocalStack) -> dict[str, str]:
    s3 = stack.s3()
    listed = s3.list_objects_v2(Bucket=stack.settings.thumbnails_bucket).get("Contents", [])
    return {o["Key"]: str(o["LastModified"]) for o in listed}


def cli(stack: LocalStack, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--data-dir", str(stack.settings.data_dir)])


@pytest.fixture
def loaded(fresh_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    """The stack with FILES processed once; the CLI attaches to it (its ports in the env)."""
    for name, port in (
        ("PIXELFORGE_WAREHOUSE_PORT", fresh_stack.settings.warehouse_port),
        ("PIXELFORGE_S3_PORT", fresh_stack.settings.s3_port),
        ("PIXELFORGE_RENDER_PORT", fresh_stack.settings.render_port),
    ):
        monkeypatch.setenv(name, str(port))
    upload(fresh_stack, FILES)
    first = runner_for(fresh_stack, pipeline=FILES_ONLY).run(kind="manual")
    assert first.succeeded, first.run.error_message
    return fresh_stack


def test_dry_runs_count_what_the_run_would_discover_and_write_nothing(loaded: LocalStack):
    before = counts(loaded, WRITES)
    start = (utc_now() - timedelta(hours=1)).isoformat() + "Z"
    end = (utc_now() + timedelta(hours=1)).isoformat() + "Z"
    backfill = cli(loaded, "backfill", "--from", start, "--to", end, "--dry-run")
    assert backfill.exit_code == 0, backfill.output
    text = " ".join(backfill.output.split())
    total = sum(len(data) for data in FILES.values())
    # every file of the window, each read by extraction and by rendering
    assert f"files {len(FILES)} bytes to read" in text and f"({2 * total:,} bytes)" in text
    for label in ("extraction CPU-hours", "render CPU-hours", "wall time", "total cost"):
        assert label in text
    assert "dry run: nothing was queued or run" in text

    png = cli(loaded, "reprocess", "--steps", "render_thumbnails", "--format", "png", "--dry-run")
    assert png.exit_code == 0, png.output
    text = " ".join(png.output.split())
    # the broken .png is random bytes (no sniffed format): two PNGs, read by rendering only
    pngs = sum(len(FILES[k]) for k in ("team-a/logo.png", "team-b/icon.png"))
    assert "files 2 bytes to read" in text and f"({pngs:,} bytes)" in text
    assert counts(loaded, WRITES) == before  # no request, no run, no change set


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "extract_metadata,sharpen"], "unknown step sharpen"),
        (["--format", "heic"], "unknown format 'heic'"),
        (["--prefix", "team-z/"], "nothing to re-process"),
        (["--prefix", "team-a/", "--format", "gif"], "nothing to re-process"),
    ],
)
def test_bad_reprocess_arguments_are_refused_clearly(loaded: LocalStack, args, message):
    before = counts(loaded, WRITES)
    refused = cli(loaded, "reprocess", *args)
    assert refused.exit_code == 2, refused.output
    assert message in " ".join(refused.output.split())
    assert "Traceback" not in refused.output
    assert counts(loaded, WRITES) == before


def test_reprocess_twice_redoes_the_chosen_files_and_rewrites_nothing_unchanged(
    loaded: LocalStack,
):
    runner = runner_for(loaded, pipeline=FILES_ONLY)
    outputs, objects = counts(loaded, OUTPUTS), thumbnail_objects(loaded)
    for attempt in range(2):
        report = runner.run(kind="reprocess", config=reprocess_config())
        assert report.succeeded and report.run.kind == "reprocess", report.run.error_message
        assert summary(report, "discover").details["changes"] == {"reprocess": len(FILES)}
        # every current version extracted again, every readable one rendered again
        assert summary(report, "extract_metadata").files_in == len(FILES), attempt
        assert summary(report, "render_thumbnails").files_in == len(FILES) - 1, attempt
        assert counts(loaded, OUTPUTS) == outputs  # same rows, same run ids and timestamps
        assert thumbnail_objects(loaded) == objects  # no object written again
    redone = query(
        loaded,
        "select count(extract_redone_at) as extracted, count(render_redone_at) as rendered "
        "from raw.file_changes where change_type = 'reprocess'",
    )
    # each run's progress is kept per file (the unreadable file has nothing to render)
    assert redone == [{"EXTRACTED": 2 * len(FILES), "RENDERED": 2 * (len(FILES) - 1)}]
    # a later incremental run finds nothing left to redo
    quiet = runner.run(kind="manual")
    assert summary(quiet, "extract_metadata").files_in == 0
    assert summary(quiet, "render_thumbnails").files_in == 0


def test_reprocess_filters_select_only_their_files_and_steps(loaded: LocalStack):
    runner = runner_for(loaded, pipeline=FILES_ONLY)
    by_prefix = runner.run(
        kind="reprocess", config=reprocess_config("render_thumbnails", "team-a/")
    )
    assert by_prefix.succeeded, by_prefix.run.error_message
    changed = query(
        loaded,
        "select relative_path from raw.file_changes where run_id = ? order by relative_path",
        [by_prefix.run.run_id],
    )
    assert [r["RELATIVE_PATH"] for r in changed] == ["team-a/logo.png", "team-a/photo.jpg"]
    assert summary(by_prefix, "extract_metadata").files_in == 0  # not a chosen step
    assert summary(by_prefix, "render_thumbnails").files_in == 2

    by_format = runner.run(kind="reprocess", config=reprocess_config(None, "", "png"))
    assert by_format.succeeded, by_format.run.error_message
    assert summary(by_format, "discover").details["changes"] == {"reprocess": 2}
    assert summary(by_format, "extract_metadata").files_in == 2
    assert summary(by_format, "render_thumbnails").files_in == 2
