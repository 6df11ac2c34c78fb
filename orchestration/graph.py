"""THE run graph: steps, order, schedules and task settings, as data.

The local runner walks this definition; the production task DDL is rendered from it.
Changing the graph here changes both.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per step (Snowflake: TASK_AUTO_RETRY_ATTEMPTS counts the retries)."""

    max_attempts: int = 3
    initial_backoff_s: float = 2.0
    max_backoff_s: float = 60.0


@dataclass(frozen=True)
class ProcedureStep:
    """A Snowpark procedure raw.<handler>; `handler` is its function in snowpark_procs.handlers,
    by default the step's own name (one name for the step, its procedure and its task)."""

    name: str
    handler: str = ""
    after: tuple[str, ...] = ()
    serverless: bool = True

    def __post_init__(self) -> None:
        if not self.handler:
            object.__setattr__(self, "handler", self.name)


@dataclass(frozen=True)
class ExternalFunctionStep:
    """Thumbnail rendering: a procedure that calls the renderer through an external function,
    both named like the step (orchestration/deploy/names.py RENDER_FUNCTION)."""

    name: str
    handler: str = ""
    after: tuple[str, ...] = ()
    serverless: bool = True

    def __post_init__(self) -> None:
        if not self.handler:
            object.__setattr__(self, "handler", self.name)


@dataclass(frozen=True)
class DbtStep:
    """A `dbt build --selector <selector>` over the dbt project (needs a warehouse)."""

    name: str
    selector: str
    after: tuple[str, ...] = ()
    serverless: bool = False

    def build_args(self, target: str) -> tuple[str, ...]:
        """The step's dbt arguments, the same for the scheduled task and the local runner.

        Unit tests (resource type unit_test) check model logic on fixed rows, not the data: the
        test suite runs them (tests/dbt), a scheduled build every 15 minutes does not
        (`--exclude-resource-type`, dbt 1.8+: "Resource type",
        https://docs.getdbt.com/reference/global-configs/resource-type). The graph facts the
        models need are in dbt_project.yml's vars, rendered from dbt_vars
        (orchestration/dbt_project_vars.py), so no command passes `--vars`.
        """
        return (
            "build",
            "--selector",
            self.selector,
            "--exclude-resource-type",
            "unit_test",
            "--target",
            target,
        )

    def command_line(self, target: str) -> str:
        """build_args as one dbt command line, EXECUTE DBT PROJECT's ARGS ("a literal string
        that must conform to the syntax and requirements of dbt CLI commands",
        https://docs.snowflake.com/en/sql-reference/sql/execute-dbt-project). Every word is
        plain (no space, no quote), so how Snowflake splits quoted words never matters."""
        args = self.build_args(target)
        if any(shlex.quote(arg) != arg for arg in args):
            raise ValueError(f"dbt step {self.name}: every ARGS word must be plain: {args}")
        return " ".join(args)


Step = ProcedureStep | ExternalFunctionStep | DbtStep

# The step token of a graph's scheduled root task (production only: locally the runner starts
# the steps itself).
ROOT_STEP = "root"

# The ops views and the unit-prices seed (dbt selector ops): not a step of the graph; the deploy
# builds them once (orchestration/deploy/sections.py alerts) and the local alert evaluation
# before it reads them (orchestration/local/alerting.py).
OPS_VIEWS = DbtStep("ops", selector="ops")


