"""The Snowflake deploy plan: golden file, parsers, linter, graph coupling, settings, fakesnow."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from pathlib import Path

import pytest
import snowflake.connector
import sqlglot
from sqlfluff.core import FluffConfig, Linter
from sqlglot import exp
from typer import Typer
from typer.testing import CliRunner

from orchestration.alerts import alert_rules, pipeline_task_names
from orchestration.capacity import capacity_model
from orchestration.deploy import DeploySettings, SettingsError, names, plan_text, render_plan
from orchestration.deploy.account import ACCOUNT_GUARDRAILS
from orchestration.deploy.apply import ApplyError, apply_statements, select_for_target
from orchestration.deploy.commands import register
from orchestration.deploy.names import SERVICE_NETWORK_POLICY, SERVICE_NETWORK_RULE
from orchestration.deploy.notifications import notification_helper
from orchestration.deploy.plan import sqlfluff_gap
from orchestration.deploy.procedures import FREEZE_OMITS, load_procedures
from orchestration.deploy.render import sql_string
from orchestration.deploy.standalone import thumbnail_slices
from orchestration.deploy.statements import LOCAL_SKIPS, PlanStatement
from orchestration.deploy.tasks import snowflake_cron
from orchestration.graph import (
    INCREMENTAL,
    DbtStep,
    ExternalFunctionStep,
    ProcedureStep,
    RetryPolicy,
)
from orchestration.local.sql import local_sql_statements
from pixelforge_core.render_budget import RENDER_BUDGET, RenderBudget
from pixelforge_core.render_wire import thumbnail_key
from pixelforge_core.write_batch import EXTRACT_BATCH_ROWS
from snowpark_procs import handlers
from snowpark_procs.sql import read_sql
from tests.fakesnow_server import fakesnow_server

GOLDEN = Path(__file__).parent / "golden" / "prod_plan.sql"

# Statement kinds sqlglot 30 parses only as exp.Command (it has no grammar for them); every
# other statement must parse into a real expression.
SQLGLOT_COMMAND_KINDS = {
    "role",  # CREATE ROLE, GRANT ROLE
    "grant",  # GRANT ... ON ALL/FUTURE ..., GRANT DATABASE ROLE, schema privileges
    "warehouse",  # ALTER WAREHOUSE ... SET
    "integration",  # CREATE API/NOTIFICATION INTEGRATION, ALTER STORAGE INTEGRATION
    "external_stage",  # CREATE STREAM ... ON STAGE
    "dbt_project",  # CREATE DBT PROJECT
    "task",  # CREATE OR ALTER TASK, ALTER TASK ... SUSPEND/RESUME
    "alert",  # CREATE ALERT
    "search_service",  # CREATE / ALTER CORTEX SEARCH SERVICE
}
# Statements sqlglot cannot parse at all, though Snowflake documents them verbatim.
SQLGLOT_ERRORS = {
    "create stage if not exists raw.designs_stage": (
        "DIRECTORY = (ENABLE = TRUE AUTO_REFRESH = TRUE): sqlglot expects commas between options"
    ),
    "create stage if not exists raw.thumbnails_stage": (
        "DIRECTORY = (ENABLE = TRUE AUTO_REFRESH = FALSE): the same gap"
    ),
}
# sqlfluff rules not applied to the plan, and why:
#   LT02 its snowflake grammar does not indent DDL property lists; we indent them like the docs
#   LT05 long lines are ARNs, stage paths, package pins and GRANTs; splitting changes nothing
#   RF04 column names fixed by Snowflake (size, mode, format, state, name, action, config)
#   ST06 ops.task_history keeps TASK_HISTORY's (and the local view's) column order
SQLFLUFF_EXCLUDED = "LT02,LT05,RF04,ST06"


@pytest.fixture(scope="module")
def placeholder_settings() -> DeploySettings:
    return DeploySettings.with_placeholders()


@pytest.fixture(scope="module")
def plan(placeholder_settings: DeploySettings) -> list[PlanStatement]:
    return render_plan(placeholder_settings)


def _task_sql(plan: list[PlanStatement], name: str) -> str:
    matches = [s.sql for s in plan if s.sql.startswith(f"create or alter task ops.{name}\n")]
    assert len(matches) == 1, f"expected one task {name}"
    return matches[0]


def _root_config(plan: list[PlanStatement]) -> dict[str, object]:
    match = re.search(r"config = \$\$(.*?)\$\$", _task_sql(plan, "pixelforge_root"))
    assert match, "the root has no CONFIG"
    config: dict[str, object] = json.loads(match.group(1))
    return config


# --- golden ----------------------------------------------------------------------------


def test_plan_matches_golden(plan: list[PlanStatement]) -> None:
    text = plan_text(plan)
    if os.environ.get("PIXELFORGE_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == text, (
        "the deploy plan changed; review the diff, then regenerate with "
        "PIXELFORGE_UPDATE_GOLDEN=1 pytest tests/orchestration/test_deploy_plan.py"
    )


def test_plan_is_deterministic(placeholder_settings: DeploySettings) -> None:
    assert plan_text(render_plan(placeholder_settings)) == plan_text(
        render_plan(placeholder_settings)
    )


# --- parsers and linter ---------------------------------------------------------------


def test_every_statement_parses_with_sqlglot(plan: list[PlanStatement]) -> None:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    unexpected_commands: list[str] = []
    errors_seen: set[str] = set()
    for statement in plan:
        gap = next((p for p in SQLGLOT_ERRORS if statement.sql.startswith(p)), None)
        if gap:
            with pytest.raises(sqlglot.errors.ParseError):
                sqlglot.parse_one(statement.sql, read="snowflake")
            errors_seen.add(gap)
            continue
        parsed = sqlglot.parse_one(statement.sql, read="snowflake")
        if isinstance(parsed, exp.Command) and statement.kind not in SQLGLOT_COMMAND_KINDS:
            unexpected_commands.append(statement.sql.splitlines()[0])
    assert not unexpected_commands, "sqlglot fell back to Command for supported statements"
    assert errors_seen == set(SQLGLOT_ERRORS), "a listed sqlglot gap no longer occurs"


def _linter() -> Linter:
    config = FluffConfig(
        configs={
            "core": {
                "dialect": "snowflake",
                "templater": "raw",
                "exclude_rules": SQLFLUFF_EXCLUDED,
                "max_line_length": 100,
            },
            "rules": {
                "capitalisation.keywords": {"capitalisation_policy": "lower"},
                "capitalisation.functions": {"extended_capitalisation_policy": "lower"},
                # the external function's URL literal reads as a quoted identifier
                "references.special_chars": {"quoted_identifiers_policy": "none"},
            },
        }
    )
    return Linter(config=config)


@pytest.mark.slow  # sqlfluff over the whole plan: 15 s on 2 cores
def test_plan_lints_with_sqlfluff(plan: list[PlanStatement]) -> None:
    linter = _linter()
    problems: list[str] = []
    gaps_seen: list[str] = []
    # one statement at a time: an unparsable statement cannot hide the ones after it
    for statement in plan:
        violations = linter.lint_string(statement.sql + ";\n").get_violations()
        codes = {v.rule_code() for v in violations}
        if sqlfluff_gap(statement.sql):
            assert codes == {"PRS"}, f"listed sqlfluff gap now parses: {statement.sql}"
            gaps_seen.append(statement.sql)
            continue
        problems += [
            f"{v.rule_code()} line {v.line_no}: {v.desc()} in {statement.sql.splitlines()[0]}"
            for v in violations
        ]
    assert not problems, "\n".join(problems)
    # the two alert grants; CREATE DBT PROJECT ... DBT_VERSION and the two ALTER DBT PROJECT
    assert len(gaps_seen) == 5


def test_dollar_quoted_bodies_are_balanced(plan: list[PlanStatement]) -> None:
    for statement in plan:
        assert statement.sql.count("$$") % 2 == 0, statement.sql


# --- rendered from the one definition ---------------------------------------------------


def test_task_graph_follows_graph_py(plan: list[PlanStatement]) -> None:
    root = _task_sql(plan, "pixelforge_root")
    assert "schedule = 'USING CRON 0,15,30,45 * * * * UTC'" in root
    assert f"task_auto_retry_attempts = {INCREMENTAL.retry.max_attempts - 1}" in root
    assert f"suspend_task_after_num_failures = {INCREMENTAL.suspend_after_failures}" in root
    assert "overlap_policy = no_overlap" in root
    assert f"user_task_timeout_ms = {INCREMENTAL.step_timeout_ms}" in root
    assert _root_config(plan) == {
        "mode": "incremental",
        "pipeline": "pixelforge",
        "step_budget_s": INCREMENTAL.step_budget_s,
        "render_max_tasks": RENDER_BUDGET.max_tasks,
        "extract_batch_rows": EXTRACT_BATCH_ROWS,
        "tasks": {
            "root": "PIXELFORGE_ROOT",
            "discover": "PIXELFORGE_DISCOVER",
            "extract_metadata": "PIXELFORGE_EXTRACT_METADATA",
            "render_thumbnails": "PIXELFORGE_RENDER_THUMBNAILS",
            "validate": "PIXELFORGE_VALIDATE",
            "load": "PIXELFORGE_LOAD",
        },
        "heartbeat_integration": "pixelforge_heartbeat",
    }
    assert "warehouse" not in root.split("\nas\n")[0]  # serverless
    discover = _task_sql(plan, "pixelforge_discover")
    assert "after ops.pixelforge_root" in discover
    # the procedure's summary becomes the task's RETURN_VALUE, which the finalizer reads
    assert (
        "call raw.discover(system$task_runtime_info('CURRENT_TASK_GRAPH_RUN_GROUP_ID'), "
        "system$get_task_graph_config()) into :summary;\n"
        "        call system$set_return_value(:summary);"
    ) in discover
    validate = _task_sql(plan, "pixelforge_validate")
    assert "warehouse = pixelforge_transform_wh" in validate
    assert "after ops.pixelforge_render_thumbnails" in validate
    assert (
        "args = 'build --selector validate --exclude-resource-type unit_test --target prod' "
        "dbt_version = '1.10.15'"
    ) in validate
    final = _task_sql(plan, "pixelforge_finalize")
    assert "finalize = ops.pixelforge_root" in final
    assert "call raw.finalize(" in final
    assert "allow_overlapping_execution" not in plan_text(plan)  # deprecated (CREATE TASK)


def test_task_names_follow_the_pipeline_name(placeholder_settings: DeploySettings) -> None:
    """Pipeline.task_name is the one naming rule: renaming the pipeline renames every task, the
    finalizer's task names, the alerts' task filter and the tasks the deploy suspends."""
    acme = dataclasses.replace(INCREMENTAL, name="acme")
    plan = render_plan(placeholder_settings, pipeline=acme)
    created = [m.group(1) for s in plan if (m := re.match(r"create or alter task (\S+)", s.sql))]
    assert created and all(name.startswith("ops.acme_") for name in created), created
    assert "ops.acme_root" in created
    assert "ops.acme_reconcile" in created and "ops.acme_archive_task_history" in created
    config = json.loads(
        re.search(r"config = \$\$(.*?)\$\$", _task_sql(plan, "acme_root"), re.S).group(1)
    )
    assert set(config["tasks"].values()) == {
        acme.task_history_name(step) for step in ("root", *(s.name for s in acme.steps))
    }
    assert all(name.startswith("ACME_") for name in pipeline_task_names(acme))
    assert "pixelforge_root" not in plan_text(plan)


def test_local_task_history_names_tasks_by_the_same_rule() -> None:
    """The local TASK_HISTORY stand-in (orchestration/local/objects.sql) is SQL and cannot call
    Pipeline.task_name: its name column spells the rule, checked against it here."""
    (view,) = [s for s in local_sql_statements("objects") if "view ops.task_history" in s]
    prefix = INCREMENTAL.task_name("")
    assert f"upper('{prefix}' || steps.step) as name" in view


def test_steps_share_their_name_with_their_procedure_and_function() -> None:
    """The finalizer step is its procedure raw.finalize; the render step, its procedure and
    the external function it calls are named alike."""
    for step in (*INCREMENTAL.steps, INCREMENTAL.finalizer):
        if isinstance(step, ProcedureStep | ExternalFunctionStep):
            assert step.handler == step.name
    (render,) = [s for s in INCREMENTAL.steps if isinstance(s, ExternalFunctionStep)]
    assert f"raw.{render.name}" == names.RENDER_FUNCTION
    assert f"{names.RENDER_FUNCTION}(" in read_sql("call_render_function")
    text = plan_text(render_plan(DeploySettings.with_placeholders()))
    assert f"create or replace external function {names.RENDER_FUNCTION}(" in text
    assert f"call raw.{INCREMENTAL.finalizer.name}(" in text


def test_changing_the_graph_changes_the_plan(placeholder_settings: DeploySettings) -> None:
    changed = dataclasses.replace(
        INCREMENTAL,
        schedule_cron="*/5 * * * *",
        time_zone="Europe/Berlin",
        retry=RetryPolicy(max_attempts=5),
        suspend_after_failures=4,
        step_timeout_ms=120_000,
        steps=(
            *INCREMENTAL.steps[:3],
            DbtStep("validate", selector="validate", after=("render_thumbnails",)),
            DbtStep("load", selector="load", after=("validate",)),
            ProcedureStep("audit", handler="discover", after=("load",), serverless=False),
        ),
    )
    plan = render_plan(placeholder_settings, pipeline=changed)
    root = _task_sql(plan, "pixelforge_root")
    assert "schedule = 'USING CRON 0,5,10,15,20,25,30,35,40,45,50,55 * * * * Europe/Berlin'" in (
        root
    )
    assert "task_auto_retry_attempts = 4" in root
    assert "suspend_task_after_num_failures = 4" in root
    assert "user_task_timeout_ms = 120000" in root
    audit = _task_sql(plan, "pixelforge_audit")
    assert "after ops.pixelforge_load" in audit
    assert "warehouse = pixelforge_transform_wh" in audit  # serverless=False
    tasks = _root_config(plan)["tasks"]
    assert isinstance(tasks, dict) and tasks["audit"] == "PIXELFORGE_AUDIT"  # finalizer checks it
    assert _root_config(plan)["step_budget_s"] == 60.0  # half the step timeout
    assert plan_text(plan) != plan_text(render_plan(placeholder_settings))


def test_tasks_are_suspended_first_and_resumed_last(plan: list[PlanStatement]) -> None:
    sqls = [s.sql for s in plan]
    suspend = sqls.index("alter task if exists ops.pixelforge_root suspend")
    first_task = next(i for i, s in enumerate(sqls) if s.startswith("create or alter task"))
    resume = sqls.index("select system$task_dependents_enable('pixelforge.ops.pixelforge_root')")
    assert suspend < first_task < resume
    last_task = max(i for i, s in enumerate(sqls) if s.startswith("create or alter task"))
    assert resume > last_task
    no_resume = DeploySettings.with_placeholders().model_copy(update={"resume_tasks": False})
    held = [s.sql for s in render_plan(no_resume)]
    assert not any(s.endswith(" resume") or "task_dependents_enable" in s for s in held)


def test_procedures_come_from_snowflake_yml() -> None:
    procs = load_procedures()
    graph_handlers = {
        s.handler for s in (*INCREMENTAL.steps, INCREMENTAL.finalizer) if hasattr(s, "handler")
    }
    assert graph_handlers <= {p.name for p in procs}
    for proc in procs:
        module, _, function = proc.handler.rpartition(".")
        assert module == "snowpark_procs.handlers"
        assert callable(getattr(handlers, function))
        if proc.name in graph_handlers:  # a task calls it with the run id and graph CONFIG
            assert proc.signature == (("run_id", "varchar"), ("config_json", "varchar"))
        else:  # OPS.BACKFILL / OPS.REPROCESS call the dry run with a request and the model
            assert proc.name == "estimate_request"
            assert proc.signature == (("config_json", "varchar"), ("model_json", "varchar"))
        assert proc.runtime == "3.11"
        # every package pinned but the two pip freeze leaves out of the lock
        assert {p for p in proc.packages if "==" not in p} == FREEZE_OMITS


def test_max_batch_rows_comes_from_the_budget(placeholder_settings: DeploySettings) -> None:
    budget = RenderBudget()
    assert budget.max_batch_rows() == 45
    assert budget.batch_seconds(budget.max_batch_rows()) <= budget.async_timeout_s / 2
    assert budget.batch_seconds(budget.max_batch_rows() + 1) > budget.async_timeout_s / 2
    slower = RenderBudget(worst_file_cpu_s=4.4)
    plan = render_plan(placeholder_settings, budget=slower)
    function = next(s.sql for s in plan if s.kind == "external_function")
    assert f"max_batch_rows = {slower.max_batch_rows()}" in function
    with pytest.raises(ValueError, match="no room"):
        RenderBudget(async_timeout_s=1).max_batch_rows()


def test_cron_spelling() -> None:
    assert snowflake_cron("*/15 * * * *", "UTC") == "USING CRON 0,15,30,45 * * * * UTC"
    assert snowflake_cron("0 3 * * *", "UTC") == "USING CRON 0 3 * * * UTC"
    with pytest.raises(ValueError, match="5 fields"):
        snowflake_cron("* * *", "UTC")


def test_procedure_tasks_return_their_summaries(plan: list[PlanStatement]) -> None:
    """SYSTEM$SET_RETURN_VALUE in each procedure task's body (a CALL's result is not the
    task's RETURN_VALUE by itself); dbt tasks run their project as they are."""
    for step in (*INCREMENTAL.ordered_steps(), INCREMENTAL.finalizer):
        task = _task_sql(plan, f"pixelforge_{step.name}")
        sets_value = "call system$set_return_value(:summary);" in task
        assert sets_value == (not isinstance(step, DbtStep)), step.name


