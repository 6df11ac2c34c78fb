"""The dashboard's seam to the thumbnails (dashboard/sources.py): the bucket read with the stack's
S3 client locally, a URL the thumbnails stage signs inside Streamlit in Snowflake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dashboard.sources import PRESIGNED_URL_SECONDS, BucketThumbnails, StageThumbnails
from orchestration.sql import read_sql

BUCKET = "pixelforge-thumbnails"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_the_bucket_gives_a_thumbnails_bytes_and_none_for_a_missing_key(s3):
    s3.put_object(Bucket=BUCKET, Key="v1/ab/cd/256.webp", Body=b"RIFF....WEBP")
    thumbnails = BucketThumbnails(s3, BUCKET)
    assert thumbnails.image("v1/ab/cd/256.webp") == b"RIFF....WEBP"
    assert thumbnails.image("v1/ab/cd/1024.webp") is None


class Row:
    def __init__(self, **values: Any) -> None:
        self.values = values

    def as_dict(self) -> dict[str, Any]:
        return self.values


class RecordingSession:
    """Answers the signing query as Snowflake would, recording what it was sent."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.sent: list[tuple[str, list[Any]]] = []

    def sql(self, text: str, params: list[Any]) -> RecordingSession:
        self.sent.append((text, params))
        return self

    def collect(self) -> list[Row]:
        return [Row(PRESIGNED_URL=self.url)]


def test_the_stage_signs_a_url_for_the_key_for_an_hour():
    session = RecordingSession(
        "https://pixelforge-thumbnails.s3.amazonaws.com/v1/x?X-Amz-Signature=1"
    )
    assert StageThumbnails(session).image("v1/ab/cd/256.webp") == session.url
    assert session.sent == [(read_sql("thumbnail_url"), ["v1/ab/cd/256.webp", 3_600])]
    assert PRESIGNED_URL_SECONDS == 3_600  # GET_PRESIGNED_URL's maximum for an IAM-role stage
    assert StageThumbnails(RecordingSession(None)).image("v1/none") is None
