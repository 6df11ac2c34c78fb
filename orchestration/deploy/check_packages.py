"""Do the procedures' declared packages install where Snowflake runs them? (`make check-packages`)

Each procedure's PACKAGES (orchestration/deploy/procedures.py: pins from requirements/lock.txt)
install from PyPI through `snowflake.snowpark.pypi_shared_repository`, resolved once at CREATE
PROCEDURE. A pin with no wheel for the runtime, or pins whose dependencies conflict, fail the
deploy there; this finds them before, with pip, which resolves like the repository:

- wheels only: the page's own troubleshooting step is `pip install <package> --only-binary=:all:
  --python-version <runtime> --platform <platform_tag>` ("Using third-party packages",
  Troubleshooting, https://docs.snowflake.com/en/developer-guide/udf/python/udf-python-packages);
- CPython at the procedure's RUNTIME_VERSION (3.11, snowflake.yml; a generally available Python
  runtime per "Python UDF handler examples",
  https://docs.snowflake.com/en/developer-guide/udf/python/udf-python-examples);
- Linux on x86_64 and aarch64: the same page says a package "built only for x86" needs an x86
  warehouse and RESOURCE_CONSTRAINT=(architecture='x86'); the procedures set no constraint (and
  the orchestrator's serverless tasks pick no warehouse type), so nothing here may be x86-only.
  "Snowpark-optimized warehouses" lists the CPU architecture as "Default or x86"
  (https://docs.snowflake.com/en/user-guide/warehouses-snowpark-optimized).

Dependencies are resolved too (no --no-deps): the repository installs them. Needs PyPI; run
`python -m orchestration.deploy.check_packages` (exit 1 names each package that cannot
install). Which distributions the zipped modules import is the offline half, in
orchestration/deploy/zip_imports.py (tests/orchestration/test_packages.py compares them with
the declaration).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestration.deploy.procedures import ProcedureSpec, load_functions, load_procedures
from orchestration.deploy.zip_imports import normalize

ARCHITECTURES = ("x86_64", "aarch64")
# The newest glibc the wheels may require, as manylinux_2_<minor>. Snowflake does not document
# the glibc of its Python runtime; 2.28 is what the pins need (pillow 13.0.0 and numpy 2.4.6
# ship manylinux_2_27/2_28 wheels for CPython 3.11, psd-tools 1.26.0 manylinux_2_24/2_28, no
# manylinux2014 ones), so a runtime older than glibc 2.28 would refuse them at CREATE PROCEDURE.
MAX_GLIBC_MINOR = 28
# pip takes the platforms literally (it widens manylinux2014 to manylinux2010/1 only): every
# glibc baseline up to the maximum is listed, as pip on such a system would accept.
MANYLINUX_TAGS = (
    *(f"manylinux_2_{minor}" for minor in range(MAX_GLIBC_MINOR, 16, -1)),
    "manylinux2014",
)
# The artifact repository serves PyPI, so pip looks there only: not at this machine's pip
# configuration (find-links, extra indexes, constraints), which could offer wheels PyPI lacks.
PYPI_INDEX = "https://pypi.org/simple/"
_PIP_SOURCE_VARIABLES = frozenset(
    {
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_FIND_LINKS",
        "PIP_NO_INDEX",
        "PIP_CONSTRAINT",
        "PIP_REQUIREMENT",
        "PIP_PLATFORM",
        "PIP_PYTHON_VERSION",
        "PIP_ONLY_BINARY",
        "PIP_NO_BINARY",
        "PIP_PREFER_BINARY",
    }
)

# (returncode, stdout and stderr) of a command; the real one runs pip, tests pass a fake.
Runner = Callable[[Sequence[str]], tuple[int, str]]


def pip_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without pip's package-source settings, and no pip configuration files
    (PIP_CONFIG_FILE=os.devnull: pip then reads none); certificates, proxies and timeouts stay."""
    env = {k: v for k, v in environ.items() if k.upper() not in _PIP_SOURCE_VARIABLES}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


# --- resolving the declared packages with pip ---------------------------------------------


@dataclass(frozen=True)
class Target:
    """A Python runtime Snowflake may run a procedure on, as pip's target options."""

    python_version: str  # "3.11"
    architecture: str  # "x86_64"

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(f"{tag}_{self.architecture}" for tag in MANYLINUX_TAGS)

    def __str__(self) -> str:
        return f"CPython {self.python_version} manylinux {self.architecture}"


def targets_for(runtime: str) -> tuple[Target, ...]:
    return tuple(Target(runtime, arch) for arch in ARCHITECTURES)


