"""The graph's facts written into dbt_project.yml's `vars:` block, from orchestration/graph.py.

The ops models read the task names' prefix, the step tokens, which steps bill a warehouse and
the objectives as dbt vars (graph.py `dbt_vars`; no model declares a default). They are
rendered into the project file rather than passed with `--vars` on every command so that:

- a bare `dbt build` (what analytics engineers run) sees the same values as the tasks;
- the production tasks' EXECUTE DBT PROJECT ARGS carry no YAML: Snowflake documents ARGS only
  as "a literal string that must conform to the syntax and requirements of dbt CLI commands"
  (https://docs.snowflake.com/en/sql-reference/sql/execute-dbt-project) and not how it splits
  quoted words, so a `--vars "{...}"` there is a first-deploy guess we do not need to make.

The block between the two marker lines is owned by this module; `python -m
orchestration.dbt_project_vars` rewrites it, and tests/dbt/test_dbt_vars.py fails while the file
differs from the render (the golden test of this artifact).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from orchestration.graph import INCREMENTAL, Pipeline, dbt_vars

DBT_PROJECT_FILE = Path(__file__).resolve().parents[1] / "dbt_project.yml"
BEGIN = "  # BEGIN graph facts"
BEGIN_LINE = f"{BEGIN} (orchestration/graph.py; `python -m orchestration.dbt_project_vars`)"
END = "  # END graph facts"


class ProjectVarsBlockError(ValueError):
    """dbt_project.yml has no well-formed graph-facts block."""


def render_block(pipeline: Pipeline = INCREMENTAL) -> list[str]:
    """The block's lines: each var's value in JSON, which is YAML (no quoting question)."""
    body = [f"  {name}: {json.dumps(value)}" for name, value in dbt_vars(pipeline).items()]
    return [BEGIN_LINE, *body, END]


def render(project_text: str, pipeline: Pipeline = INCREMENTAL) -> str:
    """project_text with its graph-facts block replaced by the render of `pipeline`."""
    lines = project_text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(BEGIN)]
    ends = [i for i, line in enumerate(lines) if line == END]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ProjectVarsBlockError(
            f"{DBT_PROJECT_FILE.name} needs exactly one block from {BEGIN.strip()!r} "
            f"to {END.strip()!r} under vars:"
        )
    lines[starts[0] : ends[0] + 1] = render_block(pipeline)
    return "\n".join(lines) + "\n"


def main() -> int:
    current = DBT_PROJECT_FILE.read_text(encoding="utf-8")
    rendered = render(current)
    if rendered != current:
        DBT_PROJECT_FILE.write_text(rendered, encoding="utf-8")
        print(f"{DBT_PROJECT_FILE.name}: graph facts rewritten")
    else:
        print(f"{DBT_PROJECT_FILE.name}: graph facts up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
