"""Snowpark procedure handlers: the functions Snowflake calls, and HANDLERS, their registry;
FUNCTIONS, the registry of the Python UDFs the procedures call.

HANDLERS is the one table of the procedures: each handler's name (the procedure raw.<name> and
the entry point snowpark_procs.handlers.<name>), its signature and return type, and the step
core it runs. snowpark_procs/snowflake.yml declares the same procedures for the Snowflake CLI
and the deploy plan (tests/snowpark_procs/test_registry.py holds the two equal), and the local
runner dispatches its procedure steps through HANDLERS with its loopback seams.

Each entry point is thin: it builds the production seams (the designs stage, the external
function), reads the task graph's CONFIG and calls the step's core (snowpark_procs/steps/),
which reads with SQL, calls a pure core, writes with a MERGE and returns a summary.
`config_json` is the graph's CONFIG (run_config.py); which mode a run serves (incremental, or
the backfill or reconciliation request its discover step claimed from ops.run_requests) is
looked up by run id.

FUNCTIONS is the one table of the UDFs in the same way: each one's name (raw.<name>), handler
(a module of the procedures' zip), signature and return type; snowflake.yml declares the same
(`type: function`), the deploy plan renders its CREATE FUNCTION from there, and the local
runner calls the handler's code row by row (steps/extractors.py) since fakesnow has no UDFs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from snowflake.snowpark import Session  # noqa: TID251 - the entry points take Snowflake's session

from pixelforge_core.capacity import CapacityModel
from snowpark_procs.rendering import ThumbnailRenderer
from snowpark_procs.run_config import RunConfig
from snowpark_procs.sql import read_sql
from snowpark_procs.steps.common import Clock, SqlSession, StepSummary, task_summary
from snowpark_procs.steps.discover import discover_with
from snowpark_procs.steps.extract import extract_metadata_with
from snowpark_procs.steps.extractors import FileExtractor, SetBasedExtractor
from snowpark_procs.steps.finalize import (
    GraphSettings,
    NotificationHeartbeat,
    finalize_with,
    graph_run_from_task_history,
)
from snowpark_procs.steps.render import ExternalFunctionRenderer, render_thumbnails_with
from snowpark_procs.steps.run_requests import claim_run_request, run_config_for
from snowpark_procs.steps.selections import dry_run_result, estimate_selection

DESIGNS_STAGE = "raw.designs_stage"
# Every procedure takes the task graph's run id (GRAPH_RUN_GROUP_ID) and its CONFIG, and
# returns its JSON summary, which the step's task sets as its return value.
PROCEDURE_SIGNATURE = (("run_id", "varchar"), ("config_json", "varchar"))
PROCEDURE_RETURNS = "varchar"
# The dry-run procedure: a backfill's or re-processing's config (run_config.py) and the capacity
# model (pixelforge_core/capacity.py CapacityModel.to_json, rendered into the deploy plan).
ESTIMATE_SIGNATURE = (("config_json", "varchar"), ("model_json", "varchar"))


def _no_refresh(mode: str) -> None:
    """Snowflake keeps the directory tables current from S3 events itself."""


@dataclass(frozen=True)
class Seams:
    """What a step reaches besides its session, each built only when the step asks for it."""

    # turns a batch of pending files into outcomes (the warehouse running the UDF in production)
    extractor: Callable[[], FileExtractor]
    renderer: Callable[[], ThumbnailRenderer]
    clock: Clock = time.monotonic
    # Called with the run's mode after discover claimed its request and before it records the
    # change set: the local stack lists its buckets into the directory tables there.
    refresh_directories: Callable[[str], None] = _no_refresh


StepCore = Callable[[SqlSession, str, RunConfig, Seams], StepSummary]


def _discover(session: SqlSession, run_id: str, graph: RunConfig, seams: Seams) -> StepSummary:
    served = claim_run_request(session, run_id, graph)
    seams.refresh_directories(served.mode)
    return discover_with(session, run_id, served)


def _extract(session: SqlSession, run_id: str, graph: RunConfig, seams: Seams) -> StepSummary:
    config = run_config_for(session, run_id, graph)
    return extract_metadata_with(session, run_id, seams.extractor(), config, clock=seams.clock)


def _render(session: SqlSession, run_id: str, graph: RunConfig, seams: Seams) -> StepSummary:
    config = run_config_for(session, run_id, graph)
    return render_thumbnails_with(session, run_id, seams.renderer(), config, clock=seams.clock)


@dataclass(frozen=True)
class Handler:
    """One procedure: its name, its step core given the graph's config and seams (None for
    the finalizer, which reads the graph run: TASK_HISTORY here, the runner's outcomes
    locally), its signature and return type."""

    name: str
    step: StepCore | None
    signature: tuple[tuple[str, str], ...] = PROCEDURE_SIGNATURE
    returns: str = PROCEDURE_RETURNS

    @property
    def entry_point(self) -> str:
        """What snowflake.yml's `handler` names: the function Snowflake calls."""
        return f"{__name__}.{self.name}"


