"""Records passed between the pipeline's steps: plain, frozen, typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pixelforge_core.facets import FacetResult

# What raw.file_changes.change_type holds (the dbt models' accepted values are held equal by
# tests/snowpark_procs/test_run_config.py): discovered changes, a backfill's window, a
# reconciliation's repair, a re-processing's chosen current versions.
ChangeType = Literal["new", "updated", "deleted", "backfill", "repair", "reprocess"]


@dataclass(frozen=True)
class FileEntry:
    """One row of the designs directory table (Snowflake's column names, lower-cased)."""

    relative_path: str
    size: int
    last_modified: datetime
    md5: str | None
    etag: str


@dataclass(frozen=True)
class FileChange:
    """A file version a run must process; the natural key is (relative_path, etag)."""

    relative_path: str
    etag: str
    size: int
    last_modified: datetime
    change_type: ChangeType


@dataclass(frozen=True)
class DesignMetadata:
    """What extraction learned about a readable design file."""

    format: str
    width_px: int | None
    height_px: int | None
    mode: str | None
    bit_depth: int | None
    dpi_x: float | None
    dpi_y: float | None
    frame_count: int | None
    page_count: int | None
    layer_count: int | None
    exif: dict[str, str] = field(default_factory=dict)
    sha256: str = ""
    size_bytes: int = 0
    # The facets extraction computed (pixelforge_core/facets.py), one result each; a facet the
    # file's format is not covered by, or that the caller did not ask for, is absent.
    facets: tuple[FacetResult, ...] = ()


@dataclass(frozen=True)
class MetadataFailure:
    """A file that could not be read; reason_code is one of dbt_project/seeds/quality_rules.csv."""

    reason_code: str
    message: str
    sha256: str | None = None
    size_bytes: int | None = None
    format: str | None = None
