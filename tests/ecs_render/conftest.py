"""Real services for the render service's tests: a moto S3 server on loopback and two buckets."""

from __future__ import annotations

import functools
import hashlib
import io
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from ecs_render.settings import RenderSettings
from orchestration.local.loopback import free_port

DESIGNS_BUCKET = "test-designs"
THUMBNAILS_BUCKET = "test-thumbnails"
DESIGNS_PREFIX = "designs/"


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@functools.cache
def seccomp_unavailable() -> str:
    """Why this kernel cannot confine a decode worker ("" when it can), tried in a child."""
    probe = subprocess.run(
        [sys.executable, "-c", "from ecs_render import sandbox; sandbox.install_seccomp_filter()"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stderr.strip().splitlines()[-1] if probe.returncode else ""


def make_settings(**overrides) -> RenderSettings:
    values = {
        # Only where the kernel has no seccomp filter: the security tests skip there instead.
        "allow_unconfined": bool(seccomp_unavailable()),
        "designs_bucket": DESIGNS_BUCKET,
        "designs_prefix": DESIGNS_PREFIX,
        "thumbnails_bucket": THUMBNAILS_BUCKET,
        "render_workers": 2,
        "render_timeout_s": 30.0,
        "max_source_bytes": 4 * 1024 * 1024,
    }
    return RenderSettings(**{**values, **overrides})


def make_png(seed: int, size: tuple[int, int] = (1200, 800)) -> bytes:
    """A noisy RGB PNG whose bytes (and so sha256) differ for every seed."""
    rng = random.Random(seed)
    tile = Image.frombytes("RGB", (64, 64), rng.randbytes(64 * 64 * 3))
    image = tile.resize(size)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)  # fast; size hardly matters here
    return out.getvalue()


@dataclass(frozen=True)
class Uploaded:
    relative_path: str
    etag: str
    sha256: str
    size_bytes: int

    def row(self, row_number: int) -> list:
        return [row_number, self.relative_path, self.etag, self.sha256, self.size_bytes]


class DesignStore:
    """Test-side access to the moto buckets through a real boto3 client."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def upload(self, relative_path: str, data: bytes) -> Uploaded:
        response = self.s3.put_object(
            Bucket=DESIGNS_BUCKET, Key=DESIGNS_PREFIX + relative_path, Body=data
        )
        return Uploaded(
            relative_path, response["ETag"].strip('"'), hashlib.sha256(data).hexdigest(), len(data)
        )

    def delete(self, relative_path: str) -> None:
        self.s3.delete_object(Bucket=DESIGNS_BUCKET, Key=DESIGNS_PREFIX + relative_path)

    def thumbnail_versions(self, prefix: str) -> list[dict]:
        """Every stored version under prefix: a second write would show up here."""
        response = self.s3.list_object_versions(Bucket=THUMBNAILS_BUCKET, Prefix=prefix)
        return response.get("Versions", [])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    store = DesignStore(endpoint)
    store.s3.create_bucket(Bucket=DESIGNS_BUCKET)
    store.s3.create_bucket(Bucket=THUMBNAILS_BUCKET)
    # Versioning makes "never a second object" checkable: an overwrite adds a version.
    store.s3.put_bucket_versioning(
        Bucket=THUMBNAILS_BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    yield endpoint
    server.stop()


@pytest.fixture(scope="module")
def s3_env(moto_endpoint: str) -> Iterator[dict[str, str]]:
    """boto3's variables pointed at moto, for this module only (spawned workers inherit them)."""
    env = aws_env(moto_endpoint)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture(scope="session")
def store(moto_endpoint: str) -> DesignStore:
    return DesignStore(moto_endpoint)


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """A per-test seed so every test uploads its own content (content-addressed keys)."""
    return int(hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:8], 16)
