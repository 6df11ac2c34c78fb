"""The dashboard and the CLI's ops commands read the same query files (orchestration/sql/ops_*)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "ops_page.py"
OPS_CLI = REPO / "orchestration" / "ops_cli.py"
SQL_DIR = REPO / "orchestration" / "sql"


def dashboard_queries() -> dict[str, tuple[str, int]]:
    """frame -> (query file, number of binds), read from the ops page's QUERIES (read as
    source: the page needs Streamlit's runtime)."""
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    (value,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "QUERIES"
    ]
    assert isinstance(value, ast.Dict)
    queries = {}
    for key, entry in zip(value.keys, value.values, strict=True):
        assert isinstance(key, ast.Constant) and isinstance(entry, ast.Tuple)
        name, binds = entry.elts
        assert isinstance(name, ast.Constant) and isinstance(binds, ast.Tuple)
        queries[key.value] = (name.value, len(binds.elts))
    return queries


def cli_queries() -> set[str]:
    return set(re.findall(r"""query\(\s*session,\s*"(ops_\w+)\"""", OPS_CLI.read_text()))


def test_every_dashboard_query_is_an_ops_query_file_with_its_binds() -> None:
    queries = dashboard_queries()
    assert len(queries) == 8
    for frame, (name, binds) in queries.items():
        path = SQL_DIR / f"{name}.sql"
        assert name.startswith("ops_") and path.exists(), frame
        assert path.read_text(encoding="utf-8").count("?") == binds, name


def test_the_app_reads_the_ops_query_folder() -> None:
    # through the CLI's own runner, which reads orchestration/sql/<name>.sql
    source = APP.read_text(encoding="utf-8")
    assert "from orchestration.ops_queries import query" in source
    assert "query(session, query_name, binds)" in source
    assert "session.sql(" not in source


def test_the_cli_and_the_dashboard_share_their_overlapping_queries() -> None:
    cli = cli_queries()
    dashboard = {name for name, _ in dashboard_queries().values()}
    assert cli and all((SQL_DIR / f"{name}.sql").exists() for name in cli)
    # the last runs, the backlog per stage, the SLO budget and the backlog's progress (rate,
    # ETA): one file each, read by both
    assert {
        "ops_recent_runs",
        "ops_backlog_by_stage",
        "ops_slo_budget",
        "ops_backlog_progress",
    } <= cli & dashboard
    # and no two files hold the same query
    texts = [
        re.sub(r"--[^\n]*\n", "", p.read_text(encoding="utf-8")).split()
        for p in SQL_DIR.glob("ops_*.sql")
    ]
    assert len({" ".join(t) for t in texts}) == len(texts)


def test_the_thumbnail_url_query_signs_on_the_plans_thumbnails_stage() -> None:
    # the Files page inside Streamlit in Snowflake (dashboard/sources.py StageThumbnails)
    sql = (SQL_DIR / "thumbnail_url.sql").read_text(encoding="utf-8")
    (stage,) = re.findall(r"get_presigned_url\(@([\w.]+), \?, \?\)", sql)
    golden = REPO / "tests" / "orchestration" / "golden" / "prod_plan.sql"
    assert f"create stage if not exists {stage}\n" in golden.read_text(encoding="utf-8")
