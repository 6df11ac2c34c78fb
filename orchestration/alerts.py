"""THE alert rules, as data: name, severity, condition SQL, message, runbook section.

Each condition is a SELECT that returns rows when the alert fires. It reads the run history in
TASK_HISTORY's shape (`${task_history}`), the ops marts (ops_marts.*) and the file marts
(marts.*), and tells time only through `${now}` and `${since}` (the start of the evaluation
window). A `Clock` says what those placeholders are where the rule runs:

- production: Snowflake ALERTs (rendered by orchestration/deploy/notifications.py) read the live
  INFORMATION_SCHEMA.TASK_HISTORY() and the alert's own scheduled times;
- locally: orchestration/local/alerting.py runs the same SQL on the fakesnow server after a run,
  over the view ops.task_history, with the warehouse clock.

Every timestamp compared is UTC timestamp_ntz, like every raw and ops column.

The module is over 300 lines on purpose: the rules are data, and each rule's condition SQL sits
in alert_rules beside its name, thresholds, message and runbook anchor, so one rule reads in one
place (the SQL is most of the length; the code around it is small).
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template
from typing import Literal

from orchestration.graph import INCREMENTAL, Pipeline

Severity = Literal["page", "warning"]

# Production alerts run every EVALUATION_MINUTES; locally the window after `now` is the same.
EVALUATION_MINUTES = 15
# Late or missed schedule: no successful run for this long (also the CloudWatch heartbeat).
NO_SUCCESS_MINUTES = 30
# Upload -> queryable objective: the graph's (the ops marts get it as a dbt var).
LATENCY_OBJECTIVE_SECONDS = INCREMENTAL.latency_objective_s
LATENCY_WINDOW_MINUTES = 60
# Failing step: this many failed attempts of one step within the window, retried or not.
FAILING_STEP_ATTEMPTS = 2
FAILING_STEP_WINDOW_MINUTES = 60
# Backlog growth: the backlog grew at each of the last N run ends.
BACKLOG_GROWTH_RUNS = 3
# Quarantine spike: at least this many newly loaded versions quarantined in the window, and
# more than this share of all loaded in it.
QUARANTINE_SPIKE_MIN_FILES = 10
QUARANTINE_SPIKE_SHARE = 0.25
QUARANTINE_WINDOW_MINUTES = 60

FAILED_STATES = ("FAILED", "FAILED_AND_AUTO_SUSPENDED", "CANCELLED")


@dataclass(frozen=True)
class AlertRule:
    """One alert. `condition` returns rows when it fires; `runbook` is its docs/runbook.md
    section."""

    name: str
    severity: Severity
    condition: str
    message: str
    runbook: str

    def payload(self, pipeline: str) -> dict[str, str]:
        """What every channel sends when the rule fires: no file paths or other customer
        data (the message leaves AWS when a subscriber is an email address)."""
        return {
            "pipeline": pipeline,
            "alert": self.name,
            "severity": self.severity,
            "message": self.message,
            "runbook": f"docs/runbook.md#{self.runbook}",
        }


@dataclass(frozen=True)
class Clock:
    """What the condition placeholders mean where the rules run (`task_history` is a relation
    with its alias, `task_history`)."""

    now: str
    since: str
    task_history: str


def pipeline_task_names(pipeline: Pipeline = INCREMENTAL) -> tuple[str, ...]:
    """The graph's tasks: the production root, every step, the finalizer."""
    return tuple(pipeline.task_history_name(step) for step in pipeline.run_order())


LOCAL_CLOCK = Clock(
    now="sysdate()",
    since=f"dateadd('minute', -{EVALUATION_MINUTES}, sysdate())",
    task_history="ops.task_history as task_history",
)

