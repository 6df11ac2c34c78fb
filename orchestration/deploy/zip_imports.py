"""Which distributions the procedures' zipped modules import (offline).

The zip holds pixelforge_core and snowpark_procs (orchestration/deploy/procedures.py); each import
statement in it is read with `ast` (import_sites), and the installed distribution that provides
the imported module is found from importlib.metadata (distribution_of).
tests/orchestration/test_packages.py holds the procedures' PACKAGES to exactly that set, so a
pin nothing imports, or an import nothing pins, fails before a deploy does
(`make check-packages`, orchestration/deploy/check_packages.py, resolves the pins themselves).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class ImportSite:
    """One import statement: what it imports, where."""

    module: str  # absolute: "PIL", "pixelforge_core.records"
    names: tuple[str, ...]  # `from module import names` ((): `import module`)
    importer: str  # the module containing the statement
    scope: str  # the enclosing classes/functions, dotted ("" at module level)
    line: int

    @property
    def module_level(self) -> bool:
        return not self.scope

    @property
    def where(self) -> str:
        return f"{self.importer}{'.' + self.scope if self.scope else ''} (line {self.line})"


def _absolute(module: str | None, level: int, importer: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    package = importer if is_package else importer.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{module}" if module else package


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def import_sites(source: str, importer: str, is_package: bool = False) -> list[ImportSite]:
    """Every import statement that runs (not those under `if TYPE_CHECKING:`), with its scope."""
    sites: list[ImportSite] = []

    def visit(nodes: Iterable[ast.AST], scope: tuple[str, ...]) -> None:
        for node in nodes:
            where = (importer, ".".join(scope), node.lineno) if hasattr(node, "lineno") else None
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.orelse, scope)
                continue
            if isinstance(node, ast.Import) and where:
                sites.extend(ImportSite(alias.name, (), *where) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and where:
                module = _absolute(node.module, node.level, importer, is_package)
                sites.append(ImportSite(module, tuple(a.name for a in node.names), *where))
            inner = (*scope, node.name) if isinstance(node, _SCOPES) else scope
            visit(ast.iter_child_nodes(node), inner)

    visit(ast.parse(source).body, ())
    return sites


def module_name(path: str) -> tuple[str, bool]:
    """`snowpark_procs/sql/__init__.py` -> ("snowpark_procs.sql", True)."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def production_modules(
    sources: Mapping[str, tuple[str, bool]], roots: Iterable[str]
) -> tuple[str, ...]:
    """The first-party modules Snowflake loads importing `roots` (sources: module name ->
    (source, is_package)): their packages, and what they import at module level, transitively."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name not in sources:
            continue
        seen.add(name)
        if "." in name:
            pending.append(name.rpartition(".")[0])
        source, is_package = sources[name]
        for site in import_sites(source, name, is_package):
            if site.module_level:
                pending.append(site.module)
                pending.extend(f"{site.module}.{n}" for n in site.names)
    return tuple(sorted(seen))


def normalize(distribution: str) -> str:
    """The PEP 503 name: `psd_tools` and `PSD.Tools` are `psd-tools`."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


@cache
def _installed_top_level() -> Mapping[str, Sequence[str]]:
    return importlib.metadata.packages_distributions()


@cache
def _files(distribution: str) -> tuple[str, ...]:
    return tuple(str(f) for f in importlib.metadata.distribution(distribution).files or ())


def _ships(distribution: str, module: str) -> bool:
    prefix = module.replace(".", "/")
    return any(f.startswith(prefix + "/") or f == prefix + ".py" for f in _files(distribution))


class UnknownModuleError(LookupError):
    """No installed distribution (or more than one) provides the module."""


def distribution_of(
    module: str, top_level: Mapping[str, Sequence[str]] | None = None
) -> str | None:
    """The installed distribution that provides `module`; None for the standard library.

    top_level: importlib.metadata.packages_distributions() (the default). A namespace package
    several distributions share (`snowflake`: the connector and Snowpark) is told apart by
    which one ships the submodule's files."""
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names:
        return None
    mapping = _installed_top_level() if top_level is None else top_level
    candidates = sorted({normalize(d) for d in mapping.get(top, ())})
    if len(candidates) == 1:
        return candidates[0]
    parts = module.split(".")
    for depth in range(len(parts), 1, -1):
        owners = [d for d in candidates if _ships(d, ".".join(parts[:depth]))]
        if len(owners) == 1:
            return owners[0]
    raise UnknownModuleError(f"{module}: provided by {candidates or 'no installed distribution'}")
