"""STEP 2 "extract_metadata" core: header-level facts about one design file, never raising."""

from __future__ import annotations

from snowpark_procs.metadata.extraction import extract_metadata
from snowpark_procs.metadata.formats import SUPPORTED_FORMATS, sniff_format
from snowpark_procs.metadata.limits import DEFAULT_LIMITS, ExtractionLimits
from snowpark_procs.metadata.svg import SvgInfo, check_svg

__all__ = [
    "DEFAULT_LIMITS",
    "SUPPORTED_FORMATS",
    "ExtractionLimits",
    "SvgInfo",
    "check_svg",
    "extract_metadata",
    "sniff_format",
]
