"""Staged artifacts: the procedures' zip and the dbt project, built locally and PUT by the plan.

The plan's PUT statements name files under `artifact_dir`, an absolute path (PUT resolves a
relative file:// path against the client's working directory); `build_artifacts` writes exactly
those files. The deploying role runs the PUTs: it owns the artifact stage (PUT needs WRITE on an
internal stage, "Access control privileges" in the Snowflake docs).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from orchestration.deploy.procedures import (
    ARTIFACT_STAGE,
    PROCEDURES_ZIP,
    REPO_ROOT,
    ZIPPED_PACKAGES,
)
from orchestration.deploy.render import render_text

DBT_STAGE_PATH = "dbt"
# The dbt project's files at the repository root (dbt_project.yml points into dbt_project/).
DBT_ROOT_FILES = ("dbt_project.yml", "selectors.yml")
DBT_TREE = "dbt_project"
# Never staged: build output, installed packages, and the local profiles (ours replaces them).
_SKIPPED_PARTS = frozenset({"target", "dbt_packages", "logs", "__pycache__"})
_SKIPPED_FILES = frozenset({"profiles.yml"})
# Zipped with the procedures: the package's code and its SQL, nothing generated.
_PACKAGE_SUFFIXES = frozenset({".py", ".sql"})


@dataclass(frozen=True)
class Upload:
    """One PUT: local files (a glob) to a stage folder."""

    source: str
    target: str


def _dbt_files(repo_root: Path) -> list[Path]:
    files = [repo_root / name for name in DBT_ROOT_FILES]
    for path in sorted((repo_root / DBT_TREE).rglob("*")):
        relative = path.relative_to(repo_root)
        if (
            path.is_file()
            and not _SKIPPED_PARTS.intersection(relative.parts)
            and path.name not in _SKIPPED_FILES
            and not path.name.startswith(".")
        ):
            files.append(path)
    return files


def uploads(artifact_dir: str, repo_root: Path = REPO_ROOT) -> tuple[Upload, ...]:
    """The PUTs: the zip, then one per dbt folder (PUT does not recurse into folders)."""
    base = artifact_dir.rstrip("/")
    if not (base.startswith("/") or base.startswith("<")):  # "<...>": --plan's placeholder
        raise ValueError(f"artifact_dir must be an absolute path, got {artifact_dir!r}")
    result = [Upload(f"file://{base}/{PROCEDURES_ZIP}", f"@{ARTIFACT_STAGE}/")]
    folders = sorted(
        {p.relative_to(repo_root).parent.as_posix() for p in _dbt_files(repo_root)}
        | {"."}  # the generated profiles.yml sits at the project root
    )
    for folder in folders:
        suffix = "" if folder == "." else f"{folder}/"
        result.append(
            Upload(
                f"file://{base}/{DBT_STAGE_PATH}/{suffix}*.*",
                f"@{ARTIFACT_STAGE}/{DBT_STAGE_PATH}/{suffix}",
            )
        )
    return tuple(result)


def dbt_profiles(role: str, warehouse: str, database: str) -> str:
    """profiles.yml for dbt Projects on Snowflake: runs in the calling account and session."""
    return render_text("dbt_profiles.yml.j2", role=role, warehouse=warehouse, database=database)


def build_artifacts(
    artifact_dir: Path, role: str, warehouse: str, database: str, repo_root: Path = REPO_ROOT
) -> list[Path]:
    """Write the zip and the dbt project tree under artifact_dir; returns the files written."""
    artifact_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    archive = artifact_dir / PROCEDURES_ZIP
    sources = (path for package in ZIPPED_PACKAGES for path in (repo_root / package).rglob("*"))
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(sources):
            if (
                path.is_file()
                and path.suffix in _PACKAGE_SUFFIXES
                and "__pycache__" not in path.parts
            ):
                # fixed timestamps: the same sources give the same zip
                info = zipfile.ZipInfo(
                    path.relative_to(repo_root).as_posix(), (2020, 1, 1, 0, 0, 0)
                )
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    written.append(archive)
    dbt_root = artifact_dir / DBT_STAGE_PATH
    for path in _dbt_files(repo_root):
        target = dbt_root / path.relative_to(repo_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        written.append(target)
    profiles = dbt_root / "profiles.yml"
    profiles.write_text(dbt_profiles(role, warehouse, database), encoding="utf-8")
    written.append(profiles)
    return written
