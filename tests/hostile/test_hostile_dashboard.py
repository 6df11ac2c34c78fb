"""The local ops dashboard listens on loopback only: Streamlit reads .streamlit/config.toml from
the folder it is started in ("Working with configuration options",
https://docs.streamlit.io/develop/concepts/configuration/options), the repository root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_READ_OPTIONS = """
import json
from streamlit import config
config.get_config_options(force_reparse=True)
print(json.dumps({name: config.get_option(name) for name in (
    "server.address", "server.headless", "browser.gatherUsageStats")}))
"""


def test_security_dashboard_started_from_the_repository_binds_loopback_only():
    # Streamlit's own environment variables would override the file: none may be set here.
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    result = subprocess.run(
        [sys.executable, "-c", _READ_OPTIONS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    options = json.loads(result.stdout.strip().splitlines()[-1])
    assert options == {
        "server.address": "127.0.0.1",
        "server.headless": True,
        "browser.gatherUsageStats": False,
    }
