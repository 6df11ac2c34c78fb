"""The render budget: THE renderer capacity facts (task size, workers, autoscaling bounds, the
batch size Snowflake may send), declared once.

The deploy renderer reads it for the external function's MAX_BATCH_ROWS and the CloudFormation
template's task size and autoscaling (orchestration/deploy/sections.py, aws.py); the capacity
model (pixelforge_core/capacity.py) reads the same task size and bounds for its render
throughput. Standard library only: pixelforge_core depends on nothing of the pipeline's.

MAX_BATCH_ROWS: a batch must finish inside Snowflake's asynchronous timeout even when every row
is a worst-case file and several batches share one renderer task. Inputs are named with their
sources (shared/reference/snowflake-semantics.md §4.3, thumbnail-performance.md §4 and §6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RenderBudget:
    # Snowflake polls a 202 batch for at most 600 s, not configurable (semantics §4.3).
    async_timeout_s: float = 600.0
    # Half of it: retries of a 5XX re-send the same batch, and the poll back-off adds latency.
    usable_fraction: float = 0.5
    # Worst measured CPU per file: 2.2 CPU-s for 100-200 MB files (thumbnail-performance §4.2).
    worst_file_cpu_s: float = 2.2
    # Fargate vCPU vs the measuring host, S3 waits not fully overlapped (thumbnail-perf §6).
    derate: float = 1.5
    # Worker processes per renderer task: one 4 vCPU / 8 GB task (thumbnail-perf §6).
    workers_per_task: int = 4
    task_cpu_units: int = 4096
    task_memory_mib: int = 8192
    # Batches Snowflake keeps in flight against one task [ESTIMATE: an XS warehouse's threads].
    concurrent_batches_per_task: int = 8
    # Autoscaling bounds of the renderer service: the floor keeps latency, the cap the budget.
    min_tasks: int = 1
    max_tasks: int = 4
    # The renderer's maximum while the initial load runs (docs/runbook.md "Day zero"): the
    # template's RenderMaxTasks parameter allows it, bench/initial_load.py models with it.
    initial_load_max_tasks: int = 32
    target_cpu_percent: int = 60

    @property
    def task_vcpu(self) -> float:
        """vCPUs of one renderer task (ECS: 1024 CPU units are one vCPU)."""
        return self.task_cpu_units / 1024

    @property
    def task_memory_gb(self) -> float:
        return self.task_memory_mib / 1024

    def batch_seconds(self, rows: int) -> float:
        """Wall time of one all-worst-case batch while its task serves the other batches too."""
        per_row = self.worst_file_cpu_s * self.derate
        return rows * per_row * self.concurrent_batches_per_task / self.workers_per_task

    def max_batch_rows(self) -> int:
        """The largest row count whose worst-case batch fits the usable async window."""
        window = self.async_timeout_s * self.usable_fraction
        per_row = self.batch_seconds(1)
        rows = math.floor(window / per_row)
        if rows < 1:
            raise ValueError(f"render budget leaves no room for one row: {self}")
        return rows


RENDER_BUDGET = RenderBudget()
