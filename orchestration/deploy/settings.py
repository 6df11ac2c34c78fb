"""Deploy settings: one typed object built from the environment, read once at the entry point.

pydantic-settings reads each field from the variable its alias names; the validators below keep
this project's rules and words (every problem named with its variable, all at once).

Account-specific values (ARNs, buckets, the API URL) have no defaults: `--apply` refuses to run
without them and names every missing variable at once. `--plan` renders with placeholders
(`<PIXELFORGE_...>` inside string literals) so the plan can be reviewed before the AWS stack
exists. Names of Snowflake objects we create (roles, warehouse, database) have defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from orchestration.deploy import settings_rules as rules

Target = Literal["prod", "local"]
TARGETS: tuple[Target, ...] = ("prod", "local")

DEFAULT_ARTIFACT_DIR = "build/deploy/artifacts"


class SettingsError(ValueError):
    """Raised when deploy settings are missing or malformed; the message names the variables."""


def _env(variable: str, default: Any = "") -> Any:
    """A field read from one environment variable (its alias), under that exact name."""
    return Field(default, validation_alias=variable)


class DeploySettings(BaseSettings):
    """Everything the deploy plan depends on besides the pipeline definition itself.

    Each field reads the environment variable its alias names (pydantic-settings); a blank
    variable counts as unset. Required (no default; placeholders only for --plan):
      aws_account_id, aws_region, designs_bucket, thumbnails_bucket, storage_role_arn,
      render_api_role_arn, render_api_url, alerts_topic_arn, heartbeat_topic_arn, sns_role_arn.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        case_sensitive=True,
        env_ignore_empty=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    # From from_env's argument (pixelforge deploy --target), never from the environment.
    target: Target = "prod"
    # AWS side (outputs of the CloudFormation stack, see docs/deploy.md)
    aws_account_id: str = _env("PIXELFORGE_AWS_ACCOUNT_ID")
    aws_region: str = _env("PIXELFORGE_AWS_REGION")
    designs_bucket: str = _env("PIXELFORGE_DESIGNS_BUCKET")
    thumbnails_bucket: str = _env("PIXELFORGE_THUMBNAILS_BUCKET")
    storage_role_arn: str = _env("PIXELFORGE_STORAGE_ROLE_ARN")
    render_api_role_arn: str = _env("PIXELFORGE_RENDER_API_ROLE_ARN")
    render_api_url: str = _env("PIXELFORGE_RENDER_API_URL")
    alerts_topic_arn: str = _env("PIXELFORGE_ALERTS_TOPIC_ARN")
    heartbeat_topic_arn: str = _env("PIXELFORGE_HEARTBEAT_TOPIC_ARN")
    sns_role_arn: str = _env("PIXELFORGE_SNS_ROLE_ARN")
    # Snowflake side: names of the objects this plan creates
    database: str = _env("PIXELFORGE_DATABASE", "pixelforge")
    # the connector's own variable: the role --apply connects with is the role that deploys
    deploy_role: str = _env("SNOWFLAKE_ROLE", "sysadmin")
    loader_role: str = _env("PIXELFORGE_LOADER_ROLE", "pixelforge_loader")
    transformer_role: str = _env("PIXELFORGE_TRANSFORMER_ROLE", "pixelforge_transformer")
    operator_role: str = _env("PIXELFORGE_OPERATOR_ROLE", "pixelforge_operator")
    render_role: str = _env("PIXELFORGE_RENDER_ROLE", "pixelforge_render")
    orchestrator_role: str = _env("PIXELFORGE_ORCHESTRATOR_ROLE", "pixelforge_orchestrator")
    warehouse: str = _env("PIXELFORGE_WAREHOUSE", "pixelforge_transform_wh")
    warehouse_size: str = _env("PIXELFORGE_WAREHOUSE_SIZE", "XSMALL")
    warehouse_auto_suspend_s: int = _env("PIXELFORGE_WAREHOUSE_AUTO_SUSPEND_S", 60)
    # Whether the plan ends by resuming the task graphs and alerts.
    resume_tasks: bool = _env("PIXELFORGE_DEPLOY_RESUME", True)
    # Account guardrails (docs/deploy.md, "Account guardrails"): ALTER ACCOUNT SET is for account
    # administrators ("ALTER ACCOUNT", https://docs.snowflake.com/en/sql-reference/sql/alter-account),
    # so the section is rendered only when the deploying role is ACCOUNTADMIN and says so here.
    account_guardrails: bool = _env("PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS", False)
    # Snowflake users no person logs in as (CI's deploy user, automation): with the CIDRs and the
    # guardrails, the plan gives them a network policy that admits only those networks.
    # Comma-separated (NoDecode: not JSON).
    service_users: Annotated[tuple[str, ...], NoDecode] = _env("PIXELFORGE_SERVICE_USERS", ())
    service_network_cidrs: Annotated[tuple[str, ...], NoDecode] = _env(
        "PIXELFORGE_SERVICE_NETWORK_CIDRS", ()
    )
    # Where `--apply` builds the staged artifacts (the procedures' zip, the dbt project). An
    # absolute path: PUT resolves a relative file:// path against the client's working
    # directory, which the plan cannot know ("PUT", Snowflake docs). from_env defaults it to
    # build/deploy/artifacts under the current directory.
    artifact_dir: str = _env("PIXELFORGE_DEPLOY_ARTIFACT_DIR")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment: os.environ, or the mapping from_env was given
        (no .env file, no secrets directory)."""
        environ = _ENVIRON.get()
        if environ is not None and isinstance(env_settings, EnvSettingsSource):
            env_settings.env_vars = parse_env_vars(environ, case_sensitive=True, ignore_empty=True)
        return init_settings, env_settings

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("service_users", "service_network_cidrs", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",")) if value else ()
        return value

    @field_validator("warehouse_auto_suspend_s", mode="before")
    @classmethod
    def _integer(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise SettingsError(
                    f"{_variable(info)} must be an integer, got {value!r}"
                ) from None
        return value

    @field_validator("resume_tasks", "account_guardrails", mode="before")
    @classmethod
    def _boolean(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            if value.lower() not in {"true", "false", "1", "0"}:
                raise SettingsError(f"{_variable(info)} must be true or false, got {value!r}")
            return value.lower() in {"true", "1"}
        return value

    @field_validator("warehouse_size", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _valid(self) -> Self:
        problems = [
            problem
            for name, variable in ENV_NAMES.items()
            if (problem := rules.check(name, variable, getattr(self, name)))
        ]
        problems += rules.check_service_network(ENV_NAMES, self)
        if problems:
            raise SettingsError("invalid deploy settings: " + "; ".join(problems))
        return self

    @property
    def stage_url(self) -> str:
        # Snowflake requires the trailing slash on an external stage URL.
        return f"s3://{self.designs_bucket}/"

    @property
    def thumbnails_stage_url(self) -> str:
        """Listed (never read) by the nightly reconciliation's directory table."""
        return f"s3://{self.thumbnails_bucket}/"

    @property
    def render_function_url(self) -> str:
        return f"{self.render_api_url}render"

    @property
    def service_network_policy(self) -> bool:
        """Whether the plan renders the service users' network policy."""
        return self.account_guardrails and bool(self.service_users)

    def missing(self) -> list[str]:
        """Environment variables whose value is still a placeholder or empty."""
        return [
            ENV_NAMES[name]
            for name in type(self).model_fields
            if name in REQUIRED and getattr(self, name) in {"", rules.placeholder(ENV_NAMES[name])}
        ]

    def require_complete(self) -> None:
        """Raise SettingsError naming every missing variable (for --apply)."""
        if missing := self.missing():
            raise SettingsError(
                "missing deploy settings for target "
                f"{self.target!r}: set {', '.join(missing)} (see docs/deploy.md, 'Settings')"
            )

    @classmethod
    def from_env(
        cls,
        target: str = "prod",
        environ: Mapping[str, str] | None = None,
        placeholders: bool = False,
    ) -> DeploySettings:
        """Build from PIXELFORGE_* variables (and SNOWFLAKE_ROLE for the deploying role) of
        `environ` (default os.environ).

        With `placeholders`, missing required values become `<VARIABLE>` markers (for --plan);
        without, any missing one raises SettingsError listing them all.
        """
        if target not in TARGETS:
            raise SettingsError(f"unknown deploy target {target!r}; expected one of {TARGETS}")
        env = os.environ if environ is None else environ
        unset = {name for name, variable in ENV_NAMES.items() if not env.get(variable, "").strip()}
        values: dict[str, object] = {"target": target}
        if placeholders:
            values |= {
                name: rules.placeholder(ENV_NAMES[name])
                for name in unset & (REQUIRED | {"artifact_dir"})
            }
        elif "artifact_dir" in unset:
            values["artifact_dir"] = str(Path(DEFAULT_ARTIFACT_DIR).resolve())
        token = _ENVIRON.set(env)
        try:
            settings = cls(**values)
        except ValidationError as error:
            raise SettingsError(_explain(error)) from None
        finally:
            _ENVIRON.reset(token)
        if not placeholders:
            settings.require_complete()
        return settings

    @classmethod
    def with_placeholders(cls, target: Target = "prod") -> DeploySettings:
        """The settings the golden plan is rendered with: every required value a placeholder."""
        return cls.from_env(target, environ={}, placeholders=True)


# The environment from_env reads while it builds one DeploySettings (None: os.environ).
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("deploy_environ", default=None)

REQUIRED = frozenset(
    {
        "aws_account_id",
        "aws_region",
        "designs_bucket",
        "thumbnails_bucket",
        "storage_role_arn",
        "render_api_role_arn",
        "render_api_url",
        "alerts_topic_arn",
        "heartbeat_topic_arn",
        "sns_role_arn",
    }
)

# Each setting's environment variable, from the fields' aliases (target comes from --target).
ENV_NAMES: dict[str, str] = {
    name: str(field.validation_alias)
    for name, field in DeploySettings.model_fields.items()
    if field.validation_alias
}


def _variable(info: ValidationInfo) -> str:
    return ENV_NAMES.get(str(info.field_name), str(info.field_name))


def _explain(error: ValidationError) -> str:
    """One message for every problem: our own checks' words, or pydantic's with the variable."""
    messages = []
    for problem in error.errors():
        cause = (problem.get("ctx") or {}).get("error")
        if isinstance(cause, SettingsError):
            messages.append(str(cause))
        else:
            where = ".".join(str(part) for part in problem["loc"])
            messages.append(f"{ENV_NAMES.get(where, where)}: {problem['msg']}")
    return "; ".join(messages)
