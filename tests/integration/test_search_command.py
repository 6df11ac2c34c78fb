"""`pixelforge search` on the embedded stack: one run over the small corpus builds the search
mart (marts.mart_design_search) through the real steps, then the command ranks its rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from typer import Typer
from typer.testing import CliRunner

from orchestration import search_cli
from tests.integration.conftest import BROKEN, query, runner_for, small_corpus, upload

if TYPE_CHECKING:
    from orchestration.local.stack import LocalStack

pytestmark = pytest.mark.integration


def _search(stack: LocalStack, *args: str) -> Any:
    app = Typer()
    search_cli.register(app)
    app.command("noop", hidden=True)(lambda: None)  # a group, so `search` is a subcommand
    env = {
        "PIXELFORGE_DATA_DIR": str(stack.settings.data_dir),
        "PIXELFORGE_WAREHOUSE_PORT": str(stack.settings.warehouse_port),
        "PIXELFORGE_S3_PORT": str(stack.settings.s3_port),
        "PIXELFORGE_RENDER_PORT": str(stack.settings.render_port),
        "COLUMNS": "200",
    }
    return CliRunner().invoke(app, ["search", *args], env=env)


def test_search_ranks_the_current_valid_files_of_a_run(fresh_stack: LocalStack) -> None:
    files = small_corpus()
    upload(fresh_stack, files)
    assert runner_for(fresh_stack).run(kind="scheduled").succeeded
    searchable = {
        r["RELATIVE_PATH"] for r in query(fresh_stack, "select * from marts.mart_design_search")
    }
    assert searchable == set(files) - BROKEN  # one row per current, valid file

    found = _search(fresh_stack, "mockup")
    assert found.exit_code == 0, found.output
    assert "team-b/mockup.psd" in found.output
    assert "spinner" not in found.output

    team = _search(fresh_stack, "team-b", "--limit", "2")
    assert team.exit_code == 0, team.output
    listed = [p for p in searchable if p.startswith("team-b/") and p in team.output]
    assert len(listed) == 2  # the limit, among team-b's five files

    none = _search(fresh_stack, "zeppelin")
    assert none.exit_code == 0, none.output
    assert "no current file matches 'zeppelin'" in none.output

    empty = _search(fresh_stack, " -- ")
    assert empty.exit_code == 2, empty.output
    assert "nothing to search for" in empty.output
