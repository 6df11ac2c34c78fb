"""Security of the render service's decoding (`pytest -k security`): files are decoded in
worker processes that hold no credentials and no S3 client, cannot open a socket and run under
RLIMIT_AS, and a file that crashes or hangs its worker fails alone.

Probes run inside the real worker pool: create_app(..., decoder=...) names a function of
tests/ecs_render/probes.py that the workers call instead of render_thumbnails.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from ecs_render import decode_pool
from ecs_render.app import create_app
from ecs_render.decode_pool import (
    DecodePool,
    WorkerConfig,
    WorkerLostError,
    WorkerStartError,
    parse_reply,
    worker_environment,
)
from ecs_render.worker_frames import Frame
from pixelforge_core.reason_codes import RENDER_FAILED, RENDER_TIMEOUT, TRUNCATED_FILE
from pixelforge_core.render_wire import RENDERER_UNAVAILABLE, thumbnail_key
from tests.hostile import corpus

from . import probes
from .conftest import THUMBNAILS_BUCKET, make_png, make_settings, seccomp_unavailable

MIB = 1024 * 1024
PROBES = "tests.ecs_render.probes"
# Variables a task on ECS or a developer's shell may hold; none may reach a worker.
SECRETS = {
    "AWS_SESSION_TOKEN": "token",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.2/v2/credentials/x",
    "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/x",
    "ECS_CONTAINER_METADATA_URI": "http://169.254.170.2/v3/x",
    "SNOWFLAKE_PASSWORD": "hunter2",
}

needs_seccomp = pytest.mark.skipif(
    bool(seccomp_unavailable()),
    reason=f"this kernel cannot install a seccomp filter: {seccomp_unavailable()}",
)


def render(client, *rows):
    response = client.post("/render", json={"data": list(rows)})
    assert response.status_code == 200, response.text
    return [result for _, result in response.json()["data"]]


def confined(**overrides):
    return make_settings(**{"allow_unconfined": False, **overrides})


# --- what a worker can reach -----------------------------------------------------------------


@needs_seccomp
def test_security_a_decode_worker_has_no_socket_credentials_or_s3_client(
    s3_env, store, seed, monkeypatch
):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    uploaded = store.upload(f"probe/{seed}.png", make_png(seed))
    settings = confined(render_workers=1, worker_memory_limit_mib=1024)

    with TestClient(create_app(settings, f"{PROBES}:report_confinement")) as client:
        (result,) = render(client, uploaded.row(0))

    assert (result["status"], result["reason_code"]) == ("failed", RENDER_FAILED), result
    found = json.loads(result["message"])
    # the server itself holds the credentials: they were there to leak
    assert os.environ["AWS_SECRET_ACCESS_KEY"] and os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    assert (found["inet"], found["inet6"], found["unix"]) == ("EPERM", "EPERM", "EPERM")
    assert found["env"] == []
    assert found["boto"] == [] and found["clients"] == 0
    assert found["socket_fds"] == 0  # nothing of the server's connections was inherited
    assert found["trace"] == ["EPERM", "EPERM"]  # ptrace, process_vm_readv: no memory reads
    assert (found["seccomp"], found["nnp"]) == ("2", "1")  # filter mode, no new privileges
    assert found["as"] == 1024 * MIB
    assert found["bytes"] == uploaded.size_bytes  # the server read S3 and sent the bytes


def test_security_a_worker_starts_with_an_allow_listed_environment():
    environ = {
        **SECRETS,
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "PIXELFORGE_DESIGNS_BUCKET": "designs",
        "DATABASE_URL": "postgres://u:p@h/db",
        "PATH": "/usr/bin",
        "HOME": "/home/render",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "VIPS_WARNING": "0",
    }

    assert worker_environment(environ) == {
        "PATH": "/usr/bin",
        "HOME": "/home/render",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "VIPS_WARNING": "0",
    }


# --- memory ----------------------------------------------------------------------------------


@needs_seccomp
def test_security_a_file_over_the_memory_cap_is_refused_and_the_next_batch_renders(
    s3_env, store, seed
):
    """A 0.4 MB PNG of 177 MP 16-bit grey: under the pixel limit, but its decode needs about
    1 GiB of address space, over this service's 700 MiB cap (a plain PNG needs under 400)."""
    buffer = io.BytesIO()
    corpus.write_png_flat(buffer, 13_300, 13_300, "grey16")
    heavy = store.upload(f"heavy/{seed}.png", buffer.getvalue())
    light = store.upload(f"light/{seed}.png", make_png(seed))
    settings = confined(render_workers=1, worker_memory_limit_mib=700)

    with TestClient(create_app(settings)) as client:
        pids = client.app_state["pool"].decoders.pids()
        (refused,) = render(client, heavy.row(0))
        (served,) = render(client, light.row(1))
        pids_after = client.app_state["pool"].decoders.pids()

    assert (refused["status"], refused["reason_code"]) == ("failed", RENDER_FAILED), refused
    assert "memory" in refused["message"]
    assert served["status"] == "ok", served
    assert pids_after == pids  # the worker survived its MemoryError


