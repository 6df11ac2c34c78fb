"""The embedded stack's settings from PIXELFORGE_* variables: names, defaults, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.local.settings import StackError, StackSettings, default_render_workers

VARIABLES = (
    "PIXELFORGE_DATA_DIR",
    "PIXELFORGE_WAREHOUSE_PORT",
    "PIXELFORGE_S3_PORT",
    "PIXELFORGE_RENDER_PORT",
    "PIXELFORGE_DESIGNS_BUCKET",
    "PIXELFORGE_THUMBNAILS_BUCKET",
    "PIXELFORGE_RENDER_WORKERS",
    "PIXELFORGE_STATEMENT_LOG",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = StackSettings.from_env()
    assert settings == StackSettings(
        data_dir=tmp_path / ".pixelforge",
        warehouse_port=18765,
        s3_port=19000,
        render_port=18780,
        designs_bucket="pixelforge-designs",
        thumbnails_bucket="pixelforge-thumbnails",
        render_workers=default_render_workers(),
        statement_log=None,
    )
    assert 1 <= settings.render_workers <= 4


def test_every_variable_is_read(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = {
        "PIXELFORGE_DATA_DIR": "state",
        "PIXELFORGE_WAREHOUSE_PORT": "20001",
        "PIXELFORGE_S3_PORT": "20002",
        "PIXELFORGE_RENDER_PORT": "20003",
        "PIXELFORGE_DESIGNS_BUCKET": "d",
        "PIXELFORGE_THUMBNAILS_BUCKET": "t",
        "PIXELFORGE_RENDER_WORKERS": "3",
        "PIXELFORGE_STATEMENT_LOG": "log.jsonl",
    }
    for name, value in values.items():
        env.setenv(name, value)
    assert StackSettings.from_env() == StackSettings(
        data_dir=tmp_path / "state",
        warehouse_port=20001,
        s3_port=20002,
        render_port=20003,
        designs_bucket="d",
        thumbnails_bucket="t",
        render_workers=3,
        statement_log=tmp_path / "log.jsonl",
    )
    # a folder given by the caller (--data-dir) wins; an empty statement log is none
    env.setenv("PIXELFORGE_STATEMENT_LOG", "")
    given = StackSettings.from_env(tmp_path / "given")
    assert given.data_dir == tmp_path / "given" and given.statement_log is None
    # the children get the settings back under the same names
    child_env = given.client_env()
    assert child_env["PIXELFORGE_WAREHOUSE_PORT"] == "20001"
    assert child_env["PIXELFORGE_RENDER_WORKERS"] == "3"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "PIXELFORGE_WAREHOUSE_PORT",
            "abc",
            "PIXELFORGE_WAREHOUSE_PORT='abc' is not a port number",
        ),
        ("PIXELFORGE_S3_PORT", "0", "PIXELFORGE_S3_PORT='0' is not a port number"),
        ("PIXELFORGE_RENDER_PORT", "65536", "PIXELFORGE_RENDER_PORT='65536' is not a port number"),
        ("PIXELFORGE_RENDER_WORKERS", "0", "PIXELFORGE_RENDER_WORKERS='0' is not a number of"),
        ("PIXELFORGE_RENDER_WORKERS", "two", "PIXELFORGE_RENDER_WORKERS='two' is not a number of"),
    ],
    ids=["port-not-a-number", "port-zero", "port-too-high", "workers-zero", "workers-word"],
)
def test_a_bad_value_names_its_variable(
    env: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    env.setenv(name, value)
    with pytest.raises(StackError) as raised:
        StackSettings.from_env()
    assert str(raised.value).startswith(expected)
