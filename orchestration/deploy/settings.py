"""Deploy settings: one typed object built from the environment, read once at the entry point.

Account-specific values (ARNs, buckets, the API URL) have no defaults: `--apply` refuses to run
without them and names every missing variable at once. `--plan` renders with placeholders
(`<PIXELFORGE_...>` inside string literals) so the plan can be reviewed before the AWS stack
exists. Names of Snowflake objects we create (roles, warehouse, database) have defaults.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

Target = Literal["prod", "local"]
TARGETS: tuple[Target, ...] = ("prod", "local")

# Snowflake identifiers we render unquoted: letters, digits, underscore, `$`; start with a letter.
DEFAULT_ARTIFACT_DIR = "build/deploy/artifacts"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# ARNs admit only the characters AWS allows there, so no value can close a SQL string literal
# or start a statement (they are also quoted with sql_string when rendered). IAM role names and
# paths: alphanumerics and +=,.@_- with / between path parts ("IAM identifiers", AWS IAM User
# Guide); SNS topic names: alphanumerics, - and _ ("CreateTopic", Amazon SNS API Reference).
_PARTITION = r"arn:aws(?:-cn|-us-gov)?"
_ROLE_ARN = re.compile(_PARTITION + r":iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}")
_TOPIC_ARN = re.compile(_PARTITION + r":sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}")
_ACCOUNT_ID = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_API_URL = re.compile(r"https://[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com/[A-Za-z0-9_-]+/")


class SettingsError(ValueError):
    """Raised when deploy settings are missing or malformed; the message names the variables."""


@dataclass(frozen=True)
class DeploySettings:
    """Everything the deploy plan depends on besides the pipeline definition itself.

    Required (no default; placeholders only for --plan):
      aws_account_id, aws_region, designs_bucket, thumbnails_bucket, storage_role_arn,
      render_api_role_arn, render_api_url, alerts_topic_arn, heartbeat_topic_arn, sns_role_arn.
    """

    target: Target = "prod"
    # AWS side (outputs of the CloudFormation stack, see docs/deploy.md)
    aws_account_id: str = ""
    aws_region: str = ""
    designs_bucket: str = ""
    thumbnails_bucket: str = ""
    storage_role_arn: str = ""
    render_api_role_arn: str = ""
    render_api_url: str = ""
    alerts_topic_arn: str = ""
    heartbeat_topic_arn: str = ""
    sns_role_arn: str = ""
    # Snowflake side: names of the objects this plan creates
    database: str = "pixelforge"
    deploy_role: str = "sysadmin"
    loader_role: str = "pixelforge_loader"
    transformer_role: str = "pixelforge_transformer"
    operator_role: str = "pixelforge_operator"
    render_role: str = "pixelforge_render"
    orchestrator_role: str = "pixelforge_orchestrator"
    warehouse: str = "pixelforge_transform_wh"
    warehouse_size: str = "XSMALL"
    warehouse_auto_suspend_s: int = 60
    # Whether the plan ends by resuming the task graphs and alerts.
    resume_tasks: bool = True
    # Account guardrails (docs/deploy.md, "Account guardrails"): ALTER ACCOUNT SET is for account
    # administrators ("ALTER ACCOUNT", https://docs.snowflake.com/en/sql-reference/sql/alter-account),
    # so the section is rendered only when the deploying role is ACCOUNTADMIN and says so here.
    account_guardrails: bool = False
    # Snowflake users no person logs in as (CI's deploy user, automation): with the CIDRs and the
    # guardrails, the plan gives them a network policy that admits only those networks.
    service_users: tuple[str, ...] = ()
    service_network_cidrs: tuple[str, ...] = ()
    # Where `--apply` builds the staged artifacts (the procedures' zip, the dbt project). An
    # absolute path: PUT resolves a relative file:// path against the client's working
    # directory, which the plan cannot know ("PUT", Snowflake docs). from_env defaults it to
    # build/deploy/artifacts under the current directory.
    artifact_dir: str = ""

    @property
    def stage_url(self) -> str:
        # Snowflake requires the trailing slash on an external stage URL.
        return f"s3://{self.designs_bucket}/"

    @property
    def thumbnails_stage_url(self) -> str:
        """Listed (never read) by the nightly reconciliation's directory table."""
        return f"s3://{self.thumbnails_bucket}/"

    @property
    def render_function_url(self) -> str:
        return f"{self.render_api_url}render"

    def missing(self) -> list[str]:
        """Environment variables whose value is still a placeholder or empty."""
        return [
            ENV_NAMES[f.name]
            for f in fields(self)
            if f.name in REQUIRED and (not getattr(self, f.name) or _is_placeholder(f.name, self))
        ]

    def require_complete(self) -> None:
        """Raise SettingsError naming every missing variable (for --apply)."""
        if missing := self.missing():
            raise SettingsError(
                "missing deploy settings for target "
                f"{self.target!r}: set {', '.join(missing)} (see docs/deploy.md, 'Settings')"
            )

    @classmethod
    def from_env(
        cls,
        target: str = "prod",
        environ: Mapping[str, str] | None = None,
        placeholders: bool = False,
    ) -> DeploySettings:
        """Build from PIXELFORGE_* variables (and SNOWFLAKE_ROLE for the deploying role).

        With `placeholders`, missing required values become `<VARIABLE>` markers (for --plan);
        without, any missing one raises SettingsError listing them all.
        """
        if target not in TARGETS:
            raise SettingsError(f"unknown deploy target {target!r}; expected one of {TARGETS}")
        env = os.environ if environ is None else environ
        values: dict[str, object] = {"target": target}
        for f in fields(cls):
            if f.name in {"target"}:
                continue
            raw = env.get(ENV_NAMES[f.name], "").strip()
            if raw:
                values[f.name] = _convert(f.name, raw)
            elif f.name in REQUIRED and placeholders:
                values[f.name] = placeholder(f.name)
            elif f.name == "artifact_dir":
                values[f.name] = (
                    placeholder(f.name)
                    if placeholders
                    else str(Path(DEFAULT_ARTIFACT_DIR).resolve())
                )
        settings = cls(**values)  # type: ignore[arg-type]
        if not placeholders:
            settings.require_complete()
        return settings

    @classmethod
    def with_placeholders(cls, target: Target = "prod") -> DeploySettings:
        """The settings the golden plan is rendered with: every required value a placeholder."""
        return cls.from_env(target, environ={}, placeholders=True)

    @property
    def service_network_policy(self) -> bool:
        """Whether the plan renders the service users' network policy."""
        return self.account_guardrails and bool(self.service_users)

    def __post_init__(self) -> None:
        problems = [p for p in (_check(f.name, self) for f in fields(self)) if p]
        problems += _check_service_network(self)
        if problems:
            raise SettingsError("invalid deploy settings: " + "; ".join(problems))


