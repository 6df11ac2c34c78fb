"""The design marts and `pixelforge search` on the embedded stack: one run over the small corpus
writes real facet rows (extract and render steps) and builds the marts through the real dbt
steps; the tests read them and run the command over them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from typer import Typer
from typer.testing import CliRunner

from orchestration import search_cli
from tests.integration.conftest import BROKEN, query, runner_for, small_corpus, upload

if TYPE_CHECKING:
    from orchestration.local.stack import LocalStack
    from tests.stack_pool import StackPool

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(stack_pool: StackPool) -> LocalStack:
    """The session's stack, reset, after one successful run over the small corpus."""
    stack = stack_pool.fresh()
    upload(stack, small_corpus())
    assert runner_for(stack).run(kind="scheduled").succeeded
    return stack


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


def test_the_design_marts_hold_the_runs_facets(stack: LocalStack) -> None:
    valid = set(small_corpus()) - BROKEN
    search = {r["RELATIVE_PATH"] for r in query(stack, "select * from marts.mart_design_search")}
    assert search == valid  # one row per current, valid file
    dim = {r["RELATIVE_PATH"]: r for r in query(stack, "select * from marts.dim_design_files_v2")}
    # every valid file was rendered, so its visual facet reached version 2 of the dim
    assert all(dim[p]["PHASH"] and dim[p]["DOMINANT_COLOR_HEX"] for p in valid)
    assert all(dim[p]["PHASH"] is None for p in BROKEN)
    v1 = query(stack, "select * from marts.dim_design_files")
    assert {r["RELATIVE_PATH"]: r["FILE_VERSION_ID"] for r in v1} == {
        p: r["FILE_VERSION_ID"] for p, r in dim.items()
    }
    assert "PHASH" not in v1[0]  # version 1 keeps its columns
    layers = query(
        stack,
        "select layer_name, layer_kind from marts.fct_design_layers"
        " where relative_path = 'team-b/mockup.psd' order by layer_index",
    )
    assert layers and layers[0] == {"LAYER_NAME": "Background", "LAYER_KIND": "pixel"}
    colors = query(stack, "select distinct relative_path from marts.fct_design_colors")
    assert {r["RELATIVE_PATH"] for r in colors} == valid


def test_search_ranks_the_current_valid_files(stack: LocalStack) -> None:
    found = _search(stack, "mockup")
    assert found.exit_code == 0, found.output
    assert "team-b/mockup.psd" in found.output
    assert "spinner" not in found.output

    team = _search(stack, "team-b", "--limit", "2")
    assert team.exit_code == 0, team.output
    team_b = [p for p in small_corpus() if p.startswith("team-b/")]
    assert sum(p in team.output for p in team_b) == 2  # the limit, among team-b's five files

    none = _search(stack, "zeppelin")
    assert none.exit_code == 0, none.output
    assert "no current file matches 'zeppelin'" in none.output

    empty = _search(stack, " -- ")
    assert empty.exit_code == 2, empty.output
    assert "nothing to search for" in empty.output
