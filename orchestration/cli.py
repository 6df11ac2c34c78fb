"""The `pixelforge` command: up · demo · upload · run · backfill · reprocess · reconcile · resume ·
history · sql · deploy (and status · failures · explain · alerts from ops_cli).

Over 300 lines on purpose: it is the command table, one thin function per command with its
options; what a command does lives in the modules it calls (the stack, the runner, upload,
tables, report)."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from orchestration import ops_cli, search_cli
from orchestration.deploy import commands as deploy_commands
from orchestration.history import RunKind, list_pipeline_runs, list_step_runs
from orchestration.local.stack import LocalStack, StackError, StackSettings
from orchestration.report import print_alerts_after, print_history, print_run_report
from orchestration.tables import result_table
from pixelforge_core.facets import FACET_NAMES
from snowpark_procs.run_config import (
    REPROCESS_STEPS,
    RunConfig,
    RunConfigError,
    backfill_config,
    reprocess_config,
)

if TYPE_CHECKING:
    from orchestration.local.runner import LocalRunner
    from orchestration.local.scheduler import Trigger
    from orchestration.upload import FileUpload, UploadPlan

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
console = Console()

DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Print the files, bytes, CPU-hours, wall time and dollars it would take; run nothing.",
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Folder of the embedded stack's state (default: $PIXELFORGE_DATA_DIR or .pixelforge)."
    ),
]


def _settings(data_dir: Path | None) -> StackSettings:
    try:
        return StackSettings.from_env(data_dir)
    except StackError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error


def _echo(message: str) -> None:
    console.print(f"[dim]{message}[/]")


def _attach_or_start(settings: StackSettings) -> LocalStack:
    try:
        return LocalStack.attach_or_start(settings, echo=_echo)
    except StackError as error:
        console.print(f"[red]cannot start the embedded stack:[/] {error}")
        raise typer.Exit(1) from error


@app.command()
def up(
    data_dir: DataDir = None,
    schedule: Annotated[
        bool,
        typer.Option(
            "--schedule",
            help="Also run the graph on its schedules (every 15 min, nightly reconciliation).",
        ),
    ] = False,
) -> None:
    """Start the embedded stack in the foreground and print its connection settings."""
    settings = _settings(data_dir)
    stack = LocalStack(settings)
    if stack.is_running():
        console.print("[yellow]the stack for this data folder is already running[/]")
        raise typer.Exit(1)
    try:
        stack.start(echo=_echo)
    except StackError as error:
        console.print(f"[red]cannot start the embedded stack:[/] {error}")
        raise typer.Exit(1) from error
    env = settings.client_env()
    console.print("[green]stack is up[/] — connection settings:")
    for name in sorted(env):
        console.print(f"  export {name}={env[name]}")
    console.print(
        f"  snowflake connector: host=127.0.0.1 port={settings.warehouse_port} protocol=http "
        "account=fakesnow user=fake password=snow database=PIXELFORGE\n"
        f"  boto3: endpoint_url={settings.s3_endpoint} (buckets {settings.designs_bucket}, "
        f"{settings.thumbnails_bucket})\n"
        f"  render service: {settings.render_url}/render\n"
        "  snowflake CLI (its own venv; ~/.snowflake/config.toml, chmod 600):\n"
        "    [connections.pixelforge_local]\n"
        '    account = "fakesnow"\n    user = "fake"\n    password = "snow"\n'
        f'    host = "127.0.0.1"\n    port = {settings.warehouse_port}\n    protocol = "http"\n'
        '    database = "PIXELFORGE"\n'
        '    then: snow sql -c pixelforge_local -q "select * from ops.task_history"\n'
        "  dbt: dbt build --profiles-dir dbt_project   (target local)\n"
        "Ctrl-C stops the stack; its state is kept in "
        f"{settings.data_dir}"
    )
    stopped = threading.Event()
    # explicit handlers: a shell may start background jobs with SIGINT ignored
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    if schedule:
        _start_scheduler(stack, stopped)
    try:
        stopped.wait()
    finally:
        console.print("stopping (saving the object store) ...")
        stack.stop()


def _start_scheduler(stack: LocalStack, stopped: threading.Event) -> None:
    from orchestration.graph import INCREMENTAL
    from orchestration.local.runner import LocalRunner
    from orchestration.local.scheduler import Scheduler

    runner = LocalRunner(stack, echo=_echo)

    def start_run(trigger: Trigger, tick: datetime) -> None:
        report = runner.run(kind=trigger.kind, scheduled_at=tick, config=trigger.config)
        print_run_report(console, report)
        print_alerts_after(console, stack, report.run, _echo)

    scheduler = Scheduler(
        INCREMENTAL,
        start_run,
        is_suspended=runner.graph_suspended,
        queue_request=lambda trigger: _queue(runner, trigger),
    )
    threading.Thread(target=scheduler.serve, args=(stopped,), daemon=True).start()
    console.print(
        f"scheduler on: {INCREMENTAL.schedule_cron} and nightly "
        f"{INCREMENTAL.reconciliation_cron} ({INCREMENTAL.time_zone})"
    )


def _queue(runner: LocalRunner, trigger: Trigger) -> None:
    request_id = runner.request(trigger.config)
    console.print(
        f"[yellow]graph suspended:[/] {trigger.name} request {request_id} queued; "
        "it runs after `pixelforge resume`"
    )


@app.command()
def demo(
    data_dir: DataDir = None,
    keep_data: Annotated[
        bool, typer.Option(help="Keep earlier state instead of starting fresh.")
    ] = False,
) -> None:
    """Run the main job on the embedded stack: upload a corpus, run intervals with changes."""
    from orchestration.demo import run_demo

    settings = _settings(data_dir)
    if LocalStack(settings).is_running():
        console.print("[red]stop `pixelforge up` first: the demo starts its own fresh stack[/]")
        raise typer.Exit(1)
    try:
        reports = run_demo(console, settings, fresh=not keep_data)
    except StackError as error:
        console.print(f"[red]cannot start the embedded stack:[/] {error}")
        raise typer.Exit(1) from error
    if not all(r.succeeded for r in reports):
        raise typer.Exit(1)


@app.command()
def run(data_dir: DataDir = None) -> None:
    """One incremental run now, against the running stack or a freshly started one."""
    _run_once(_settings(data_dir), "manual", RunConfig())


def _run_once(settings: StackSettings, kind: RunKind, config: RunConfig) -> None:
    stack = _attach_or_start(settings)
    try:
        succeeded = _run_on(stack, kind, config)
    finally:
        stack.stop()
    if not succeeded:
        raise typer.Exit(1)


def _run_on(stack: LocalStack, kind: RunKind, config: RunConfig) -> bool:
    from orchestration.local.runner import LocalRunner

    report = LocalRunner(stack, echo=_echo).run(kind=kind, config=config)
    print_run_report(console, report)
    print_alerts_after(console, stack, report.run, _echo)
    return report.succeeded


@app.command()
def upload(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files or folders; a folder's files are keyed by their path in it."),
    ],
    prefix: Annotated[
        str, typer.Option(help="Put every key under this folder of the bucket (e.g. team-x).")
    ] = "",
    run_after: Annotated[
        bool, typer.Option("--run", help="Then run the pipeline once on the same stack.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Load your own files or folders into the local designs bucket (of the running stack, or
    one started for this). Hidden entries and non-files are skipped; a file already there with
    the same size and MD5 ETag is not sent again. `pixelforge run` (or --run) processes them."""
    from orchestration.upload import UploadError, plan_uploads

    try:
        plan = plan_uploads(paths, prefix)
    except UploadError as error:
        console.print(f"[red]nothing uploaded:[/] {error}")
        raise typer.Exit(2) from error
    for path, why in plan.skipped:
        _echo(f"skipped {path}: {why}")
    if not plan.files:
        console.print("[yellow]no file to upload[/]")
        raise typer.Exit(1)
    stack = _attach_or_start(_settings(data_dir))
    try:
        _send(stack, plan)
        succeeded = _run_on(stack, "manual", RunConfig()) if run_after else True
    finally:
        stack.stop()
    if not run_after:
        console.print("next: [bold]pixelforge run[/] processes them")
    if not succeeded:
        raise typer.Exit(1)


