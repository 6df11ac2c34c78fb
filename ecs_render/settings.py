"""Settings of the render service, read once from the environment at the entry point.

boto3 keeps its own variables (AWS_REGION, AWS_ENDPOINT_URL, credentials); ours are PIXELFORGE_*,
parsed and validated by pydantic-settings. Constructing RenderSettings directly reads no
environment (tests and the local stack pass values); RenderSettings.from_env() does. Every bad
value is a SettingsError naming its variable. The thumbnail sizes are not a setting: the
procedures and the renderer must agree on them (pixelforge_core.render_wire.THUMBNAIL_SIZES).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.sources import PydanticBaseSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

MIB = 1024 * 1024
# API Gateway ends a request at 29 s; a POST that waits this long for its batch must leave room
# for the response itself.
MAX_SYNC_WAIT_S = 25.0
MIN_WORKER_MEMORY_MIB = 512
# Rows one batch may carry. Snowflake never sends more than the external function's
# MAX_BATCH_ROWS ("CREATE EXTERNAL FUNCTION", https://docs.snowflake.com/en/sql-reference/sql/
# create-external-function), which pixelforge_core/render_budget.py derives (45 today); this cap
# must stay at or above it (tests/hostile/test_hostile_endpoint.py checks), and bounds what a
# caller that is not Snowflake can make one request cost.
DEFAULT_MAX_BATCH_ROWS = 64
# Batches running at once on one task. The budget plans for 8 in flight per task
# (concurrent_batches_per_task); past this cap a new batch is answered 503 with Retry-After, a
# status Snowflake retries with the same batch id ("External functions best practices",
# https://docs.snowflake.com/en/sql-reference/external-functions-best-practices).
DEFAULT_MAX_RUNNING_BATCHES = 16
# Read by earlier versions; refused so that a task definition still setting it fails loudly.
REMOVED_VARIABLES = {
    "PIXELFORGE_THUMBNAIL_SIZES": "thumbnail sizes are fixed in "
    "pixelforge_core.render_wire.THUMBNAIL_SIZES, which the procedures share",
}

# The environment from_env() reads; None: settings built directly read none.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("render_environ", default=None)


class SettingsError(ValueError):
    """Raised when a PIXELFORGE_* variable has a value the service cannot run with."""


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


class RenderSettings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        # An empty variable means "use the default", as with most tools' env handling.
        env_ignore_empty=True,
        str_strip_whitespace=True,
        extra="ignore",
    )

    designs_bucket: str = Field("pixelforge-designs", validation_alias="PIXELFORGE_DESIGNS_BUCKET")
    designs_prefix: str = Field("", validation_alias="PIXELFORGE_DESIGNS_PREFIX")
    thumbnails_bucket: str = Field(
        "pixelforge-thumbnails", validation_alias="PIXELFORGE_THUMBNAILS_BUCKET"
    )
    render_workers: int = Field(1, validation_alias="PIXELFORGE_RENDER_WORKERS")
    render_timeout_s: float = Field(60.0, validation_alias="PIXELFORGE_RENDER_TIMEOUT_S")
    max_source_bytes: int = Field(256 * MIB, validation_alias="PIXELFORGE_MAX_SOURCE_BYTES")
    # How long a POST carrying a batch id waits for its batch before answering 202.
    sync_wait_s: float = Field(20.0, validation_alias="PIXELFORGE_RENDER_SYNC_WAIT_S")
    # RLIMIT_AS of each decode worker: address space, not resident memory (the interpreter and
    # the decoders map about 0.3 GiB before the first file; measured peaks: 1.06 GiB for a
    # 177 MP 16-bit grey PNG, 0.69 GiB for a 200 MB TIFF, 0.54 GiB for a 20 MP 16-bit PSD).
    # Four workers fit the 8 GiB task. Past it an allocation fails: the row is render_failed.
    worker_memory_limit_mib: int = Field(
        2048, validation_alias="PIXELFORGE_RENDER_WORKER_MEMORY_MIB"
    )
    # Decode workers refuse to start without their seccomp filter unless this is set (a kernel
    # or container without seccomp; never in production).
    allow_unconfined: bool = Field(False, validation_alias="PIXELFORGE_RENDER_ALLOW_UNCONFINED")
    max_batch_rows: int = Field(
        DEFAULT_MAX_BATCH_ROWS, validation_alias="PIXELFORGE_RENDER_MAX_BATCH_ROWS"
    )
    max_running_batches: int = Field(
        DEFAULT_MAX_RUNNING_BATCHES, validation_alias="PIXELFORGE_RENDER_MAX_RUNNING_BATCHES"
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsError(_describe(error)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _ENVIRON.get()
        if environ is None:
            return (init_settings,)
        # the environment wins over from_env's computed defaults
        return (_MappingEnvSource(settings_cls, environ), init_settings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RenderSettings:
        """Build the settings from PIXELFORGE_* variables (os.environ unless given)."""
        env = os.environ if environ is None else environ
        for name, reason in REMOVED_VARIABLES.items():
            if name in env:
                raise SettingsError(f"{name} is no longer read: {reason}; unset it")
        with _reading(env):
            return cls(render_workers=os.cpu_count() or 1)

    @field_validator("designs_bucket", "thumbnails_bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        # S3's rule (3-63 chars) catches an empty or mistyped variable before the first request.
        if not 3 <= len(value) <= 63 or "/" in value:
            raise ValueError(f"must be an S3 bucket name (3-63 chars, no '/'), got {value!r}")
        return value

    @field_validator("render_workers", "max_source_bytes", "max_batch_rows", "max_running_batches")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be >= 1, got {value}")
        return value

    @field_validator("render_timeout_s")
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"must be > 0 and finite, got {value}")
        return value

    @field_validator("worker_memory_limit_mib")
    @classmethod
    def _worker_memory(cls, value: int) -> int:
        if value < MIN_WORKER_MEMORY_MIB:
            raise ValueError(
                f"must be >= {MIN_WORKER_MEMORY_MIB} (the decoders alone map about that much), "
                f"got {value}"
            )
        return value

    @field_validator("sync_wait_s")
    @classmethod
    def _sync_wait(cls, value: float) -> float:
        if not (math.isfinite(value) and 0 <= value <= MAX_SYNC_WAIT_S):
            raise ValueError(
                f"must be 0..{MAX_SYNC_WAIT_S:g} s (API Gateway ends a request at 29 s), "
                f"got {value}"
            )
        return value


@contextmanager
def _reading(environ: Mapping[str, str]) -> Iterator[None]:
    token = _ENVIRON.set(environ)
    try:
        yield
    finally:
        _ENVIRON.reset(token)


def _describe(error: ValidationError) -> str:
    """Each problem as `PIXELFORGE_<NAME> <what is wrong>`, whichever way the value came."""
    aliases = {
        name: str(field.validation_alias) for name, field in RenderSettings.model_fields.items()
    }
    problems = []
    for item in error.errors(include_url=False):
        where = str(item["loc"][0]) if item["loc"] else "settings"
        variable = aliases.get(where, where)
        if item["type"] == "value_error":  # our validators' own words
            problems.append(f"{variable} {item['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(f"{variable} is invalid ({item['msg']}), got {item['input']!r}")
    return "; ".join(problems)
