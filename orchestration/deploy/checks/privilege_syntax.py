"""The statement shapes the privilege checker recognises (one pattern a form) and the plain-text
helpers its rules read DDL with (a property's value, a property list, strings blanked)."""

from __future__ import annotations

import re

from sqlglot import exp

from orchestration.deploy.checks.sql_text import matching_paren, unquote

CREATE = re.compile(
    r"^create\s+(?P<mode>or\s+replace\s+|or\s+alter\s+)?(?:(?:secure|transient|temporary|temp)\s+)*"
    r"(?P<kind>database\s+role|database|schema|table|view|stage|stream|procedure|external\s+function"
    r"|function|task|alert|dbt\s+project|warehouse|storage\s+integration|api\s+integration"
    r"|notification\s+integration|network\s+rule|network\s+policy|role"
    r"|cortex\s+search\s+service)\s+"
    r"(?P<ine>if\s+not\s+exists\s+)?(?P<name>[\w$.]+)",
    re.IGNORECASE,
)
GRANT_ROLE = re.compile(r"^grant\s+role\s+(?P<role>[\w$]+)\s+to\s+role\s+(?P<to>[\w$]+)$", re.I)
GRANT_DATABASE_ROLE = re.compile(
    r"^grant\s+database\s+role\s+(?P<role>[\w$.]+)\s+to\s+role\s+(?P<to>[\w$]+)$", re.I
)
GRANT = re.compile(
    r"^grant\s+(?P<privileges>.+?)\s+on\s+(?P<on>.+?)\s+to\s+role\s+(?P<to>[\w$]+)"
    r"(?P<option>\s+with\s+grant\s+option)?$",
    re.IGNORECASE | re.DOTALL,
)
BULK_GRANT = re.compile(
    r"^(?P<scope>all|future)\s+(?P<kinds>[a-z ]+?)s\s+in\s+schema\s+(?P<schema>[\w$.]+)$", re.I
)
ON_OBJECT = re.compile(
    r"^(?P<kind>database|schema|table|view|stage|stream|procedure|function|task|alert"
    r"|dbt\s+project|warehouse|integration|external\s+table|cortex\s+search\s+service)"
    r"\s+(?P<name>[\w$.]+)\s*(?:\(.*\))?$",
    re.IGNORECASE | re.DOTALL,
)
USE = re.compile(r"^use\s+(?P<kind>role|database|schema|warehouse)\s+(?P<name>[\w$.]+)$", re.I)
PUT = re.compile(r"^put\s+'(?P<file>[^']*)'\s+'?@(?P<stage>[\w$.]+)(?P<path>[^'\s]*)'?", re.I)
EXECUTE_DBT = re.compile(r"^execute\s+dbt\s+project\s+(?P<name>[\w$.]+)(?P<rest>.*)$", re.I | re.S)
DBT_ARGS = re.compile(r"\bargs\s*=\s*(?P<args>'(?:[^']|'')*')", re.IGNORECASE)
EXECUTE_TASK = re.compile(
    r"^execute\s+task\s+(?P<name>[\w$.]+)(?:\s+using\s+config\s*=.*)?$", re.I | re.S
)
CALL = re.compile(r"^call\s+(?P<name>[\w$.]+)\s*\(", re.IGNORECASE)
ALTER = re.compile(
    r"^alter\s+(?P<kind>task|alert|warehouse|stage|storage\s+integration|api\s+integration"
    r"|notification\s+integration|table|view|dbt\s+project|procedure|function|schema|database"
    r"|network\s+policy|cortex\s+search\s+service)"
    r"\s+(?P<ife>if\s+exists\s+)?(?P<name>[\w$.]+)\s+(?P<action>.*)$",
    re.IGNORECASE | re.DOTALL,
)
# DROP of one overload of a procedure or function (the plan drops retired signatures).
DROP = re.compile(
    r"^drop\s+(?P<kind>procedure|function)\s+(?P<ife>if\s+exists\s+)?(?P<name>[\w$.]+)"
    r"\s*\((?P<arguments>[^)]*)\)$",
    re.IGNORECASE,
)
ALTER_ACCOUNT = re.compile(r"^alter\s+account\s+(?P<verb>set|unset)\s+(?P<rest>.*)$", re.I | re.S)
ALTER_USER = re.compile(
    r"^alter\s+user\s+(?P<ife>if\s+exists\s+)?(?P<name>[\w$]+)\s+(?P<action>.*)$", re.I | re.S
)
USER_NETWORK_POLICY = re.compile(r"^set\s+network_policy\s*=\s*(?P<policy>[\w$]+)$", re.I)
# ALTER ACCOUNT SET <parameter> = <value> [...]: parameters only (rule "account-parameters");
# policies, the resource monitor, tags and the account NETWORK_POLICY are other forms.
ACCOUNT_PARAMETERS = re.compile(
    r"^(?:[a-z_][a-z0-9_]*\s*=\s*(?:'(?:[^']|'')*'|[\w.-]+)\s*,?\s*)+$", re.I
)
NOT_PARAMETERS = frozenset({"network_policy", "resource_monitor"})
SESSION = re.compile(r"^alter\s+session\s+(?:set|unset)\b", re.IGNORECASE)
SHOW = re.compile(
    r"^show\s+(?:terse\s+)?(?P<kinds>tasks|alerts|stages|tables|views|procedures)"
    r"(?:\s+like\s+'(?P<like>[^']*)')?\s+in\s+schema\s+(?P<schema>[\w$.]+)$",
    re.IGNORECASE,
)
# System procedures a CALL may name that need no privilege (rule "system-procedure").
NO_PRIVILEGE_PROCEDURES = frozenset({"system$set_return_value"})
_PROPERTY = r"\b{}\s*=\s*(?P<value>'(?:[^']|'')*'|[\w$.]+)"
NOTIFICATION_INTEGRATION = re.compile(
    r"snowflake\.notification\.(?:\w+_)?integration(?:_config)?\s*\(\s*'(?P<name>[^']+)'", re.I
)
# Functions that need no object privilege: Snowflake's system and context functions.
SYSTEM_FUNCTION_PREFIXES = ("snowflake.", "system$")