def _send(stack: LocalStack, plan: UploadPlan) -> None:
    from orchestration.upload import upload_files

    bucket = stack.settings.designs_bucket
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"uploading {len(plan.files)} files", total=plan.total_bytes)

        def on_file(item: FileUpload, sent: bool) -> None:
            progress.console.print(
                f"  {'sent' if sent else 'unchanged'}  {item.key}", highlight=False, markup=False
            )

        result = upload_files(
            stack.s3(),
            bucket,
            plan,
            on_bytes=lambda sent: progress.advance(task, sent),
            on_file=on_file,
        )
    console.print(
        f"s3://{bucket}: {len(result.uploaded)} uploaded, {len(result.unchanged)} unchanged "
        f"(same size and MD5), {len(plan.skipped)} skipped"
    )


@app.command()
def resume(data_dir: DataDir = None) -> None:
    """Start the graph again after it was suspended for consecutive failed runs (production:
    SELECT SYSTEM$TASK_DEPENDENTS_ENABLE('pixelforge.ops.pixelforge_root'))."""
    from orchestration.local.runner import LocalRunner

    stack = _attach_or_start(_settings(data_dir))
    try:
        runner = LocalRunner(stack, echo=_echo)
        was_suspended = runner.graph_suspended()
        runner.resume()
    finally:
        stack.stop()
    if was_suspended:
        console.print("[green]graph resumed[/]: the scheduler starts runs again")
    else:
        console.print("the graph was not suspended; its failure count starts over")