# The live history (ACCOUNT_USAGE and the ops.task_history archive lag by up to 45 min + 1 h),
# converted to UTC timestamp_ntz. One day covers the 30-minute rules and ~700 task rows.
_LIVE_TASK_HISTORY = """(
    select
        name,
        state,
        error_message,
        graph_run_group_id,
        attempt_number,
        convert_timezone('UTC', scheduled_time)::timestamp_ntz as scheduled_time,
        convert_timezone('UTC', query_start_time)::timestamp_ntz
            as query_start_time,
        convert_timezone('UTC', completed_time)::timestamp_ntz as completed_time
    from table(information_schema.task_history(
        scheduled_time_range_start => dateadd('day', -1, current_timestamp()),
        result_limit => 10000
    ))
) as task_history"""
_ALERT_NOW = "convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz"
PRODUCTION_CLOCK = Clock(
    now=_ALERT_NOW,
    since=(
        "coalesce(convert_timezone('UTC', "
        "snowflake.alert.last_successful_scheduled_time())::timestamp_ntz, "
        f"dateadd('minute', -{EVALUATION_MINUTES}, {_ALERT_NOW}))"
    ),
    task_history=_LIVE_TASK_HISTORY,
)


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _graph_runs(pipeline: Pipeline) -> str:
    """CTEs `final_attempts` and `graph_runs`: one row per graph run with its outcome.

    The same rule as ops_marts.fct_pipeline_runs: a task counts by its final attempt; any
    failed task fails the run; a finished finalizer without failures is a success (the
    finalizer runs after failures too).
    """
    return f"""with final_attempts as (
    select
        graph_run_group_id,
        name,
        state,
        completed_time
    from ${{task_history}}
    where name in ({_quoted(pipeline_task_names(pipeline))})
    qualify row_number() over (
        partition by graph_run_group_id, name order by attempt_number desc
    ) = 1
),

graph_runs as (
    select
        graph_run_group_id,
        max(completed_time) as completed_at,
        boolor_agg(state in ({_quoted(FAILED_STATES)})) as has_failed_task,
        boolor_agg(
            name = '{pipeline.task_history_name(pipeline.finalizer.name)}' and state = 'SUCCEEDED'
        ) as has_finished_finalizer
    from final_attempts
    group by graph_run_group_id
)
"""