def test_reconciliation_refreshes_in_slices_and_requests_a_run(plan: list[PlanStatement]) -> None:
    body = _task_sql(plan, "pixelforge_reconcile")
    assert not re.search(r"refresh;", body)  # never the whole stage
    assert "from directory(@raw.designs_stage)" in body  # its known top-level folders
    assert "alter stage raw.designs_stage refresh subpath = " in body
    assert "alter stage raw.thumbnails_stage refresh subpath = " in body
    slices = json.loads(re.search(r"parse_json\('(\[.*?\])'\)", body).group(1))  # type: ignore[union-attr]
    assert slices == list(thumbnail_slices())
    assert len(set(slices)) == 256 and slices[0] == "v1/00/" and slices[-1] == "v1/ff/"
    # every thumbnail key falls in exactly one slice
    for sha256 in ("00" * 32, "7f" + "a" * 62, "ff" * 32, "c3" + "0" * 62):
        key = thumbnail_key(sha256, 1234, 256)
        assert sum(key.startswith(s) for s in slices) == 1, key
    assert "insert into ops.run_requests" in body and "'reconcile'" in body
    assert "using config" not in body  # a queued config would be replaced (EXECUTE TASK)
    assert "show tasks like 'PIXELFORGE_ROOT' in schema ops;" in body
    assert "execute task ops.pixelforge_root;" in body
    assert "overlap_policy = no_overlap" in body


