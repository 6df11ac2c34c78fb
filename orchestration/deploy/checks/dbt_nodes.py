"""The dbt project as the privilege checker sees it: what each node creates and reads, and
which nodes each `execute dbt project ... args = '...'` of the plan builds.

Read from dbt itself, in process as tests/dbt do (dbtRunner): `dbt parse` writes the manifest
(no connection needed), `dbt ls` with each invocation's own selection arguments lists the
nodes it builds. Schemas are the nodes' own (dbt_project/macros/generate_schema_name.sql: the
folder's +schema, the same on every target); the database is the plan's.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from orchestration.deploy import artifacts
from orchestration.deploy.checks.privilege_inputs import DbtNode, DbtProject
from orchestration.deploy.checks.sql_text import unquote
from orchestration.deploy.procedures import REPO_ROOT

PROFILES_DIR = REPO_ROOT / "dbt_project"
BUILT_TYPES = frozenset({"model", "seed", "snapshot", "test", "unit_test"})
_ARGS = re.compile(r"execute\s+dbt\s+project\s+[\w$.]+\s+args\s*=\s*('(?:[^']|'')*')", re.I)
# Options of `dbt build` that select nodes; `ls` takes the same ones.
_SELECTION_OPTIONS = frozenset(
    {"--select", "-s", "--exclude", "--selector", "--resource-type", "--exclude-resource-type"}
)


def dbt_invocations(statements: Iterable[str]) -> tuple[str, ...]:
    """The ARGS of every `execute dbt project` in the statements (task bodies included)."""
    found: dict[str, None] = {}
    for sql in statements:
        for literal in _ARGS.findall(sql):
            found[" ".join(unquote(literal).split())] = None
    return tuple(found)


def selection_arguments(args: str) -> list[str]:
    """The node-selecting options of a `dbt build ...` argument string (for `dbt ls`)."""
    words = shlex.split(args)
    if not words or words[0] != "build":
        raise ValueError(f"only `dbt build` invocations are modelled, got {args!r}")
    selected: list[str] = []
    i = 1
    while i < len(words):
        if words[i] in _SELECTION_OPTIONS:
            j = i + 1
            while j < len(words) and not words[j].startswith("-"):
                j += 1
            selected += words[i:j]
            i = j
        else:
            i += 1
    return selected


def profile_of(role: str, warehouse: str, database: str) -> tuple[str, str]:
    """(role, warehouse) of the profiles.yml the deploy stages for dbt Projects on Snowflake
    (artifacts.dbt_profiles, the prod output of the one target)."""
    profiles = yaml.safe_load(artifacts.dbt_profiles(role, warehouse, database))
    profile = next(iter(profiles.values()))
    output = profile["outputs"][profile["target"]]
    return str(output["role"]).lower(), str(output["warehouse"]).lower()


def _dbt(args: list[str], manifest: Any = None) -> Any:
    from dbt.cli.main import dbtRunner

    # `ls` prints every node it lists even with --quiet; the result carries them
    with contextlib.redirect_stdout(io.StringIO()):
        result = dbtRunner(manifest=manifest).invoke(args)
    if not result.success:
        raise RuntimeError(f"dbt {args[0]} failed: {result.exception}")
    return result.result


def load_dbt_project(
    invocations: Iterable[str],
    role: str,
    warehouse: str,
    database: str,
    work_dir: Path,
    project_dir: Path = REPO_ROOT,
) -> DbtProject:
    """Parse the project and list the nodes of each invocation (dbt runs in this process)."""
    common = [
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    manifest = _dbt(["--quiet", "parse", *common])
    manifest_json = json.loads((work_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    selections: dict[str, tuple[str, ...]] = {}
    for args in invocations:
        listed = _dbt(
            [
                "--quiet",
                "ls",
                *selection_arguments(args),
                "--output",
                "json",
                "--output-keys",
                "unique_id",
                *common,
            ],
            manifest,
        )
        selections[args] = tuple(json.loads(line)["unique_id"] for line in listed or [])
    return project_from_manifest(manifest_json, role, warehouse, database, selections)


def project_from_manifest(
    manifest: Mapping[str, Any],
    role: str,
    warehouse: str,
    database: str,
    selections: Mapping[str, Iterable[str]],
) -> DbtProject:
    """The nodes of a manifest (manifest.json's content) and the selections' built nodes."""
    database = database.lower()
    relations: dict[str, str] = {}
    for uid, node in {**manifest["nodes"], **manifest["sources"]}.items():
        identifier = node.get("alias") or node.get("identifier") or node["name"]
        relations[uid] = f"{database}.{node['schema']}.{identifier}".lower()
    nodes: dict[str, DbtNode] = {}
    for uid, raw in {**manifest["nodes"], **manifest.get("unit_tests", {})}.items():
        if raw["resource_type"] not in BUILT_TYPES:
            continue
        nodes[uid] = _node(uid, raw, manifest, relations, database)
    built = {
        args: tuple(uid for uid in _in_build_order(ids, nodes, relations) if uid in nodes)
        for args, ids in selections.items()
    }
    return DbtProject(role, warehouse, nodes, built)


def _node(
    uid: str,
    raw: Mapping[str, Any],
    manifest: Mapping[str, Any],
    relations: Mapping[str, str],
    database: str,
) -> DbtNode:
    resource_type = raw["resource_type"]
    parents = [p for p in raw.get("depends_on", {}).get("nodes", []) if p in relations]
    reads = tuple(relations[p] for p in parents)
    if resource_type == "unit_test":
        # the unit materialization builds an empty scratch table from the model's SQL in the
        # model's schema; the model's direct parents must exist ("Unit tests", dbt docs)
        model = manifest["nodes"][raw["depends_on"]["nodes"][0]]
        tested = [p for p in model["depends_on"]["nodes"] if p in relations]
        return DbtNode(
            uid,
            resource_type,
            None,
            None,
            f"{database}.{model['schema']}".lower(),
            tuple(relations[p] for p in tested),
            temporary_table=True,
        )
    materialized = raw.get("config", {}).get("materialized")
    kind = None
    if resource_type in {"seed", "snapshot"} or materialized in {"table", "incremental"}:
        kind = "table"
    elif materialized == "view":
        kind = "view"
    return DbtNode(
        uid,
        resource_type,
        relations[uid] if kind else None,
        kind,
        f"{database}.{raw['schema']}".lower(),
        reads,
        temporary_table=materialized == "incremental",
        replaced=kind is not None and resource_type == "model" and materialized != "incremental",
    )


def _in_build_order(
    ids: Iterable[str], nodes: Mapping[str, DbtNode], relations: Mapping[str, str]
) -> list[str]:
    """The selected ids with every node after the selected nodes whose relation it reads."""
    selected = [uid for uid in ids if uid in nodes]
    made_by = {relations[uid]: uid for uid in selected if nodes[uid].relation}
    done: list[str] = []
    placed: set[str] = set()
    remaining = list(selected)
    while remaining:
        ready = [
            uid
            for uid in remaining
            if all(made_by.get(r, uid) in placed | {uid} for r in nodes[uid].reads)
        ]
        if not ready:
            raise ValueError(f"cyclic dbt dependencies among {remaining[:5]}")
        for uid in ready:
            done.append(uid)
            placed.add(uid)
            remaining.remove(uid)
    return done
