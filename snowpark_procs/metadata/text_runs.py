"""The text facet's payload, built run by run within the limits (pixelforge_core/limits.py):
at most max_text_runs runs and max_text_chars characters in all, max_fonts font names; what
is cut sets `truncated`, and the caps reached are kept (`caps`) for the facet's reason
(capped.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pixelforge_core.facets import TextPayload, TextRunPayload
from pixelforge_core.limits import ExtractionLimits
from snowpark_procs.metadata.capped import Capped, capped
from snowpark_procs.metadata.clean import clean_name, clean_text


class TextCollector:
    def __init__(self, limits: ExtractionLimits) -> None:
        self.limits = limits
        self.runs: list[TextRunPayload] = []
        self.fonts: set[str] = set()
        self.chars = 0
        self.caps: list[str] = []  # ExtractionLimits fields reached, in order

    @property
    def truncated(self) -> bool:
        return bool(self.caps)

    def cut(self, cap: str) -> None:
        """Record that the cap `cap` (an ExtractionLimits field) cut the text."""
        self.caps.append(cap)

    def add(self, source: Literal["layer", "svg", "page"], ref: int, text: str) -> bool:
        """Keep one run (an empty one is skipped); False once the limits are reached."""
        remaining = self.limits.max_text_chars - self.chars
        if remaining <= 0:
            self.cut("max_text_chars")
            return False
        if len(self.runs) >= self.limits.max_text_runs:
            self.cut("max_text_runs")
            return False
        cleaned = clean_text(text, remaining + 1)
        if len(cleaned) > remaining:
            cleaned = cleaned[:remaining]
            self.cut("max_text_chars")
        if cleaned:
            self.runs.append({"source": source, "ref": ref, "text": cleaned})
            self.chars += len(cleaned)
        return not self.truncated

    def add_fonts(self, names: Iterable[object]) -> None:
        for name in names:
            cleaned = clean_name(name, self.limits.max_name_chars)
            if not cleaned or cleaned in self.fonts:
                continue
            if len(self.fonts) >= self.limits.max_fonts:
                self.cut("max_fonts")
                return
            self.fonts.add(cleaned)

    def payload(self) -> TextPayload:
        return {"runs": self.runs, "fonts": sorted(self.fonts), "truncated": self.truncated}

    def result(self) -> Mapping[str, object] | Capped:
        """The payload, with the caps that cut it when some did."""
        return capped(self.payload(), self.caps)
