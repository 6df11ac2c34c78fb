"""The main job on the embedded stack: two scheduled intervals with a change between them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.console import Console

from orchestration import corpus
from orchestration.history import utc_now
from orchestration.local.runner import LocalRunner, RunReport
from orchestration.local.stack import LocalStack, StackSettings
from orchestration.report import print_alerts_after, print_run_report

SCHEDULE_INTERVAL = timedelta(minutes=15)


@dataclass(frozen=True)
class CorpusChange:
    added: dict[str, bytes]
    overwritten: dict[str, bytes]
    deleted: tuple[str, ...]


def plan_change() -> CorpusChange:
    """New files, overwritten files and a deleted file between the two intervals."""
    return CorpusChange(
        added={
            # exports carrying what the metadata facets read: XMP lineage ids, an ICC profile,
            # transparency; PDF text, fonts, a link and a form field
            "team-d/2026/06/new-illustration.png": corpus.raster_with_xmp("png", 1600, 1200, 21),
            "team-d/2026/06/new-storyboard.pdf": corpus.pdf_with_text(pages=4),
        },
        overwritten={
            "team-a/2026/03/hero-banner.png": corpus.png_with_alpha(seed=31),
            "team-b/2026/02/product-shot.webp": corpus.webp(seed=32),
        },
        deleted=("team-c/2026/02/legacy-icon-sheet.bmp",),
    )


def upload(stack: LocalStack, files: dict[str, bytes]) -> None:
    s3 = stack.s3()
    for path, data in files.items():
        s3.put_object(Bucket=stack.settings.designs_bucket, Key=path, Body=data)


def scheduled_tick(now: datetime) -> datetime:
    """The schedule's tick at or before `now` (*/15 * * * *)."""
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)


def run_demo(console: Console, settings: StackSettings, fresh: bool = True) -> list[RunReport]:
    if fresh and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)

    def echo(message: str) -> None:
        console.print(f"[dim]{message}[/]")

    stack = LocalStack(settings)
    stack.start(echo=echo)
    reports: list[RunReport] = []
    try:
        runner = LocalRunner(stack, echo=echo)
        files = corpus.demo_corpus()
        total_mb = sum(len(d) for d in files.values()) / 1e6
        console.rule("interval 1: initial upload")
        console.print(
            f"uploading {len(files)} design files ({total_mb:.1f} MB) to s3://{settings.designs_bucket}"
        )
        upload(stack, files)
        tick = scheduled_tick(utc_now())
        reports.append(_run(console, runner, tick))

        change = plan_change()
        console.rule("interval 2: new, overwritten and deleted files")
        console.print(
            f"adding {len(change.added)}, overwriting {len(change.overwritten)}, "
            f"deleting {len(change.deleted)}: {', '.join(change.deleted)}"
        )
        upload(stack, {**change.added, **change.overwritten})
        for path in change.deleted:
            stack.s3().delete_object(Bucket=settings.designs_bucket, Key=path)
        reports.append(_run(console, runner, tick + SCHEDULE_INTERVAL))

        console.rule("interval 3: nothing changed")
        reports.append(_run(console, runner, tick + 2 * SCHEDULE_INTERVAL))

        console.rule("operations: alerts, status")
        print_alerts_after(console, stack, reports[-1].run, echo)
    finally:
        stack.stop()
    _print_next_steps(console, settings)
    return reports


def _run(console: Console, runner: LocalRunner, scheduled_at: datetime) -> RunReport:
    report = runner.run(kind="scheduled", scheduled_at=scheduled_at)
    print_run_report(console, report)
    return report


def _print_next_steps(console: Console, settings: StackSettings) -> None:
    console.rule("the warehouse stays on disk")
    console.print(
        f"data: {settings.data_dir}\n"
        "query it:   .venv/bin/pixelforge up      (then, in another shell)\n"
        "            .venv/bin/pixelforge history\n"
        "            .venv/bin/dbt build --profiles-dir dbt_project\n"
        '            .venv/bin/pixelforge sql "select * from marts.dim_design_files"\n'
        "your files: .venv/bin/pixelforge upload --run <files or folders>"
    )