def test_backfill_queues_a_request_instead_of_a_config(plan: list[PlanStatement]) -> None:
    backfill = next(
        s.sql for s in plan if s.sql.startswith("create or replace procedure ops.backfill")
    )
    assert "insert into ops.run_requests" in backfill
    assert "'backfill', :window_start, :window_end" in backfill
    assert "execute task ops.pixelforge_root;" in backfill
    assert "using config" not in backfill
    # the window rules are run_config.py's
    assert "split windows longer than 31 days" in backfill


def test_dry_runs_price_with_the_capacity_model_and_reprocess_queues_a_request(
    plan: list[PlanStatement],
) -> None:
    model = capacity_model()
    call = f"call raw.estimate_request(:config, {sql_string(model.to_json())}) into :estimate;"
    backfill, reprocess, plain = (
        next(s.sql for s in plan if s.sql.startswith(start))
        for start in (
            "create or replace procedure ops.backfill(\n",
            "create or replace procedure ops.reprocess(",
            "create or replace procedure ops.backfill(start_ts timestamp_tz, end_ts timestamp_tz)",
        )
    )
    for body in (backfill, reprocess):  # one model, rendered from orchestration/capacity.py
        assert call in body
        assert body.index(call) < body.index("insert into ops.run_requests")
        assert body.index("return estimate;") < body.index("execute task ops.pixelforge_root;")
    assert "dry_run boolean" in backfill and "dry_run boolean default false" in reprocess
    assert "call ops.backfill(:start_ts, :end_ts, false) into :result;" in plain
    assert "'reprocess',\n        parse_json(:estimate):redo_steps::varchar" in reprocess
    procedures = {
        s.sql.split("procedure ")[1].split(" to role")[0]
        for s in plan
        if s.sql.startswith("grant usage on procedure") and "pixelforge_operator" in s.sql
    }
    assert procedures == {
        f"pixelforge.{names.signature(name, arguments)}"
        for name, arguments in (
            (names.BACKFILL_PROCEDURE, names.BACKFILL_ARGUMENTS),
            (names.BACKFILL_PROCEDURE, names.BACKFILL_DRY_RUN_ARGUMENTS),
            (names.REPROCESS_PROCEDURE, names.REPROCESS_ARGUMENTS),
        )
    }


