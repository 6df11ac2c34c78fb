"""Reading the ops views: the query runner and the rules the CLI and the dashboard share.

Every query is a file orchestration/sql/<name>.sql of plain Snowflake SQL with `?` binds, so
the same text answers on the embedded stack and in a production worksheet. This module imports
nothing beyond the package's SQL folder: the dashboard (dashboard/) reads the views through it
in Streamlit in Snowflake as well as locally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from orchestration.sql import read_sql

Row = dict[str, Any]
BudgetState = Literal["left", "spent", "overspent", "missed"]


def query(session: Any, name: str, params: Sequence[Any] = ()) -> list[Row]:
    """Rows of orchestration/sql/<name>.sql as dicts with lower-case keys (`session`: a Snowpark
    session, or anything whose sql(text, params=...).collect() returns Snowpark rows)."""
    rows = session.sql(read_sql(name), params=list(params)).collect()
    return [{k.lower(): v for k, v in row.as_dict().items()} for row in rows]


def error_budget_state(slo: Row) -> BudgetState:
    """This month's error budget (a row of ops_slo_budget): `left` while failed runs are fewer
    than the objective allows, `spent` at exactly none left, `overspent` past it, `missed` when
    the success rate is below the objective for another reason (skipped runs count as not
    succeeded)."""
    remaining = int(slo["error_budget_remaining_runs"])
    if remaining < 0:
        return "overspent"
    if float(slo["success_rate"] or 0) < float(slo["success_objective"]):
        return "missed"
    return "spent" if remaining == 0 else "left"
