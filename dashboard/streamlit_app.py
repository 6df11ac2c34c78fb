"""PixelForge dashboard: the operations page and the Files page (Streamlit multipage app).

Runs as Streamlit in Snowflake (the active session) or locally against the embedded stack
(`streamlit run dashboard/streamlit_app.py` with the stack's PIXELFORGE_* settings). The pages
are dashboard/ops_page.py and dashboard/files_page.py; what they read comes through
dashboard/sources.py.

Streamlit puts only this file's folder on sys.path, so the repository root (this folder's
parent, staged with the app in Streamlit in Snowflake: the dashboard, the orchestration package
whose queries it reads) is added first, which makes `dashboard.*` and `orchestration.*`
importable however the app is started.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from dashboard import files_page, ops_page  # noqa: E402  (after the path above)


def main() -> None:
    st.set_page_config(page_title="PixelForge", layout="wide")
    navigation = st.navigation(
        [
            st.Page(ops_page.page, title="Operations", url_path="operations", default=True),
            st.Page(files_page.page, title="Files", url_path="files"),
        ]
    )
    navigation.run()


main()