# --- settings ---------------------------------------------------------------------------

COMPLETE_ENV = {
    "PIXELFORGE_AWS_ACCOUNT_ID": "123456789012",
    "PIXELFORGE_AWS_REGION": "us-east-1",
    "PIXELFORGE_DESIGNS_BUCKET": "acme-designs",
    "PIXELFORGE_THUMBNAILS_BUCKET": "acme-thumbnails",
    "PIXELFORGE_STORAGE_ROLE_ARN": "arn:aws:iam::123456789012:role/storage",
    "PIXELFORGE_RENDER_API_ROLE_ARN": "arn:aws:iam::123456789012:role/api",
    "PIXELFORGE_RENDER_API_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/prod/",
    "PIXELFORGE_ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
    "PIXELFORGE_HEARTBEAT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:heartbeat",
    "PIXELFORGE_SNS_ROLE_ARN": "arn:aws:iam::123456789012:role/sns",
    "SNOWFLAKE_ROLE": "pixelforge_admin",
}


def test_settings_name_every_missing_variable() -> None:
    with pytest.raises(SettingsError) as error:
        DeploySettings.from_env("prod", environ={"PIXELFORGE_DESIGNS_BUCKET": "acme-designs"})
    message = str(error.value)
    assert "PIXELFORGE_STORAGE_ROLE_ARN" in message
    assert "PIXELFORGE_RENDER_API_URL" in message
    assert "PIXELFORGE_DESIGNS_BUCKET" not in message


