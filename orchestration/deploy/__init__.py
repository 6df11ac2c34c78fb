"""The production deploy renderer: Snowflake plan and AWS template from the one definition."""

from __future__ import annotations

from orchestration.deploy.plan import PlanStatement, plan_text, render_plan
from orchestration.deploy.settings import DeploySettings, SettingsError

__all__ = ["DeploySettings", "PlanStatement", "SettingsError", "plan_text", "render_plan"]
