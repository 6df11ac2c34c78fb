"""One embedded stack per test session, reset between the tests that use it.

Starting a stack (three processes, the schema) and a first dbt parse in a fresh target folder
cost seconds per test; a reset costs a fraction of that and leaves the stack as a fresh one
would be: every service alive, both buckets empty (moto's own reset endpoint), the warehouse
schemas dropped and the pipeline's schema applied again, the mirrored S3 objects forgotten.
dbt's target folders stay, so its partial parse carries over from test to test.

Tests that are about starting and stopping a stack start their own (`stack_settings`).
"""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

from orchestration.local.loopback import free_port
from orchestration.local.settings import DATABASE, StackSettings
from orchestration.local.sql import pipeline_objects
from orchestration.local.stack import LocalStack

SERVICES = ("warehouse", "s3", "render")


def stack_settings(data_dir: Path, statement_log: Path | None = None) -> StackSettings:
    """Settings of a test stack: free loopback ports, two render workers."""
    return StackSettings(
        data_dir=data_dir,
        warehouse_port=free_port(),
        s3_port=free_port(),
        render_port=free_port(),
        render_workers=2,
        statement_log=statement_log,
    )


def reset_stack(stack: LocalStack) -> LocalStack:
    """Bring a used stack back to the state of a freshly started one."""
    for service in SERVICES:
        process = stack.child_process(service)
        if process is not None and process.poll() is not None:
            stack.restart_service(service)
    settings = stack.settings
    shutil.rmtree(settings.data_dir / "s3", ignore_errors=True)  # save_object_store's mirror
    request = urllib.request.Request(f"{settings.s3_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    s3 = stack.s3()
    for bucket in (settings.designs_bucket, settings.thumbnails_bucket):
        s3.create_bucket(Bucket=bucket)
    with stack.session() as session:
        schemas = [
            row[0]
            for row in session.sql(
                "select schema_name from information_schema.schemata where catalog_name = ?",
                params=[DATABASE],
            ).collect()
            if row[0].upper() != "INFORMATION_SCHEMA"
        ]
        for schema in schemas:
            session.sql(f"drop schema if exists {schema} cascade").collect()
        for statement in pipeline_objects():
            session.sql(statement).collect()
    for lock in settings.data_dir.glob("*.run.lock"):
        lock.unlink(missing_ok=True)
    return stack


class StackPool:
    """Holds the session's stack: started on first use, handed out reset, replaced by a new
    one if a test left it past resetting (a service that will not come back)."""

    def __init__(self, data_dir: Path, statement_log: Path | None = None) -> None:
        self._data_dir = data_dir
        self._statement_log = statement_log
        self._stack: LocalStack | None = None
        self.started = 0

    def fresh(self) -> LocalStack:
        if self._stack is not None:
            try:
                return reset_stack(self._stack)
            except Exception:  # any failure: start a new stack instead
                self.close()
        self.started += 1
        stack = LocalStack(
            stack_settings(self._data_dir / f"stack-{self.started}", self._statement_log)
        )
        stack.start()
        self._stack = stack
        return stack

    def close(self) -> None:
        if self._stack is not None:
            self._stack.stop(save=False)
            self._stack = None
