"""The embedded stack's settings: where it keeps its state, its loopback ports and buckets.

`StackSettings` is the value every local module is given; `StackSettings.from_env` reads it from
the PIXELFORGE_* environment variables with pydantic-settings (the defaults below when unset; a
bad value is a StackError that names the variable and says what it must be).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATABASE = "PIXELFORGE"
ENV_PREFIX = "PIXELFORGE_"
# Client env every child and tool gets: no cloud metadata probes, no usage pings.
QUIET_ENV = {
    "SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}
AWS_LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class StackError(Exception):
    """The embedded stack could not start or be reached, or its settings are wrong."""


def default_render_workers() -> int:
    return min(os.cpu_count() or 2, 4)


Port = Annotated[int, Field(gt=0, lt=65536)]
# What a bad value must be instead, per field (the rest: pydantic's own message).
EXPECTED = {
    "warehouse_port": "a port number",
    "s3_port": "a port number",
    "render_port": "a port number",
    "render_workers": "a number of workers (1 or more)",
}


class StackEnvironment(BaseSettings):
    """The PIXELFORGE_* variables of the embedded stack (parsed, not yet resolved)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True)

    data_dir: Path = Path(".pixelforge")
    warehouse_port: Port = 18765
    s3_port: Port = 19000
    render_port: Port = 18780
    designs_bucket: str = "pixelforge-designs"
    thumbnails_bucket: str = "pixelforge-thumbnails"
    render_workers: Annotated[int, Field(ge=1)] = Field(default_factory=default_render_workers)
    statement_log: Path | None = None

    @field_validator("statement_log", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value


def _stack_error(error: ValidationError) -> StackError:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        expected = EXPECTED.get(field, item["msg"])
        problems.append(f"{ENV_PREFIX}{field.upper()}={item['input']!r} is not {expected}")
    return StackError("; ".join(problems))


@dataclass(frozen=True)
class StackSettings:
    data_dir: Path
    warehouse_port: int = 18765
    s3_port: int = 19000
    render_port: int = 18780
    designs_bucket: str = "pixelforge-designs"
    thumbnails_bucket: str = "pixelforge-thumbnails"
    render_workers: int = 2
    statement_log: Path | None = None
    # How long the connector retries a failing request (a refused connection, an HTTP 500)
    # before it gives up; a statement that runs long is not cut by it (the connector's docs:
    # "Network requests besides login requests will not be retried after this timeout
    # expires"). Without it a fakesnow HTTP 500 is retried for minutes.
    network_timeout_s: int = 30

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> StackSettings:
        """From the environment; `data_dir` given wins over PIXELFORGE_DATA_DIR."""
        try:
            env = StackEnvironment()
        except ValidationError as error:
            raise _stack_error(error) from None
        return cls(
            data_dir=(data_dir or env.data_dir).resolve(),
            warehouse_port=env.warehouse_port,
            s3_port=env.s3_port,
            render_port=env.render_port,
            designs_bucket=env.designs_bucket,
            thumbnails_bucket=env.thumbnails_bucket,
            render_workers=env.render_workers,
            statement_log=env.statement_log.resolve() if env.statement_log else None,
        )

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def render_url(self) -> str:
        return f"http://127.0.0.1:{self.render_port}"

    def connection_parameters(self, schema: str = "RAW") -> dict[str, Any]:
        """Snowflake connector / Snowpark parameters for the local warehouse."""
        return {
            "user": "fake",
            "password": "snow",
            "account": "fakesnow",
            "host": "127.0.0.1",
            "port": self.warehouse_port,
            "protocol": "http",
            "database": DATABASE,
            "schema": schema,
            "warehouse": "PIXELFORGE_WH",
            "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
            "network_timeout": self.network_timeout_s,
            "login_timeout": 10,
        }

    def client_env(self) -> dict[str, str]:
        """Environment for dbt, the renderer and shells pointed at this stack."""
        return {
            **QUIET_ENV,
            **AWS_LOCAL_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.s3_endpoint,
            "PIXELFORGE_WAREHOUSE_PORT": str(self.warehouse_port),
            "PIXELFORGE_DESIGNS_BUCKET": self.designs_bucket,
            "PIXELFORGE_THUMBNAILS_BUCKET": self.thumbnails_bucket,
            "PIXELFORGE_RENDER_WORKERS": str(self.render_workers),
        }
