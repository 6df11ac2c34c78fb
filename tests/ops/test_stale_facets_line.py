"""`pixelforge status`'s stale-facet line, from the rows of orchestration/sql/ops_stale_facets.sql
(the latest nightly counts per facet, ops_marts.fct_reconciliation_checks)."""

from __future__ import annotations

from datetime import datetime

from orchestration.ops_cli import stale_facets_line

NIGHT = datetime(2026, 12, 6, 3, 0)


def test_no_reconciliation_yet_says_so() -> None:
    assert stale_facets_line([]) == "stale facets: no reconciliation has counted them yet"


def test_stale_counts_are_shown_per_facet_with_the_command_that_clears_them() -> None:
    rows = [
        {"facet": "document", "files": 0, "checked_at": NIGHT},
        {"facet": "structure", "files": 1204, "checked_at": NIGHT},
    ]
    assert stale_facets_line(rows) == (
        "stale facets (reconciliation 2026-12-06 03:00 UTC): document 0, structure "
        "[yellow]1,204[/]; `pixelforge reprocess --facet NAME`"
    )


def test_nothing_stale_names_no_command() -> None:
    rows = [{"facet": "text", "files": 0, "checked_at": NIGHT}]
    assert stale_facets_line(rows) == "stale facets (reconciliation 2026-12-06 03:00 UTC): text 0"
