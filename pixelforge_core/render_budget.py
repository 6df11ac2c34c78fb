"""The render budget: THE renderer capacity facts (task size, workers, autoscaling bounds, the
batch size Snowflake may send), declared once.

The deploy renderer reads it for the external function's MAX_BATCH_ROWS and the CloudFormation
template's task size and autoscaling (orchestration/deploy/sections.py, aws.py); the capacity
model (pixelforge_core/capacity.py) reads the same task size and bounds for its render
throughput. Standard library only: pixelforge_core depends on nothing of the pipeline's.

MAX_BATCH_ROWS: a batch must finish inside Snowflake's asynchronous timeout even when every row
is a worst-case file and several batches share one renderer task. Inputs are named with their
sources (shared/reference/snowflake-semantics.md §4.3, thumbnail-performance.md §4 and §6).

Fan-out: Snowflake splits one statement's rows into batches of at most MAX_BATCH_ROWS and sends
several at once; CREATE EXTERNAL FUNCTION has no concurrency parameter: how many batches are in
flight is Snowflake's choice and grows with the warehouse ("larger warehouses raise request
concurrency and can exceed API Gateway quotas", Snowflake "Designing high-performance external
functions", semantics §4.3), and a 429 makes it send more slowly (same page). The limits on our
side are rendered from this budget: the API stage's throttle (burst = the batches in flight at the
initial-load maximum, each with at most one request open; rate = that many requests a second),
the renderer's own 429 past its running-batch cap, and the ECS service's autoscaling (target
tracking on CPU between min_tasks and max_tasks, or initial_load_max_tasks for the day-zero load
through the template's RenderMaxTasks parameter).

Statement size (`statement_rows(tasks)`): the render step (snowpark_procs/steps/render.py)
sends statements of statement_rows(render_max_tasks) rows, the task maximum the run may count on
coming in the task graph's CONFIG (snowpark_procs/run_config.py, rendered by
orchestration/deploy/tasks.py graph_config from max_tasks; docs/runbook.md "Day zero" raises it).
Planned: a batch of MAX_BATCH_ROWS for every batch the tasks hold. Capped by the bounded run: the
step checks its budget between statements, so one statement's duration is how far the step
overshoots its budget: rows x CPU per file x derate / (tasks x workers). With every row a
worst-case file the planned statement would take one worst-case batch's time (the async window's
half, 297 s), nearly all of the 300 s orchestration/graph.py leaves between the step budget and
the step timeout, so statement_rows keeps the whole batches whose worst case fits max_statement_s
(150 s: 720 rows at 4 tasks, 8,685 at 48, about 4 batches a task, still one or more per task, so
every task's workers stay busy); at the measured CPU per file such a statement takes about 17 s.
tests/orchestration/test_render_fanout.py holds the cap inside the graph's margin. The figure
assumes the tasks are running: with fewer (autoscaling still adding them) a statement takes
proportionally longer, which is why the runbook starts the renderer at its maximum before the load.

Throughput at the maximum (tasks x vCPU / (render CPU per file x derate), with the measured
0.252 CPU-s per file of bench/results/per_file_figures.json and the 1.5 Fargate derate):
4 tasks x 4 vCPU render 16 / (0.252 x 1.5) = 42.3 files/s, about 152,000 files an hour; 48 tasks
at the initial load, about 1,827,000 files an hour. Both come from render statements of
statement_rows(tasks) rows (pixelforge_core/capacity.py models them; 720-row statements at the
steady maximum). tests/orchestration/test_aws_template.py recomputes these figures from the
committed measurement, so this paragraph fails the tests when the measurement moves.
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
    initial_load_max_tasks: int = 48
    target_cpu_percent: int = 60
    # Target tracking's cooldowns (Application Auto Scaling "Target tracking scaling policies"):
    # out fast, so a run's 5-minute render budget sees the added tasks; in slowly, so the tasks
    # a run started are not stopped between two runs 15 minutes apart [ESTIMATE].
    scale_out_cooldown_s: int = 60
    scale_in_cooldown_s: int = 300
    # Requests one in-flight batch has open at a time: its POST, then one GET poll at a time at
    # Snowflake's growing interval (semantics §4.3), so at most one a second [ESTIMATE].
    requests_per_batch_per_s: float = 1.0
    # Longest a render statement may take at worst (every row a worst-case file, its batches
    # spread over the tasks): the step's overshoot past its budget. Half of the 300 s between
    # orchestration/graph.py's step budget and step timeout; the rest is the merges' and a slow
    # poll's (tests/orchestration/test_render_fanout.py holds it there).
    max_statement_s: float = 150.0

    @property
    def task_vcpu(self) -> float:
        """vCPUs of one renderer task (ECS: 1024 CPU units are one vCPU)."""
        return self.task_cpu_units / 1024

    @property
    def task_memory_gb(self) -> float:
        return self.task_memory_mib / 1024

    def batches_in_flight(self, tasks: int) -> int:
        """Batches the renderer is sized to hold at once with this many tasks."""
        return tasks * self.concurrent_batches_per_task

    def statement_rows(self, tasks: int) -> int:
        """Rows one render statement carries to keep this many tasks busy: a batch of
        MAX_BATCH_ROWS for every batch they hold, cut to the whole batches whose worst case
        fits max_statement_s (never less than one batch)."""
        if tasks < 1:
            raise ValueError(f"a render statement needs at least one task, not {tasks}")
        rows = self.max_batch_rows()
        planned = self.batches_in_flight(tasks)
        fitting = math.floor(self.max_statement_s / self.statement_seconds(rows, tasks))
        return rows * max(1, min(planned, fitting))

    def statement_seconds(
        self, rows: int, tasks: int, cpu_s_per_file: float | None = None
    ) -> float:
        """Wall time of a statement of `rows` rows spread over `tasks` tasks' workers: rows x
        CPU per file (worst case unless given) x derate / (tasks x workers)."""
        cpu = self.worst_file_cpu_s if cpu_s_per_file is None else cpu_s_per_file
        return rows * cpu * self.derate / (tasks * self.workers_per_task)

    def api_throttle_burst(self) -> int:
        """The API stage's burst: every batch the renderer holds at its initial-load maximum may
        have its one request open at once."""
        return self.batches_in_flight(self.initial_load_max_tasks)

    def api_throttle_rate(self) -> float:
        """The API stage's steady rate (requests a second): each of those batches at most
        requests_per_batch_per_s. Above it API Gateway answers 429 and Snowflake slows down."""
        return self.api_throttle_burst() * self.requests_per_batch_per_s

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
