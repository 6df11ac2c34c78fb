"""A recorded run of every procedure's production handler, for the privilege checker
(procedure_statements.py attributes the statements it logs to the procedures).

Each handler runs as Snowflake calls it (session, run id, graph CONFIG), its session tagged with
its step, against an in-thread fakesnow with the pipeline's tables. Only what cannot run outside
Snowflake is replaced: SnowflakeFile (the designs come from memory, and which stage each
procedure opened is recorded) and the answers to the few statements only Snowflake runs (the
external function, the extraction UDF's statement, TASK_HISTORY, notifications), which still
reach the log.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from orchestration.deploy.checks.procedure_statements import normal_sql, procedure_steps
from orchestration.graph import INCREMENTAL, DbtStep, Pipeline
from orchestration.local.warehouse_server import LoggedStatement
from pixelforge_core.render_wire import THUMBNAIL_SIZES
from snowpark_procs import handlers
from snowpark_procs.steps.run_requests import request_run

_NOW = datetime(2026, 1, 1, 12, 0, 0)
# Three designs: one read and rendered, one whose read times out and one whose render is
# deferred, so the retry statements run as well.
_SLOW_READ = "a/slow-read.png"
_SLOW_RENDER = "a/slow-render.png"
_FILES = ("a/ok.png", _SLOW_READ, _SLOW_RENDER)


class _StageFiles:
    """SnowflakeFile.open outside Snowflake: the designs from memory, and which stage each
    step opened files on (an owner's-rights procedure reads them in its owner's context)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.step = ""
        self.opened: dict[str, set[str]] = {}

    def open(self, file_location: str, mode: str = "r", *args: Any, **kwargs: Any) -> io.BytesIO:
        stage, _, path = file_location.lstrip("@").partition("/")
        self.opened.setdefault(self.step, set()).add(stage.lower())
        if path == _SLOW_READ:
            raise TimeoutError("read timed out")
        return io.BytesIO(self.data)


class _Warehouse:
    """The session the handlers get. Statements go to fakesnow, whose StatementLog records them
    with the session's tag; the few only Snowflake runs (the external function, the extraction
    UDF, TASK_HISTORY, notifications: the snowpark_procs/sql files in `answers`) are written to
    the same log under the same tag and answered here instead. Handlers only call
    session.sql(...).collect()."""

    def __init__(self, session: Any, answers: Mapping[str, Any], log_path: Path) -> None:
        self.session = session
        self.answers = answers
        self.log_path = log_path

    def sql(self, query: str, params: Sequence[Any] | None = None) -> _Statement:
        return _Statement(self, query, list(params or []))


@dataclass(frozen=True)
class _Statement:
    warehouse: _Warehouse
    query: str
    params: list[Any]

    def collect(self) -> list[Any]:
        answer = self.warehouse.answers.get(normal_sql(self.query))
        if answer is None:
            return list(self.warehouse.session.sql(self.query, params=self.params).collect())
        logged = LoggedStatement(self.query, self.warehouse.session.query_tag or "", "handlers")
        with self.warehouse.log_path.open("a", encoding="utf-8") as log:
            log.write(logged.to_json() + "\n")
        return list(answer(self.params))


def _render_rows(params: Sequence[Any]) -> list[Any]:
    from snowflake.snowpark import Row

    requests = json.loads(params[0])
    return [
        Row(REQUEST_INDEX=index, RENDER_RESULT=json.dumps(_render_answer(r["relative_path"])))
        for index, r in enumerate(requests)
    ]


def _render_answer(relative_path: str) -> dict[str, Any]:
    if relative_path == _SLOW_RENDER:
        return {"status": "failed", "reason_code": "renderer_unavailable", "message": "busy"}
    return {
        "status": "ok",
        "thumbnails": [
            {
                "size_px": size,
                "thumbnail_key": f"v1/{relative_path}/{size}.webp",
                "width_px": size,
                "height_px": size,
                "thumbnail_bytes": 100,
            }
            for size in THUMBNAIL_SIZES
        ],
    }


def _extract_rows(params: Sequence[Any]) -> list[Any]:
    """The set-based extraction as the warehouse answers it: the UDF's own handler over each
    row, reading the file from what BUILD_SCOPED_FILE_URL names (the designs stage, so the
    stage the procedure's statement reads is recorded as SnowflakeFile opens it)."""
    from snowflake.snowpark import Row

    from snowpark_procs.handlers import DESIGNS_STAGE
    from snowpark_procs.udf_extract import extract_file_metadata

    run_id, limit_s, batch = params
    return [
        Row(
            FILE_INDEX=index,
            OUTCOME=json.dumps(
                extract_file_metadata(
                    f"@{DESIGNS_STAGE}/{f['relative_path']}",
                    f["relative_path"],
                    f["etag"],
                    run_id,
                    float(limit_s),
                    f.get("facets"),  # item.value:facets::varchar
                )
            ),
        )
        for index, f in enumerate(json.loads(batch))
    ]


def _task_rows(task_names: Sequence[str]) -> Any:
    from snowflake.snowpark import Row

    def rows(params: Sequence[Any]) -> list[Any]:
        return [
            Row(
                NAME=name.upper(),
                STATE="SUCCEEDED",
                RETURN_VALUE=None,
                ERROR_MESSAGE=None,
                SCHEDULED_FROM="SCHEDULE",
                ATTEMPT_NUMBER=1,
                SCHEDULED_TIME=_NOW,
                QUERY_START_TIME=_NOW,
            )
            for name in task_names
        ]

    return rows


