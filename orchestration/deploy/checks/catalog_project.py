"""The relations the project's dbt models create, for the catalog check: database.schema.model
with the columns its documentation lists (dbt_project/models/**/_*.yml), which may be fewer
than the model has."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orchestration.deploy.procedures import REPO_ROOT

DBT_PROJECT_FILE = REPO_ROOT / "dbt_project.yml"


@dataclass(frozen=True)
class ProjectRelation:
    """A relation the project creates: `complete` False when only its documented columns are
    known (dbt models)."""

    name: str  # database.schema.relation, lower case
    columns: tuple[str, ...]
    complete: bool = True


def _dbt_schema(models_config: Mapping[str, Any], folders: Sequence[str]) -> str | None:
    """The +schema dbt_project.yml gives a model in these folders (the deepest one wins)."""
    schema = models_config.get("+schema")
    node: Any = models_config
    for folder in folders:
        node = node.get(folder) if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping):
            break
        schema = node.get("+schema", schema)
    return str(schema) if schema else None


def dbt_relations(
    database: str, project_file: Path = DBT_PROJECT_FILE
) -> dict[str, ProjectRelation]:
    """The dbt models with a +schema, as database.schema.model with their documented columns.
    The schema is the folder config's as is (dbt_project/macros/generate_schema_name.sql)."""
    project = yaml.safe_load(project_file.read_text())
    model_root = project_file.parent / project["model-paths"][0]
    models_config = project["models"][project["name"]]
    relations: dict[str, ProjectRelation] = {}
    for properties in sorted(model_root.rglob("_*.yml")):
        for model in yaml.safe_load(properties.read_text()).get("models") or []:
            sql_files = sorted(model_root.rglob(f"{model['name']}.sql"))
            if len(sql_files) != 1:
                continue
            folders = sql_files[0].parent.relative_to(model_root).parts
            schema = _dbt_schema(models_config, folders)
            if schema is None:
                continue
            name = f"{database}.{schema}.{model['name']}".lower()
            columns = tuple(str(c["name"]).lower() for c in model.get("columns") or ())
            relations[name] = ProjectRelation(name, columns, complete=False)
    return relations
