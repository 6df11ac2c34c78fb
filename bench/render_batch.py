"""Benchmark 2: one 15-minute batch through the render service over HTTP.

    python -m bench.render_batch [--full]

Starts a moto S3 server and `python -m ecs_render` (worker pool = this host's vCPUs) on free
loopback ports, uploads N unique design files (the design mix, each copy made unique by a
comment segment or chunk so that content-addressed thumbnails cannot be reused), and sends them
as one render statement through orchestration.local.external_function (the client the local
runner uses), which splits it into MAX_BATCH_ROWS batches sent several at once, as Snowflake
does. Reported: wall time, CPU seconds per file of the render service's process tree, and the
Fargate vCPUs 2,600 files need in the 10-minute render budget.
Reduced: 48 files; --full: 240 (a 2,600-file batch does not fit this host's memory in moto).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import psutil
from botocore.config import Config
from PIL import Image

from bench import corpus
from bench.approaches import kind_of
from bench.common import (
    REPO_ROOT,
    corpus_dir,
    parse_options,
    print_table,
    wait_for,
    write_results,
)
from bench.per_file import REDUCED_FILES
from bench.workload import load_prices
from ecs_render.thumbnails import render_thumbnails
from orchestration import corpus as demo
from orchestration.local.external_function import HttpRenderer, PollBackoff
from orchestration.local.loopback import free_port
from pixelforge_core.records import DesignMetadata
from pixelforge_core.render_wire import RenderRequest
from snowpark_procs.metadata import extract_metadata

DESIGNS, THUMBNAILS = "bench-designs", "bench-thumbnails"
FARGATE_VCPU_SIZES = (0.25, 0.5, 1, 2, 4, 8, 16)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def unique_variant(data: bytes, kind: str, number: int) -> bytes:
    """The same picture with different bytes: a comment the decoders skip."""
    tag = f"pixelforge bench copy {number}".encode()
    if kind == "jpeg":  # a COM segment right after SOI
        return data[:2] + b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag + data[2:]
    if kind == "png":  # a tEXt chunk right after IHDR (8-byte signature + 25-byte IHDR)
        body = b"Comment\x00" + tag
        chunk = len(body).to_bytes(4, "big") + b"tEXt" + body
        chunk += zlib.crc32(b"tEXt" + body).to_bytes(4, "big")
        return data[:33] + chunk + data[33:]
    if kind == "webp":  # an unknown RIFF chunk at the end, RIFF size updated
        body = tag + b"\x00" * (len(tag) % 2)
        chunk = b"PFBC" + len(body).to_bytes(4, "little") + body
        riff = (int.from_bytes(data[4:8], "little") + len(chunk)).to_bytes(4, "little")
        return data[:4] + riff + data[8:] + chunk
    if kind == "svg":
        return data + b"\n<!-- " + tag + b" -->\n"
    if kind == "pdf":
        return data + b"\n%" + tag + b"\n"
    return data + tag  # TIFF and PSD readers follow offsets and ignore trailing bytes


@contextlib.contextmanager
def services(workers: int, log_dir: Path) -> Iterator[dict[str, Any]]:
    """A moto S3 server and the render service on free loopback ports; stopped on exit."""
    s3_port, render_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{s3_port}"
    env = {
        **os.environ,
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        "PIXELFORGE_DESIGNS_BUCKET": DESIGNS,
        "PIXELFORGE_THUMBNAILS_BUCKET": THUMBNAILS,
        "PIXELFORGE_RENDER_WORKERS": str(workers),
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in (
            ("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)]),
            (
                "render",
                [sys.executable, "-m", "ecs_render", "--port", str(render_port), "--log-level",
                 "warning"],
            ),
        ):  # fmt: skip
            with (log_dir / f"{name}.log").open("wb") as log:
                children.append(
                    subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     cwd=REPO_ROOT, start_new_session=True)
                )  # fmt: skip
        wait_for(f"{endpoint}/moto-api/", children[0])
        wait_for(f"http://127.0.0.1:{render_port}/healthz", children[1])
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
        )
        yield {
            "s3": client,
            "render_url": f"http://127.0.0.1:{render_port}",
            "s3_pid": children[0].pid,
            "render_pid": children[1].pid,
        }
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def tree_cpu_s(pid: int) -> dict[int, float]:
    """user+sys CPU seconds of a process and each of its live descendants, by pid."""
    out: dict[int, float] = {}
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        for process in (root, *root.children(recursive=True)):
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                out[process.pid] = times.user + times.system
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def upload(client: Any, files: Sequence[tuple[Any, Path]], count: int) -> list[RenderRequest]:
    client.create_bucket(Bucket=DESIGNS)
    client.create_bucket(Bucket=THUMBNAILS)
    requests = []
    for number in range(count):
        item, path = files[number % len(files)]
        data = unique_variant(path.read_bytes(), item.kind, number)
        key = f"bench/{number:05d}/{item.name}"
        etag = client.put_object(Bucket=DESIGNS, Key=key, Body=data)["ETag"].strip('"')
        requests.append(RenderRequest(key, etag, hashlib.sha256(data).hexdigest(), len(data)))
    return requests


# One small file of every kind unique_variant knows (generated when checked, not at import).
VARIANT_SOURCES = {
    "a.jpg": lambda: demo.jpeg_large(640, 480, orientation=1),
    "a.png": lambda: demo.png_with_alpha(320, 240),
    "a.webp": lambda: demo.webp(320, 240),
    "a.tif": lambda: demo.tiff_16bit(320, 240),
    "a.psd": lambda: demo.psd_layered(320, 240),
    "a.pdf": lambda: demo.pdf_multipage(1, 0, 300, 400),
    "a.svg": lambda: demo.svg_simple(0, 300, 200),
}


def check_variants() -> list[str]:
    """The premise of the batch: a unique variant has other bytes, the same metadata kind and
    the same thumbnails as its source. Raises AssertionError naming the kind that breaks it;
    returns the kinds checked."""
    checked = []
    for name, make in VARIANT_SOURCES.items():
        data = make()
        kind = kind_of(Path(name))
        variant = unique_variant(data, kind, 7)
        assert variant != data, f"{kind}: the variant has the same bytes"
        metadata = extract_metadata(io.BytesIO(variant), name)
        assert isinstance(metadata, DesignMetadata), f"{kind}: the variant does not parse"
        before = render_thumbnails(io.BytesIO(data))
        after = render_thumbnails(io.BytesIO(variant))
        assert isinstance(before, list) and isinstance(after, list), f"{kind}: no thumbnails"
        assert [t.data for t in before] == [t.data for t in after], f"{kind}: picture changed"
        size = Image.open(io.BytesIO(after[0].data)).size
        assert size == (after[0].width_px, after[0].height_px), f"{kind}: thumbnail size"
        checked.append(kind)
    return checked


def fargate_task_vcpu(needed: float) -> float:
    return next((size for size in FARGATE_VCPU_SIZES if size >= needed), FARGATE_VCPU_SIZES[-1])


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options = parse_options(__doc__ or "", argv)
    prices = load_prices()
    workload, assumptions = prices["workload"], prices["assumptions"]
    variants_checked = check_variants()
    count = 6 if options.smoke else 240 if options.full else 48
    scale = 0.1 if options.smoke else 1.0
    # The batch is the design mix without files over 32 MiB (the average file is 5 MB).
    mix = [f for f in corpus.mix_files(scale) if f.name in REDUCED_FILES]
    files = corpus.materialize(mix, corpus_dir(options) / f"mix-{scale}", f"mix-{scale}")
    workers = os.cpu_count() or 1
    log_dir = options.results_dir / "logs" / "render_batch"
    with services(workers, log_dir) as stack:
        requests = upload(stack["s3"], files, count)
        megabytes = sum(r.size_bytes for r in requests) / 1e6
        print(f"uploaded {count} unique files ({megabytes:.0f} MB) to moto; {workers} workers")
        renderer = HttpRenderer(
            stack["render_url"], backoff=PollBackoff(first_s=0.1, factor=1.0, max_s=0.1)
        )
        render_before, s3_before = tree_cpu_s(stack["render_pid"]), tree_cpu_s(stack["s3_pid"])
        started = time.perf_counter()
        results = renderer.render(requests)  # one statement: batches sent as Snowflake does
        wall_s = time.perf_counter() - started
        render_cpu = cpu_delta(render_before, tree_cpu_s(stack["render_pid"]))
        s3_cpu = cpu_delta(s3_before, tree_cpu_s(stack["s3_pid"]))
    failed = [r for r in results if r.get("status") != "ok"]
    cpu_per_file = render_cpu / count
    files_per_run = workload["files_per_run"]
    budget_s = workload["render_budget_s"]
    derate = assumptions["fargate_cpu_derate"]
    vcpu_cpu_based = files_per_run * cpu_per_file / budget_s
    # the same from wall time: this host's pool, scaled to 2,600 files in 600 s
    vcpu_wall_based = workers * (files_per_run * wall_s / count) / budget_s
    figures = {
        "files": count,
        "megabytes": megabytes,
        "workers": workers,
        "wall_s": wall_s,
        "files_per_s": count / wall_s,
        "render_service_cpu_s": render_cpu,
        "cpu_s_per_file": cpu_per_file,
        "moto_cpu_s": s3_cpu,
        "failed": [(r.get("reason_code"), r.get("message")) for r in failed],
        "files_per_run": files_per_run,
        "run_wall_s_on_this_host": files_per_run * wall_s / count,
        "vcpu_for_budget": vcpu_cpu_based,
        "vcpu_for_budget_derated": vcpu_cpu_based * derate,
        "vcpu_for_budget_wall_based": vcpu_wall_based,
        "fargate_task_vcpu": fargate_task_vcpu(vcpu_cpu_based * derate),
        "derate": derate,
        "variants_checked": variants_checked,
    }
    print_table(
        f"Render service over HTTP: {count} files in one statement, {workers} workers",
        ["figure", "value"],
        [
            ["wall s", wall_s],
            ["files/s", count / wall_s],
            ["render service CPU s (server + workers)", render_cpu],
            ["CPU s per file", cpu_per_file],
            ["moto S3 CPU s (not counted)", s3_cpu],
            ["failed rows", len(failed)],
            [f"{files_per_run:,} files on this host, wall s", files_per_run * wall_s / count],
            [f"vCPU for {files_per_run:,} files in {budget_s} s (CPU-based)", vcpu_cpu_based],
            [f"  x {derate} derate", vcpu_cpu_based * derate],
            ["  from wall time on this host", vcpu_wall_based],
            ["Fargate task vCPU", figures["fargate_task_vcpu"]],
        ],
    )
    if failed:
        print(f"FAILED rows: {figures['failed'][:5]}")
    write_results(options, "render_batch", figures)
    return figures


if __name__ == "__main__":
    main()