REQUIRED = frozenset(
    {
        "aws_account_id",
        "aws_region",
        "designs_bucket",
        "thumbnails_bucket",
        "storage_role_arn",
        "render_api_role_arn",
        "render_api_url",
        "alerts_topic_arn",
        "heartbeat_topic_arn",
        "sns_role_arn",
    }
)

ENV_NAMES: dict[str, str] = {
    "target": "PIXELFORGE_DEPLOY_TARGET",
    "aws_account_id": "PIXELFORGE_AWS_ACCOUNT_ID",
    "aws_region": "PIXELFORGE_AWS_REGION",
    "designs_bucket": "PIXELFORGE_DESIGNS_BUCKET",
    "thumbnails_bucket": "PIXELFORGE_THUMBNAILS_BUCKET",
    "storage_role_arn": "PIXELFORGE_STORAGE_ROLE_ARN",
    "render_api_role_arn": "PIXELFORGE_RENDER_API_ROLE_ARN",
    "render_api_url": "PIXELFORGE_RENDER_API_URL",
    "alerts_topic_arn": "PIXELFORGE_ALERTS_TOPIC_ARN",
    "heartbeat_topic_arn": "PIXELFORGE_HEARTBEAT_TOPIC_ARN",
    "sns_role_arn": "PIXELFORGE_SNS_ROLE_ARN",
    "database": "PIXELFORGE_DATABASE",
    # the connector's own variable: the role --apply connects with is the role that deploys
    "deploy_role": "SNOWFLAKE_ROLE",
    "loader_role": "PIXELFORGE_LOADER_ROLE",
    "transformer_role": "PIXELFORGE_TRANSFORMER_ROLE",
    "operator_role": "PIXELFORGE_OPERATOR_ROLE",
    "render_role": "PIXELFORGE_RENDER_ROLE",
    "orchestrator_role": "PIXELFORGE_ORCHESTRATOR_ROLE",
    "warehouse": "PIXELFORGE_WAREHOUSE",
    "warehouse_size": "PIXELFORGE_WAREHOUSE_SIZE",
    "warehouse_auto_suspend_s": "PIXELFORGE_WAREHOUSE_AUTO_SUSPEND_S",
    "resume_tasks": "PIXELFORGE_DEPLOY_RESUME",
    "artifact_dir": "PIXELFORGE_DEPLOY_ARTIFACT_DIR",
    "account_guardrails": "PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS",
    "service_users": "PIXELFORGE_SERVICE_USERS",
    "service_network_cidrs": "PIXELFORGE_SERVICE_NETWORK_CIDRS",
}

