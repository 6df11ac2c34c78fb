"""`pixelforge deploy`: print, write or apply the deploy plan. Register with `register(app)`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from orchestration.deploy.apply import (
    ApplyError,
    apply_plan,
    local_connection_parameters,
    prod_connection_parameters,
)
from orchestration.deploy.artifacts import build_artifacts
from orchestration.deploy.aws import aws_template
from orchestration.deploy.plan import plan_text, render_plan
from orchestration.deploy.settings import DeploySettings, SettingsError
from orchestration.deploy.statements import LOCAL_SKIPS

console = Console(stderr=True)
DEFAULT_OUT = Path("build/deploy")


def deploy(
    target: Annotated[
        str, typer.Option(help="prod (a real account) or local (fakesnow).")
    ] = "prod",
    plan: Annotated[bool, typer.Option("--plan", help="Print the ordered SQL plan.")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Run the plan; stop at an error.")] = False,
    out: Annotated[
        Path, typer.Option(help="Folder for plan.sql and the AWS template (aws/pixelforge.yaml).")
    ] = DEFAULT_OUT,
) -> None:
    """Render the Snowflake plan and the AWS template from the pipeline's one definition."""
    if plan == apply:
        console.print("[red]pass exactly one of --plan or --apply[/]")
        raise typer.Exit(2)
    try:
        # --plan renders with placeholders where settings are missing; --apply needs them all
        # for prod, while local only needs names (the integrations are skipped there).
        settings = DeploySettings.from_env(target, placeholders=plan or target == "local")
    except SettingsError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error
    statements = render_plan(settings)
    text = plan_text(statements)
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.sql").write_text(text, encoding="utf-8")
    (out / "aws").mkdir(exist_ok=True)
    (out / "aws" / "pixelforge.yaml").write_text(aws_template(), encoding="utf-8")
    if plan:
        typer.echo(text, nl=False)
        if missing := settings.missing():
            console.print(f"[yellow]placeholders for {', '.join(missing)}[/]")
        console.print(f"[dim]wrote {out / 'plan.sql'} and {out / 'aws' / 'pixelforge.yaml'}[/]")
        return
    try:
        if target == "local":
            port = int(os.environ.get("PIXELFORGE_WAREHOUSE_PORT", "18765"))
            parameters = local_connection_parameters(port)
        else:
            parameters = prod_connection_parameters()
            build_artifacts(
                Path(settings.artifact_dir),
                settings.transformer_role,
                settings.warehouse,
                settings.database,
            )
        report = apply_plan(parameters, statements, target, echo=lambda m: console.print(m))
    except SettingsError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error
    except ApplyError as error:
        console.print(f"[red]deploy stopped after {error.applied} statements:[/]\n{error}")
        raise typer.Exit(1) from error
    console.print(f"[green]applied {report.applied} statements to {target}[/]")
    if report.skipped:
        kinds = sorted({s.kind for s in report.skipped})
        console.print(f"skipped {len(report.skipped)} statements fakesnow does not implement:")
        for kind in kinds:
            console.print(f"  {kind}: {LOCAL_SKIPS[kind]}")


def register(app: typer.Typer) -> None:
    """Add `deploy` to the `pixelforge` command."""
    app.command(name="deploy")(deploy)
