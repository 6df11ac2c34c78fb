"""A safe SVG reader, shared by metadata extraction and the thumbnail renderer.

An SVG passes only if it needs nothing but itself: no entity declarations (defusedxml), no DTD
internal subset, no <script>/<foreignObject>, and every href/url() points inside the document
('#id') or is a data: URI of a raster image, whose declared sizes together fit a pixel budget.
Only then may a renderer see it.
"""

from __future__ import annotations

import base64
import io
import math
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from PIL import Image

from snowpark_procs.metadata.failures import describe
from snowpark_procs.reason_codes import (
    DECOMPRESSION_BOMB,
    FILE_TOO_LARGE,
    HOSTILE_CONTENT,
    TRUNCATED_FILE,
    UNREADABLE_FILE,
)
from snowpark_procs.records import MetadataFailure

MAX_SVG_BYTES = 16 * 1024 * 1024
# SVG renderers decode every inline raster in full, whatever the SVG's own size (measured: a
# 36 KB SVG holding a 15000 x 15000 PNG took librsvg 2.0 GiB and 4 s at a 10 px scale, resvg
# 1.1 GiB). All inline rasters of one SVG share this budget, about 250 MiB decoded.
MAX_EMBEDDED_PIXELS = 50_000_000
_EMBEDDED_FORMATS = ["PNG", "JPEG", "GIF", "WEBP", "BMP"]
# Renderers recurse per nesting level and per '#id' reference they expand: resvg crashed
# (SIGSEGV) at 250 nested groups and at 400 chained <use>s; librsvg's XML parser stops at 256
# levels. Designs stay far below.
MAX_SVG_DEPTH = 128
_LOCAL_URL = re.compile(r"url\(\s*['\"]?#([^'\")\s]+)", re.IGNORECASE)
CSS_PX_PER_INCH = 96.0

_FORBIDDEN_ELEMENTS = frozenset({"script", "foreignobject"})
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|jpg|gif|webp|bmp)[;,]", re.IGNORECASE)
_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
_IMPORT = re.compile(r"@import", re.IGNORECASE)
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_STYLESHEET_PI = re.compile(rb"<\?xml-stylesheet", re.IGNORECASE)
_LENGTH = re.compile(
    r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|mm|cm|in|em|ex|%)?\s*$"
)
_UNIT_PX = {
    "": 1.0,
    "px": 1.0,
    "pt": CSS_PX_PER_INCH / 72,
    "pc": CSS_PX_PER_INCH / 6,
    "mm": CSS_PX_PER_INCH / 25.4,
    "cm": CSS_PX_PER_INCH / 2.54,
    "in": CSS_PX_PER_INCH,
    "em": 16.0,  # the CSS default font size
    "ex": 8.0,
}


@dataclass(frozen=True)
class SvgInfo:
    """Intrinsic size of a checked SVG in CSS pixels (None when the file does not say)."""

    width_px: int | None
    height_px: int | None
    view_box: tuple[float, float, float, float] | None


def check_svg(
    data: bytes, max_bytes: int = MAX_SVG_BYTES, max_embedded_pixels: int = MAX_EMBEDDED_PIXELS
) -> SvgInfo | MetadataFailure:
    """Parse an SVG safely and refuse anything that would make a renderer reach outside it,
    or decode more inline raster pixels than max_embedded_pixels."""
    if len(data) > max_bytes:
        return MetadataFailure(FILE_TOO_LARGE, f"SVG has {len(data)} bytes, over {max_bytes}")
    if _INTERNAL_SUBSET.search(data):
        return MetadataFailure(HOSTILE_CONTENT, "SVG declares a DTD internal subset")
    if _STYLESHEET_PI.search(data):
        return MetadataFailure(HOSTILE_CONTENT, "SVG links an external stylesheet")
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return MetadataFailure(HOSTILE_CONTENT, describe(exc))
    except ParseError as exc:
        return MetadataFailure(_parse_error_code(exc, data), describe(exc))
    if _local_name(root.tag) != "svg":
        return MetadataFailure(UNREADABLE_FILE, f"root element is <{_local_name(root.tag)}>")
    refusal = _find_refusal(root) or _depth_refusal(root, MAX_SVG_DEPTH)
    if refusal:
        return MetadataFailure(HOSTILE_CONTENT, refusal)
    return _embedded_pixels_refusal(root, max_embedded_pixels) or _intrinsic_size(root)


def _parse_error_code(exc: ParseError, data: bytes) -> str:
    """An XML error on the last line of the data means the document stops early."""
    line = exc.position[0] if exc.position else 0
    return TRUNCATED_FILE if line >= data.count(b"\n") + 1 else UNREADABLE_FILE


