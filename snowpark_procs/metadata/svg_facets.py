"""The structure and text facets of an SVG that passed pixelforge_core.svg.check_svg, from its
tree parsed (defused) once more (opened.py); the file is at most limits.max_svg_bytes.

Structure: the root's viewBox, SVG elements counted by local tag name (the MAX_ELEMENT_KINDS
most frequent kept; foreign elements such as the XMP inside <metadata> are not counted),
embedded rasters (data: URIs, the only images check_svg lets through). Text:
each <text> element's text (its <tspan>/<textPath> runs joined, whitespace collapsed as SVG
renders it by default), its 1-based ordinal as `ref`; fonts: the families named by
font-family attributes and CSS declarations (style attributes and <style> sheets), generic
families (serif, sans-serif...) left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

from pixelforge_core.facets import StructurePayload, SvgStructurePayload
from pixelforge_core.svg import normalize_css
from snowpark_procs.metadata.capped import Capped
from snowpark_procs.metadata.clean import clean_name
from snowpark_procs.metadata.opened import OpenedFile
from snowpark_procs.metadata.text_runs import TextCollector

MAX_ELEMENT_KINDS = 200
_SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
_DATA_IMAGE = re.compile(r"\s*data:image/", re.IGNORECASE)
_FONT_FAMILY = re.compile(r"font-family\s*:\s*([^;}]*)", re.IGNORECASE)
_FONT_SHORTHAND = re.compile(r"(?<![-\w])font\s*:\s*([^;}]*)", re.IGNORECASE)
_GENERIC_FAMILIES = frozenset(
    {
        *("serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "emoji"),
        *("ui-serif", "ui-sans-serif", "ui-monospace", "ui-rounded", "math", "fangsong"),
        *("inherit", "initial", "unset", "revert"),
    }
)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def svg_structure(opened: OpenedFile) -> StructurePayload:
    root, limits = opened.svg_root, opened.limits
    counts: Counter[str] = Counter()
    rasters = 0
    for element in root.iter():
        tag = str(element.tag)
        if tag.startswith(_SVG_NAMESPACE) or not tag.startswith("{"):
            counts[clean_name(_local(tag), limits.max_name_chars)] += 1
        rasters += sum(
            1
            for name, value in element.attrib.items()
            if _local(name) == "href" and _DATA_IMAGE.match(value)
        )
    view_box = opened.svg_info.view_box
    svg: SvgStructurePayload = {
        "view_box": list(view_box) if view_box is not None else None,
        "element_counts": dict(sorted(counts.most_common(MAX_ELEMENT_KINDS))),
        "embedded_rasters": rasters,
    }
    return {
        "layers": [],
        "layers_truncated": False,
        "artboards": [],
        "svg": svg,
        "pages": [],
        "has_annotations": None,
        "has_forms": None,
    }


def svg_text(opened: OpenedFile) -> Mapping[str, object] | Capped:
    collector = TextCollector(opened.limits)
    ordinal = 0
    for element in opened.svg_root.iter():
        name = _local(element.tag)
        family = element.get("font-family")
        if family:
            collector.add_fonts(font_families(family))
        style = element.get("style")
        if style or name == "style":
            collector.add_fonts(css_font_families(style if style else "".join(element.itertext())))
        if name == "text":
            ordinal += 1
            if not collector.truncated:
                collector.add("svg", ordinal, " ".join("".join(element.itertext()).split()))
    return collector.result()


def css_font_families(css: str) -> list[str]:
    """The families of font-family declarations (and the `font` shorthand's last part)."""
    text = normalize_css(css) or ""
    families = [f for match in _FONT_FAMILY.finditer(text) for f in font_families(match.group(1))]
    for match in _FONT_SHORTHAND.finditer(text):
        # `font: italic bold 12px/30px Georgia, serif`: the families follow the size
        tail = re.split(r"\d[\w%.]*(?:/\S+)?\s+", match.group(1), maxsplit=1)
        if len(tail) == 2:
            families.extend(font_families(tail[1]))
    return families


def font_families(value: str) -> list[str]:
    """A CSS family list: names split at commas, quotes and !important dropped, generics out."""
    names = []
    for part in value.replace("!important", "").split(","):
        name = part.strip().strip("'\"").strip()
        if name and name.lower() not in _GENERIC_FAMILIES:
            names.append(name)
    return names
