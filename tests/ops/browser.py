"""The dashboard in headless Chromium: serve it on the stack (streamlit run), open a page over
the DevTools protocol, wait until it has drawn, and keep a screenshot as a test artifact
(test-artifacts/, kept by CI). Debian's chromium; a test skips without it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets

from orchestration.local.loopback import free_port
from orchestration.local.stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "streamlit_app.py"
ARTIFACTS = REPO / "test-artifacts"


@dataclass(frozen=True)
class Page:
    """What the browser showed: its text, the charts and images drawn, the screenshot."""

    text: str
    charts: int
    images: int
    screenshot: Path


def chromium_or_skip() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return chromium


@contextmanager
def served_dashboard(stack: LocalStack) -> Iterator[str]:
    """The dashboard served on loopback against the stack; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        **stack.settings.client_env(),
        "PIXELFORGE_S3_PORT": str(stack.settings.s3_port),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=15)


def capture(url: str, png_name: str, title: str, charts: int, images: int = 0) -> Page:
    """Open `url` in headless Chromium, wait until `title` shows and at least `charts` charts
    and `images` images have drawn (Streamlit renders over a websocket, after the load event),
    save a screenshot as test-artifacts/<png_name>."""
    chromium = chromium_or_skip()
    port = free_port()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    # no background networking: this machine reaches nothing but loopback
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
         "--window-size=1400,1800", f"--remote-debugging-port={port}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        targets: list[dict[str, Any]] = []
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as r:
                    targets = json.load(r)
                break
            except OSError:
                time.sleep(0.2)
        page = next(t for t in targets if t["type"] == "page")
        drawn = asyncio.run(_drive(page["webSocketDebuggerUrl"], url, title, charts, images))
    finally:
        browser.terminate()
        browser.wait(timeout=15)
        shutil.rmtree(profile, ignore_errors=True)
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / png_name
    text, chart_count, image_count, shot = drawn
    png.write_bytes(shot)
    return Page(text, chart_count, image_count, png)


CHARTS_JS = "document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length"
# images loaded and decoded (a thumbnail, not a broken link)
IMAGES_JS = "[...document.querySelectorAll('img')].filter(i => i.complete && i.naturalWidth).length"


async def _drive(
    debugger_url: str, url: str, title: str, charts: int, images: int
) -> tuple[str, int, int, bytes]:
    async with websockets.connect(debugger_url, max_size=2**26) as ws:
        ids = iter(range(1, 1_000_000))

        async def call(method: str, **params: Any) -> dict[str, Any]:
            call_id = next(ids)
            await ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == call_id:
                    return dict(message.get("result", {}))

        async def evaluate(expression: str) -> Any:
            result = await call("Runtime.evaluate", expression=expression, returnByValue=True)
            return result["result"].get("value")

        await call("Page.navigate", url=url)
        drawn_charts = drawn_images = 0
        titled = False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (
            drawn_charts < charts or drawn_images < images or not titled
        ):
            await asyncio.sleep(0.5)
            drawn_charts = int(await evaluate(CHARTS_JS) or 0)
            drawn_images = int(await evaluate(IMAGES_JS) or 0)
            titled = title in str(await evaluate("document.body.innerText"))
        await asyncio.sleep(1.5)  # let the last chart finish drawing
        text = str(await evaluate("document.body.innerText"))
        shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        return text, drawn_charts, drawn_images, base64.b64decode(shot["data"])
