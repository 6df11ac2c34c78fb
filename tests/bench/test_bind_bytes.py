"""bench.bind_bytes: the JSON bytes a file costs in the steps' write batches, measured through
the production step handlers, beside bench/prices.toml's figures (the one owner the capacity
model reads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_bind_bytes_prints_the_measured_figures_beside_the_models(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "bench.bind_bytes", "--smoke", "--results-dir",
         str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true"},
        timeout=120,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    found = json.loads((tmp_path / "bind_bytes.json").read_text())["figures"]
    with (REPO_ROOT / "bench" / "prices.toml").open("rb") as handle:
        assume = tomllib.load(handle)["assumptions"]
    assert found["files"] == 4 and found["key_bytes"] == 64
    for step in ("extract", "render"):
        figure = found[step]
        assert figure["model"] == assume[f"{step}_bind_bytes_per_file"]
        # four files, two of them rich in facets: near the reduced corpus's mean, not on it
        # (bench.initial_load prints the reduced corpus's beside the model's)
        assert 0.8 <= figure["model"] / figure["measured"] <= 1.25, (step, figure)
        assert f"{figure['measured']:,.0f}" in completed.stdout
    # every row a step binds for a file carries its key: rendering's request, two thumbnail
    # rows, visual facet row, clear and mark; extraction's request, charge, metadata row,
    # clear, mark and facet rows (at least one a file)
    assert found["render"]["per_key_byte"] == 6
    assert found["extract"]["per_key_byte"] >= 6
