"""One registry of the procedures: snowpark_procs.handlers.HANDLERS, which the local runner
dispatches through, and snowflake.yml, which the Snowflake CLI and the deploy plan read,
declare the same procedures with the same handlers, signatures and return types."""

from __future__ import annotations

from pathlib import Path

from orchestration.deploy.procedures import ZIPPED_PACKAGES, load_procedures
from orchestration.graph import INCREMENTAL, ProcedureStep
from snowpark_procs import handlers
from snowpark_procs.handlers import HANDLERS


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
