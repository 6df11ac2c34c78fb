"""`pixelforge upload`: the plan (keys relative to the folder given, what is skipped and why, a
missing path or a key clash refused before anything is sent), the upload through the S3 seam
(moto: every file once, an unchanged file never sent again, a changed one sent), and the command
on the embedded stack."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.local.loopback import free_port
from orchestration.local.settings import StackSettings
from orchestration.local.stack import STATE_FILE, LocalStack
from orchestration.upload import UploadError, plan_uploads, upload_files

BUCKET = "designs"


@pytest.fixture
def designs(tmp_path: Path) -> Path:
    """A person's folder: nested files, a hidden file and folder, a FIFO, a link to a folder."""
    root = tmp_path / "my designs"
    (root / "team-x" / "2026").mkdir(parents=True)
    (root / "team-x" / "2026" / "hero banner.png").write_bytes(b"\x89PNG" + b"a" * 5000)
    (root / "team-x" / "logo.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "cover.jpg").write_bytes(b"\xff\xd8\xff" + b"b" * 3000)
    (root / ".DS_Store").write_bytes(b"junk")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_bytes(b"ref")
    os.mkfifo(root / "pipe")
    (root / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    return root


def test_keys_are_relative_to_the_folder_given_and_non_files_are_skipped(designs: Path):
    plan = plan_uploads([designs])
    assert [item.key for item in plan.files] == [
        "cover.jpg",
        "team-x/2026/hero banner.png",
        "team-x/logo.svg",
    ]
    assert {(path.name, why) for path, why in plan.skipped} == {
        (".DS_Store", "hidden"),
        (".git", "hidden"),
        ("pipe", "not a regular file"),
        ("elsewhere", "symbolic link to a folder"),
    }
    assert plan.total_bytes == 5004 + 3003 + len(b"<svg xmlns='http://www.w3.org/2000/svg'/>")


def test_a_file_given_directly_is_keyed_by_its_name_under_the_prefix(designs: Path):
    plan = plan_uploads([designs / "cover.jpg", designs / "team-x"], prefix="/mine/")
    assert [item.key for item in plan.files] == [
        "mine/2026/hero banner.png",
        "mine/cover.jpg",
        "mine/logo.svg",
    ]


def test_a_missing_path_or_a_key_clash_stops_before_anything_is_sent(designs: Path):
    with pytest.raises(UploadError, match=r"no such file or folder: .*nowhere"):
        plan_uploads([designs, designs / "nowhere"])
    with pytest.raises(UploadError, match=r"would both be uploaded as 'logo\.svg'"):
        plan_uploads([designs / "team-x" / "logo.svg", designs / "team-x"])


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _objects(s3: Any) -> dict[str, tuple[str, Any]]:
    listing = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: (o["ETag"].strip('"'), o["LastModified"]) for o in listing}


def test_every_file_once_then_nothing_unchanged_then_only_the_changed_one(s3, designs: Path):
    plan = plan_uploads([designs])
    heard: list[int] = []
    first = upload_files(s3, BUCKET, plan, on_bytes=heard.append)
    assert first.uploaded == tuple(item.key for item in plan.files) and not first.unchanged
    assert sum(heard) == plan.total_bytes  # the progress bar reaches its total
    stored = _objects(s3)
    for item in plan.files:  # one PUT each: the ETag is the file's MD5
        assert stored[item.key][0] == hashlib.md5(item.path.read_bytes()).hexdigest()

    again = upload_files(s3, BUCKET, plan_uploads([designs]))
    assert not again.uploaded and again.unchanged == first.uploaded
    assert _objects(s3) == stored  # nothing was written again

    (designs / "cover.jpg").write_bytes(b"\xff\xd8\xff" + b"c" * 3000)  # same size, new bytes
    changed = upload_files(s3, BUCKET, plan_uploads([designs]))
    assert changed.uploaded == ("cover.jpg",)
    assert set(changed.unchanged) == {"team-x/2026/hero banner.png", "team-x/logo.svg"}
    assert _objects(s3)["cover.jpg"][0] != stored["cover.jpg"][0]


def test_the_command_refuses_a_missing_path_without_starting_a_stack(tmp_path: Path):
    result = CliRunner().invoke(
        app, ["upload", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path / "state")]
    )
    assert result.exit_code == 2
    assert "nothing uploaded" in result.output and "nowhere" in result.output
    assert not (tmp_path / "state").exists()


@pytest.mark.integration
def test_the_command_uploads_into_the_running_stack(tmp_path: Path, designs: Path):
    settings = StackSettings(
        data_dir=tmp_path / "stack",
        warehouse_port=free_port(),
        s3_port=free_port(),
        render_port=free_port(),
    )
    stack = LocalStack(settings)  # its own stack: the command must attach, not stop it
    stack.start()
    try:
        assert (stack.settings.data_dir / STATE_FILE).exists()
        env = {
            "PIXELFORGE_WAREHOUSE_PORT": str(stack.settings.warehouse_port),
            "PIXELFORGE_S3_PORT": str(stack.settings.s3_port),
            "PIXELFORGE_RENDER_PORT": str(stack.settings.render_port),
            "COLUMNS": "80",
        }
        args = ["upload", str(designs), "--data-dir", str(stack.settings.data_dir)]
        first = CliRunner().invoke(app, args, env=env)
        assert first.exit_code == 0, first.output
        assert "3 uploaded, 0 unchanged" in first.output and "4 skipped" in first.output
        keys = set(_objects_of(stack))
        assert keys >= {"cover.jpg", "team-x/2026/hero banner.png", "team-x/logo.svg"}
        second = CliRunner().invoke(app, args, env=env)
        assert second.exit_code == 0, second.output
        assert "0 uploaded, 3 unchanged" in second.output
        assert stack.is_running()  # attached, not stopped by the command
    finally:
        stack.stop()


def _objects_of(stack: LocalStack) -> dict[str, str]:
    listing = stack.s3().list_objects_v2(Bucket=stack.settings.designs_bucket)
    return {o["Key"]: o["ETag"] for o in listing.get("Contents", [])}


def test_python_dash_m_runs_the_command_and_lists_upload():
    """`python -m orchestration.cli` is the same command as `pixelforge`."""
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "upload" in result.stdout and "status" in result.stdout
