"""Local counterpart of the stages' directory tables and their auto-refresh."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal

from snowflake.snowpark import Session

from orchestration.local.sql import local_sql_statements

LISTING_BATCH_ROWS = 5000
Directory = Literal["designs", "thumbnails"]


@dataclass(frozen=True)
class DirectoryRefresh:
    directory: Directory
    files_listed: int


def _listing_row(item: dict[str, Any], prefix: str) -> dict[str, Any]:
    etag = item["ETag"].strip('"')
    return {
        "relative_path": item["Key"][len(prefix) :],
        "size": item["Size"],
        "last_modified": item["LastModified"].astimezone(UTC).replace(tzinfo=None).isoformat(),
        # a multipart ETag is not a content MD5
        "md5": None if "-" in etag else etag,
        "etag": etag,
    }


def refresh_directory(
    session: Session, s3: Any, bucket: str, directory: Directory, prefix: str = ""
) -> DirectoryRefresh:
    """List the bucket (paginated) into the directory's listing; for the designs directory,
    apply it to raw.designs_directory in one pass, as a stage refresh does."""
    (load_sql,) = local_sql_statements("load_directory_listing")
    for statement in local_sql_statements("begin_directory_listing"):
        session.sql(statement, params=[directory]).collect()
    listed = 0
    batch: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/"):
                continue  # folder placeholders are not files
            batch.append(_listing_row(item, prefix))
            if len(batch) == LISTING_BATCH_ROWS:
                session.sql(load_sql, params=[directory, json.dumps(batch)]).collect()
                listed += len(batch)
                batch = []
    if batch:
        session.sql(load_sql, params=[directory, json.dumps(batch)]).collect()
        listed += len(batch)
    if directory == "designs":
        for statement in local_sql_statements("apply_directory_listing"):
            session.sql(statement).collect()
    return DirectoryRefresh(directory, listed)
