"""The plan's unit: a statement with its section, kind and note, and the builder sections add to.

`kind` decides whether `--target local` applies a statement: fakesnow (the local warehouse)
implements only part of Snowflake, and LOCAL_SKIPS says, per kind it skips, why.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.deploy.render import render_statements

# Statement kinds fakesnow (the local warehouse) does not implement, and why; `--target local`
# applies every other statement. Each was tried against fakesnow 0.12.1 (see the report).
LOCAL_SKIPS: dict[str, str] = {
    "role": "fakesnow has no roles (CREATE ROLE / GRANT ROLE are parse errors)",
    "grant": "fakesnow has no access control (GRANT is a parse error)",
    "use_role": "no roles locally; the session's single user owns everything",
    "warehouse": "fakesnow has no warehouses (DuckDB runs in process)",
    "integration": "integrations are AWS handshakes; locally the stack talks to moto directly",
    "external_stage": "external stages, streams and DIRECTORY() need S3 and a directory table; "
    "locally raw.designs_directory is a table the runner refreshes (objects.sql)",
    "prod_view": "the local stack defines its own counterpart (orchestration/local/objects.sql)",
    "put": "the artifacts feed procedures and the dbt project, which run in Snowflake only",
    "procedure": "fakesnow runs no Python or SQL Scripting procedures; locally the runner "
    "calls the handlers in process",
    "function": "fakesnow registers no Python UDFs; locally the runner calls the extraction "
    "function's handler row by row (snowpark_procs/steps/extractors.py)",
    "external_function": "locally the runner POSTs batches to the render service over HTTP",
    "dbt_project": "locally the runner runs dbt build with the same selectors",
    "task": "fakesnow has no tasks; locally orchestration/local/runner.py walks the same graph",
    "alert": "fakesnow has no alerts or notification integrations",
    "search_service": "fakesnow has no Cortex Search (nor ALTER TABLE ... SET CHANGE_TRACKING); "
    "locally `pixelforge search` ranks the same mart's rows (orchestration/search.py)",
    "account": "account parameters and network policies govern a Snowflake account; the local "
    "warehouse is a process on 127.0.0.1",
}


@dataclass(frozen=True)
class PlanStatement:
    """One statement of the plan; `kind` decides whether --target local applies it."""

    section: str
    kind: str
    sql: str
    note: str = ""

    @property
    def local(self) -> bool:
        return self.kind not in LOCAL_SKIPS

    def render(self) -> str:
        comment = "".join(f"-- {line}\n" for line in _wrap(self.note)) if self.note else ""
        return f"{comment}{self.sql};\n"


def _wrap(text: str, width: int = 96) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines


class PlanBuilder:
    """The statements so far; a section sets `section` before adding its statements."""

    def __init__(self) -> None:
        self.statements: list[PlanStatement] = []
        self.section = ""

    def add(self, kind: str, sql: str, note: str = "") -> None:
        self.statements.append(PlanStatement(self.section, kind, sql, note))

    def add_template(self, kind: str, template: str, **context: object) -> None:
        for sql, note in render_statements(template, **context):
            self.add(kind, sql, note)
