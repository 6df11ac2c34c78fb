"""The render image holds pixelforge_core and ecs_render with the core's dependencies and the
render extra (ecs_render/Dockerfile): the service must import and render without Snowflake's
packages, pandas or the other first-party packages."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOT_IN_THE_IMAGE = ("snowflake", "pandas", "snowpark_procs", "orchestration", "dbt", "fakesnow")

PROBE = textwrap.dedent(
    """
    import io
    import pkgutil
    import sys

    for name in {blocked!r}:
        sys.modules[name] = None  # any import of it (or below it) raises ImportError

    import ecs_render
    import pixelforge_core

    for package in (ecs_render, pixelforge_core):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            __import__(module.name)

    from PIL import Image

    from ecs_render.app import create_app
    from ecs_render.settings import RenderSettings
    from ecs_render.thumbnails import render_thumbnails

    create_app(RenderSettings(allow_unconfined=True))
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 800), "teal").save(buffer, "PNG")
    thumbnails = render_thumbnails(buffer)
    print([(t.size_px, t.width_px, t.height_px) for t in thumbnails])
    """
)


def test_the_service_imports_and_renders_without_snowflake_or_pandas():
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(blocked=NOT_IN_THE_IMAGE)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[(1024, 1024, 683), (256, 256, 171)]"


def test_the_image_copies_only_the_core_and_the_service_and_installs_the_render_extra():
    dockerfile = (REPO_ROOT / "ecs_render" / "Dockerfile").read_text(encoding="utf-8")
    sources = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    copied = {s for s in sources if not s.startswith(("pyproject", "requirements"))}
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]

    assert copied == {"pixelforge_core", "ecs_render"}
    assert installs == ['RUN pip install --constraint requirements/lock.txt ".[render]"']
