"""What the plan sends out of Snowflake: the notification integrations (SNS queues) and the
ALERTs rendered from orchestration/alerts.py's rules over the live task history."""

from __future__ import annotations

import json
from dataclasses import dataclass

from orchestration.alerts import EVALUATION_MINUTES, PRODUCTION_CLOCK, alert_rules, render_condition
from orchestration.deploy.names import ALERTS_INTEGRATION, HEARTBEAT_INTEGRATION
from orchestration.deploy.settings import DeploySettings
from orchestration.graph import Pipeline

ALERT_SCHEDULE = f"{EVALUATION_MINUTES} MINUTE"


@dataclass(frozen=True)
class AlertSpec:
    name: str
    schedule: str
    condition: str
    message: str  # JSON text
    integration: str

    @property
    def message_helper(self) -> str:
        return notification_helper(NOTIFICATION_INTEGRATION_TYPES[self.integration])


@dataclass(frozen=True)
class NotificationIntegration:
    name: str
    topic_arn: str
    type: str = "queue"


# SYSTEM$SEND_SNOWFLAKE_NOTIFICATION: "plain text or HTML for email, JSON for queues" and for
# webhooks ("SYSTEM$SEND_SNOWFLAKE_NOTIFICATION", "Sending notifications to a queue",
# https://docs.snowflake.com/en/sql-reference/stored-procedures/system_send_snowflake_notification).
# A queue (SNS) integration given TEXT_PLAIN delivers nothing.
NOTIFICATION_HELPERS = {
    "queue": "snowflake.notification.application_json",
    "webhook": "snowflake.notification.application_json",
    "email": "snowflake.notification.text_plain",
}
# Every notification integration the plan creates, by name: all SNS queues.
NOTIFICATION_INTEGRATION_TYPES = {ALERTS_INTEGRATION: "queue", HEARTBEAT_INTEGRATION: "queue"}


def notification_helper(integration_type: str) -> str:
    """The SNOWFLAKE.NOTIFICATION helper that builds a message this integration type takes."""
    try:
        return NOTIFICATION_HELPERS[integration_type]
    except KeyError:
        raise ValueError(f"no message helper for integration type {integration_type!r}") from None


def notification_integrations(s: DeploySettings) -> tuple[NotificationIntegration, ...]:
    """The alerts and heartbeat topics, each an SNS queue integration."""
    return tuple(
        NotificationIntegration(name, topic, NOTIFICATION_INTEGRATION_TYPES[name])
        for name, topic in (
            (ALERTS_INTEGRATION, s.alerts_topic_arn),
            (HEARTBEAT_INTEGRATION, s.heartbeat_topic_arn),
        )
    )


def alert_specs(pipeline: Pipeline) -> list[AlertSpec]:
    """The Snowflake ALERTs: orchestration/alerts.py's rules over the live task history."""
    return [
        AlertSpec(
            f"ops.{pipeline.name}_{rule.name}",
            ALERT_SCHEDULE,
            render_condition(rule, PRODUCTION_CLOCK),
            json.dumps(rule.payload(pipeline.name), sort_keys=True),
            ALERTS_INTEGRATION,
        )
        for rule in alert_rules(pipeline)
    ]