@needs_seccomp
def test_security_an_allocation_past_rlimit_as_is_a_failure_with_a_reason():
    config = WorkerConfig(600 * MIB, 30.0, MIB, decode=f"{PROBES}:allocate")
    pool = DecodePool(config, 1)
    try:
        pool.start()
        small = pool.decode(io.BytesIO(b"64"), [256])
        huge = pool.decode(io.BytesIO(b"2048"), [256])
        again = pool.decode(io.BytesIO(b"64"), [256])
    finally:
        pool.close(5)

    assert small.message == again.message == "allocated 64 MiB"
    assert huge.reason_code == RENDER_FAILED
    assert "600 MiB cap" in huge.message


# --- crashes and hangs -----------------------------------------------------------------------


@needs_seccomp
def test_security_one_crashing_file_among_three_good_ones_fails_alone(s3_env, store, seed):
    good = [store.upload(f"innocent/{seed}/{n}.png", make_png(seed + n)) for n in range(3)]
    crasher = store.upload(f"guilty/{seed}.png", make_png(seed + 9)[:2000] + probes.CRASH_MARKER)
    rows = [good[0].row(0), crasher.row(1), good[1].row(2), good[2].row(3)]
    settings = confined(render_workers=2)

    with TestClient(create_app(settings, f"{PROBES}:crash_on_marker")) as client:
        results = render(client, *rows)
        (after,) = render(client, good[0].row(4))  # and the service goes on

    guilty = results.pop(1)
    assert (guilty["status"], guilty["reason_code"]) == ("failed", RENDER_FAILED)
    assert "crashed on this file twice" in guilty["message"]
    for result, uploaded in zip(results, good, strict=True):
        assert result["status"] == "ok", result
        for thumbnail in result["thumbnails"]:
            key = thumbnail_key(uploaded.sha256, uploaded.size_bytes, thumbnail["size_px"])
            head = store.s3.head_object(Bucket=THUMBNAILS_BUCKET, Key=key)
            assert head["ContentLength"] == thumbnail["thumbnail_bytes"]
    assert after["status"] == "ok"


@needs_seccomp
def test_security_a_row_that_crashed_once_is_retried_alone_in_a_fresh_worker(tmp_path):
    flag = tmp_path / "crashed-once"
    pool = DecodePool(WorkerConfig(1024 * MIB, 30.0, MIB, decode=f"{PROBES}:crash_on_marker"), 1)
    try:
        pool.start()
        first_pid = pool.pids()
        result = pool.decode(io.BytesIO(probes.CRASH_ONCE_PREFIX + str(flag).encode()), [256])
        retried_in = pool.pids()
    finally:
        pool.close(5)

    assert result == []  # the second attempt answered
    assert [int(flag.read_text())] == first_pid
    assert retried_in and retried_in != first_pid


@needs_seccomp
def test_security_a_hung_row_times_out_alone_and_its_worker_is_replaced(
    s3_env, store, seed, monkeypatch
):
    monkeypatch.setattr(decode_pool, "HARD_TIMEOUT_GRACE_S", 0.5)
    hung = store.upload(f"hung/{seed}.png", make_png(seed)[:2000] + probes.HANG_MARKER)
    good = store.upload(f"beside-hung/{seed}.png", make_png(seed + 1))
    settings = confined(render_workers=2, render_timeout_s=3.0)

    with TestClient(create_app(settings, f"{PROBES}:crash_on_marker")) as client:
        pids = set(client.app_state["pool"].decoders.pids())
        hung_result, good_result = render(client, hung.row(0), good.row(1))
        (after,) = render(client, good.row(2))
        pids_after = set(client.app_state["pool"].decoders.pids())

    assert (hung_result["status"], hung_result["reason_code"]) == ("failed", RENDER_TIMEOUT)
    assert "worker restarted" in hung_result["message"]
    assert good_result["status"] == after["status"] == "ok"
    assert len(pids & pids_after) == 1  # only the hung worker was replaced