@dataclass(frozen=True)
class Pipeline:
    name: str
    schedule_cron: str
    time_zone: str
    steps: tuple[Step, ...]
    finalizer: ProcedureStep
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # SUSPEND_TASK_AFTER_NUM_FAILURES: consecutive failed runs (a timeout is a failure) that
    # suspend the root ("CREATE TASK", https://docs.snowflake.com/en/sql-reference/sql/create-task).
    suspend_after_failures: int = 10
    # USER_TASK_TIMEOUT_MS of each task: "the time limit on a single run of the task" (same page).
    step_timeout_ms: int = 10 * 60 * 1000
    # Extraction and rendering take new batches for this share of the step timeout, then finish
    # the batch in flight, merge it and succeed; the rest is the next runs' backlog. The margin
    # covers a batch in flight (500 files over 4 readers) and the merges.
    step_budget_fraction: float = 0.5
    allow_overlap: bool = False
    # The nightly full reconciliation: the stages' directory tables re-listed, then a reconcile
    # request (ops.run_requests) that the graph's next run serves.
    reconciliation_cron: str = "0 3 * * *"
    reconciliation_timeout_ms: int = 60 * 60 * 1000
    # The objectives: scheduled runs that succeed per month, and upload -> queryable latency
    # (the alerts and the ops marts read them, the marts through dbt_vars).
    success_objective: float = 0.999
    latency_objective_s: int = 30 * 60

    @property
    def step_timeout_s(self) -> float:
        return self.step_timeout_ms / 1000

    @property
    def step_budget_s(self) -> float:
        """Seconds a bounded step takes new batches for (passed in the graph CONFIG)."""
        if not 0 < self.step_budget_fraction < 1:
            raise ValueError(f"step_budget_fraction {self.step_budget_fraction} must be in (0, 1)")
        return self.step_timeout_s * self.step_budget_fraction

    @property
    def overlap_policy(self) -> str:
        """OVERLAP_POLICY of the root; the deprecated ALLOW_OVERLAPPING_EXECUTION = FALSE maps
        to NO_OVERLAP, TRUE to ALLOW_CHILD_OVERLAP ("CREATE TASK", usage notes)."""
        return "allow_child_overlap" if self.allow_overlap else "no_overlap"

    def task_name(self, step: str) -> str:
        """THE task-naming rule, `<pipeline>_<step>`: the task of a step, of the finalizer, of
        the root (ROOT_STEP) or of a standalone task, unqualified and in lower case. Snowflake
        stores the unquoted name in upper case, which TASK_HISTORY's NAME shows; the deploy
        qualifies it with its schema (orchestration/deploy/tasks.py)."""
        return f"{self.name}_{step}"

    def task_history_name(self, step: str) -> str:
        """That task's NAME in TASK_HISTORY: an unquoted identifier is stored in upper case
        ("Identifier requirements", https://docs.snowflake.com/en/sql-reference/identifiers-syntax)."""
        return self.task_name(step).upper()

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"no step {name!r} in pipeline {self.name}")

    def dbt_step(self, name: str) -> DbtStep:
        """The dbt step `name` (a TypeError if the step is of another kind)."""
        step = self.step(name)
        if not isinstance(step, DbtStep):
            raise TypeError(f"step {name!r} of pipeline {self.name} is not a dbt step")
        return step

    def run_order(self) -> tuple[str, ...]:
        """Every task of a run by name, in the order a run reaches them: the production root
        (ROOT_STEP), the steps in dependency order, the finalizer (the timeline's rows)."""
        return (ROOT_STEP, *(s.name for s in self.ordered_steps()), self.finalizer.name)

    def ordered_steps(self) -> tuple[Step, ...]:
        """Steps in dependency order (a topological sort; the graph must be acyclic)."""
        done: list[Step] = []
        names: set[str] = set()
        remaining = list(self.steps)
        while remaining:
            ready = [s for s in remaining if set(s.after) <= names]
            if not ready:
                unmet = {s.name: sorted(set(s.after) - names) for s in remaining}
                raise ValueError(f"pipeline {self.name}: unknown or cyclic dependencies {unmet}")
            for step in ready:
                done.append(step)
                names.add(step.name)
                remaining.remove(step)
        return tuple(done)


INCREMENTAL = Pipeline(
    name="pixelforge",
    schedule_cron="*/15 * * * *",
    time_zone="UTC",
    steps=(
        ProcedureStep("discover"),
        ProcedureStep("extract_metadata", after=("discover",)),
        ExternalFunctionStep("render_thumbnails", after=("extract_metadata",)),
        DbtStep("validate", selector="validate", after=("render_thumbnails",)),
        DbtStep("load", selector="load", after=("validate",)),
    ),
    # its procedure raw.finalize records the run (snowpark_procs.handlers.finalize)
    finalizer=ProcedureStep("finalize"),
)


def dbt_vars(pipeline: Pipeline = INCREMENTAL) -> dict[str, Any]:
    """The graph facts the dbt models read as vars (the ops models: the task names' prefix and
    the step tokens of the run history, which steps bill a warehouse, the objectives), rendered
    into dbt_project.yml's vars by orchestration/dbt_project_vars.py; the models declare no
    default, so a project without them fails to compile."""
    ordered = pipeline.ordered_steps()
    return {
        # TASK_HISTORY's NAME of a step's task is this prefix and the step (Pipeline.task_name)
        "task_name_prefix": pipeline.task_history_name(""),
        "root_step": ROOT_STEP,
        "finalizer_step": pipeline.finalizer.name,
        "warehouse_steps": [step.name for step in ordered if not step.serverless],
        "render_step": next(s.name for s in ordered if isinstance(s, ExternalFunctionStep)),
        "success_objective": pipeline.success_objective,
        "latency_objective_seconds": pipeline.latency_objective_s,
    }
