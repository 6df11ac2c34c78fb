"""The procedures' packages: declared = imported, rendered with the artifact repository, and
`make check-packages` built and reporting right (its pip runs are faked here: no network).

The import checks read the modules from the zip the deploy stages (build_artifacts), so they see
exactly what Snowflake imports.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from orchestration.deploy import DeploySettings, render_plan
from orchestration.deploy import check_packages as cp
from orchestration.deploy import zip_imports as zi
from orchestration.deploy.artifacts import build_artifacts
from orchestration.deploy.procedures import (
    ARTIFACT_REPOSITORY,
    FREEZE_OMITS,
    PROCEDURE_PACKAGES,
    PROCEDURES_ZIP,
    ZIPPED_PACKAGES,
    ProcedureSpec,
    ProjectDefinitionError,
    dependency_closure,
    load_functions,
    load_procedures,
    lock_pins,
)

FIRST_PARTY = frozenset(ZIPPED_PACKAGES)
# What only the local stack uses and Snowflake does not install: none of it may be in the zip
# (the local runner's S3 reader lives in orchestration/local/s3_byte_source.py).
LOCAL_ONLY_CLASSES = ("S3ByteSource",)
LOCAL_ONLY_DISTRIBUTIONS = frozenset({"boto3", "botocore", "moto", "fakesnow"})


# --- what the zipped modules import ------------------------------------------------------


@pytest.fixture(scope="module")
def zipped_sources(tmp_path_factory) -> dict[str, tuple[str, bool]]:
    """module name -> (source, is_package), for every .py in the staged procedures zip."""
    artifact_dir = tmp_path_factory.mktemp("artifacts")
    build_artifacts(artifact_dir, "loader", "wh", "db")
    with zipfile.ZipFile(artifact_dir / PROCEDURES_ZIP) as archive:
        sources = {}
        for name in archive.namelist():
            if name.endswith(".py"):
                module, is_package = zi.module_name(name)
                sources[module] = (archive.read(name).decode("utf-8"), is_package)
    assert "snowpark_procs.handlers" in sources
    return sources


def _sites(sources: dict[str, tuple[str, bool]], modules=None) -> list[zi.ImportSite]:
    return [
        site
        for module, (source, is_package) in sorted(sources.items())
        if modules is None or module in modules
        for site in zi.import_sites(source, module, is_package)
    ]


def _third_party(sites: Sequence[zi.ImportSite]) -> dict[str, list[str]]:
    """distribution -> where it is imported, for imports outside the zip's own package."""
    found: dict[str, list[str]] = {}
    for site in sites:
        if site.module.partition(".")[0] in FIRST_PARTY:
            continue
        distribution = zi.distribution_of(site.module)
        if distribution is not None:
            found.setdefault(distribution, []).append(site.where)
    return found


def _declared() -> set[str]:
    return {zi.normalize(name) for name in PROCEDURE_PACKAGES}


def _handler_modules() -> set[str]:
    """The modules Snowflake imports: each procedure's and each UDF's handler module."""
    specs = (*load_procedures(), *load_functions())
    return {spec.handler.rpartition(".")[0] for spec in specs}


def test_handlers_load_only_declared_packages(zipped_sources) -> None:
    """What Snowflake executes importing a handler: module-level imports, transitively."""
    graph = zi.production_modules(zipped_sources, _handler_modules())
    assert {
        "pixelforge_core.transient",
        "pixelforge_core.svg",
        "snowpark_procs.sql",
        "snowpark_procs.metadata.psd",
    } <= set(graph)
    module_level = [s for s in _sites(zipped_sources, graph) if s.module_level]
    undeclared = {
        dist: where for dist, where in _third_party(module_level).items() if dist not in _declared()
    }
    assert not undeclared, f"imported when a handler loads, not in PROCEDURE_PACKAGES: {undeclared}"


def test_zipped_modules_import_only_declared_packages(zipped_sources) -> None:
    """Lazy imports too (StageFileByteSource imports snowflake.snowpark.files when it reads)."""
    sites = _sites(zipped_sources)
    undeclared = {d: w for d, w in _third_party(sites).items() if d not in _declared()}
    assert not undeclared, f"imported by the zipped modules, not declared: {undeclared}"


def test_every_declared_package_is_imported(zipped_sources) -> None:
    imported = set(_third_party(_sites(zipped_sources)))
    assert _declared() - imported == set(), "declared in PROCEDURE_PACKAGES, imported by nothing"


