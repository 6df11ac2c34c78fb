"""What the privilege checker reports: one line per violation (statement, actor, role, missing
privilege, with its rule's source) and per statement it could not check (with the reason)."""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.deploy.checks.privilege_rules import RULES
from orchestration.deploy.checks.sql_text import strip_comments


@dataclass(frozen=True)
class Violation:
    statement: str
    actor: str
    role: str
    missing: str
    rule: str

    def __str__(self) -> str:
        return f"{self.statement} | {self.actor} | {self.role} | {self.missing}"

    @property
    def source(self) -> str:
        return RULES[self.rule].source


@dataclass(frozen=True)
class Unchecked:
    statement: str
    actor: str
    reason: str

    def __str__(self) -> str:
        return f"{self.statement} | {self.actor} | unchecked: {self.reason}"


@dataclass(frozen=True)
class PrivilegeReport:
    violations: tuple[Violation, ...]
    unchecked: tuple[Unchecked, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def lines(self) -> list[str]:
        return [str(v) for v in self.violations] + [str(u) for u in self.unchecked]


def first_line(sql: str) -> str:
    """The statement's first line, or its start (100 characters) when that line says little
    (a bare `select`)."""
    text = strip_comments(sql).strip()
    line = text.splitlines()[0].strip() if text else ""
    if len(line) >= 30:
        return line
    flat = " ".join(text.split())
    return flat if len(flat) <= 100 else flat[:99] + "…"
