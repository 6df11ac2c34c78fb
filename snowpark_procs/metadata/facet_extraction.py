"""The extraction facets of one readable file (pixelforge_core/facets.py): each extractor that
covers the file's format and was asked for runs on its own, and its failure is its own
FacetResult ('failed', with a reason code of dbt_project/seeds/quality_rules.csv), never the
file's: the header metadata stands whatever a facet meets."""

from __future__ import annotations

from collections.abc import Callable

from pixelforge_core.facets import FacetName, FacetResult, facets_of
from pixelforge_core.failures import classify_exception, describe
from snowpark_procs.metadata.document import document_payload
from snowpark_procs.metadata.opened import OpenedFile

# facet -> its extractor (the payload shape is the facet's TypedDict in pixelforge_core.facets)
EXTRACTORS: dict[FacetName, Callable[[OpenedFile], object]] = {
    "document": document_payload,
}


def extract_facets(opened: OpenedFile, requested: frozenset[str] | None) -> tuple[FacetResult, ...]:
    """The facets of `requested` (None: all) that cover the file's format, in registry order."""
    results = []
    for facet in facets_of("extract_metadata", opened.fmt):
        extractor = EXTRACTORS.get(facet.name)
        if extractor is None or (requested is not None and facet.name not in requested):
            continue
        try:
            payload = extractor(opened)
        except Exception as exc:  # per-facet boundary: what the facet met is a fact about the file
            results.append(
                FacetResult(
                    facet.name,
                    facet.version,
                    "failed",
                    None,
                    classify_exception(exc),
                    describe(exc),
                )
            )
            continue
        results.append(FacetResult(facet.name, facet.version, "ok", dict(payload)))  # type: ignore[call-overload]
    return tuple(results)
