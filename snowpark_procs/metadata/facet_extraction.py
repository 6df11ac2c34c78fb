"""The extraction facets of one readable file (pixelforge_core/facets.py): each extractor that
covers the file's format and was asked for runs on its own, and its failure is its own
FacetResult ('failed', with a reason code of dbt_project/seeds/quality_rules.csv), never the
file's: the header metadata stands whatever a facet meets. A payload a cap cut (capped.py) is
an ok facet whose message names the caps reached."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pixelforge_core.facets import FacetName, FacetResult, facet, facets_of
from pixelforge_core.failures import classify_exception, describe
from snowpark_procs.metadata.capped import Capped
from snowpark_procs.metadata.document import document_payload
from snowpark_procs.metadata.opened import OpenedFile
from snowpark_procs.metadata.pdf_facets import pdf_structure, pdf_text
from snowpark_procs.metadata.psd_facets import psd_structure, psd_text
from snowpark_procs.metadata.svg_facets import svg_structure, svg_text

Extractor = Callable[[OpenedFile], Mapping[str, object] | Capped]

# facet -> format -> its extractor (the payload shape is the facet's TypedDict in
# pixelforge_core.facets; the formats are those the facet covers, tests hold them equal)
EXTRACTORS: dict[FacetName, dict[str, Extractor]] = {
    "document": dict.fromkeys(facet("document").formats, document_payload),
    "structure": {"psd": psd_structure, "svg": svg_structure, "pdf": pdf_structure},
    "text": {"psd": psd_text, "svg": svg_text, "pdf": pdf_text},
}


def extract_facets(opened: OpenedFile, requested: frozenset[str] | None) -> tuple[FacetResult, ...]:
    """The facets of `requested` (None: all) that cover the file's format, in registry order."""
    results = []
    for each in facets_of("extract_metadata", opened.fmt):
        if requested is not None and each.name not in requested:
            continue
        extractor = EXTRACTORS[each.name][opened.fmt]
        try:
            payload = extractor(opened)
        except Exception as exc:  # per-facet boundary: what the facet met is a fact about the file
            reason = classify_exception(exc)
            results.append(
                FacetResult(each.name, each.version, "failed", None, reason, describe(exc))
            )
            continue
        if isinstance(payload, Capped):
            reason = payload.reason(opened.limits)
            results.append(
                FacetResult(each.name, each.version, "ok", dict(payload.payload), message=reason)
            )
            continue
        results.append(FacetResult(each.name, each.version, "ok", dict(payload)))
    return tuple(results)
