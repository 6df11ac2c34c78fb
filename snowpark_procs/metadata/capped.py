"""A facet payload that a cap of pixelforge_core/limits.py cut, with the caps that did.

An extractor returns one instead of its bare payload when it stopped at a cap; the extraction
step (facet_extraction.py) stores the payload as an ok facet whose message names the caps and
their values, and the ops view ops_marts.fct_file_facet_statuses shows it as `truncated` with
that reason (`pixelforge explain`, the dashboard's Files page).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pixelforge_core.limits import ExtractionLimits


@dataclass(frozen=True)
class Capped:
    payload: Mapping[str, object]
    caps: tuple[str, ...]  # ExtractionLimits field names, in the order they were reached

    def reason(self, limits: ExtractionLimits) -> str:
        """E.g. "cut at max_text_chars = 100,000 (pixelforge_core/limits.py)"."""
        caps = ", ".join(f"{cap} = {getattr(limits, cap):,}" for cap in self.caps)
        return f"cut at {caps} (pixelforge_core/limits.py)"


def capped(payload: Mapping[str, object], caps: Iterable[str]) -> Mapping[str, object] | Capped:
    """The payload as it is when no cap was reached, else Capped with each cap once."""
    reached = tuple(dict.fromkeys(caps))
    return Capped(payload, reached) if reached else payload
