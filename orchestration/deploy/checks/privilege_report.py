"""`python -m orchestration.deploy.checks.privilege_report`: the privilege check of the
production plan (rendered with placeholders), with dbt's nodes and the procedures' statements
recorded fresh; prints one line per violation and unchecked statement, exits 1 on a violation.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from orchestration.deploy.checks.dbt_nodes import dbt_invocations, load_dbt_project, profile_of
from orchestration.deploy.checks.privilege_inputs import Inputs
from orchestration.deploy.checks.privilege_results import PrivilegeReport
from orchestration.deploy.checks.privileges import check_plan, plan_sql
from orchestration.deploy.checks.procedure_recording import (
    graph_config_from_plan,
    record_handler_statements,
)
from orchestration.deploy.checks.procedure_statements import attribute_statements
from orchestration.deploy.plan import render_plan
from orchestration.deploy.settings import DeploySettings
from orchestration.local.warehouse_server import read_statement_log


def production_inputs(
    settings: DeploySettings, statements: Sequence[str], work_dir: Path
) -> Inputs:
    """Everything the checker needs besides the plan, made fresh: dbt's nodes (`dbt parse`,
    `dbt ls` of each invocation in the plan) and the procedures' statements (their handlers
    run against an in-thread fakesnow, orchestration/deploy/checks/procedure_recording.py)."""
    # commands.py stages the dbt project's profiles.yml with the transformer role
    role, warehouse = profile_of(settings.transformer_role, settings.warehouse, settings.database)
    dbt = load_dbt_project(
        dbt_invocations(statements), role, warehouse, settings.database, work_dir / "dbt"
    )
    log = work_dir / "statements.jsonl"
    file_reads = record_handler_statements(log, graph_config_from_plan(statements))
    procedures = attribute_statements(read_statement_log(log))
    return Inputs(settings.deploy_role, dbt, procedures, file_reads)


def production_report(settings: DeploySettings, work_dir: Path) -> PrivilegeReport:
    """The checker's report on the plan `settings` render, every actor included."""
    statements = plan_sql(render_plan(settings))
    return check_plan(statements, production_inputs(settings, statements, work_dir))


def main() -> int:
    with tempfile.TemporaryDirectory() as work_dir:
        report = production_report(DeploySettings.with_placeholders(), Path(work_dir))
    for line in report.lines():
        print(line)
    print(f"{len(report.violations)} violations, {len(report.unchecked)} unchecked statements")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