def test_the_zip_holds_the_core_and_the_procedures_and_nothing_local(zipped_sources) -> None:
    assert {module.partition(".")[0] for module in zipped_sources} == FIRST_PARTY
    imported = set(_third_party(_sites(zipped_sources)))
    assert not imported & LOCAL_ONLY_DISTRIBUTIONS, "the zip imports what only the stack has"
    for name in LOCAL_ONLY_CLASSES:
        users = [
            module
            for module, (source, _) in zipped_sources.items()
            for node in ast.walk(ast.parse(source))
            if (isinstance(node, ast.Name) and node.id == name)
            or (isinstance(node, ast.ClassDef) and node.name == name)
            or (isinstance(node, ast.Attribute) and node.attr == name)
            or (isinstance(node, ast.alias) and node.name == name)
        ]
        assert not users, f"{name} is local-only but {users} define or use it"


def test_procedures_declare_the_lock_pins_of_the_packages_and_their_dependencies() -> None:
    closure = dependency_closure()
    assert closure[: len(PROCEDURE_PACKAGES)] == PROCEDURE_PACKAGES
    assert {"numpy", "attrs", "boto3", "cryptography"} <= set(closure)  # transitive ones
    for proc in load_procedures():
        assert proc.packages == lock_pins(closure)
        declared = {zi.normalize(p.partition("==")[0]) for p in proc.packages}
        assert declared >= _declared()
        unpinned = {p for p in proc.packages if "==" not in p}
        assert unpinned == FREEZE_OMITS


def test_dependency_closure_follows_markers_and_extras() -> None:
    metadata = {
        "app": [
            "lib>=1",
            "winonly; sys_platform == 'win32'",
            "fancy[x]",
            "old; python_version<'3.8'",
        ],
        "lib": ["app"],  # a cycle
        "fancy": ["plain", "xdep; extra == 'x'", "ydep; extra == 'y'"],
        "plain": None,
        "xdep": [],
    }
    closure = dependency_closure(("app",), requires=metadata.__getitem__)
    assert closure == ("app", "lib", "fancy", "plain", "xdep")


# --- the import analysis itself -----------------------------------------------------------

SAMPLE = """
from __future__ import annotations
import json
from typing import TYPE_CHECKING
from PIL import Image
from . import records
from .sql import read_sql

if TYPE_CHECKING:
    import numpy

class Reader:
    def open(self):
        import botocore.exceptions
        return botocore

def later():
    from snowflake.snowpark.files import SnowflakeFile
"""


def test_import_sites_know_scope_and_resolve_relative_imports() -> None:
    sites = zi.import_sites(SAMPLE, "pkg.mod")
    found = {(s.module, s.scope) for s in sites}
    assert ("PIL", "") in found
    assert ("pkg", "") in found  # from . import records
    assert ("pkg.sql", "") in found
    assert ("botocore.exceptions", "Reader.open") in found
    assert ("snowflake.snowpark.files", "later") in found
    assert not any(s.module == "numpy" for s in sites)  # only for the type checker
    package_sites = zi.import_sites("from .sql import x\n", "pkg", is_package=True)
    assert [s.module for s in package_sites] == ["pkg.sql"]
    assert zi.import_sites("from .. import x\n", "a.b.c")[0].module == "a"


def test_production_modules_follow_module_level_imports_and_packages() -> None:
    sources = {
        "pkg": ("", True),
        "pkg.handlers": ("from pkg import used\nfrom pkg.sub.leaf import x\n", False),
        "pkg.used": ("def f():\n    import pkg.lazy\n", False),
        "pkg.lazy": ("import botocore\n", False),
        "pkg.sub": ("", True),
        "pkg.sub.leaf": ("", False),
        "pkg.unused": ("", False),
    }
    assert zi.production_modules(sources, ["pkg.handlers"]) == (
        "pkg",
        "pkg.handlers",
        "pkg.sub",
        "pkg.sub.leaf",
        "pkg.used",
    )


def test_distribution_of_modules() -> None:
    assert zi.distribution_of("json") is None
    assert zi.distribution_of("PIL.Image") == "pillow"
    assert zi.distribution_of("psd_tools.constants") == "psd-tools"
    # the `snowflake` namespace: told apart by which distribution ships the subpackage
    assert zi.distribution_of("snowflake.connector.util_text") == "snowflake-connector-python"
    assert zi.distribution_of("snowflake.snowpark.files") == "snowflake-snowpark-python"
    with pytest.raises(zi.UnknownModuleError, match="no installed distribution"):
        zi.distribution_of("no_such_module_here")
    with pytest.raises(zi.UnknownModuleError, match="snowflake-connector-python"):
        zi.distribution_of("snowflake")  # the bare namespace: either