def _answers(task_names: Sequence[str]) -> dict[str, Any]:
    """Production-only statements by their snowpark_procs/sql file (those that exist)."""
    from snowpark_procs.sql import read_sql

    by_file = {
        "call_render_function": _render_rows,
        "extract_files_set_based": _extract_rows,
        "select_graph_run_tasks": _task_rows(task_names),
        "send_heartbeat": lambda params: [],
    }
    answers: dict[str, Any] = {}
    for name, answer in by_file.items():
        with contextlib.suppress(FileNotFoundError):
            answers[normal_sql(read_sql(name))] = answer
    return answers


def graph_config_from_plan(
    statements: Sequence[str], pipeline: Pipeline = INCREMENTAL
) -> dict[str, Any]:
    """The CONFIG the plan gives the graph's root task (what SYSTEM$GET_TASK_GRAPH_CONFIG()
    returns to every task of a scheduled run)."""
    from orchestration.deploy import tasks

    root = re.escape(tasks.root_task_name(pipeline))
    pattern = re.compile(
        rf"^create\s+(?:or\s+alter\s+|or\s+replace\s+)?task\s+(?:if\s+not\s+exists\s+)?"
        rf"{root}\b.*?\bconfig\s*=\s*\$\$(?P<config>.*?)\$\$",
        re.IGNORECASE | re.DOTALL,
    )
    for sql in statements:
        match = pattern.match(sql.strip())
        if match:
            config: dict[str, Any] = json.loads(match.group("config"))
            return config
    raise ValueError(f"the plan creates no task {tasks.root_task_name(pipeline)} with a CONFIG")


def record_handler_statements(
    log_path: Path, graph: Mapping[str, Any], pipeline: Pipeline = INCREMENTAL
) -> dict[str, tuple[str, ...]]:
    """Run every procedure step's production handler, as Snowflake calls it (session, run id,
    graph CONFIG), tagged with its step, against an in-thread fakesnow with the pipeline's
    tables: a run serving a reconciliation request, then one serving a backfill request, the
    dry-run procedure (tagged estimate_request) and a run serving a re-processing. `graph`
    is the root's CONFIG (graph_config_from_plan). The statements land in `log_path` (the
    StatementLog format); returns the stages each procedure opened files on."""
    import snowflake.connector
    from fakesnow.instance import FakeSnow
    from snowflake.snowpark import Session
    from snowflake.snowpark.files import SnowflakeFile

    from orchestration import corpus
    from orchestration.capacity import capacity_model
    from orchestration.deploy.apply import local_connection_parameters
    from orchestration.local.sql import pipeline_objects
    from orchestration.local.warehouse_server import logged_fakesnow_in_thread
    from snowpark_procs.run_config import RunConfig, reprocess_config

    png = corpus.png_with_alpha(64, 48, seed=1)
    etag = hashlib.md5(png, usedforsecurity=False).hexdigest()  # a single-part upload's ETag
    # the finalizer reads the graph run's tasks from TASK_HISTORY, named in the CONFIG
    task_names = [str(name) for name in dict(graph.get("tasks") or {}).values()]
    files = _StageFiles(png)
    with (
        logged_fakesnow_in_thread(FakeSnow(), log_path) as port,
        mock.patch.object(SnowflakeFile, "open", files.open),
    ):
        parameters = local_connection_parameters(port)
        connection = snowflake.connector.connect(**parameters)
        try:
            cursor = connection.cursor()
            cursor.execute("create database if not exists pixelforge")
            cursor.execute("use database pixelforge")
            for statement in pipeline_objects():
                cursor.execute(statement)
            cursor.executemany(
                "insert into raw.designs_directory (relative_path, size, last_modified, md5, etag)"
                " values (%s, %s, %s, %s, %s)",
                [(path, len(png), _NOW, etag, etag) for path in _FILES],
            )
        finally:
            connection.close()
        session = Session.builder.configs(
            {**parameters, "database": "PIXELFORGE", "schema": "RAW"}
        ).create()
        session.cancel_all = lambda: None  # type: ignore[method-assign]  # fakesnow lacks it
        warehouse = _Warehouse(session, _answers(task_names), log_path)
        window = (_NOW - timedelta(days=1), _NOW + timedelta(hours=1))
        try:
            for run_id, request in (
                ("reconcile-run", RunConfig(mode="reconcile")),
                (
                    "backfill-run",
                    RunConfig(mode="backfill", window_start=window[0], window_end=window[1]),
                ),
            ):
                # queued untagged, as the nightly task and OPS.BACKFILL do; discover claims it
                request_run(warehouse, request, f"request-{run_id}")
                for step in (*pipeline.ordered_steps(), pipeline.finalizer):
                    if isinstance(step, DbtStep):
                        continue
                    session.query_tag = files.step = step.name
                    getattr(handlers, step.handler)(warehouse, run_id, json.dumps(graph))
                    session.query_tag = files.step = ""
            # the dry runs OPS.BACKFILL and OPS.REPROCESS call, then a re-processing served
            model = capacity_model().to_json()
            reprocess = reprocess_config()
            session.query_tag = "estimate_request"
            for request in (RunConfig("backfill", *window), reprocess):
                handlers.estimate_request(warehouse, request.to_json(), model)
            session.query_tag = ""
            request_run(warehouse, reprocess, "request-reprocess-run")
            for step in (*pipeline.ordered_steps(), pipeline.finalizer):
                if isinstance(step, DbtStep):
                    continue
                session.query_tag = files.step = step.name
                getattr(handlers, step.handler)(warehouse, "reprocess-run", json.dumps(graph))
                session.query_tag = files.step = ""
        finally:
            session.close()
    steps = procedure_steps(pipeline)
    return {steps[step]: tuple(sorted(stages)) for step, stages in files.opened.items() if step}
