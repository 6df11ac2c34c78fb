"""dbt in process (orchestration/local/dbt_command.py): a warehouse that cannot be reached is a
transient step error, and the invocation leaves the process environment as it found it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.graph import INCREMENTAL, DbtStep
from orchestration.local.dbt_command import DbtStepError, build_step
from tests.stack_pool import stack_settings

DBT_STEP = next(step for step in INCREMENTAL.steps if isinstance(step, DbtStep))


def test_an_unreachable_warehouse_is_a_transient_error(tmp_path: Path) -> None:
    settings = stack_settings(tmp_path)  # nothing listens on its ports
    before = dict(os.environ)

    with pytest.raises(DbtStepError) as raised:
        build_step(settings, DBT_STEP, "local")

    assert raised.value.transient, str(raised.value)
    assert "Could not connect" in str(raised.value)
    assert dict(os.environ) == before
