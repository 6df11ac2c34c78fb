"""Where the dashboard reads from: the warehouse session and the thumbnails, one seam each.

Inside Streamlit in Snowflake the app has Snowflake's active session, and a thumbnail is shown
from a pre-signed URL Snowflake signs for the thumbnails stage (GET_PRESIGNED_URL on an
external stage through its storage integration, at most 3,600 s for an IAM-role integration:
https://docs.snowflake.com/en/sql-reference/functions/get_presigned_url; Streamlit in Snowflake
loads images from external domains: https://docs.snowflake.com/en/developer-guide/streamlit/
limitations). Locally both come from the embedded stack: its session (`open_session`) and its
S3 client (`s3_client`, the stack's one seam to the buckets) reading the thumbnails bucket.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import streamlit as st

from orchestration.ops_queries import query

# How long a signed thumbnail URL lives (GET_PRESIGNED_URL's maximum for an IAM-role stage):
# the page is re-run long before that, and a re-run signs again.
PRESIGNED_URL_SECONDS = 3_600


class Thumbnails(Protocol):
    def image(self, key: str) -> bytes | str | None:
        """The thumbnail at `key` (bytes or a URL st.image shows), None when there is none."""
        ...


@dataclass(frozen=True)
class BucketThumbnails:
    """The thumbnails bucket read with the stack's S3 client (locally)."""

    s3: Any
    bucket: str

    def image(self, key: str) -> bytes | None:
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return None
        return bytes(response["Body"].read())


@dataclass(frozen=True)
class StageThumbnails:
    """Pre-signed URLs of the thumbnails stage (in Streamlit in Snowflake)."""

    session: Any

    def image(self, key: str) -> str | None:
        rows = query(self.session, "thumbnail_url", [key, PRESIGNED_URL_SECONDS])
        return str(rows[0]["presigned_url"]) if rows and rows[0]["presigned_url"] else None


@dataclass(frozen=True)
class Sources:
    session: Any
    thumbnails: Thumbnails


def open_sources() -> Sources:
    """Snowflake's active session and stage in Streamlit in Snowflake; else the stack's."""
    try:
        # the app is an adapter (its own deployable), not a step core
        from snowflake.snowpark.context import get_active_session  # noqa: TID251

        session = get_active_session()
    except Exception:  # not inside Snowflake: the local warehouse and bucket
        from orchestration.local.stack import StackSettings, open_session, s3_client

        settings = StackSettings.from_env()
        return Sources(
            open_session(settings),
            BucketThumbnails(s3_client(settings), settings.thumbnails_bucket),
        )
    return Sources(session, StageThumbnails(session))


@st.cache_resource
def cached_sources(warehouse_port: str | None, s3_port: str | None) -> Sources:
    """One session and one S3 client for the app's lifetime (the ports key the local ones)."""
    return open_sources()


def sources() -> Sources:
    return cached_sources(
        os.environ.get("PIXELFORGE_WAREHOUSE_PORT"), os.environ.get("PIXELFORGE_S3_PORT")
    )
