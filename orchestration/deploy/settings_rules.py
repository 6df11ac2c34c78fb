"""The rules a deploy setting must pass before it reaches SQL or a path, and their words.

Pure functions of a setting's name, variable and value (orchestration/deploy/settings.py reads
the environment and calls them): every value is a plain identifier, a name AWS allows, an ARN
or URL of the expected shape, or an absolute path, so none can close a SQL string literal.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol


class ServiceNetwork(Protocol):
    """The settings the service users' network policy reads."""

    @property
    def service_users(self) -> tuple[str, ...]: ...

    @property
    def service_network_cidrs(self) -> tuple[str, ...]: ...

    @property
    def account_guardrails(self) -> bool: ...


# Snowflake identifiers we render unquoted: letters, digits, underscore, `$`; start with a letter.
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


def placeholder(variable: str) -> str:
    """What --plan renders for a required value not set yet."""
    return f"<{variable}>"


def check(name: str, variable: str, value: Any) -> str | None:
    """What is wrong with setting `name` (read from `variable`), or None."""
    if name in _LIST_FIELDS:
        return _check_list(name, variable, value)
    if name in _IDENTIFIER_FIELDS and not _IDENTIFIER.fullmatch(value):
        return f"{variable} must be a plain Snowflake identifier, got {value!r}"
    if name == "warehouse_size" and value not in _WAREHOUSE_SIZES:
        return f"{variable} must be one of {sorted(_WAREHOUSE_SIZES)}, got {value!r}"
    if name == "warehouse_auto_suspend_s" and not 60 <= value <= 3600:
        # below 60 s saves nothing: each resume bills a 60 s minimum anyway
        return f"{variable} must be 60..3600 seconds, got {value}"
    is_path = name == "artifact_dir" and value and value != placeholder(variable)
    if is_path and (not Path(value).is_absolute() or "'" in value or "\\" in value):
        return f"{variable} must be an absolute path without quotes, got {value!r}"
    if name in _PATTERNS and value and value != placeholder(variable):
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


def _check_list(name: str, variable: str, values: tuple[str, ...]) -> str | None:
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


def check_service_network(variables: Mapping[str, str], settings: ServiceNetwork) -> list[str]:
    """The network policy needs both lists, and the guardrails section that creates it."""
    users, cidrs = variables["service_users"], variables["service_network_cidrs"]
    if bool(settings.service_users) != bool(settings.service_network_cidrs):
        return [f"{users} and {cidrs} are set together or not at all"]
    if settings.service_users and not settings.account_guardrails:
        return [
            f"{users} needs {variables['account_guardrails']}=true: the network policy is "
            "created by the account section, which needs ACCOUNTADMIN"
        ]
    return []
