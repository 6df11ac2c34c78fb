"""Run configuration: the graph CONFIG and backfill windows, validated with clear errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from snowpark_procs.run_config import (
    REPROCESS_STEPS,
    RunConfig,
    RunConfigError,
    backfill_config,
    reprocess_config,
)

NOW = datetime(2026, 11, 26, 12, 0, 0)


def test_an_empty_config_is_an_incremental_run():
    assert RunConfig.from_json("") == RunConfig()
    assert RunConfig.from_json(None).advances_discovery_state
    assert not RunConfig().reprocess


def test_a_backfill_window_is_converted_to_utc_and_round_trips():
    config = backfill_config("2026-11-26T09:00:00+01:00", "2026-11-26T10:00:00Z", now=NOW)
    assert (config.window_start, config.window_end) == (
        datetime(2026, 11, 26, 8, 0),
        datetime(2026, 11, 26, 10, 0),
    )
    assert config.reprocess and not config.advances_discovery_state
    assert RunConfig.from_json(config.to_json()).window_start == config.window_start


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-26T10:00:00Z", "2026-11-26T09:00:00Z", "must be after start"),
        ("2026-11-26T10:00:00Z", "2026-11-26T10:00:00Z", "must be after start"),
        ("2026-11-26T10:00:00", "2026-11-26T11:00:00Z", "has no time zone"),
        ("yesterday", "2026-11-26T11:00:00Z", "not an ISO 8601 timestamp"),
        ("", "2026-11-26T11:00:00Z", "start is required"),
        ("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z", "at most 31 days"),
        ("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", "in the future"),
    ],
)
def test_bad_backfill_windows_are_refused_with_a_clear_reason(start, end, message):
    with pytest.raises(RunConfigError, match=message):
        backfill_config(start, end, now=NOW)


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "not JSON"), ("[1]", "JSON object"), ('{"mode": "rewind"}', "not one of")],
)
def test_bad_graph_configs_are_refused(text, message):
    with pytest.raises(RunConfigError, match=message):
        RunConfig.from_json(text)


def test_a_config_round_trips_with_its_request_and_budget():
    config = backfill_config("2026-11-26T08:00:00Z", "2026-11-26T09:00:00Z", now=NOW)
    served = RunConfig(step_budget_s=300.0).serving(replace(config, request_id="req-1"))
    assert (served.mode, served.request_id, served.step_budget_s) == ("backfill", "req-1", 300.0)
    assert RunConfig.from_json(served.to_json()) == served


def test_a_request_row_is_validated_by_the_same_rules():
    window = {"WINDOW_START": datetime(2025, 11, 26, 8), "WINDOW_END": datetime(2025, 11, 26, 9)}
    row = {"REQUEST_ID": "req-1", "MODE": "backfill", **window}
    assert RunConfig.from_request(row) == RunConfig(
        "backfill", datetime(2025, 11, 26, 8), datetime(2025, 11, 26, 9), "req-1"
    )
    assert RunConfig.from_request({"REQUEST_ID": "r", "MODE": "reconcile"}).mode == "reconcile"
    with pytest.raises(RunConfigError, match="not one of backfill, reconcile"):
        RunConfig.from_request({"REQUEST_ID": "r", "MODE": "incremental"})
    too_long = {**row, "WINDOW_END": datetime(2025, 12, 31)}
    with pytest.raises(RunConfigError, match="at most 31 days"):
        RunConfig.from_request(too_long)


def test_a_reprocessing_is_validated_and_round_trips():
    config = reprocess_config(" render_thumbnails ", "team-a/", "PNG")
    assert (config.mode, config.steps, config.prefix, config.file_format) == (
        "reprocess",
        ("render_thumbnails",),
        "team-a/",
        "png",
    )
    assert config.reprocess and not config.advances_discovery_state
    assert config.redone_steps == ("render_thumbnails",)
    assert reprocess_config().steps == REPROCESS_STEPS  # every file step by default
    assert reprocess_config(["render_thumbnails", "extract_metadata"]).steps == REPROCESS_STEPS
    served = RunConfig(step_budget_s=60.0).serving(replace(config, request_id="req-2"))
    assert RunConfig.from_json(served.to_json()) == served
    row = {"REQUEST_ID": "req-2", "MODE": "reprocess", "REDO_STEPS": "render_thumbnails"}
    assert RunConfig.from_request({**row, "PATH_PREFIX": "team-a/", "FORMAT_FILTER": "png"}) == (
        replace(config, request_id="req-2")
    )
    assert backfill_config(
        "2026-11-26T08:00:00Z", "2026-11-26T09:00:00Z", now=NOW
    ).redone_steps == (REPROCESS_STEPS)


@pytest.mark.parametrize(
    ("steps", "prefix", "file_format", "message"),
    [
        ("extract_metadata,sharpen", "", "", "unknown step sharpen"),
        ("discover", "", "", "unknown step discover"),
        (",", "", "", "unknown step"),
        (None, "/team-a", "", "no leading '/'"),
        (None, "", "heic", "unknown format 'heic'"),
    ],
)
def test_bad_reprocessings_are_refused_with_a_clear_reason(steps, prefix, file_format, message):
    with pytest.raises(RunConfigError, match=message):
        reprocess_config(steps, prefix, file_format)
    row = {"REDO_STEPS": steps, "PATH_PREFIX": prefix, "FORMAT_FILTER": file_format}
    with pytest.raises(RunConfigError, match=message):  # a request row meets the same rules
        RunConfig.from_request({"REQUEST_ID": "r", "MODE": "reprocess", **row})
    with pytest.raises(RunConfigError, match="must be step names"):
        reprocess_config([1])


def test_the_reprocess_steps_are_the_graphs_file_steps_and_their_handlers():
    from orchestration.graph import INCREMENTAL
    from snowpark_procs.handlers import HANDLERS

    graph_steps = [step.name for step in INCREMENTAL.ordered_steps()]
    assert [step for step in graph_steps if step in REPROCESS_STEPS] == list(REPROCESS_STEPS)
    assert set(REPROCESS_STEPS) <= set(HANDLERS)


def test_the_change_types_are_declared_once():
    """pixelforge_core.records.ChangeType is what the dbt models accept as change_type."""
    from pathlib import Path
    from typing import get_args

    import yaml

    from pixelforge_core.records import ChangeType

    models = Path(__file__).resolve().parents[2] / "dbt_project" / "models"
    accepted = []
    for path in ("staging/pixelforge/_pixelforge__models.yml", "marts/_marts__models.yml"):
        document = yaml.safe_load((models / path).read_text(encoding="utf-8"))
        columns = [c for m in document["models"] for c in m.get("columns", [])]
        tests = [t for c in columns if c["name"] == "change_type" for t in c["data_tests"]]
        accepted.extend(
            t["accepted_values"]["arguments"]["values"]
            for t in tests
            if isinstance(t, dict) and "accepted_values" in t
        )
    assert len(accepted) == 2
    assert all(values == list(get_args(ChangeType)) for values in accepted)


def test_a_facet_reprocessing_redoes_the_facets_step_and_round_trips():
    config = reprocess_config(None, "team-a/", "PSD", " Structure ")
    assert (config.facet, config.steps, config.file_format) == (
        "structure",
        ("extract_metadata",),
        "psd",
    )
    assert reprocess_config(facet="visual").steps == ("render_thumbnails",)
    # its own step may be repeated (a config's JSON carries its steps)
    assert reprocess_config("extract_metadata", facet="text") == reprocess_config(facet="text")
    served = RunConfig(step_budget_s=60.0).serving(replace(config, request_id="req-3"))
    assert RunConfig.from_json(served.to_json()) == served
    row = {
        "REQUEST_ID": "req-3",
        "MODE": "reprocess",
        "REDO_STEPS": "extract_metadata",
        "PATH_PREFIX": "team-a/",
        "FORMAT_FILTER": "psd",
        "REDO_FACET": "structure",
    }
    assert RunConfig.from_request(row) == replace(config, request_id="req-3")
    assert reprocess_config().facet == ""  # a re-processing of whole steps


@pytest.mark.parametrize(
    ("steps", "file_format", "facet", "message"),
    [
        (None, "", "colour", "unknown facet 'colour': one of document, structure, text, visual"),
        (None, "png", "structure", "facet 'structure' does not cover format 'png'"),
        ("render_thumbnails", "", "text", "give --facet or --steps, not both"),
        ("extract_metadata,render_thumbnails", "", "document", "not both"),
    ],
)
def test_bad_facet_reprocessings_are_refused_with_a_clear_reason(
    steps, file_format, facet, message
):
    with pytest.raises(RunConfigError, match=message):
        reprocess_config(steps, "", file_format, facet)
    row = {"REDO_STEPS": steps, "FORMAT_FILTER": file_format, "REDO_FACET": facet}
    with pytest.raises(RunConfigError, match=message):  # a request row meets the same rules
        RunConfig.from_request({"REQUEST_ID": "r", "MODE": "reprocess", **row})