@app.command()
def backfill(
    start: Annotated[
        str, typer.Option("--from", help="Start of the window, ISO 8601 with a time zone.")
    ],
    end: Annotated[str, typer.Option("--to", help="End of the window (exclusive), same form.")],
    dry_run: DryRun = False,
    data_dir: DataDir = None,
) -> None:
    """Reprocess every file last modified in [--from, --to) through all steps: queues a
    backfill request and runs the graph (behind a running one), which serves the oldest
    request; a large window's remaining files are drained by the next runs. --dry-run prints
    what it would read and cost, and runs nothing."""
    try:
        config = backfill_config(start, end)
    except RunConfigError as error:
        console.print(f"[red]invalid backfill window:[/] {error}")
        raise typer.Exit(2) from error
    _estimate_then_run(_settings(data_dir), "backfill", config, dry_run)


@app.command()
def reprocess(
    steps: Annotated[
        str | None,
        typer.Option(
            help=f"Steps to re-run, comma-separated (default: {','.join(REPROCESS_STEPS)})."
        ),
    ] = None,
    prefix: Annotated[str, typer.Option(help="Only the keys under this prefix.")] = "",
    file_format: Annotated[
        str, typer.Option("--format", help="Only files of this (sniffed) format, e.g. png.")
    ] = "",
    facet: Annotated[
        str,
        typer.Option(
            help=f"Only this facet ({', '.join(FACET_NAMES)}), on the versions whose stored "
            "facet version is older than its extractor's or missing."
        ),
    ] = "",
    dry_run: DryRun = False,
    data_dir: DataDir = None,
) -> None:
    """Re-run chosen steps for every current file version (or those under --prefix, of
    --format), e.g. after a thumbnail-setting change: queued as a request like a backfill,
    bounded and resumable the same way; outputs whose values are unchanged are not rewritten.
    --facet NAME re-runs that facet's step for the covered versions whose stored facet is
    stale, computing that facet alone. --dry-run prints what it would read and cost, and runs
    nothing."""
    try:
        config = reprocess_config(steps, prefix, file_format, facet)
    except RunConfigError as error:
        console.print(f"[red]invalid re-processing:[/] {error}")
        raise typer.Exit(2) from error
    _estimate_then_run(_settings(data_dir), "reprocess", config, dry_run)


def _estimate_then_run(
    settings: StackSettings, kind: RunKind, config: RunConfig, dry_run: bool
) -> None:
    """Print the job's estimate (its files counted by the run's own selection), then run it
    unless it is a dry run (which writes no request and no run)."""
    from orchestration.capacity import capacity_model, local_capacity_model
    from orchestration.jobs import EmptySelectionError, estimate_job

    stack = _attach_or_start(settings)
    try:
        try:
            local = local_capacity_model(float(settings.render_workers))
            job = estimate_job(stack, config, capacity_model(), local)
        except EmptySelectionError as error:
            console.print(f"[red]nothing to re-process:[/] {error}")
            raise typer.Exit(2) from error
        console.print(result_table([{"estimate": k, "value": v} for k, v in job.lines()]))
        if dry_run:
            console.print("[yellow]dry run[/]: nothing was queued or run")
            return
        succeeded = _run_on(stack, kind, config)
    finally:
        stack.stop()
    if not succeeded:
        raise typer.Exit(1)


@app.command()
def reconcile(data_dir: DataDir = None) -> None:
    """The nightly full reconciliation: bucket listings vs state, metadata, thumbnails
    (queued as a request, then a run of the graph serves it)."""
    _run_once(_settings(data_dir), "reconcile", RunConfig("reconcile"))


@app.command()
def history(
    data_dir: DataDir = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many runs.")] = 10,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only runs that failed or had a failed attempt.")
    ] = False,
) -> None:
    """Runs and their steps, newest first."""
    stack = _attach_or_start(_settings(data_dir))
    try:
        with stack.session() as session:
            runs = [
                (r, list_step_runs(session, r.run_id))
                for r in list_pipeline_runs(session, 1000 if failed else limit)
            ]
    finally:
        stack.stop()
    if failed:
        runs = [
            (run, steps)
            for run, steps in runs
            if run.state == "FAILED" or any(s.state == "FAILED" for s in steps)
        ][:limit]
    print_history(console, runs)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SQL statement for the local warehouse.")],
    data_dir: DataDir = None,
) -> None:
    """Run one query on the local warehouse and print the result."""
    stack = _attach_or_start(_settings(data_dir))
    try:
        with stack.session() as session:
            try:
                rows = session.sql(query).collect()
            except Exception as error:  # a user's query: show the warehouse's message
                console.print(f"[red]{error}[/]")
                raise typer.Exit(1) from error
    finally:
        stack.stop()
    if not rows:
        console.print("(no rows)")
        return
    console.print(result_table([row.as_dict() for row in rows]))


deploy_commands.register(app)
ops_cli.register(app)
search_cli.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
