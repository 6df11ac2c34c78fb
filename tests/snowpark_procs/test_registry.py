"""One registry of the procedures: snowpark_procs.handlers.HANDLERS, which the local runner
dispatches through, and snowflake.yml, which the Snowflake CLI and the deploy plan read,
declare the same procedures with the same handlers, signatures and return types."""

from __future__ import annotations

import importlib
from pathlib import Path

from orchestration.deploy.procedures import ZIPPED_PACKAGES, load_functions, load_procedures
from orchestration.graph import INCREMENTAL, ProcedureStep
from snowpark_procs import handlers
from snowpark_procs.handlers import FUNCTIONS, HANDLERS
from snowpark_procs.sql import read_sql


def test_snowflake_yml_declares_exactly_the_registry():
    declared = {proc.name: proc for proc in load_procedures()}

    assert set(declared) == set(HANDLERS)
    for name, handler in HANDLERS.items():
        proc = declared[name]
        assert proc.handler == handler.entry_point
        assert proc.signature == handler.signature
        assert proc.returns == handler.returns
        assert proc.schema == "raw"


def test_every_entry_point_is_a_function_of_the_handlers_module():
    for handler in HANDLERS.values():
        module, _, function = handler.entry_point.rpartition(".")
        assert module == handlers.__name__
        assert callable(getattr(handlers, function))


def test_every_procedure_step_of_the_graph_has_a_handler_the_runner_can_run():
    procedure_steps = [s for s in INCREMENTAL.steps if isinstance(s, ProcedureStep)]
    assert procedure_steps
    for step in procedure_steps:
        assert HANDLERS[step.handler].step is not None, step.handler
    assert INCREMENTAL.finalizer.handler in HANDLERS


def test_snowflake_yml_artifacts_are_the_zipped_packages():
    source = (Path(handlers.__file__).parent / "snowflake.yml").read_text(encoding="utf-8")
    for package in ZIPPED_PACKAGES:
        assert f"dest: {package}/" in source


def test_snowflake_yml_declares_exactly_the_udf_registry():
    declared = {function.name: function for function in load_functions()}

    assert set(declared) == set(FUNCTIONS)
    for name, function in FUNCTIONS.items():
        spec = declared[name]
        assert spec.kind == "function"
        assert spec.handler == function.entry_point
        assert spec.signature == function.signature
        assert spec.returns == function.returns
        assert spec.schema == "raw"
        # the same zip and packages as the procedures
        assert spec.imports == load_procedures()[0].imports
        assert spec.packages == load_procedures()[0].packages


def test_every_udf_entry_point_is_a_function_of_the_zip():
    for function in FUNCTIONS.values():
        module, _, attribute = function.entry_point.rpartition(".")
        assert module.partition(".")[0] in ZIPPED_PACKAGES
        assert callable(getattr(importlib.import_module(module), attribute))


def test_the_set_based_statement_calls_the_udf_over_the_designs_stage():
    sql = read_sql("extract_files_set_based")
    function = FUNCTIONS["extract_file_metadata"]
    assert f"raw.{function.name}(" in sql
    assert f"build_scoped_file_url(\n            '@{handlers.DESIGNS_STAGE}'," in sql
    # one bind per argument besides the scoped URL and the row's own path, etag and facets,
    # then the batch: the order SetBasedExtractor binds
    assert sql.count("?") == len(function.signature) - 4 + 1
    assert function.signature[-1][0] == "facets" and "item.value:facets::varchar" in sql