def test_settings_reject_malformed_values() -> None:
    bad = {**COMPLETE_ENV, "PIXELFORGE_RENDER_API_URL": "https://example.com/render"}
    with pytest.raises(SettingsError, match="PIXELFORGE_RENDER_API_URL must be"):
        DeploySettings.from_env("prod", environ=bad)
    with pytest.raises(SettingsError, match="SNOWFLAKE_ROLE must be a plain"):
        DeploySettings.from_env("prod", environ={**COMPLETE_ENV, "SNOWFLAKE_ROLE": "a; drop"})
    with pytest.raises(SettingsError, match="unknown deploy target"):
        DeploySettings.from_env("staging", environ=COMPLETE_ENV)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PIXELFORGE_STORAGE_ROLE_ARN", "arn:aws:iam::123456789012:role/x'; drop database p; --"),
        ("PIXELFORGE_STORAGE_ROLE_ARN", "arn:aws:iam::123456789012:role/a b"),
        ("PIXELFORGE_SNS_ROLE_ARN", "arn:aws:sns:us-east-1:123456789012:alerts"),  # not a role
        ("PIXELFORGE_ALERTS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t$(x)"),
        ("PIXELFORGE_ALERTS_TOPIC_ARN", "arn:aws:iam::123456789012:role/storage"),  # not a topic
    ],
)
def test_security_settings_that_reach_sql_admit_only_arn_characters(
    variable: str, value: str
) -> None:
    """A crafted setting cannot inject a statement: the pattern refuses it (and every value
    is quoted with sql_string when rendered)."""
    with pytest.raises(SettingsError, match=f"{variable} must be"):
        DeploySettings.from_env("prod", environ={**COMPLETE_ENV, variable: value})


def test_security_integration_values_are_quoted_literals() -> None:
    settings = DeploySettings.from_env("prod", environ=COMPLETE_ENV)
    text = plan_text(render_plan(settings))
    assert "storage_aws_role_arn = 'arn:aws:iam::123456789012:role/storage'" in text
    assert "aws_sns_topic_arn = 'arn:aws:sns:us-east-1:123456789012:alerts'" in text
    assert (
        "api_allowed_prefixes = ('https://abc123.execute-api.us-east-1.amazonaws.com/prod/')"
        in text
    )


def test_complete_settings_render_without_placeholders() -> None:
    settings = DeploySettings.from_env("prod", environ=COMPLETE_ENV)
    assert settings.missing() == []
    text = plan_text(render_plan(settings))
    assert "<PIXELFORGE_" not in text
    assert "url = 's3://acme-designs/'" in text
    assert "as 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/render'" in text
    assert "use role pixelforge_admin" in text


