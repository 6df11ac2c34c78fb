"""The embedded stack: warehouse (fakesnow), object store (moto) and renderer, on loopback.

Each service is a child process with its log under <data_dir>/logs. The warehouse persists as
DuckDB files; the buckets are mirrored to disk on stop and after each run (s3_mirror). What the
stack is configured with (ports, buckets, the environment) is orchestration/local/settings.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from snowflake.snowpark import Session

from orchestration.local import s3_mirror
from orchestration.local.settings import (
    AWS_LOCAL_CREDENTIALS,
    QUIET_ENV,
    StackError,
    StackSettings,
)
from orchestration.local.sql import pipeline_objects

__all__ = ["LocalStack", "StackError", "StackSettings", "open_session", "s3_client"]

STATE_FILE = "stack.json"


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


def _port_open(port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def s3_client(settings: StackSettings) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        region_name=AWS_LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=AWS_LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5),
    )


def open_session(settings: StackSettings, schema: str = "RAW") -> Session:
    os.environ.update(QUIET_ENV)
    session = Session.builder.configs(settings.connection_parameters(schema)).create()
    # fakesnow lacks system$cancel_all_queries, which Session.close() calls
    session.cancel_all = lambda: None  # type: ignore[method-assign]
    return session


@dataclass
class LocalStack:
    """Starts (or attaches to) the embedded stack for one data folder."""

    settings: StackSettings
    owned: bool = False
    _children: list[_Child] = field(default_factory=list)

    # --- lifecycle ---------------------------------------------------------------------

    @classmethod
    def attach_or_start(cls, settings: StackSettings, echo: Any = None) -> LocalStack:
        """Attach to a stack already serving this data folder, or start one owned by the caller."""
        stack = cls(settings)
        if stack.is_running():
            return stack
        stack.start(echo)
        return stack

    def is_running(self) -> bool:
        state_path = self.settings.data_dir / STATE_FILE
        if not state_path.exists():
            return False
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if state.get("settings", {}).get("warehouse_port") != self.settings.warehouse_port:
            return False
        return (
            _port_open(self.settings.warehouse_port)
            and _port_open(self.settings.s3_port)
            and _http_ok(f"{self.settings.render_url}/healthz")
        )

    def start(self, echo: Any = None) -> None:
        say = echo or (lambda _message: None)
        data = self.settings.data_dir
        (data / "logs").mkdir(parents=True, exist_ok=True)
        (data / "warehouse").mkdir(parents=True, exist_ok=True)
        for port in (
            self.settings.warehouse_port,
            self.settings.s3_port,
            self.settings.render_port,
        ):
            if _port_open(port):
                raise StackError(
                    f"port {port} is already in use; stop what holds it or choose other ports "
                    "with PIXELFORGE_WAREHOUSE_PORT / PIXELFORGE_S3_PORT / PIXELFORGE_RENDER_PORT"
                )
        self.owned = True
        env = {**os.environ, **self.settings.client_env()}
        try:
            say(f"starting warehouse (fakesnow) on 127.0.0.1:{self.settings.warehouse_port}")
            self._spawn(
                "warehouse",
                [
                    sys.executable,
                    "-m",
                    "orchestration.local.warehouse_server",
                    "--data-dir",
                    str(data / "warehouse"),
                    "--port",
                    str(self.settings.warehouse_port),
                    *(
                        ["--statement-log", str(self.settings.statement_log)]
                        if self.settings.statement_log
                        else []
                    ),
                ],
                env,
            )
            say(f"starting object store (moto S3) on {self.settings.s3_endpoint}")
            self._spawn(
                "s3",
                [
                    sys.executable,
                    "-m",
                    "moto.server",
                    "-H",
                    "127.0.0.1",
                    "-p",
                    str(self.settings.s3_port),
                ],
                env,
            )
            say(f"starting render service on {self.settings.render_url}")
            self._spawn(
                "render",
                [
                    sys.executable,
                    "-m",
                    "ecs_render",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.settings.render_port),
                ],
                env,
            )
            self._wait_until("warehouse", lambda: _port_open(self.settings.warehouse_port))
            self._wait_until("s3", lambda: _port_open(self.settings.s3_port))
            self._wait_until("render", lambda: _http_ok(f"{self.settings.render_url}/healthz"))
            self._bootstrap(say)
        except BaseException:
            self.stop(save=False)
            raise
        (data / STATE_FILE).write_text(
            json.dumps(
                {
                    "settings": {
                        k: str(v) if isinstance(v, Path) else v
                        for k, v in asdict(self.settings).items()
                    },
                    "pids": {child.name: child.process.pid for child in self._children},
                },
                indent=2,
            ),
            encoding="utf-8",
        )

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log_path = self.settings.data_dir / "logs" / f"{name}.log"
        log = log_path.open("ab")
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        self._children.append(_Child(name, process, log_path))

    def _wait_until(self, name: str, ready: Any, timeout_s: float = 60.0) -> None:
        child = next(c for c in self._children if c.name == name)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                tail = child.log_path.read_text(errors="replace")[-2000:]
                raise StackError(f"{name} exited with {child.process.returncode}:\n{tail}")
            if ready():
                return
            time.sleep(0.2)
        raise StackError(f"{name} did not become ready in {timeout_s:.0f} s; see {child.log_path}")

    def _bootstrap(self, say: Any) -> None:
        s3 = s3_client(self.settings)
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket in (self.settings.designs_bucket, self.settings.thumbnails_bucket):
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)
            restored = s3_mirror.restore_bucket(s3, bucket, self._mirror_dir(bucket))
            if restored:
                say(f"restored {restored} objects into s3://{bucket}")
        with self.session() as session:
            for statement in pipeline_objects():
                session.sql(statement).collect()

    def _mirror_dir(self, bucket: str) -> Path:
        return self.settings.data_dir / "s3" / bucket

    def save_object_store(self) -> None:
        s3 = s3_client(self.settings)
        for bucket in (self.settings.designs_bucket, self.settings.thumbnails_bucket):
            s3_mirror.save_bucket(s3, bucket, self._mirror_dir(bucket))

    def stop(self, save: bool = True) -> None:
        """Stop the children this object started (an attached stack is left running)."""
        if not self.owned:
            return
        if save and self._children:
            with contextlib.suppress(Exception):
                self.save_object_store()
        for child in reversed(self._children):
            if child.process.poll() is None:
                os.killpg(child.process.pid, signal.SIGTERM)
        for child in reversed(self._children):
            try:
                child.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()
        self._children.clear()
        (self.settings.data_dir / STATE_FILE).unlink(missing_ok=True)
        self.owned = False

    def child_process(self, name: str) -> subprocess.Popen[bytes] | None:
        return next((c.process for c in self._children if c.name == name), None)

    def kill_service(self, name: str) -> None:
        """Kill one service abruptly (fault injection); restart_service brings it back."""
        child = next(c for c in self._children if c.name == name)
        if child.process.poll() is None:
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()

    def restart_service(self, name: str) -> None:
        """Start a killed service again on its port; S3 gets its mirrored objects back."""
        child = next(c for c in self._children if c.name == name)
        if child.process.poll() is None:
            raise StackError(f"{name} is still running")
        self._children.remove(child)
        env = {**os.environ, **self.settings.client_env()}
        self._spawn(name, list(child.process.args), env)  # type: ignore[arg-type]
        ready = {
            "warehouse": lambda: _port_open(self.settings.warehouse_port),
            "s3": lambda: _port_open(self.settings.s3_port),
            "render": lambda: _http_ok(f"{self.settings.render_url}/healthz"),
        }[name]
        self._wait_until(name, ready)
        if name == "s3":
            s3 = self.s3()
            for bucket in (self.settings.designs_bucket, self.settings.thumbnails_bucket):
                s3.create_bucket(Bucket=bucket)
                s3_mirror.restore_bucket(s3, bucket, self._mirror_dir(bucket))

    # --- clients -----------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self, schema: str = "RAW") -> Iterator[Session]:
        session = open_session(self.settings, schema)
        try:
            yield session
        finally:
            session.close()

    def s3(self) -> Any:
        return s3_client(self.settings)

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
