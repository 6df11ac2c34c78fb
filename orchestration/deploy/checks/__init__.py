"""Offline checks of the rendered deploy plan: what fakesnow cannot show locally.

Two checks, each a module with `check_plan` and the modules it is split into by concern:

- privileges.py: replays the plan against a model of Snowflake's access control, every actor
  included (`python -m orchestration.deploy.checks.privilege_report` prints its report).
  privilege_rules (the documented rules and their pages), privilege_model (the account),
  privilege_inputs / privilege_results (what goes in and comes out), privilege_syntax (the
  statement shapes), and the rules by statement kind: privilege_state, privilege_reads,
  privilege_create, privilege_commands, privilege_dbt. Its inputs besides the plan: dbt_nodes
  (what `dbt parse` / `dbt ls` say each dbt invocation builds), procedure_recording (a run of
  the procedures' handlers against fakesnow) and procedure_statements (that run's statements
  attributed to the procedures).
- catalog.py: qualifies every column and function the plan uses against the catalog of
  Snowflake-owned objects (snowflake_catalog.yml, read by snowflake_catalog) and the project's
  relations (catalog_project); catalog_units, catalog_sql, catalog_resolve and catalog_checker
  are its reader, sqlglot helpers, resolution and findings.

Both read SQL text with sql_text (quotes, comments, parentheses) and Snowflake Scripting blocks
with scripting.
"""
