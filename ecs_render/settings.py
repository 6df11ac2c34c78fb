"""Settings of the render service, read once from the environment at the entry point.

boto3 keeps its own variables (AWS_REGION, AWS_ENDPOINT_URL, credentials); ours are PIXELFORGE_*.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

MIB = 1024 * 1024
# API Gateway ends a request at 29 s; a POST that waits this long for its batch must leave room
# for the response itself.
MAX_SYNC_WAIT_S = 25.0
MIN_WORKER_MEMORY_MIB = 512
# Rows one batch may carry. Snowflake never sends more than the external function's
# MAX_BATCH_ROWS ("CREATE EXTERNAL FUNCTION", https://docs.snowflake.com/en/sql-reference/sql/
# create-external-function), which orchestration/deploy/budget.py derives (45 today); this cap
# must stay at or above it (tests/hostile/test_hostile_endpoint.py checks), and bounds what a
# caller that is not Snowflake can make one request cost.
DEFAULT_MAX_BATCH_ROWS = 64
# Batches running at once on one task. The budget plans for 8 in flight per task
# (concurrent_batches_per_task); past this cap a new batch is answered 503 with Retry-After, a
# status Snowflake retries with the same batch id ("External functions best practices",
# https://docs.snowflake.com/en/sql-reference/external-functions-best-practices).
DEFAULT_MAX_RUNNING_BATCHES = 16


class SettingsError(ValueError):
    """Raised when a PIXELFORGE_* variable has a value the service cannot run with."""


@dataclass(frozen=True)
class RenderSettings:
    designs_bucket: str = "pixelforge-designs"
    designs_prefix: str = ""
    thumbnails_bucket: str = "pixelforge-thumbnails"
    thumbnail_sizes: tuple[int, ...] = (1024, 256)
    render_workers: int = 1
    render_timeout_s: float = 60.0
    max_source_bytes: int = 256 * MIB
    # How long a POST carrying a batch id waits for its batch before answering 202.
    sync_wait_s: float = 20.0
    # RLIMIT_AS of each decode worker: address space, not resident memory (the interpreter and
    # the decoders map about 0.3 GiB before the first file; measured peaks: 1.06 GiB for a
    # 177 MP 16-bit grey PNG, 0.69 GiB for a 200 MB TIFF, 0.54 GiB for a 20 MP 16-bit PSD).
    # Four workers fit the 8 GiB task. Past it an allocation fails: the row is render_failed.
    worker_memory_limit_mib: int = 2048
    # Decode workers refuse to start without their seccomp filter unless this is set (a kernel
    # or container without seccomp; never in production).
    allow_unconfined: bool = False
    max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS
    max_running_batches: int = DEFAULT_MAX_RUNNING_BATCHES

    def __post_init__(self) -> None:
        for name in ("designs_bucket", "thumbnails_bucket"):
            _check_bucket_name(name, getattr(self, name))
        sizes = self.thumbnail_sizes
        if not sizes or any(size < 1 or size > 8192 for size in sizes):
            raise SettingsError(f"PIXELFORGE_THUMBNAIL_SIZES must be 1..8192 px each, got {sizes}")
        if len(set(sizes)) != len(sizes):
            raise SettingsError(f"PIXELFORGE_THUMBNAIL_SIZES must be distinct, got {sizes}")
        if self.render_workers < 1:
            raise SettingsError(
                f"PIXELFORGE_RENDER_WORKERS must be >= 1, got {self.render_workers}"
            )
        if not (math.isfinite(self.render_timeout_s) and self.render_timeout_s > 0):
            raise SettingsError(
                f"PIXELFORGE_RENDER_TIMEOUT_S must be > 0 and finite, got {self.render_timeout_s}"
            )
        if self.max_source_bytes < 1:
            raise SettingsError(
                f"PIXELFORGE_MAX_SOURCE_BYTES must be >= 1, got {self.max_source_bytes}"
            )
        if self.worker_memory_limit_mib < MIN_WORKER_MEMORY_MIB:
            raise SettingsError(
                f"PIXELFORGE_RENDER_WORKER_MEMORY_MIB must be >= {MIN_WORKER_MEMORY_MIB} (the "
                f"decoders alone map about that much), got {self.worker_memory_limit_mib}"
            )
        if not (math.isfinite(self.sync_wait_s) and 0 <= self.sync_wait_s <= MAX_SYNC_WAIT_S):
            raise SettingsError(
                f"PIXELFORGE_RENDER_SYNC_WAIT_S must be 0..{MAX_SYNC_WAIT_S:g} s (API Gateway "
                f"ends a request at 29 s), got {self.sync_wait_s}"
            )
        if self.max_batch_rows < 1:
            raise SettingsError(
                f"PIXELFORGE_RENDER_MAX_BATCH_ROWS must be >= 1, got {self.max_batch_rows}"
            )
        if self.max_running_batches < 1:
            raise SettingsError(
                "PIXELFORGE_RENDER_MAX_RUNNING_BATCHES must be >= 1, "
                f"got {self.max_running_batches}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RenderSettings:
        """Build the settings from PIXELFORGE_* variables (os.environ unless given)."""
        env = os.environ if environ is None else environ
        return cls(
            designs_bucket=env.get("PIXELFORGE_DESIGNS_BUCKET", cls.designs_bucket),
            designs_prefix=env.get("PIXELFORGE_DESIGNS_PREFIX", cls.designs_prefix),
            thumbnails_bucket=env.get("PIXELFORGE_THUMBNAILS_BUCKET", cls.thumbnails_bucket),
            thumbnail_sizes=_sizes(env, "PIXELFORGE_THUMBNAIL_SIZES", cls.thumbnail_sizes),
            render_workers=_int(env, "PIXELFORGE_RENDER_WORKERS", os.cpu_count() or 1),
            render_timeout_s=_float(env, "PIXELFORGE_RENDER_TIMEOUT_S", cls.render_timeout_s),
            max_source_bytes=_int(env, "PIXELFORGE_MAX_SOURCE_BYTES", cls.max_source_bytes),
            sync_wait_s=_float(env, "PIXELFORGE_RENDER_SYNC_WAIT_S", cls.sync_wait_s),
            worker_memory_limit_mib=_int(
                env, "PIXELFORGE_RENDER_WORKER_MEMORY_MIB", cls.worker_memory_limit_mib
            ),
            allow_unconfined=_bool(env, "PIXELFORGE_RENDER_ALLOW_UNCONFINED", cls.allow_unconfined),
            max_batch_rows=_int(env, "PIXELFORGE_RENDER_MAX_BATCH_ROWS", cls.max_batch_rows),
            max_running_batches=_int(
                env, "PIXELFORGE_RENDER_MAX_RUNNING_BATCHES", cls.max_running_batches
            ),
        )


def _check_bucket_name(field: str, value: str) -> None:
    # S3's rule (3-63 chars) catches an empty or mistyped variable before the first request.
    if not 3 <= len(value) <= 63 or "/" in value:
        raise SettingsError(
            f"PIXELFORGE_{field.upper()} must be an S3 bucket name (3-63 chars, no '/'), "
            f"got {value!r}"
        )


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    # An empty variable means "use the default", as with most tools' env handling.
    return value.strip() if value and value.strip() else None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None


def _sizes(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        return tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise SettingsError(
            f"{name} must be comma-separated pixel sizes like '1024,256', got {raw!r}"
        ) from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _raw(env, name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes"}:
        return True
    if raw.lower() in {"0", "false", "no"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")
