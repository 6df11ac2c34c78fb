"""`pixelforge search "QUERY" [--limit N]`: the current, valid design files matching a query,
best first, over marts.mart_design_search with the one local search code
(orchestration/design_search.py, which the dashboard's Files page calls too; README says how its
ranking differs from the production Cortex Search Service). Registered on the main app by
`register(app)`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from orchestration.design_search import EmptySearchError, search_designs, search_terms
from orchestration.local.stack import LocalStack, StackError, StackSettings
from orchestration.tables import result_table

console = Console()


def search(
    query: Annotated[str, typer.Argument(help="Words to find in names, layers, text, fonts...")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many files at most.")] = 10,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the embedded stack's state (default: $PIXELFORGE_DATA_DIR or "
            ".pixelforge)."
        ),
    ] = None,
) -> None:
    """Find current, valid design files by the words in their names, layer names, text,
    fonts, colours and creator tool (a query without a word exits 2)."""
    if not search_terms(query):
        console.print(f"[red]nothing to search for in {query!r}: type a word[/]")
        raise typer.Exit(2)
    try:
        stack = LocalStack.attach_or_start(
            StackSettings.from_env(data_dir), echo=lambda m: console.print(f"[dim]{m}[/]")
        )
    except StackError as error:
        console.print(f"[red]cannot reach the embedded stack:[/] {error}")
        raise typer.Exit(1) from error
    try:
        with stack.session() as session:
            try:
                hits = search_designs(session, query, limit)
            except EmptySearchError as error:  # checked above; kept for the one code's contract
                console.print(f"[red]{error}[/]")
                raise typer.Exit(2) from error
    finally:
        stack.stop()
    if not hits:
        console.print(f"no current file matches {query!r}")
        return
    console.print(
        result_table(
            [
                {
                    "rank": rank,
                    "relative_path": hit["relative_path"],
                    "format": hit["format"],
                    "terms": hit["matched_terms"],
                    "score": hit["score"],
                }
                for rank, hit in enumerate(hits, 1)
            ]
        )
    )


def register(app: typer.Typer) -> None:
    app.command()(search)
