"""Keeps the local S3 buckets across restarts: moto holds objects in memory only.

Each bucket is mirrored into a folder (one file per object, named by a hash of its key, plus a
manifest of key -> ETag). Saving copies only objects whose ETag changed; restoring re-uploads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def _object_file(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _read_manifest(folder: Path) -> dict[str, str]:
    path = folder / MANIFEST
    if not path.exists():
        return {}
    manifest: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def list_etags(s3: Any, bucket: str) -> dict[str, str]:
    """Every key of the bucket with its ETag (unquoted), paginated."""
    etags: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            etags[item["Key"]] = item["ETag"].strip('"')
    return etags


def save_bucket(s3: Any, bucket: str, folder: Path) -> int:
    """Mirror the bucket into `folder`; returns the number of objects copied."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = _read_manifest(folder)
    current = list_etags(s3, bucket)
    copied = 0
    for key, etag in current.items():
        if saved.get(key) != etag:
            s3.download_file(bucket, key, str(folder / _object_file(key)))
            copied += 1
    for key in saved.keys() - current.keys():
        (folder / _object_file(key)).unlink(missing_ok=True)
    # write the manifest last: a crash mid-save leaves the old manifest, never a wrong one
    tmp = folder / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps(current, sort_keys=True), encoding="utf-8")
    tmp.replace(folder / MANIFEST)
    return copied


def restore_bucket(s3: Any, bucket: str, folder: Path) -> int:
    """Upload the mirrored objects missing from the bucket; returns the number uploaded."""
    saved = _read_manifest(folder)
    present = list_etags(s3, bucket) if saved else {}
    restored = 0
    for key, etag in saved.items():
        if present.get(key) != etag:
            # one PUT, not upload_file: a multipart upload would give a different ETag,
            # and the pipeline would see every restored file as changed
            with (folder / _object_file(key)).open("rb") as body:
                s3.put_object(Bucket=bucket, Key=key, Body=body)
            restored += 1
    return restored