# --- rendering ------------------------------------------------------------------------------


def test_procedures_install_from_the_pypi_artifact_repository() -> None:
    plan = render_plan(DeploySettings.with_placeholders())
    procedures = [s.sql for s in plan if s.kind == "procedure" and "language python" in s.sql]
    assert len(procedures) == len(load_procedures())
    for sql in procedures:
        lines = [line.strip() for line in sql.splitlines()]
        assert "artifact_repository = snowflake.snowpark.pypi_shared_repository" in lines
        packages = next(line for line in lines if line.startswith("packages = "))
        for pin in lock_pins(PROCEDURE_PACKAGES):
            assert f"'{pin}'" in packages


def test_roles_that_create_and_run_the_procedures_may_use_the_repository() -> None:
    settings = DeploySettings.with_placeholders()
    grants = [s.sql for s in render_plan(settings) if s.kind == "grant"]
    for role in (settings.loader_role, settings.orchestrator_role):
        assert f"grant database role snowflake.pypi_repository_user to role {role}" in grants


def test_artifact_repository_must_be_an_object_name() -> None:
    spec = load_procedures()[0]
    assert spec.artifact_repository == ARTIFACT_REPOSITORY
    with pytest.raises(ProjectDefinitionError, match="not a name"):
        dataclasses.replace(spec, artifact_repository="x; drop table raw.files")


# --- make check-packages (pip faked) ------------------------------------------------------

PINS = ("snowflake-snowpark-python==1.56.0", "psd-tools==1.26.0")


def _spec(name: str, packages: tuple[str, ...] = PINS, runtime: str = "3.11") -> ProcedureSpec:
    return ProcedureSpec(
        entity=name,
        schema="raw",
        name=name,
        handler=f"snowpark_procs.handlers.{name}",
        signature=(),
        returns="varchar",
        runtime=runtime,
        execute_as="owner",
        packages=packages,
        imports=(),
    )


class FakePip:
    """Records the commands; answers from a table keyed by architecture."""

    def __init__(self, answers: dict[str, tuple[int, str]] | None = None) -> None:
        self.commands: list[list[str]] = []
        self.answers = answers or {}

    def __call__(self, command: Sequence[str]) -> tuple[int, str]:
        self.commands.append(list(command))
        platform = _option_values(command, "--platform")[0]
        architecture = next(a for a in cp.ARCHITECTURES if platform.endswith(a))
        if architecture in self.answers:
            return self.answers[architecture]
        dest = Path(command[command.index("--dest") + 1])
        dest.mkdir(parents=True)
        (dest / f"fake-1.0-py3-none-{architecture}.whl").write_bytes(b"")
        return 0, "Successfully downloaded"


def _option_values(command: Sequence[str], option: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == option]


def test_download_command_asks_pip_for_the_snowflake_runtime(tmp_path: Path) -> None:
    target = cp.Target("3.11", "x86_64")
    command = cp.download_command(PINS, target, tmp_path, python="python")
    assert command[:4] == ["python", "-m", "pip", "download"]
    assert "--only-binary=:all:" in command
    assert "--no-deps" not in command  # dependencies must install too
    assert _option_values(command, "--python-version") == ["3.11"]
    assert _option_values(command, "--implementation") == ["cp"]
    assert _option_values(command, "--abi") == ["cp311"]
    assert _option_values(command, "--index-url") == ["https://pypi.org/simple/"]
    assert _option_values(command, "--dest") == [str(tmp_path)]
    platforms = _option_values(command, "--platform")
    for tag in ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"):
        assert tag in platforms
    assert "manylinux_2_29_x86_64" not in platforms
    assert all(p.endswith("_x86_64") for p in platforms)
    assert command[-len(PINS) :] == list(PINS)
    assert [t.architecture for t in cp.targets_for("3.11")] == ["x86_64", "aarch64"]
    assert cp.targets_for("3.12")[0].abi == "cp312"


def test_each_package_set_resolves_once_per_architecture() -> None:
    pip = FakePip()
    lines: list[str] = []
    procedures = [_spec("a"), _spec("b"), _spec("c", packages=("pypdf==7.1.1",))]
    assert cp.check_procedures(procedures, runner=pip, report=lines.append) == []
    assert len(pip.commands) == 4  # two package sets x two architectures
    assert sorted(tuple(c[-len(PINS) :]) for c in pip.commands).count(PINS) == 2
    assert any(line.startswith("ok   CPython 3.11 manylinux aarch64") for line in lines)
    assert any("fake-1.0" in line for line in lines)


