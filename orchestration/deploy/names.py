"""Names of the Snowflake objects the deploy creates, each declared once.

The plan's sections, its grants, the task bodies and the checks read these; the task names are
derived from the pipeline (orchestration/graph.py, `Pipeline.task_name`) and qualified in
orchestration/deploy/tasks.py.
"""

from __future__ import annotations

# Integrations: each an AWS handshake (docs/deploy.md), created once and then altered.
STORAGE_INTEGRATION = "pixelforge_designs"
API_INTEGRATION = "pixelforge_render_api"
ALERTS_INTEGRATION = "pixelforge_alerts"
HEARTBEAT_INTEGRATION = "pixelforge_heartbeat"

# Schemas beyond raw and ops (which snowpark_procs/sql/schema.sql creates): dbt's layers.
DBT_SCHEMAS = ("staging", "intermediate", "marts", "ops_marts")
# Tasks of one graph share a schema; the step procedures live in raw.
TASK_SCHEMA = "ops"
PROCEDURE_SCHEMA = "raw"
DBT_PROJECT = "ops.pixelforge_dbt"

# The external function the render step's procedure calls
# (snowpark_procs/sql/call_render_function.sql), named like the step and its procedure: a
# function and a procedure of one schema may share a name when their signatures differ
# ("Naming and overloading procedures and UDFs",
# https://docs.snowflake.com/en/developer-guide/udf-stored-procedure-naming-conventions), and
# CALL only resolves procedures, a SELECT only functions.
RENDER_FUNCTION = "raw.render_thumbnails"
RENDER_FUNCTION_ARGUMENTS = ("varchar", "varchar", "varchar", "number")

# OPS.BACKFILL(start, end), OPS.BACKFILL(start, end, dry_run) and OPS.REPROCESS([steps, prefix,
# format, dry_run]), which operators call. A GRANT names a procedure by all its argument types,
# optional ones included.
BACKFILL_PROCEDURE = "ops.backfill"
BACKFILL_ARGUMENTS = ("timestamp_tz", "timestamp_tz")
BACKFILL_DRY_RUN_ARGUMENTS = ("timestamp_tz", "timestamp_tz", "boolean")
REPROCESS_PROCEDURE = "ops.reprocess"
REPROCESS_ARGUMENTS = ("varchar", "varchar", "varchar", "boolean", "varchar")
# Argument lists earlier plans created, dropped before the current ones are created. A
# procedure's or function's signature is its name with its argument types, and one that
# differs "by the number of arguments, the types of the arguments, or both" is another
# overload ("Naming and overloading procedures and UDFs",
# https://docs.snowflake.com/en/developer-guide/udf-stored-procedure-naming-conventions), so
# CREATE OR REPLACE with an argument added leaves the old object beside the new one: a
# positional CALL OPS.REPROCESS of four arguments would then match both (the added `facet`
# has a default). DROP PROCEDURE / DROP FUNCTION name one overload by its argument types
# (https://docs.snowflake.com/en/sql-reference/sql/drop-procedure,
# https://docs.snowflake.com/en/sql-reference/sql/drop-function).
RETIRED_PROCEDURES = ((REPROCESS_PROCEDURE, ("varchar", "varchar", "varchar", "boolean")),)
RETIRED_FUNCTIONS = (
    (
        f"{PROCEDURE_SCHEMA}.extract_file_metadata",
        ("varchar", "varchar", "varchar", "varchar", "float"),
    ),
)
# The Python procedure both call to price a request (snowpark_procs/handlers.py
# estimate_request: the handler's name, in the procedures' schema).
ESTIMATE_PROCEDURE = f"{PROCEDURE_SCHEMA}.estimate_request"

# The service users' network policy (PIXELFORGE_SERVICE_USERS): an ingress rule in ops, the
# database's own schema for objects no step reads, and an account-level policy naming it.
SERVICE_NETWORK_RULE = "ops.pixelforge_service_ingress"
SERVICE_NETWORK_POLICY = "pixelforge_service_users"


def signature(name: str, arguments: tuple[str, ...]) -> str:
    """`name(type, ...)`, how GRANT ... ON FUNCTION / PROCEDURE names one overload."""
    return f"{name}({', '.join(arguments)})"
