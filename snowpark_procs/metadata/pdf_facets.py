"""The structure and text facets of a PDF, from the reader pypdf opened once (opened.py).

Structure: each page's size in points as displayed (/Rotate and /UserUnit applied) for the
first limits.max_pages pages (a longer document: that cap is the facet's reason, capped.py),
whether one of them has annotations (/Annots), whether the
document has an interactive form (AcroForm fields or XFA). Text: pypdf's text of the first
limits.max_text_pages pages, as long as their decoded content streams stay within
limits.max_text_content_bytes in all (a page that would go over is skipped, `truncated` set);
fonts: the BaseFont names of the fonts the listed pages' resources name, subset prefixes
("ABCDEF+", ISO 32000-1 §9.6.4) and Type 0 encoding suffixes ("-Identity-H") stripped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping

from pypdf import PageObject
from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

from pixelforge_core.facets import PagePayload, StructurePayload
from snowpark_procs.metadata.capped import Capped, capped
from snowpark_procs.metadata.opened import OpenedFile
from snowpark_procs.metadata.text_runs import TextCollector

_SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")
_ENCODING_SUFFIX = re.compile(r"-Identity-[HV]$")


def _pages(opened: OpenedFile, limit: int) -> Iterator[tuple[int, PageObject]]:
    reader = opened.pdf
    for number in range(min(len(reader.pages), limit)):
        yield number + 1, reader.pages[number]


def pdf_structure(opened: OpenedFile) -> Mapping[str, object] | Capped:
    pages: list[PagePayload] = []
    annotations = False
    for number, page in _pages(opened, opened.limits.max_pages):
        width, height = _displayed_size(page)
        pages.append({"page": number, "width_pt": width, "height_pt": height})
        annots = page.get("/Annots")
        annotations = annotations or bool(annots.get_object() if annots is not None else None)
    catalog = opened.pdf.trailer["/Root"].get_object()
    form = catalog.get("/AcroForm")
    form = form.get_object() if form is not None else None
    has_form = isinstance(form, DictionaryObject) and bool(
        _resolved(form.get("/Fields")) or form.get("/XFA") is not None
    )
    payload: StructurePayload = {
        "layers": [],
        "layers_truncated": False,
        "artboards": [],
        "svg": None,
        "pages": pages,
        "has_annotations": annotations,
        "has_forms": has_form,
    }
    return capped(payload, ["max_pages"] if len(opened.pdf.pages) > len(pages) else [])


def _resolved(value: object) -> object:
    return value.get_object() if hasattr(value, "get_object") else value


def _displayed_size(page: PageObject) -> tuple[float, float]:
    unit = float(page.user_unit or 1)
    width = abs(float(page.mediabox.width)) * unit
    height = abs(float(page.mediabox.height)) * unit
    if page.rotation % 180 == 90:
        width, height = height, width
    return _points(width), _points(height)


def _points(value: float) -> float:
    return round(value, 2) if math.isfinite(value) else 0.0


def pdf_text(opened: OpenedFile) -> Mapping[str, object] | Capped:
    limits = opened.limits
    collector = TextCollector(limits)
    budget = limits.max_text_content_bytes
    for number, page in _pages(opened, limits.max_pages):
        collector.add_fonts(_font_names(page))
        if number > limits.max_text_pages or collector.truncated:
            continue
        content = _content_bytes(page)
        if content > budget:
            collector.cut("max_text_content_bytes")
            continue
        budget -= content
        collector.add("page", number, page.extract_text())
    if len(opened.pdf.pages) > limits.max_text_pages:
        collector.cut("max_text_pages")
    return collector.result()


def _content_bytes(page: PageObject) -> int:
    contents = _resolved(page.get("/Contents"))
    streams = contents if isinstance(contents, ArrayObject) else [contents]
    total = 0
    for stream in streams:
        stream = _resolved(stream)
        if isinstance(stream, StreamObject):
            total += len(stream.get_data())  # decoded (pypdf caps each at 75 MB), then cached
    return total


def _font_names(page: PageObject) -> list[str]:
    resources = _resolved(page.get("/Resources"))
    fonts = _resolved(resources.get("/Font")) if isinstance(resources, DictionaryObject) else None
    if not isinstance(fonts, DictionaryObject):
        return []
    names = []
    for reference in fonts.values():
        font = _resolved(reference)
        base = font.get("/BaseFont") if isinstance(font, DictionaryObject) else None
        if base is not None:
            name = _utf8(str(base).lstrip("/"))
            names.append(_ENCODING_SUFFIX.sub("", _SUBSET_PREFIX.sub("", name)))
    return names


def _utf8(name: str) -> str:
    """A name's bytes (pypdf gives them as Latin-1 characters) read as UTF-8, as PDF 2.0 reads
    names (ISO 32000-2 §7.3.5); bytes that are not UTF-8 become U+FFFD."""
    try:
        return name.encode("latin-1").decode("utf-8", "replace")
    except UnicodeError:  # a character beyond Latin-1: pypdf decoded it already
        return name