MISSING_PIN = """\
Collecting snowflake-snowpark-python==1.56.0
ERROR: Could not find a version that satisfies the requirement psd-tools==9.9.9 (from versions: 1.9.0, 1.26.0)
ERROR: No matching distribution found for psd-tools==9.9.9
"""  # noqa: E501
MISSING_DEPENDENCY = """\
ERROR: Could not find a version that satisfies the requirement numpy>=9 (from psd-tools) (from versions: none)
ERROR: No matching distribution found for numpy>=9
"""  # noqa: E501
CONFLICT = """\
ERROR: Cannot install psd-tools==1.26.0 and snowflake-snowpark-python==1.56.0 because these package versions have conflicting dependencies.
ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/
"""  # noqa: E501


@pytest.mark.parametrize(
    ("output", "named"),
    [
        (MISSING_PIN, ("psd-tools==9.9.9",)),
        (MISSING_DEPENDENCY, ("numpy>=9",)),
        (CONFLICT, ("psd-tools==1.26.0", "snowflake-snowpark-python==1.56.0")),
        ("ERROR: network is unreachable\n", ()),
    ],
)
def test_unresolved_requirements_from_pip_output(output: str, named: tuple[str, ...]) -> None:
    assert cp.unresolved_requirements(output) == named


def test_a_package_that_cannot_install_is_named_with_its_target_and_procedures() -> None:
    pip = FakePip({"aarch64": (1, MISSING_PIN)})
    lines: list[str] = []
    failures = cp.check_procedures([_spec("a"), _spec("b")], runner=pip, report=lines.append)
    assert [f.target.architecture for f in failures] == ["aarch64"]
    message = failures[0].message()
    assert message.startswith(
        "cannot install psd-tools==9.9.9 for CPython 3.11 manylinux aarch64 "
        "(procedures raw.a, raw.b)"
    )
    assert "No matching distribution found for psd-tools==9.9.9" in message
    assert "FAIL " + failures[0].summary() in lines


def test_a_dependency_that_cannot_install_is_named_as_one() -> None:
    pip = FakePip({"x86_64": (1, MISSING_DEPENDENCY)})
    failures = cp.check_procedures([_spec("a")], runner=pip, report=lambda _: None)
    assert "numpy>=9 (a dependency of the declared packages)" in failures[0].summary()


def test_pip_errors_keep_what_names_the_problem() -> None:
    noisy = "Collecting x\nERROR: Ignored the following versions that require a different "
    noisy += "python version: 1.0 Requires-Python ==3.8.*\n" + MISSING_PIN
    assert cp.pip_errors(noisy).splitlines() == [
        "    " + line for line in MISSING_PIN.splitlines() if line.startswith("ERROR:")
    ]
    assert cp.pip_errors("a\nb\nc\n", fallback_lines=2) == "    b\n    c"


def test_unparsed_pip_failure_still_fails_naming_the_pins() -> None:
    pip = FakePip({"x86_64": (2, "ERROR: network is unreachable\n")})
    failures = cp.check_procedures([_spec("a")], runner=pip, report=lambda _: None)
    assert failures[0].summary().startswith(f"cannot install one of {', '.join(PINS)}")
    assert "network is unreachable" in failures[0].message()


def test_main_exits_non_zero_naming_the_package(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cp, "load_procedures", lambda: (_spec("a"),))
    monkeypatch.setattr(cp, "run_pip", FakePip({"x86_64": (1, MISSING_PIN)}))
    assert cp.main([]) == 1
    out = capsys.readouterr().out
    assert "cannot install psd-tools==9.9.9 for CPython 3.11 manylinux x86_64" in out
    monkeypatch.setattr(cp, "run_pip", FakePip())
    assert cp.main(["--index-url", "https://mirror.example/simple/"]) == 0
    assert "from https://mirror.example/simple/" in capsys.readouterr().out


def test_pip_ignores_this_machines_package_sources() -> None:
    environ = {
        "PATH": "/bin",
        "PIP_CERT": "/etc/ssl/ca.pem",
        "PIP_FIND_LINKS": "/opt/wheels",
        "PIP_EXTRA_INDEX_URL": "file:///opt/pypi/simple",
        "PIP_CONSTRAINT": "/etc/constraints.txt",
        "pip_index_url": "https://elsewhere/simple",
    }
    env = cp.pip_environment(environ)
    assert env["PIP_CONFIG_FILE"] == os.devnull  # no pip.conf: find-links, extra indexes
    assert env["PIP_CERT"] == "/etc/ssl/ca.pem" and env["PATH"] == "/bin"
    assert not {"PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT", "pip_index_url"} & (
        set(env)
    )
