"""Shared helpers of the benchmarks: options, fresh-process cells, tables, results, host facts.

Kept import-light (stdlib only): every per-file cell imports it in a fresh process, and what
it imports shows up in that process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "bench" / "results"
QUIET_ENV = {
    "SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}
MIB = 1024 * 1024


@dataclass(frozen=True)
class BenchOptions:
    """What every benchmark script accepts: the scale and where results go."""

    full: bool
    results_dir: Path
    smoke: bool  # tiny scale, for tests/bench: proves the script runs, not how fast
    rows: int | None = None  # overrides the key/row count of discovery and dbt_incremental

    def row_count(self, smoke: int, reduced: int, full: int) -> int:
        if self.rows is not None:
            return self.rows
        return smoke if self.smoke else full if self.full else reduced

    @property
    def scale_name(self) -> str:
        return "smoke" if self.smoke else "full" if self.full else "reduced"


def parse_options(description: str, argv: Sequence[str] | None = None) -> BenchOptions:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--full", action="store_true", help="full scale (slow)")
    parser.add_argument("--smoke", action="store_true", help="tiny scale for the smoke tests")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--rows", type=int, help="keys (discovery) or mart rows (dbt_incremental) to use instead"
    )
    args = parser.parse_args(argv)
    return BenchOptions(args.full, args.results_dir, args.smoke, args.rows)


def quiet_environment() -> None:
    os.environ.update(QUIET_ENV)


# --- local services -------------------------------------------------------------------------


def wait_for(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    """Poll url until it answers (any HTTP status); fail early if the process exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


# --- measuring ------------------------------------------------------------------------------


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a fresh cell started
    by a large driver would report the driver's peak instead of its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Stopwatch:
    """Wall and CPU (user+sys, this process) seconds of a block."""

    wall_s: float = 0.0
    cpu_s: float = 0.0

    @contextmanager
    def running(self) -> Iterator[Stopwatch]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield self
        finally:
            self.wall_s += time.perf_counter() - wall
            self.cpu_s += time.process_time() - cpu


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between order statistics."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run_cell(module: str, args: Sequence[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m <module> <args>` in a fresh process; it prints one JSON object last."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **QUIET_ENV, **(env or {})},
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        return {"error": f"exit {completed.returncode}: {completed.stderr.strip()[-400:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# --- reporting ------------------------------------------------------------------------------


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Print (and return) a plain-text table; numbers right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [
        max(len(str(header)), *(len(row[i]) for row in cells)) if cells else len(str(header))
        for i, header in enumerate(headers)
    ]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        )

    text = "\n".join(
        [
            f"\n{title}",
            line([str(h) for h in headers]),
            line(["-" * w for w in widths]),
            *(line(row) for row in cells),
        ]
    )
    print(text, flush=True)
    return text


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(str(h) for h in headers) + " |",
        "|" + "|".join("---:" if right else "---" for right in numeric) + "|",
    ]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        magnitude = abs(value)
        if magnitude >= 100:
            return f"{value:,.0f}"
        if magnitude >= 10:
            return f"{value:.1f}"
        if 0 < magnitude < 1:
            return f"{value:.3g}"
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def host_facts() -> dict[str, Any]:
    """Recorded with every result: figures are comparable only on the same host."""
    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return facts


def write_results(options: BenchOptions, name: str, figures: dict[str, Any]) -> Path:
    """bench/results/<name>.json (git-ignored): the figures, the scale and the host."""
    options.results_dir.mkdir(parents=True, exist_ok=True)
    path = options.results_dir / f"{name}.json"
    document = {
        "benchmark": name,
        "scale": options.scale_name,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": host_facts(),
        "figures": figures,
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    print(f"\nwrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    return path


def read_results(options: BenchOptions, name: str) -> dict[str, Any] | None:
    """The figures a previous benchmark of this run (or an earlier one) wrote, if any."""
    path = options.results_dir / f"{name}.json"
    if not path.exists():
        return None
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def corpus_dir(options: BenchOptions) -> Path:
    """Generated inputs live beside the results (git-ignored), one folder per scale."""
    return options.results_dir / "corpus"