def alert_rules(pipeline: Pipeline = INCREMENTAL) -> tuple[AlertRule, ...]:
    graph_runs = _graph_runs(pipeline)
    failed = _quoted(FAILED_STATES)
    return (
        AlertRule(
            name="no_recent_success",
            severity="page",
            condition=graph_runs
            + f"""
select max(
    case
        when has_finished_finalizer and not has_failed_task then completed_at
    end
) as last_success_at
from graph_runs
having coalesce(
    max(
        case
            when has_finished_finalizer and not has_failed_task then completed_at
        end
    ),
    '1970-01-01'::timestamp_ntz
) < dateadd('minute', -{NO_SUCCESS_MINUTES}, ${{now}})""",
            message=(
                f"{pipeline.name}: no successful run in the last {NO_SUCCESS_MINUTES} minutes "
                "(late or missed schedule)"
            ),
            runbook="no_recent_success",
        ),
        AlertRule(
            name="failed_run",
            severity="page",
            condition=graph_runs
            + """
select
    graph_run_group_id,
    completed_at
from graph_runs
where
    has_failed_task
    and completed_at > ${since}
    and completed_at <= ${now}""",
            message=f"{pipeline.name}: a run failed; its files wait for the next run",
            runbook="failed_run",
        ),
        AlertRule(
            name="failing_step",
            severity="warning",
            condition=f"""select
    name,
    count(*) as failed_attempts,
    max(completed_time) as last_failed_at
from ${{task_history}}
where
    state in ({failed})
    and name in ({_quoted(pipeline_task_names(pipeline))})
    and completed_time > dateadd('minute', -{FAILING_STEP_WINDOW_MINUTES}, ${{now}})
    and completed_time <= ${{now}}
group by name
having count(*) >= {FAILING_STEP_ATTEMPTS}""",
            message=(
                f"{pipeline.name}: a step failed {FAILING_STEP_ATTEMPTS}+ attempts in "
                f"{FAILING_STEP_WINDOW_MINUTES} minutes (retried or not)"
            ),
            runbook="failing_step",
        ),
        AlertRule(
            name="backlog_growth",
            severity="warning",
            condition=f"""with ordered_snapshots as (
    select
        backlog_files,
        lag(backlog_files) over (order by snapshot_at) as previous_backlog_files,
        row_number() over (order by snapshot_at desc) as recency
    from ops_marts.fct_backlog_snapshots
    where snapshot_at <= ${{now}}
)

select max(case when recency = 1 then backlog_files end) as backlog_files
from ordered_snapshots
where recency <= {BACKLOG_GROWTH_RUNS}
having count_if(backlog_files > previous_backlog_files) = {BACKLOG_GROWTH_RUNS}""",
            message=(
                f"{pipeline.name}: the backlog (discovered, not loaded) grew at each of the "
                f"last {BACKLOG_GROWTH_RUNS} runs"
            ),
            runbook="backlog_growth",
        ),
        AlertRule(
            name="latency_objective_breached",
            severity="page",
            condition=f"""with recent_loads as (
    select
        percentile_cont(0.95) within group (
            order by upload_to_queryable_seconds
        ) as p95_seconds
    from marts.fct_file_versions
    where
        first_loaded_at > dateadd('minute', -{LATENCY_WINDOW_MINUTES}, ${{now}})
        and first_loaded_at <= ${{now}}
),

waiting_files as (
    select max(datediff('second', last_modified_at, ${{now}})) as oldest_wait_seconds
    from ops_marts.dim_file_states
    where is_in_backlog
)

select
    recent_loads.p95_seconds,
    waiting_files.oldest_wait_seconds
from recent_loads
cross join waiting_files
where
    recent_loads.p95_seconds > {LATENCY_OBJECTIVE_SECONDS}
    or waiting_files.oldest_wait_seconds > {LATENCY_OBJECTIVE_SECONDS}""",
            message=(
                f"{pipeline.name}: upload -> queryable over {LATENCY_OBJECTIVE_SECONDS // 60} "
                f"minutes (p95 of the last {LATENCY_WINDOW_MINUTES} minutes, or a file "
                "still waiting)"
            ),
            runbook="latency_objective_breached",
        ),
        AlertRule(
            name="quarantine_spike",
            severity="warning",
            condition=f"""select
    count(*) as loaded_files,
    count_if(is_quarantined) as quarantined_files
from marts.fct_file_versions
where
    first_loaded_at > dateadd('minute', -{QUARANTINE_WINDOW_MINUTES}, ${{now}})
    and first_loaded_at <= ${{now}}
having
    count_if(is_quarantined) >= {QUARANTINE_SPIKE_MIN_FILES}
    and count_if(is_quarantined) > {QUARANTINE_SPIKE_SHARE} * count(*)""",
            message=(
                f"{pipeline.name}: {QUARANTINE_SPIKE_MIN_FILES}+ file versions and over "
                f"{QUARANTINE_SPIKE_SHARE:.0%} of those loaded in the last "
                f"{QUARANTINE_WINDOW_MINUTES} minutes were quarantined"
            ),
            runbook="quarantine_spike",
        ),
    )


ALERTS: tuple[AlertRule, ...] = alert_rules()


def render_condition(rule: AlertRule, clock: Clock) -> str:
    """The rule's condition with the clock's placeholders filled in (a missing one raises)."""
    return Template(rule.condition).substitute(
        now=clock.now, since=clock.since, task_history=clock.task_history
    )


def alert_rule(name: str) -> AlertRule:
    for rule in ALERTS:
        if rule.name == name:
            return rule
    raise KeyError(f"no alert rule {name!r}")
