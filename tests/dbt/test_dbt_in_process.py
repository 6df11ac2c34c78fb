"""dbt in process (orchestration/local/dbt_command.py): a warehouse that cannot be reached is a
transient step error, the invocation leaves the process environment as it found it, and a
failing data test fails the step with its name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orchestration.graph import INCREMENTAL, DbtStep
from orchestration.local.dbt_command import DbtStepError, build_step
from tests.stack_pool import stack_settings

if TYPE_CHECKING:
    from orchestration.local.stack import LocalStack

DBT_STEP = next(step for step in INCREMENTAL.steps if isinstance(step, DbtStep))


def test_an_unreachable_warehouse_is_a_transient_error(tmp_path: Path) -> None:
    settings = stack_settings(tmp_path)  # nothing listens on its ports
    before = dict(os.environ)

    with pytest.raises(DbtStepError) as raised:
        build_step(settings, DBT_STEP, "local")

    assert raised.value.transient, str(raised.value)
    assert "Could not connect" in str(raised.value)
    assert dict(os.environ) == before


def test_a_failing_dbt_test_fails_the_step_and_names_it(fresh_stack: LocalStack) -> None:
    validate = INCREMENTAL.dbt_step("validate")
    passing = build_step(fresh_stack.settings, validate, "local")
    assert passing.returncode == 0 and passing.failures == []
    assert set(passing.by_status()) <= {"success", "pass"}, passing.by_status()
    assert passing.by_status().get("pass", 0) > 0  # the invocation's node results, read back

    with fresh_stack.session() as session:  # a status no step writes: accepted_values fails
        session.sql(
            "insert into raw.file_metadata (relative_path, etag, status, run_id, extracted_at)"
            " select 'a.png', 'etag-1', 'bogus', 'run-1', current_timestamp()::timestamp_ntz"
        ).collect()
    with pytest.raises(DbtStepError) as raised:
        build_step(fresh_stack.settings, validate, "local")

    assert not raised.value.transient
    assert "accepted_values_stg_pixelforge__file_metadata_status" in str(raised.value)
