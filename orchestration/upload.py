"""`pixelforge upload`: a person's own files or folders into the local designs bucket.

Two parts. `plan_uploads` is pure filesystem reading: each folder given is walked and its files
keyed by their path relative to that folder (POSIX separators, an optional prefix); a file given
directly is keyed by its name. Hidden entries (names starting with "."), symbolic links to
folders and anything that is not a regular file (sockets, FIFOs, devices) are skipped and listed;
a path that does not exist, or two files that would get the same key, stop the plan before
anything is sent. `upload_files` takes an S3 client (the seam: moto's server locally) and puts each
file with boto3's managed transfer as one PUT, so the object's ETag is the file's MD5. A file whose
object already has the same size and that ETag is left alone: uploading twice sends nothing twice.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

MAX_KEY_BYTES = 1024  # S3's limit on an object key (UTF-8)
# One PUT up to S3's single-request limit: the ETag stays the MD5 that unchanged files are
# recognised by (and that production's read check compares a file's bytes with).
SINGLE_PUT = TransferConfig(multipart_threshold=5 * 1024**3, max_concurrency=4)
HASH_CHUNK = 1024 * 1024


class UploadError(Exception):
    """A path given does not exist, or two files would share one key: nothing was uploaded."""


@dataclass(frozen=True)
class FileUpload:
    path: Path
    key: str
    size: int


@dataclass(frozen=True)
class UploadPlan:
    files: tuple[FileUpload, ...]
    skipped: tuple[tuple[Path, str], ...]  # (path, why)

    @property
    def total_bytes(self) -> int:
        return sum(item.size for item in self.files)


@dataclass(frozen=True)
class UploadResult:
    uploaded: tuple[str, ...]
    unchanged: tuple[str, ...]


def _key(prefix: str, relative: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{relative}" if prefix else relative


def _walk(folder: Path, prefix: str) -> tuple[list[FileUpload], list[tuple[Path, str]]]:
    files: list[FileUpload] = []
    skipped: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        for name in list(dirnames):
            if name.startswith(".") or (here / name).is_symlink():
                dirnames.remove(name)
                why = "hidden" if name.startswith(".") else "symbolic link to a folder"
                skipped.append((here / name, why))
        for name in filenames:
            path = here / name
            if name.startswith("."):
                skipped.append((path, "hidden"))
            elif not path.is_file():
                skipped.append((path, "not a regular file"))
            else:
                relative = path.relative_to(folder).as_posix()
                files.append(FileUpload(path, _key(prefix, relative), path.stat().st_size))
    return files, skipped


def plan_uploads(paths: Sequence[Path], prefix: str = "") -> UploadPlan:
    """The files to upload and their keys, and what was skipped with the reason."""
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise UploadError(f"no such file or folder: {', '.join(missing)}")
    files: list[FileUpload] = []
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found, passed_over = _walk(path, prefix)
            files += found
            skipped += passed_over
        elif path.is_file():
            files.append(FileUpload(path, _key(prefix, path.name), path.stat().st_size))
        else:
            skipped.append((path, "not a regular file or folder"))
    by_key: dict[str, Path] = {}
    for item in files:
        if item.key in by_key:
            raise UploadError(
                f"{by_key[item.key]} and {item.path} would both be uploaded as {item.key!r}: "
                "upload them separately with different --prefix values"
            )
        by_key[item.key] = item.path
    too_long = [item for item in files if len(item.key.encode("utf-8")) > MAX_KEY_BYTES]
    skipped += [(item.path, f"key longer than {MAX_KEY_BYTES} bytes") for item in too_long]
    kept = sorted((item for item in files if item not in too_long), key=lambda item: item.key)
    return UploadPlan(tuple(kept), tuple(skipped))


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_unchanged(s3: Any, bucket: str, item: FileUpload) -> bool:
    """The bucket already holds this file: same size and an ETag equal to its MD5."""
    try:
        head = s3.head_object(Bucket=bucket, Key=item.key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    if head["ContentLength"] != item.size:
        return False
    return str(head["ETag"]).strip('"') == file_md5(item.path)


def upload_files(
    s3: Any,
    bucket: str,
    plan: UploadPlan,
    on_bytes: Callable[[int], None] = lambda _sent: None,
    on_file: Callable[[FileUpload, bool], None] = lambda _item, _sent: None,
) -> UploadResult:
    """Put each planned file not already in the bucket; `on_bytes` hears the bytes sent (or
    passed over, for an unchanged file), `on_file` each file and whether it was sent."""
    uploaded: list[str] = []
    unchanged: list[str] = []
    for item in plan.files:
        if is_unchanged(s3, bucket, item):
            unchanged.append(item.key)
            on_bytes(item.size)
            on_file(item, False)
            continue
        s3.upload_file(str(item.path), bucket, item.key, Config=SINGLE_PUT, Callback=on_bytes)
        uploaded.append(item.key)
        on_file(item, True)
    return UploadResult(tuple(uploaded), tuple(unchanged))