_IDENTIFIER_FIELDS = frozenset(
    {
        "database",
        "deploy_role",
        "loader_role",
        "transformer_role",
        "operator_role",
        "render_role",
        "orchestrator_role",
        "warehouse",
    }
)
_WAREHOUSE_SIZES = frozenset(
    {"XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE", "XXLARGE", "XXXLARGE", "X4LARGE"}
)
_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "aws_account_id": (_ACCOUNT_ID, "a 12-digit AWS account id"),
    "aws_region": (_REGION, "an AWS region such as us-east-1"),
    "designs_bucket": (_BUCKET, "an S3 bucket name"),
    "thumbnails_bucket": (_BUCKET, "an S3 bucket name"),
    "storage_role_arn": (_ROLE_ARN, "an IAM role ARN"),
    "render_api_role_arn": (_ROLE_ARN, "an IAM role ARN"),
    "alerts_topic_arn": (_TOPIC_ARN, "an SNS topic ARN"),
    "heartbeat_topic_arn": (_TOPIC_ARN, "an SNS topic ARN"),
    "sns_role_arn": (_ROLE_ARN, "an IAM role ARN"),
    "render_api_url": (
        _API_URL,
        "the API Gateway stage URL, https://<id>.execute-api.<region>.amazonaws.com/<stage>/",
    ),
}


def placeholder(name: str) -> str:
    return f"<{ENV_NAMES[name]}>"


def _is_placeholder(name: str, settings: DeploySettings) -> bool:
    return bool(getattr(settings, name) == placeholder(name))


def _convert(name: str, raw: str) -> object:
    if name in _LIST_FIELDS:
        return tuple(item.strip() for item in raw.split(","))
    if name == "warehouse_auto_suspend_s":
        try:
            return int(raw)
        except ValueError as error:
            raise SettingsError(f"{ENV_NAMES[name]} must be an integer, got {raw!r}") from error
    if name in {"resume_tasks", "account_guardrails"}:
        if raw.lower() not in {"true", "false", "1", "0"}:
            raise SettingsError(f"{ENV_NAMES[name]} must be true or false, got {raw!r}")
        return raw.lower() in {"true", "1"}
    if name == "warehouse_size":
        return raw.upper()
    return raw


def _check(name: str, settings: DeploySettings) -> str | None:
    value = getattr(settings, name)
    variable = ENV_NAMES[name]
    if name in _LIST_FIELDS:
        return _check_list(name, value)
    if name in _IDENTIFIER_FIELDS and not _IDENTIFIER.fullmatch(value):
        return f"{variable} must be a plain Snowflake identifier, got {value!r}"
    if name == "warehouse_size" and value not in _WAREHOUSE_SIZES:
        return f"{variable} must be one of {sorted(_WAREHOUSE_SIZES)}, got {value!r}"
    if name == "warehouse_auto_suspend_s" and not 60 <= value <= 3600:
        # below 60 s saves nothing: each resume bills a 60 s minimum anyway
        return f"{variable} must be 60..3600 seconds, got {value}"
    is_path = name == "artifact_dir" and value and value != placeholder(name)
    if is_path and (not Path(value).is_absolute() or "'" in value or "\\" in value):
        return f"{variable} must be an absolute path without quotes, got {value!r}"
    if name in _PATTERNS and value and value != placeholder(name):
        pattern, expected = _PATTERNS[name]
        if not pattern.fullmatch(value):
            return f"{variable} must be {expected}, got {value!r}"
    return None


# Comma-separated settings, each item validated on its own.
_LIST_FIELDS = frozenset({"service_users", "service_network_cidrs"})
# An IPv4 network in CIDR notation, each octet 0-255 without leading zeros, prefix 1-32 (the
# value list of an IPV4 network rule: "a valid IPv4 address or range of addresses", "CREATE
# NETWORK RULE", https://docs.snowflake.com/en/sql-reference/sql/create-network-rule). A
# prefix of 0 (every address) would make the policy admit everyone; host bits must be zero.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # ASCII digits only
_CIDR = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}/(?:3[0-2]|[12][0-9]|[1-9])")


def _check_list(name: str, values: tuple[str, ...]) -> str | None:
    variable = ENV_NAMES[name]
    for value in values:
        if name == "service_users" and not _IDENTIFIER.fullmatch(value):
            return f"{variable} must list plain Snowflake identifiers, got {value!r}"
        if name == "service_network_cidrs" and not _is_cidr(value):
            return f"{variable} must list IPv4 networks such as 203.0.113.0/24, got {value!r}"
    folded = [v.upper() for v in values]  # unquoted identifiers are case-insensitive
    if len(set(folded)) != len(folded):
        return f"{variable} must name each value once, got {', '.join(values)}"
    return None


def _is_cidr(value: str) -> bool:
    if not _CIDR.fullmatch(value):
        return False
    try:
        ipaddress.IPv4Network(value, strict=True)  # no host bits set
    except ValueError:
        return False
    return True


def _check_service_network(settings: DeploySettings) -> list[str]:
    """The network policy needs both lists, and the guardrails section that creates it."""
    users, cidrs = ENV_NAMES["service_users"], ENV_NAMES["service_network_cidrs"]
    if bool(settings.service_users) != bool(settings.service_network_cidrs):
        return [f"{users} and {cidrs} are set together or not at all"]
    if settings.service_users and not settings.account_guardrails:
        return [
            f"{users} needs {ENV_NAMES['account_guardrails']}=true: the network policy is "
            "created by the account section, which needs ACCOUNTADMIN"
        ]
    return []