HANDLERS: dict[str, Handler] = {
    handler.name: handler
    for handler in (
        Handler("discover", _discover),
        Handler("extract_metadata", _extract),
        Handler("render_thumbnails", _render),
        Handler("finalize", None),
        # OPS.BACKFILL / OPS.REPROCESS call it (a dry run, and before queuing a re-processing):
        # no task runs it, so it takes the request's config and the capacity model instead.
        Handler("estimate_request", None, ESTIMATE_SIGNATURE),
    )
}


@dataclass(frozen=True)
class Function:
    """One Python UDF: raw.<name>, the function Snowflake calls (`module.function` of the zip),
    its signature and return type."""

    name: str
    entry_point: str
    signature: tuple[tuple[str, str], ...]
    returns: str


FUNCTIONS: dict[str, Function] = {
    function.name: function
    for function in (
        # step "extract_metadata"'s per-file work, over the rows of
        # sql/extract_files_set_based.sql (which reads the designs stage, DESIGNS_STAGE)
        Function(
            "extract_file_metadata",
            "snowpark_procs.udf_extract.extract_file_metadata",
            (
                ("scoped_url", "varchar"),
                ("relative_path", "varchar"),
                ("etag", "varchar"),
                ("run_id", "varchar"),
                ("limit_s", "float"),
                # the extraction facets to compute (udf_extract.facets_argument), null: all
                ("facets", "varchar"),
            ),
            "object",
        ),
    )
}


def _production_seams(session: Session) -> Seams:
    return Seams(
        extractor=lambda: SetBasedExtractor(session),
        renderer=lambda: ExternalFunctionRenderer(session),
    )


def _run(name: str, session: Session, run_id: str, config_json: str) -> str:
    step = HANDLERS[name].step
    if step is None:
        raise ValueError(f"handler {name!r} has no step core")
    graph = RunConfig.from_json(config_json)
    return task_summary(step(session, run_id, graph, _production_seams(session)))


def discover(session: Session, run_id: str, config_json: str = "") -> str:
    """Procedure DISCOVER(run_id, config): claim the run's request, record its change set."""
    return _run("discover", session, run_id, config_json)


def extract_metadata(session: Session, run_id: str, config_json: str = "") -> str:
    """Procedure EXTRACT_METADATA(run_id, config): reads the files from the designs stage."""
    return _run("extract_metadata", session, run_id, config_json)


def render_thumbnails(session: Session, run_id: str, config_json: str = "") -> str:
    """Procedure RENDER_THUMBNAILS(run_id, config): renders through the external function."""
    return _run("render_thumbnails", session, run_id, config_json)


def finalize(session: Session, run_id: str, config_json: str = "") -> str:
    """Procedure FINALIZE(run_id, config): the finalizer task's handler (it runs after the
    graph succeeded or failed). Reads the run's tasks from TASK_HISTORY, then finalize_with."""
    settings = GraphSettings.from_json(config_json)
    rows = [
        r.as_dict()
        for r in session.sql(read_sql("select_graph_run_tasks"), params=[run_id]).collect()
    ]
    run = graph_run_from_task_history(run_id, rows, settings)
    config = run_config_for(session, run_id, RunConfig.from_json(config_json))
    heartbeat = (
        NotificationHeartbeat(session, settings.heartbeat_integration, settings.pipeline)
        if settings.heartbeat_integration
        else None
    )
    return task_summary(finalize_with(session, run, config, heartbeat))


def estimate_request(session: Session, config_json: str, model_json: str) -> str:
    """Procedure ESTIMATE_REQUEST(config, model): what the backfill or re-processing of `config`
    would discover, read and cost now (the dry run of OPS.BACKFILL and OPS.REPROCESS); its
    config is validated by run_config.py's rules, and an empty re-processing is refused."""
    config = RunConfig.from_json(config_json)
    result = estimate_selection(session, config, CapacityModel.from_json(model_json))
    return json.dumps(dry_run_result(config, result))
