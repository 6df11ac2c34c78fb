"""The Snowpark procedures and Python UDFs, read from snowpark_procs/snowflake.yml (their one
declaration). Both import the same zip and declare the same PACKAGES.

Package pins come from requirements/lock.txt, so Snowflake runs the versions the suite tested.
They install from PyPI through Snowflake's shared artifact repository (ARTIFACT_REPOSITORY
below), not from the Anaconda channel, which carries no psd-tools and lags PyPI. Whether every
pin, with its dependencies, installs for the procedures' runtime is checked without Snowflake:
`make check-packages` (orchestration/deploy/check_packages.py) resolves them with pip for
CPython 3.11 on manylinux, wheels only; tests/orchestration/test_packages.py checks that the
declared packages are exactly what the zipped procedure modules import.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_DEFINITION = REPO_ROOT / "snowpark_procs" / "snowflake.yml"
LOCK_FILE = REPO_ROOT / "requirements" / "lock.txt"
ARTIFACT_STAGE = "ops.deploy_artifacts"
PROCEDURES_ZIP = "snowpark_procs.zip"
# The packages the zip holds: the procedures and the shared core they import (nothing of the
# renderer or the local stack: the ruff bans in snowpark_procs/ruff.toml keep them out).
ZIPPED_PACKAGES = ("pixelforge_core", "snowpark_procs")

# The distributions the zipped modules (ZIPPED_PACKAGES) import, besides the standard library:
# tests/orchestration/test_packages.py fails on one missing here or one nothing imports. Only
# what the code imports directly (psd-tools brings numpy and attrs; the repository resolves
# dependencies like pip). snowpark_procs/sql imports snowflake.connector, so the connector is
# declared next to Snowpark, which depends on it.
PROCEDURE_PACKAGES = (
    "snowflake-snowpark-python",
    "snowflake-connector-python",
    "pillow",
    "pypdf",
    "psd-tools",
    "defusedxml",
    "numpy",
)
# Where PACKAGES install from: PyPI through Snowflake's shared artifact repository
# ("Using third-party packages", Artifact Repository overview,
# https://docs.snowflake.com/en/developer-guide/udf/python/udf-python-packages). Per that page:
# PACKAGES names the packages that come from the repository, pinned `name==version` ("specify
# version constraints to ensure production stability"), resolved once at CREATE and then
# frozen; the role that creates the procedure and every role that runs it need the database
# role SNOWFLAKE.PYPI_REPOSITORY_USER (plan.py grants it to the loader and the orchestrator);
# a package built only for x86 would also need RESOURCE_CONSTRAINT=(architecture='x86'), which
# these procedures do not set, so check_packages requires wheels for x86_64 and aarch64.
# snowflake-snowpark-python comes from the same repository: the page names no exception, and
# Snowpark's own registration (snowflake.snowpark.stored_procedure, 1.56.0) adds
# `snowflake-snowpark-python==<its version>` to PACKAGES for any artifact repository.
ARTIFACT_REPOSITORY = "snowflake.snowpark.pypi_shared_repository"


_OBJECT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}")


class ProjectDefinitionError(ValueError):
    """snowflake.yml does not declare a procedure the way the deploy plan needs."""


@dataclass(frozen=True)
class ProcedureSpec:
    """A procedure, or (kind "function") a Python UDF, of snowflake.yml."""

    entity: str
    schema: str
    name: str
    handler: str
    signature: tuple[tuple[str, str], ...]
    returns: str
    runtime: str
    execute_as: str
    packages: tuple[str, ...]
    imports: tuple[str, ...]
    artifact_repository: str = ARTIFACT_REPOSITORY
    kind: str = "procedure"

    def __post_init__(self) -> None:
        # rendered unquoted (it is an object name, not a string)
        if not _OBJECT_NAME.fullmatch(self.artifact_repository):
            raise ProjectDefinitionError(
                f"{self.entity}: artifact repository {self.artifact_repository!r} is not a name"
            )

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def arguments(self) -> str:
        return ", ".join(f"{name} {kind}" for name, kind in self.signature)

    @property
    def argument_types(self) -> str:
        return ", ".join(kind for _, kind in self.signature)


# `pip freeze` leaves these out of the lock; Snowpark requires them (packaging tools, nothing
# the handlers run), so they are declared by name and the repository picks the version.
FREEZE_OMITS = frozenset({"setuptools", "wheel"})


def lock_pins(
    names: tuple[str, ...] = PROCEDURE_PACKAGES, lock: Path = LOCK_FILE
) -> tuple[str, ...]:
    """`name==version` for each package, from the lock file (case-insensitive names)."""
    versions: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;#]+)", line.strip())
        if match:
            versions[_canonical(match.group(1))] = match.group(2)
    missing = [n for n in names if n not in versions and n not in FREEZE_OMITS]
    if missing:
        raise ProjectDefinitionError(f"{lock} pins no version for {missing}")
    return tuple(f"{n}=={versions[n]}" if n in versions else n for n in names)


# The environment Snowflake's Python runtime evaluates dependency markers in (CPython 3.11 on
# Linux; the architecture follows the warehouse, x86_64 or aarch64, and check_packages
# resolves both). Markers naming platform_machine are evaluated for x86_64; a dependency that
# differs by architecture would show up as a failed resolution for aarch64 there.
RUNTIME_MARKERS = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "x86_64",
}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(
    names: tuple[str, ...] = PROCEDURE_PACKAGES,
    requires: Callable[[str], list[str] | None] = importlib.metadata.requires,
) -> tuple[str, ...]:
    """The packages and everything they need in the procedures' runtime, from the installed
    distributions' metadata (the venv the suite ran, built from the lock): pinning all of
    them keeps Snowflake from resolving a dependency to a version the suite never ran."""
    seen: dict[str, None] = {}
    pending = [(_canonical(n), frozenset[str]()) for n in names]
    while pending:
        name, extras = pending.pop(0)
        if name in seen:
            continue
        seen[name] = None
        for text in requires(name) or []:
            requirement = Requirement(text)
            environments = [{**RUNTIME_MARKERS, "extra": e} for e in extras or {""}]
            if requirement.marker is None or any(
                requirement.marker.evaluate(env) for env in environments
            ):
                pending.append((_canonical(requirement.name), frozenset(requirement.extras)))
    return tuple(seen)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_procedures(path: Path = PROJECT_DEFINITION) -> tuple[ProcedureSpec, ...]:
    """Every `type: procedure` entity, mixins applied, in file order."""
    return _load(path, "procedure")


def load_functions(path: Path = PROJECT_DEFINITION) -> tuple[ProcedureSpec, ...]:
    """Every `type: function` entity (the Python UDFs), mixins applied, in file order."""
    return _load(path, "function")


def _load(path: Path, kind: str) -> tuple[ProcedureSpec, ...]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if document.get("definition_version") != 2:
        raise ProjectDefinitionError(f"{path}: expected definition_version 2")
    mixins: dict[str, Any] = document.get("mixins", {})
    # The imported packages first, then what they need, every one at the lock's version.
    packages = lock_pins(dependency_closure())
    specs: list[ProcedureSpec] = []
    for entity, raw in document.get("entities", {}).items():
        body: dict[str, Any] = {}
        for mixin in raw.get("meta", {}).get("use_mixins", []):
            body = _merge(body, mixins[mixin])
        body = _merge(body, {k: v for k, v in raw.items() if k != "meta"})
        if body.get("type") != kind:
            continue
        try:
            identifier = body["identifier"]
            stage = body["stage"]
            spec = ProcedureSpec(
                entity=entity,
                schema=identifier["schema"],
                name=identifier["name"],
                handler=body["handler"],
                signature=tuple((arg["name"], arg["type"]) for arg in body["signature"]),
                returns=body["returns"],
                runtime=str(body["runtime"]),
                execute_as="caller" if body.get("execute_as_caller") else "owner",
                packages=packages,
                imports=(f"@{stage}/{PROCEDURES_ZIP}",),
                kind=kind,
            )
        except KeyError as error:
            raise ProjectDefinitionError(f"{path}: entity {entity!r} lacks {error}") from error
        specs.append(spec)
    return tuple(specs)
