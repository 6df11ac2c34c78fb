"""The embedded stack as a benchmark drives it (bench.scaled_load): a fresh stack of its own,
generated design files, what a run did, what a load left (Audit), the CPU a step spent
(CpuMeter) and the calibration of the capacity model's local figures (calibrate). Not a test
helper: the tests use tests/stack_pool.py's shared stack."""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from PIL import Image, ImageDraw

from bench.common import BenchOptions, host_facts
from orchestration import capacity
from orchestration.capacity import Sources
from orchestration.graph import Pipeline
from orchestration.local.loopback import free_port
from orchestration.local.runner import LocalRunner, RunReport
from orchestration.local.settings import StackSettings
from orchestration.local.stack import LocalStack
from pixelforge_core.render_wire import THUMBNAIL_SIZES

EXTRACT, RENDER = "extract_metadata", "render_thumbnails"
# The calibration's pictures: numbers no load or baseline uses.
CALIBRATION_START = 3 * 10**6


# a design's layout: a grid of blocks, each drawn or not by a bit of a hash of its number
DESIGN_GRID, DESIGN_BLOCK_PX = (8, 6), 4


def design_png(i: int) -> bytes:
    """A 32x24 PNG, distinct for i < 2**24: a background whose colour encodes i and, on it, a
    layout of blocks drawn by the bits of a hash of i, so that the
    pictures differ in their edges as designs do (a plain colour has none: every plain picture
    would be a near-duplicate of every other, fct_near_duplicate_pairs)."""
    columns, rows = DESIGN_GRID
    image = Image.new("RGB", (columns * DESIGN_BLOCK_PX, rows * DESIGN_BLOCK_PX),
                      (i & 0xFF, (i >> 8) & 0xFF, (i >> 16) & 0xFF))  # fmt: skip
    layout = int.from_bytes(hashlib.blake2b(i.to_bytes(8, "little"), digest_size=8).digest())
    ink = (255 - (i & 0xFF), 255 - ((i >> 8) & 0xFF), 255 - ((i >> 16) & 0xFF))
    draw = ImageDraw.Draw(image)
    for cell in range(columns * rows):
        if layout >> cell & 1:
            x, y = (cell % columns) * DESIGN_BLOCK_PX, (cell // columns) * DESIGN_BLOCK_PX
            draw.rectangle((x, y, x + DESIGN_BLOCK_PX - 1, y + DESIGN_BLOCK_PX - 1), fill=ink)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def designs(folder: str, start: int, count: int) -> dict[str, bytes]:
    """`count` distinct design files numbered from `start`, keyed by their number in `folder`
    (a number is one picture: keys and contents never repeat across folders' ranges)."""
    return {f"{folder}/{i:06d}.png": design_png(i) for i in range(start, start + count)}


@contextmanager
def fresh_stack(root: Path, name: str) -> Iterator[LocalStack]:
    settings = StackSettings(
        data_dir=root / name,
        warehouse_port=free_port(),
        s3_port=free_port(),
        render_port=free_port(),
    )
    stack = LocalStack(settings)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop(save=False)


def upload(stack: LocalStack, files: dict[str, bytes]) -> None:
    s3, bucket = stack.s3(), stack.settings.designs_bucket
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), files.items())
        )


def rows(stack: LocalStack, sql: str) -> list[dict[str, Any]]:
    with stack.session() as session:
        return [row.as_dict() for row in session.sql(sql).collect()]


def listing(stack: LocalStack, bucket: str, prefix: str = "") -> dict[str, str]:
    pages = stack.s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"]: o["ETag"].strip('"') for page in pages for o in page.get("Contents", [])}


def files_in(report: RunReport, step: str) -> int:
    return sum(o.step_run.files_in or 0 for o in report.steps if o.step_run.step == step)


def backlog(report: RunReport, step: str) -> int:
    summary = next(o.summary for o in report.steps if o.step_run.step == step)
    return int(summary.details["backlog"]) if summary is not None else -1


def run_seconds(report: RunReport) -> float:
    run = report.run
    return (run.ended_at - run.started_at).total_seconds() if run.ended_at else 0.0


def latencies(stack: LocalStack, prefix: str) -> list[float]:
    found = rows(
        stack,
        "select upload_to_queryable_seconds as s from marts.fct_file_versions "
        f"where relative_path like '{prefix}%'",
    )
    return sorted(float(r["S"]) for r in found if r["S"] is not None)


@dataclass(frozen=True)
class Audit:
    """What the load left, against the bucket: 0 lost and 0 duplicated is the expectation."""

    versions: int
    lost: dict[str, int]  # current versions without a metadata row, thumbnails, a mart row
    duplicated: dict[str, int]  # versions handled twice; rows or objects beyond one each

    @classmethod
    def of(cls, stack: LocalStack, extracted: int, rendered: int) -> Audit:
        current = set(listing(stack, stack.settings.designs_bucket).items())
        metadata = rows(stack, "select relative_path, etag from raw.file_metadata")
        thumbnails = rows(stack, "select relative_path, etag, thumbnail_key from raw.thumbnails")
        loaded = rows(stack, "select relative_path, etag from marts.fct_file_versions")
        objects = set(listing(stack, stack.settings.thumbnails_bucket, "v1/"))
        keys = {r["THUMBNAIL_KEY"] for r in thumbnails}

        def versions(found: list[dict[str, Any]]) -> set[tuple[str, str]]:
            return {(r["RELATIVE_PATH"], r["ETAG"]) for r in found}

        lost = {
            "metadata_rows": len(current - versions(metadata)),
            "thumbnail_rows": len(current - versions(thumbnails)),
            "mart_rows": len(current - versions(loaded)),
            "thumbnail_objects": len(keys - objects),
        }
        duplicated = {
            "extracted_twice": max(extracted - len(current), 0),
            "rendered_twice": max(rendered - len(current), 0),
            "metadata_rows": max(len(metadata) - len(current), 0),
            "thumbnail_rows": max(len(thumbnails) - len(THUMBNAIL_SIZES) * len(current), 0),
            "mart_rows": max(len(loaded) - len(current), 0),
            "thumbnail_objects": len(objects - keys),
        }
        return cls(len(current), lost, duplicated)