def property_value(sql: str, name: str) -> str | None:
    """The value of a top-level `name = value` property of a DDL statement."""
    for match in re.finditer(_PROPERTY.format(re.escape(name)), sql, re.IGNORECASE):
        value = match.group("value")
        return unquote(value) if value.startswith("'") else value.lower()
    return None


def normal_kind(kind: str) -> str:
    kind = " ".join(kind.lower().split())
    return {"external function": "function", "external table": "table"}.get(kind, kind)


def merge_privileges(merge: exp.Merge) -> list[str]:
    """INSERT / UPDATE / DELETE, as the MERGE's WHEN clauses do."""
    privileges: list[str] = []
    for when in merge.find_all(exp.When):
        then = when.args.get("then")
        if isinstance(then, exp.Insert):
            privileges.append("INSERT")
        elif isinstance(then, exp.Update):
            privileges.append("UPDATE")
        elif then is not None and "delete" in then.sql().lower():
            privileges.append("DELETE")
    return sorted(set(privileges))


def without_strings(sql: str) -> str:
    """`sql` with its '...' and $$...$$ strings emptied (for keyword searches)."""
    return re.sub(r"\$\$.*?\$\$|'(?:[^']|'')*'", "''", sql, flags=re.DOTALL)


def property_list(sql: str, name: str) -> str:
    match = re.search(rf"\b{name}\s*=\s*\(", sql, re.IGNORECASE)
    if match is None:
        return ""
    start = match.end() - 1
    return sql[start : matching_paren(sql, start) + 1]


def short_name(name: str) -> str:
    """schema.name of a database.schema.name."""
    return ".".join(name.split(".")[-2:])