def download_command(
    pins: Sequence[str],
    target: Target,
    dest: Path,
    index_url: str = PYPI_INDEX,
    python: str = sys.executable,
) -> list[str]:
    """pip download of the pins and their dependencies, wheels only, for the target."""
    command = [
        python,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        "--index-url",
        index_url,
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        target.python_version,
        "--abi",
        target.abi,
    ]
    for platform in target.platforms:
        command += ["--platform", platform]
    return [*command, "--dest", str(dest), *pins]


_PIP_UNRESOLVED = (
    re.compile(r"No matching distribution found for (\S+)"),
    re.compile(r"Could not find a version that satisfies the requirement (\S+)"),
    re.compile(r"Cannot install (.+?) because these package versions have conflicting"),
)


def unresolved_requirements(pip_output: str) -> tuple[str, ...]:
    """The requirements pip says it cannot install, in order, without repeats."""
    found: list[str] = []
    for pattern in _PIP_UNRESOLVED:
        for match in pattern.finditer(pip_output):
            for requirement in re.split(r",\s*(?:and\s+)?|\s+and\s+", match.group(1)):
                if requirement and requirement not in found:
                    found.append(requirement)
    return tuple(found)


def _project(requirement: str) -> str:
    return normalize(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0])


@dataclass(frozen=True)
class Unresolvable:
    """Pins that pip could not install for a target, and what it named."""

    procedures: tuple[str, ...]
    target: Target
    pins: tuple[str, ...]
    requirements: tuple[str, ...]  # what pip named; empty when its output named nothing
    detail: str  # pip's last lines

    def summary(self) -> str:
        declared = {_project(pin) for pin in self.pins}
        named = [
            requirement
            if _project(requirement) in declared
            else f"{requirement} (a dependency of the declared packages)"
            for requirement in self.requirements
        ]
        what = ", ".join(named) if named else "one of " + ", ".join(self.pins)
        return f"cannot install {what} for {self.target} (procedures {', '.join(self.procedures)})"

    def message(self) -> str:
        return f"{self.summary()}; pip said:\n{self.detail}"


def run_pip(command: Sequence[str]) -> tuple[int, str]:
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, env=pip_environment(os.environ)
    )
    return completed.returncode, completed.stdout + completed.stderr


def pip_errors(output: str, fallback_lines: int = 12) -> str:
    """pip's ERROR lines (not its list of versions for other Pythons), else its last lines."""
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [
        line
        for line in lines
        if line.startswith("ERROR:") and "require a different python version" not in line
    ]
    return "\n".join("    " + line for line in errors or lines[-fallback_lines:])


def check_procedures(
    procedures: Iterable[ProcedureSpec],
    runner: Runner | None = None,
    index_url: str = PYPI_INDEX,
    report: Callable[[str], None] = print,
) -> list[Unresolvable]:
    """Resolve each distinct (runtime, packages) once per target; the failures, in order."""
    run = run_pip if runner is None else runner
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for proc in procedures:
        groups.setdefault((proc.runtime, proc.packages), []).append(proc.qualified_name)
    failures: list[Unresolvable] = []
    with tempfile.TemporaryDirectory(prefix="check-packages-") as tmp:
        for index, ((runtime, pins), names) in enumerate(groups.items()):
            for target in targets_for(runtime):
                dest = Path(tmp) / f"{index}-{target.architecture}"
                returncode, output = run(download_command(pins, target, dest, index_url))
                if returncode != 0:
                    failures.append(
                        Unresolvable(
                            tuple(names),
                            target,
                            pins,
                            unresolved_requirements(output),
                            pip_errors(output),
                        )
                    )
                    report(f"FAIL {failures[-1].summary()}")
                    continue
                wheels = sorted(p.name for p in dest.glob("*.whl")) if dest.is_dir() else []
                report(f"ok   {target}: {len(pins)} pins -> {len(wheels)} wheels")
                for wheel in wheels:
                    report(f"       {wheel}")
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-url", default=PYPI_INDEX, help="a PyPI mirror (default: PyPI)")
    args = parser.parse_args(argv)
    # the UDFs import the same zip and declare the same packages: resolved with them
    procedures = (*load_procedures(), *load_functions())
    print(
        f"resolving the PACKAGES of {len(procedures)} procedures and UDFs with pip, wheels only, "
        f"from {args.index_url}"
    )
    failures = check_procedures(procedures, index_url=args.index_url)
    if failures:
        print(f"\n{len(failures)} target(s) cannot install the declared packages:")
        for failure in failures:
            print(f"- {failure.message()}")
        return 1
    print("every procedure's and UDF's packages install for every target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
