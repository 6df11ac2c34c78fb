"""What each Snowpark procedure sends to the warehouse, for the privilege checker: the statements
of a recorded run attributed to the procedures (procedure_recording.py records the run).

The procedures are Python (snowpark_procs/handlers.py): their SQL is only known by running
them. The warehouse's statement log (orchestration/local/warehouse_server.py) records every
statement with its session's QUERY_TAG; the local runner tags its session with the step's name
before each step (orchestration/local/runner.py), and `record_handler_statements` does the same
while it runs each procedure's production handler against an in-thread fakesnow. A step maps to
its procedure through orchestration/graph.py (a procedure step's `handler`) and
snowpark_procs/snowflake.yml (the procedure whose handler that is).

Not every statement a tagged session sends comes from a procedure: the local runner records
its run history and refreshes the local directory tables in the same session. Those are the
runner's own SQL files (orchestration/sql, orchestration/local/*.sql) and are left out, unless
the same text is one of the procedures' files (snowpark_procs/sql); everything else tagged with
a procedure step is the procedure's.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from importlib import resources

from snowflake.connector.util_text import split_statements

from orchestration.deploy.procedures import ProcedureSpec, load_procedures
from orchestration.graph import INCREMENTAL, DbtStep, Pipeline, Step
from orchestration.local.warehouse_server import LoggedStatement, query_tag_change


def normal_sql(sql: str) -> str:
    """The statement with its whitespace collapsed, without a trailing `;`, lower case."""
    return " ".join(sql.split()).rstrip(";").strip().lower()


def _package_statements(package: str) -> set[str]:
    """Every statement of every .sql file of a package, normalized."""
    found: set[str] = set()
    for entry in resources.files(package).iterdir():
        if entry.name.endswith(".sql"):
            text = entry.read_text(encoding="utf-8")
            found.add(normal_sql(text))
            found |= {
                normal_sql(statement)
                for statement, _ in split_statements(io.StringIO(text), remove_comments=True)
                if statement.strip()
            }
    return found


def runner_statements() -> frozenset[str]:
    """The local runner's own SQL (run history, local directory tables), normalized; a text
    that is also one of the procedures' SQL files (snowpark_procs/sql) is the procedures'."""
    runner = _package_statements("orchestration.sql") | _package_statements("orchestration.local")
    return frozenset(runner - _package_statements("snowpark_procs.sql"))


def procedure_steps(
    pipeline: Pipeline = INCREMENTAL, procedures: Sequence[ProcedureSpec] | None = None
) -> dict[str, str]:
    """Step name -> the procedure (schema.name) that step's task calls; for a procedure no task
    calls, its handler's name -> the procedure."""
    specs = load_procedures() if procedures is None else procedures
    by_handler = {spec.handler.rsplit(".", 1)[-1]: spec.qualified_name for spec in specs}
    steps: list[Step] = [*pipeline.steps, pipeline.finalizer]
    mapping: dict[str, str] = {}
    for step in steps:
        if isinstance(step, DbtStep):
            continue
        if step.handler not in by_handler:
            raise ValueError(f"step {step.name}: no procedure in snowflake.yml runs {step.handler}")
        mapping[step.name] = by_handler[step.handler]
    # procedures no task calls (OPS.BACKFILL / OPS.REPROCESS call raw.estimate_request): their
    # recording is tagged with their handler's name
    for handler, procedure in by_handler.items():
        if procedure not in mapping.values():
            mapping[handler] = procedure
    return mapping


def attribute_statements(
    log: Sequence[LoggedStatement],
    pipeline: Pipeline = INCREMENTAL,
    procedures: Sequence[ProcedureSpec] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Procedure (schema.name) -> the distinct statements sent under its step's tag, in order
    (the runner's own SQL and session statements left out)."""
    steps = procedure_steps(pipeline, procedures)
    runner = runner_statements()
    found: dict[str, dict[str, None]] = {procedure: {} for procedure in steps.values()}
    for statement in log:
        procedure = steps.get(statement.query_tag)
        if procedure is None or query_tag_change(statement.sql) is not None:
            continue
        if normal_sql(statement.sql) in runner:
            continue
        found[procedure][statement.sql] = None
    return {procedure: tuple(sqls) for procedure, sqls in found.items() if sqls}
