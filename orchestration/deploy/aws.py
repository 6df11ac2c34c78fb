"""The CloudFormation template of the AWS side, with its sizing decided here, not in YAML.

Values that differ per account (bucket names, the image URI, Snowflake's handshake values) are
CloudFormation parameters; values that follow from the pipeline's definition and the render
budget (task size, autoscaling bounds, the heartbeat window, retention) are rendered in.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.deploy.budget import RENDER_BUDGET, RenderBudget
from orchestration.deploy.plan import NO_SUCCESS_MINUTES
from orchestration.deploy.render import render_text

API_STAGE = "prod"
CONTAINER_PORT = 8080  # ecs_render/Dockerfile EXPOSE 8080
METRIC_NAMESPACE = "PixelForge"
HEARTBEAT_METRIC = "SuccessfulRuns"
LOG_RETENTION_DAYS = 365  # one year of audit, like ACCOUNT_USAGE (semantics §7)
AUDIT_RETENTION_DAYS = 365
# The stack's Environment parameter: only production locks the audit log in COMPLIANCE mode
# (AWS "Using S3 Object Lock": no user, root included, can shorten a COMPLIANCE retention, so a
# test stack would leave an undeletable bucket for a year); the others use GOVERNANCE.
PRODUCTION_ENVIRONMENT = "production"
ENVIRONMENTS = (PRODUCTION_ENVIRONMENT, "staging", "test")
# API Gateway REST's default ceiling; a synchronous batch must answer within it (semantics §4.3).
INTEGRATION_TIMEOUT_MS = 29_000
# Interface endpoints the tasks need without a NAT gateway: pulling the image, shipping logs.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs")


@dataclass(frozen=True)
class InterfaceEndpoint:
    name: str

    @property
    def logical_id(self) -> str:
        return "".join(part.capitalize() for part in self.name.split(".")) + "Endpoint"


@dataclass(frozen=True)
class ApiMethod:
    verb: str

    @property
    def logical_id(self) -> str:
        return f"Render{self.verb.capitalize()}Method"


def aws_template(budget: RenderBudget = RENDER_BUDGET) -> str:
    """The CloudFormation template (YAML) for the designs/thumbnails/renderer/audit stack."""
    return render_text(
        "aws.yaml.j2",
        api_stage=API_STAGE,
        container_port=CONTAINER_PORT,
        metric_namespace=METRIC_NAMESPACE,
        heartbeat_metric=HEARTBEAT_METRIC,
        heartbeat_minutes=NO_SUCCESS_MINUTES,
        heartbeat_period_s=NO_SUCCESS_MINUTES * 60,
        log_retention_days=LOG_RETENTION_DAYS,
        audit_retention_days=AUDIT_RETENTION_DAYS,
        environments=ENVIRONMENTS,
        production_environment=PRODUCTION_ENVIRONMENT,
        # lifecycle expiry one day after the lock ends: a locked object cannot be deleted
        audit_expiration_days=AUDIT_RETENTION_DAYS + 1,
        task_cpu=budget.task_cpu_units,
        task_memory=budget.task_memory_mib,
        workers=budget.workers_per_task,
        min_tasks=budget.min_tasks,
        max_tasks=budget.max_tasks,
        target_cpu=budget.target_cpu_percent,
        integration_timeout_ms=INTEGRATION_TIMEOUT_MS,
        # alarm before batches hit the integration timeout
        latency_threshold_ms=int(INTEGRATION_TIMEOUT_MS * 0.8),
        api_5xx_threshold=5,
        # POST submits a batch; GET is Snowflake's poll in the asynchronous (202) protocol.
        api_methods=(ApiMethod("POST"), ApiMethod("GET")),
        interface_endpoints=tuple(InterfaceEndpoint(n) for n in INTERFACE_ENDPOINTS),
    )