def _local_name(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _find_refusal(root: Element) -> str | None:
    for element in root.iter():
        name = _local_name(element.tag)
        if name.lower() in _FORBIDDEN_ELEMENTS:
            return f"SVG contains <{name}>"
        for attribute, value in element.attrib.items():
            if _local_name(attribute) == "href" and not _is_internal(value):
                return f"SVG references {value[:80]!r} in {attribute}"
            refusal = _css_refusal(value)
            if refusal:
                return refusal
        if name == "style":
            refusal = _css_refusal("".join(element.itertext()))
            if refusal:
                return refusal
    return None


def _css_refusal(text: str) -> str | None:
    if "@" in text and _IMPORT.search(text):
        return "SVG style uses @import"
    if "url(" in text.lower():
        for match in _URL.finditer(text):
            if not _is_internal(match.group(2)):
                return f"SVG style references url({match.group(2)[:80]!r})"
    return None


def _depth_refusal(root: Element, max_depth: int) -> str | None:
    """Nesting depth plus the longest chain of '#id' references (an over-estimate of how deep
    a renderer recurses), walked without recursion; a reference loop is refused too."""
    references: dict[str, set[str]] = {}  # id -> ids referenced inside that element
    deepest = 0
    stack: list[tuple[Element, int, tuple[str, ...]]] = [(root, 1, ())]
    while stack:
        element, depth, enclosing = stack.pop()
        if depth > max_depth:
            return f"SVG nests elements more than {max_depth} deep"
        deepest = max(deepest, depth)
        own_id = element.get("id")
        if own_id:
            enclosing = (*enclosing, own_id)
            references.setdefault(own_id, set())
        for attribute, value in element.attrib.items():
            targets = _LOCAL_URL.findall(value)
            if _local_name(attribute) == "href" and value.strip().startswith("#"):
                targets.append(value.strip()[1:])
            for owner in enclosing:
                references[owner].update(targets)
        stack.extend((child, depth + 1, enclosing) for child in element)
    chain = _longest_chain(references)
    if chain is None:
        return "SVG references form a loop"
    if deepest + chain > max_depth:
        return f"SVG nests and references elements more than {max_depth} deep"
    return None


def _longest_chain(references: dict[str, set[str]]) -> int | None:
    """The longest path through the reference graph (iterative DFS), or None on a loop."""
    longest: dict[str, int] = {}
    for start in references:
        path = [(start, iter(sorted(references[start])))]
        on_path = {start}
        while path:
            node, pending = path[-1]
            target = next((t for t in pending if t in references), None)
            if target is None:
                path.pop()
                on_path.discard(node)
                longest[node] = 1 + max(
                    (longest[t] for t in references[node] if t in longest), default=0
                )
            elif target in on_path:
                return None
            elif target not in longest:
                path.append((target, iter(sorted(references[target]))))
                on_path.add(target)
    return max(longest.values(), default=0)


def _embedded_pixels_refusal(root: Element, max_pixels: int) -> MetadataFailure | None:
    """Add up the declared size of every inline raster (each <image> is decoded on its own)."""
    total = 0
    for element in root.iter():
        for attribute, value in element.attrib.items():
            if _local_name(attribute) != "href" or not _DATA_IMAGE.match(value.strip()):
                continue
            try:
                width, height = _embedded_size(value.strip())
            except Image.DecompressionBombError:
                return MetadataFailure(
                    DECOMPRESSION_BOMB, "SVG embeds an image over Pillow's pixel limit"
                )
            except Exception:  # what Pillow cannot size, no renderer may decode
                return MetadataFailure(
                    HOSTILE_CONTENT, "SVG embeds an image whose size cannot be read"
                )
            total += width * height
            if total > max_pixels:
                return MetadataFailure(
                    DECOMPRESSION_BOMB,
                    f"SVG embeds images of {total} pixels in all (the last {width}x{height}), "
                    f"over the limit of {max_pixels}",
                )
    return None


def _embedded_size(uri: str) -> tuple[int, int]:
    header, _, payload = uri.partition(",")
    if header.lower().endswith(";base64"):
        raw = base64.b64decode(payload)
    else:
        raw = unquote_to_bytes(payload)
    with Image.open(io.BytesIO(raw), formats=_EMBEDDED_FORMATS) as image:  # header only
        return image.size


def _is_internal(reference: str) -> bool:
    reference = reference.strip()
    # A data: URI holding another SVG could carry its own references: only rasters pass.
    return reference.startswith("#") or _DATA_IMAGE.match(reference) is not None


def _intrinsic_size(root: Element) -> SvgInfo:
    view_box = _view_box(root.get("viewBox"))
    width = _length_px(root.get("width"))
    height = _length_px(root.get("height"))
    if view_box is not None:
        _, _, box_width, box_height = view_box
        if width is None and height is None:
            width, height = box_width, box_height
        elif width is None and height is not None:
            width = height * box_width / box_height
        elif height is None and width is not None:
            height = width * box_height / box_width
    return SvgInfo(width_px=_whole(width), height_px=_whole(height), view_box=view_box)


def _length_px(value: str | None) -> float | None:
    match = _LENGTH.match(value) if value else None
    if match is None or match.group(2) == "%":
        return None
    number = float(match.group(1)) * _UNIT_PX[match.group(2) or ""]
    return number if math.isfinite(number) and number > 0 else None


def _view_box(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    try:
        numbers = tuple(float(part) for part in value.replace(",", " ").split())
    except ValueError:
        return None
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        return None
    x, y, width, height = numbers
    return (x, y, width, height) if width > 0 and height > 0 else None


def _whole(pixels: float | None) -> int | None:
    if pixels is None or not math.isfinite(pixels) or pixels <= 0:
        return None
    return max(1, round(pixels))