# --- start-up --------------------------------------------------------------------------------


def test_security_the_service_does_not_start_when_a_worker_cannot_start(s3_env):
    app = create_app(make_settings(render_workers=1), f"{PROBES}:no_such_decoder")

    with pytest.raises(WorkerStartError, match="no_such_decoder"), TestClient(app):
        pass


CONFINE_WITHOUT_SECCOMP = """
import json, sys
from ecs_render import sandbox

def unavailable(machine=None):
    raise sandbox.SandboxUnavailableError("no seccomp here")

sandbox.install_seccomp_filter = unavailable
try:
    outcome = sandbox.confine(1 << 32, allow_unconfined=sys.argv[1] == "allow")
    print(json.dumps({"seccomp": outcome.seccomp, "detail": outcome.detail}))
except sandbox.SandboxUnavailableError as error:
    print(json.dumps({"refused": str(error)}))
"""


@pytest.mark.parametrize("allow", ["allow", "refuse"])
def test_security_without_seccomp_a_worker_refuses_unless_allowed(allow):
    # In a child: confine() caps and marks the process it runs in.
    done = subprocess.run(
        [sys.executable, "-c", CONFINE_WITHOUT_SECCOMP, allow],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )

    outcome = json.loads(done.stdout)
    if allow == "allow":
        assert outcome == {"seccomp": False, "detail": "no seccomp here"}
    else:
        assert outcome == {"refused": "no seccomp here"}


def test_security_a_filter_for_an_unknown_architecture_is_refused():
    from ecs_render import sandbox

    with pytest.raises(sandbox.SandboxUnavailableError, match="s390x"):
        sandbox.install_seccomp_filter(machine="s390x")


# --- what the server accepts from a worker ---------------------------------------------------

WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8


def thumbnails_frame(*entries, payload=WEBP):
    return Frame({"type": "thumbnails", "thumbnails": list(entries)}, payload)


def test_security_a_valid_reply_becomes_thumbnails():
    entry = {"size_px": 256, "width_px": 256, "height_px": 171, "bytes": len(WEBP)}

    (thumbnail,) = parse_reply(thumbnails_frame(entry), [256])

    assert (thumbnail.size_px, thumbnail.width_px, thumbnail.height_px) == (256, 256, 171)
    assert thumbnail.data == WEBP


@pytest.mark.parametrize(
    "frame",
    [
        Frame({"type": "pickle"}, b""),
        Frame({"type": "failure", "reason_code": 1, "message": "x"}, b""),
        thumbnails_frame({"size_px": 512, "width_px": 10, "height_px": 10, "bytes": len(WEBP)}),
        thumbnails_frame({"size_px": 256, "width_px": 300, "height_px": 10, "bytes": len(WEBP)}),
        thumbnails_frame({"size_px": 256, "width_px": 10, "height_px": 10, "bytes": 1 << 40}),
        thumbnails_frame({"size_px": 256, "width_px": 10, "height_px": 10, "bytes": "9"}),
        thumbnails_frame({"size_px": 256, "width_px": 10, "height_px": 10, "bytes": 4}),
        thumbnails_frame(
            {"size_px": 256, "width_px": 9, "height_px": 9, "bytes": 20},
            payload=b"<svg onload=x()>...."[:20],
        ),
    ],
    ids=[
        "unknown-type",
        "reason-not-a-string",
        "size-not-asked",
        "larger-than-its-box",
        "runs-past-the-payload",
        "length-not-an-integer",
        "payload-left-over",
        "not-webp",
    ],
)
def test_security_a_malformed_reply_counts_as_a_lost_worker(frame):
    with pytest.raises(WorkerLostError):
        parse_reply(frame, [256])


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (TRUNCATED_FILE, TRUNCATED_FILE),
        (RENDERER_UNAVAILABLE, RENDER_FAILED),  # a worker cannot make its file retried forever
        ("made_up", RENDER_FAILED),
    ],
)
def test_security_a_worker_may_only_name_a_quality_reason_code(code, expected):
    reply = Frame({"type": "failure", "reason_code": code, "message": "m\nx"}, b"")

    failure = parse_reply(reply, [])

    assert failure.reason_code == expected
    assert "\n" not in failure.message