def step_seconds(report: RunReport, *steps: str) -> float:
    return sum(
        (o.step_run.ended_at - o.step_run.started_at).total_seconds()
        for o in report.steps
        if o.step_run.step in steps and o.step_run.ended_at and o.step_run.started_at
    )


class CpuMeter:
    """CPU seconds spent during each step, sampled by the runner's fault hook (called before
    and after each step attempt): this process's for extraction (the runner runs the step's
    procedure code here), the render service's process tree's for rendering."""

    def __init__(self, stack: LocalStack) -> None:
        render = stack.child_process("render")
        self._render = psutil.Process(render.pid) if render else None
        self._started: dict[str, float] = {}
        self.cpu_s: dict[str, float] = {}

    def _sample(self, step: str) -> float:
        if step == "render_thumbnails" and self._render is not None:
            processes = [self._render, *self._render.children(recursive=True)]
            return sum(sum(p.cpu_times()[:2]) for p in processes if p.is_running())
        return time.process_time()

    def hook(self, step: str, phase: str) -> None:
        if phase == "before":
            self._started[step] = self._sample(step)
        else:
            self.cpu_s[step] = self.cpu_s.get(step, 0.0) + self._sample(step) - self._started[step]


def calibrate(stack: LocalStack, unbounded: Pipeline, sizes: tuple[int, int]) -> dict[str, Any]:
    """The local figures of the capacity model (orchestration/capacity.py LOCAL_FIGURES), from
    two runs of `unbounded` (a step budget longer than the run) over `sizes` files: per
    step, seconds per file (the slope between the runs) and fixed seconds (the intercept); CPU
    per file (CpuMeter); a run's fixed seconds = outside the steps (mean) + the steps'
    intercepts. A step's fixed seconds per file are its seconds per file beyond its CPU at the
    local capacity (extraction: one vCPU; rendering: the render service's workers)."""
    render_vcpu = float(stack.settings.render_workers)
    meter = CpuMeter(stack)
    runner = LocalRunner(stack, unbounded, fault_hook=meter.hook, mirror_object_store=False)
    points = []
    start = CALIBRATION_START
    for files in sizes:
        upload(stack, designs("calibration", start, files))
        start += files
        before = dict(meter.cpu_s)
        report = runner.run(kind="scheduled")
        if not report.succeeded or backlog(report, "render_thumbnails"):
            raise RuntimeError(f"a calibration run failed: {report.run.error_message}")
        steps = {step: step_seconds(report, step) for step in (EXTRACT, RENDER)}
        cpu = {step: meter.cpu_s[step] - before.get(step, 0.0) for step in (EXTRACT, RENDER)}
        points.append((files, steps, cpu, run_seconds(report) - sum(steps.values())))
    (n1, s1, c1, o1), (n2, s2, c2, o2) = points
    slope = {step: max((s2[step] - s1[step]) / (n2 - n1), 0.0) for step in (EXTRACT, RENDER)}
    intercept = {step: max(s1[step] - slope[step] * n1, 0.0) for step in (EXTRACT, RENDER)}
    cpu_per_file = {step: (c1[step] + c2[step]) / (n1 + n2) for step in (EXTRACT, RENDER)}
    vcpu = {EXTRACT: capacity.LOCAL_CAPACITY["xs_warehouse_vcpu"], RENDER: render_vcpu}
    return {
        "extract_cpu_s_per_file": cpu_per_file[EXTRACT],
        "render_cpu_s_per_file": cpu_per_file[RENDER],
        **{
            f"{name}_fixed_s_per_file": max(slope[step] - cpu_per_file[step] / vcpu[step], 0.0)
            for name, step in (("extract", EXTRACT), ("render", RENDER))
        },
        "run_overhead_s": (o1 + o2) / 2 + intercept[EXTRACT] + intercept[RENDER],
        "step_s_per_file": slope,
        "step_intercept_s": intercept,
        "runs": [
            {"files": n, "step_s": steps, "cpu_s": cpu, "outside_steps_s": outside}
            for n, steps, cpu, outside in points
        ],
        "source": {
            "benchmark": "scaled_load",
            "files": f"{n1} + {n2}",
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": host_facts(),
        },
    }


def write_local_figures(options: BenchOptions, local: dict[str, Any]) -> Sources:
    """per_file_figures.json with `local` as its "local" figures (the results directory's,
    else a copy of the committed one there); the sources the local dry run would read."""
    path = options.results_dir / capacity.PER_FILE_FIGURES.name
    document = json.loads((path if path.exists() else capacity.PER_FILE_FIGURES).read_text())
    document["figures"]["local"] = local
    options.results_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    return Sources(per_file_figures=path)