def test_artifact_dir_is_absolute_and_put_runs_as_the_stage_owner(tmp_path: Path) -> None:
    """PUT needs WRITE on an internal stage (the deploying role owns ops.deploy_artifacts) and
    resolves a relative file:// path against the client's working directory ("PUT")."""
    with pytest.raises(SettingsError, match="absolute path"):
        DeploySettings.from_env(
            "prod", environ={**COMPLETE_ENV, "PIXELFORGE_DEPLOY_ARTIFACT_DIR": "build/x"}
        )
    with pytest.raises(SettingsError, match="absolute path"):
        DeploySettings.from_env(
            "prod", environ={**COMPLETE_ENV, "PIXELFORGE_DEPLOY_ARTIFACT_DIR": "/tmp/it's"}
        )
    settings = DeploySettings.from_env(
        "prod", environ={**COMPLETE_ENV, "PIXELFORGE_DEPLOY_ARTIFACT_DIR": str(tmp_path)}
    )
    role = settings.deploy_role
    puts = 0
    for statement in render_plan(settings):
        if statement.sql.startswith("use role "):
            role = statement.sql.removeprefix("use role ")
        if statement.kind == "put":
            puts += 1
            assert role == settings.deploy_role, statement.sql
            assert statement.sql.startswith(f"put 'file://{tmp_path}/"), statement.sql
    assert puts > 1
    default = DeploySettings.from_env("prod", environ=COMPLETE_ENV)
    assert Path(default.artifact_dir).is_absolute()


def test_notifications_match_their_integration_type(plan: list[PlanStatement]) -> None:
    """SYSTEM$SEND_SNOWFLAKE_NOTIFICATION: JSON for queues, text or HTML for email; an SNS
    (queue) integration given TEXT_PLAIN delivers nothing."""
    created = {
        match.group(1): match.group(2)
        for s in plan
        if (
            match := re.search(
                r"create notification integration if not exists (\w+)\s.*?type = (\w+)",
                s.sql,
                re.S,
            )
        )
    }
    assert created == {"pixelforge_alerts": "queue", "pixelforge_heartbeat": "queue"}
    calls = re.findall(
        r"(snowflake\.notification\.\w+)\((.*?)\),\s*"
        r"snowflake\.notification\.integration\('(\w+)'\)",
        plan_text(plan),
        re.S,
    )
    assert len(calls) == len(alert_rules(INCREMENTAL))  # every alert
    # the heartbeat: the finalize procedure sends it to the integration in the root's CONFIG
    heartbeat = _root_config(plan)["heartbeat_integration"]
    assert isinstance(heartbeat, str)
    assert created[heartbeat] == "queue"
    assert f"{notification_helper('queue')}(?)" in read_sql("send_heartbeat")
    for helper, payload, integration in calls:
        assert helper == notification_helper(created[integration]), (helper, integration)
        body = json.loads(payload.strip().removeprefix("'").removesuffix("'"))
        assert "/" not in json.dumps({k: v for k, v in body.items() if k != "runbook"})
    assert notification_helper("email") == "snowflake.notification.text_plain"
    with pytest.raises(ValueError, match="no message helper"):
        notification_helper("carrier_pigeon")


# --- apply ------------------------------------------------------------------------------


class _FailingCursor:
    def __init__(self, fail_on: str) -> None:
        self.fail_on = fail_on
        self.executed: list[str] = []

    def execute(self, command: str) -> None:
        if command.startswith(self.fail_on):
            raise RuntimeError("boom")
        self.executed.append(command)


def test_apply_stops_at_the_first_error(plan: list[PlanStatement]) -> None:
    cursor = _FailingCursor("create warehouse")
    with pytest.raises(ApplyError) as error:
        apply_statements(cursor, plan)
    assert error.value.statement.sql.startswith("create warehouse if not exists")
    assert "create warehouse if not exists pixelforge_transform_wh" in str(error.value)
    assert len(cursor.executed) == error.value.applied
    assert not any(s.startswith("alter warehouse") for s in cursor.executed)


def test_local_target_skips_what_fakesnow_lacks(plan: list[PlanStatement]) -> None:
    run, skipped = select_for_target(plan, "local")
    assert {s.kind for s in skipped} <= set(LOCAL_SKIPS)
    assert {s.kind for s in run} == {"database", "use", "schema", "table", "internal_stage"}
    assert select_for_target(plan, "prod") == (plan, [])


def test_local_statements_apply_to_fakesnow_twice(plan: list[PlanStatement]) -> None:
    run, _ = select_for_target(plan, "local")
    logging.getLogger("fakesnow").setLevel(logging.WARNING)
    with fakesnow_server() as parameters:
        connection = snowflake.connector.connect(**{**parameters, "network_timeout": 30})
        try:
            with connection.cursor() as cursor:
                assert apply_statements(cursor, run) == len(run)
                assert apply_statements(cursor, run) == len(run)  # idempotent
                cursor.execute("select count(*) from ops.task_history_archive")
                assert cursor.fetchone() == (0,)
                cursor.execute("select count(*) from raw.file_metadata")
                assert cursor.fetchone() == (0,)
        finally:
            connection.close()


# --- the command --------------------------------------------------------------------------


