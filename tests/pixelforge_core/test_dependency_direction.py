"""Dependencies point one way: pixelforge_core <- snowpark_procs, ecs_render <- orchestration;
and the tests never import bench/ (they run the benchmarks).

The rule is ruff's banned-api (TID251) in the nested ruff.toml of each package, run by `make
lint`. Each case lints a violating module as if it sat in the package (ruff picks the config by
the path given with --stdin-filename), so the test fails if a ban is dropped or stops matching.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

BANNED = {
    "pixelforge_core": [
        "import snowflake.connector",
        "from snowflake.snowpark import Session",
        "import boto3",
        "from botocore.exceptions import ClientError",
        "from ecs_render import thumbnails",
        "import snowpark_procs.handlers",
        "from orchestration.graph import PIPELINE",
    ],
    "ecs_render": [
        "from snowpark_procs.metadata import extract_metadata",
        "import snowflake.snowpark",
        "from snowflake.connector import connect",
        "from orchestration.local import stack",
    ],
    "snowpark_procs": [
        "from ecs_render.thumbnails import render_thumbnails",
        "import orchestration.graph",
        "from snowflake.snowpark import Session",
    ],
    "tests": [
        "from bench.common import REPO_ROOT",
        "import bench.cost",
    ],
}
ALLOWED = {
    "pixelforge_core": ["from PIL import Image", "from pixelforge_core import reason_codes"],
    "ecs_render": ["import boto3", "from pixelforge_core.render_wire import THUMBNAIL_SIZES"],
    "snowpark_procs": ["from snowflake.connector import errors", "from pixelforge_core import svg"],
    "tests": [
        "from orchestration.warehouse_profiler import profile_select",
        "from snowflake.snowpark import Session",
    ],
}


def _lint(package: str, line: str) -> subprocess.CompletedProcess[str]:
    source = f'"""A probe."""\n\nfrom __future__ import annotations\n\n{line}  # noqa: F401\n'
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--select",
            "TID251",
            "--stdin-filename",
            str(REPO_ROOT / package / "_dependency_probe.py"),
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )


@pytest.mark.parametrize(
    ("package", "line"),
    [(package, line) for package, lines in BANNED.items() for line in lines],
    ids=[f"{package}: {line}" for package, lines in BANNED.items() for line in lines],
)
def test_an_import_against_the_direction_is_a_lint_error(package, line):
    result = _lint(package, line)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "TID251" in result.stdout


@pytest.mark.parametrize(
    ("package", "line"),
    [(package, line) for package, lines in ALLOWED.items() for line in lines],
    ids=[f"{package}: {line}" for package, lines in ALLOWED.items() for line in lines],
)
def test_an_import_along_the_direction_is_not(package, line):
    result = _lint(package, line)

    assert result.returncode == 0, result.stdout + result.stderr
