"""STEP 2 "extract_metadata" core: header-level facts about one design file, never raising.

The checks the renderer shares (formats, limits, integrity, EXIF, SVG) live in pixelforge_core.
"""

from __future__ import annotations

from snowpark_procs.metadata.extraction import extract_metadata

__all__ = ["extract_metadata"]