def test_cli_plan_prints_and_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in COMPLETE_ENV:
        monkeypatch.delenv(name, raising=False)
    app = Typer()
    register(app)
    app.command("noop")(lambda: None)  # a group, as in orchestration/cli.py
    result = CliRunner().invoke(app, ["deploy", "--plan", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "create or alter task ops.pixelforge_root" in result.stdout
    assert (tmp_path / "plan.sql").read_text(encoding="utf-8") == GOLDEN.read_text(encoding="utf-8")
    assert (tmp_path / "aws" / "pixelforge.yaml").is_file()
    refused = CliRunner().invoke(app, ["deploy", "--apply", "--out", str(tmp_path)])
    assert refused.exit_code == 2
    assert "PIXELFORGE_STORAGE_ROLE_ARN" in refused.output


# --- account guardrails and the service users' network policy (issue 12) ------------------

GUARDED_ENV = {
    **COMPLETE_ENV,
    "SNOWFLAKE_ROLE": "accountadmin",
    "PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS": "true",
    "PIXELFORGE_SERVICE_USERS": "pixelforge_ci, PIXELFORGE_ETL",
    "PIXELFORGE_SERVICE_NETWORK_CIDRS": "203.0.113.0/24,198.51.100.7/32",
}
GUARDRAIL_PARAMETERS = (
    "prevent_unload_to_inline_url",
    "require_storage_integration_for_stage_creation",
    "require_storage_integration_for_stage_operation",
)
# Source the procedures, tasks and dbt models send to Snowflake besides the plan itself.
SQL_SOURCES = ("snowpark_procs", "orchestration/sql", "dbt_project")
_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def guarded_plan() -> list[PlanStatement]:
    return render_plan(DeploySettings.from_env("prod", environ=GUARDED_ENV))


def _guardrail_conflicts(sql: str) -> list[str]:
    """What would fail once the guardrails are set: an external stage without a storage
    integration (REQUIRE_STORAGE_INTEGRATION_FOR_STAGE_CREATION), credentials in a statement,
    a COPY from or to a URL typed into it (PREVENT_UNLOAD_TO_INLINE_URL,
    REQUIRE_STORAGE_INTEGRATION_FOR_STAGE_OPERATION; "Parameters", Snowflake docs)."""
    conflicts: list[str] = []
    for statement in re.split(r";\s*(?:\n|$)", sql):
        flat = " ".join(statement.lower().split())
        stage = re.search(r"\bcreate (?:or replace )?(?:temp(?:orary)? )?stage\b", flat)
        if stage and " url = " in flat and "storage_integration = " not in flat:
            conflicts.append(f"external stage without a storage integration: {flat[:80]}")
        if re.search(r"\bcredentials\s*=\s*\(", flat):
            conflicts.append(f"credentials in a statement: {flat[:80]}")
        if re.search(r"\bcopy into\b", flat) and re.search(r"'[a-z0-9]+://", flat):
            conflicts.append(f"COPY with an inline URL: {flat[:80]}")
    return conflicts


def test_security_guardrails_are_opt_in_and_come_first(
    plan: list[PlanStatement], guarded_plan: list[PlanStatement]
) -> None:
    """ALTER ACCOUNT needs ACCOUNTADMIN ("ALTER ACCOUNT"): off by default (the golden plan has
    none); on, they are the plan's first statements, so a role that may not set them stops the
    deploy before it changes anything."""
    assert not any(s.kind == "account" for s in plan)
    assert "alter account" not in plan_text(plan)
    assert tuple(g.name for g in ACCOUNT_GUARDRAILS) == GUARDRAIL_PARAMETERS
    first = [s.sql for s in guarded_plan[: len(GUARDRAIL_PARAMETERS)]]
    assert first == [f"alter account set {name} = true" for name in GUARDRAIL_PARAMETERS]
    assert all(s.kind == "account" and not s.local for s in guarded_plan[:3])
    _, skipped = select_for_target(guarded_plan, "local")
    assert {s.kind for s in skipped} <= set(LOCAL_SKIPS)


def test_security_the_plan_runs_under_its_guardrails(guarded_plan: list[PlanStatement]) -> None:
    """Nothing the deploy or the pipeline sends breaks under the guardrails: both external
    stages name the storage integration, the artifact stage is internal (not a cloud storage
    location), and no statement unloads or loads with an inline URL or credentials."""
    assert _guardrail_conflicts(plan_text(guarded_plan)) == []
    stages = [s.sql for s in guarded_plan if s.sql.startswith("create stage")]
    external = [s for s in stages if " url = " in s]
    assert len(external) == 2
    assert all("storage_integration = pixelforge_designs" in s for s in external)
    assert [s.splitlines()[0] for s in stages if s not in external] == [
        "create stage if not exists ops.deploy_artifacts"
    ]
    sources = [
        path
        for root in SQL_SOURCES
        for path in sorted((_ROOT / root).rglob("*"))
        if path.suffix in {".sql", ".py"} and "target" not in path.parts
    ]
    assert len(sources) > 20
    for path in sources:
        assert _guardrail_conflicts(path.read_text(encoding="utf-8")) == [], path
    # the check finds what the guardrails refuse
    assert (
        len(
            _guardrail_conflicts(
                "create stage raw.leak url = 's3://elsewhere/';\n"
                "copy into 's3://elsewhere/x/' from raw.file_metadata;\n"
                "create stage raw.keyed url = 's3://b/' storage_integration = i "
                "credentials = (aws_key_id = 'k');\n"
            )
        )
        == 3
    )


def test_security_network_policy_admits_only_the_service_networks(
    guarded_plan: list[PlanStatement],
) -> None:
    """An IPv4 ingress rule in the allowed list of a policy activated on each service user
    ("Controlling network traffic with network policies"); every statement idempotent."""
    sqls = [s.sql for s in guarded_plan if s.kind == "account"][len(GUARDRAIL_PARAMETERS) :]
    rule, policy = SERVICE_NETWORK_RULE, SERVICE_NETWORK_POLICY
    assert [sql.splitlines()[0] for sql in sqls] == [
        f"create or alter network rule {rule}",
        f"create network policy if not exists {policy}",
        f"alter network policy {policy} set",
        f"alter user pixelforge_ci set network_policy = {policy}",
        f"alter user pixelforge_etl set network_policy = {policy}",
    ]
    assert "type = ipv4\n    mode = ingress\n" in sqls[0]
    assert "value_list = ('203.0.113.0/24', '198.51.100.7/32')" in sqls[0]
    for sql in sqls[1:3]:
        assert f"allowed_network_rule_list = ('pixelforge.{rule}')" in sql
    assert "allowed_ip_list" not in plan_text(guarded_plan)  # rules, not the legacy lists
    # after the roles and grants, before any task changes
    sections = [s.section for s in guarded_plan]
    network = sections.index("network policy for the service users (PIXELFORGE_SERVICE_USERS)")
    assert sections.index("roles and grants") < network
    assert network < sections.index("suspend the task graphs before changing them")
    # the rule is the only statement sqlfluff cannot parse, and is listed as such
    linter = _linter()
    for sql in sqls:
        codes = {v.rule_code() for v in linter.lint_string(sql + ";\n").get_violations()}
        assert codes == ({"PRS"} if sqlfluff_gap(sql) else set()), (sql, codes)
    assert [sql for sql in sqls if sqlfluff_gap(sql)] == [sqls[0]]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PIXELFORGE_SERVICE_USERS", "ci; drop user admin"),
        ("PIXELFORGE_SERVICE_USERS", '"Quoted User"'),
        ("PIXELFORGE_SERVICE_USERS", "ci,,etl"),
        ("PIXELFORGE_SERVICE_USERS", "ci,CI"),
        ("PIXELFORGE_SERVICE_USERS", "1st_user"),
        ("PIXELFORGE_SERVICE_NETWORK_CIDRS", "203.0.113.0/24'); drop database pixelforge; --"),
        ("PIXELFORGE_SERVICE_NETWORK_CIDRS", "0.0.0.0/0"),  # every address: no policy at all
        ("PIXELFORGE_SERVICE_NETWORK_CIDRS", "203.0.113.7/24"),  # host bits set
        ("PIXELFORGE_SERVICE_NETWORK_CIDRS", "203.0.113.7"),  # no prefix
        ("PIXELFORGE_SERVICE_NETWORK_CIDRS", "203.0.113.0/33"),
        ("PIXELFORGE_SERVICE_NETWORK_CIDRS", "256.0.113.0/24"),
        ("PIXELFORGE_SERVICE_NETWORK_CIDRS", "203.000.113.0/24"),  # leading zeros
        ("PIXELFORGE_SERVICE_NETWORK_CIDRS", "\u0662" + "03.0.113.0/24"),  # non-ASCII digit
        ("PIXELFORGE_SERVICE_NETWORK_CIDRS", "2001:db8::/32"),  # TYPE = IPV4 only
        ("PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS", "yes"),
    ],
)
def test_security_service_network_settings_are_validated_strictly(
    variable: str, value: str
) -> None:
    with pytest.raises(SettingsError, match=f"{variable} must"):
        DeploySettings.from_env("prod", environ={**GUARDED_ENV, variable: value})


def test_security_network_policy_needs_both_lists_and_the_guardrails() -> None:
    for missing in ("PIXELFORGE_SERVICE_USERS", "PIXELFORGE_SERVICE_NETWORK_CIDRS"):
        env = {k: v for k, v in GUARDED_ENV.items() if k != missing}
        with pytest.raises(SettingsError, match="set together or not at all"):
            DeploySettings.from_env("prod", environ=env)
    off = {**GUARDED_ENV, "PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS": "false"}
    with pytest.raises(SettingsError, match="needs PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS=true"):
        DeploySettings.from_env("prod", environ=off)
    settings = DeploySettings.from_env("prod", environ=GUARDED_ENV)
    assert settings.service_users == ("pixelforge_ci", "PIXELFORGE_ETL")
    assert settings.service_network_cidrs == ("203.0.113.0/24", "198.51.100.7/32")
    guardrails_only = {
        k: v for k, v in GUARDED_ENV.items() if not k.startswith("PIXELFORGE_SERVICE_")
    }
    kinds = [s.kind for s in render_plan(DeploySettings.from_env("prod", guardrails_only))]
    assert kinds.count("account") == len(GUARDRAIL_PARAMETERS)  # no network policy
