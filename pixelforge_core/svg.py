"""A safe SVG reader, shared by metadata extraction and the thumbnail renderer.

An SVG passes only if it needs nothing but itself: no entity declarations (defusedxml), no DTD
internal subset, no <script>/<foreignObject>, and every href/url() points inside the document
('#id') or is a data: URI of a raster image, whose declared sizes together fit a pixel budget.
Only then may a renderer see it.

Every check reads what a renderer reads, not the raw bytes: the document is decoded first
(byte order mark, then XML declaration: UTF-8, UTF-16 LE/BE, ASCII and 8-bit ASCII supersets;
anything else is refused), and CSS is read with its comments removed and its escapes resolved
(CSS Syntax Level 3, §4.3.7 "Consume an escaped code point", https://www.w3.org/TR/css-syntax-3/),
so neither a UTF-16 `<?xml-stylesheet?>` nor `\75rl(`, `u\rl(` or `@\69mport` slips through.

One module on purpose (~430 lines): decoding, the tree walk and the CSS tokenizer are one
check, and each part is written against what the others guarantee.
"""

from __future__ import annotations

import base64
import codecs
import io
import math
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from PIL import Image

from pixelforge_core.failures import describe
from pixelforge_core.reason_codes import (
    DECOMPRESSION_BOMB,
    FILE_TOO_LARGE,
    HOSTILE_CONTENT,
    TRUNCATED_FILE,
    UNREADABLE_FILE,
)
from pixelforge_core.records import MetadataFailure

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
_URL_START = re.compile(r"url\(\s*", re.IGNORECASE)
_IMPORT = re.compile(r"@import", re.IGNORECASE)
_INTERNAL_SUBSET = re.compile(r"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_STYLESHEET_PI = re.compile(r"<\?xml-stylesheet", re.IGNORECASE)
# What ends a run of plain CSS: an escape, a comment, a string's quote, a newline (which ends
# an unterminated string).
_CSS_SPECIAL = re.compile(r"\\|/\*|[\"'\n\r\f]")
_CSS_HEX_ESCAPE = re.compile(r"[0-9a-fA-F]{1,6}(?:\r\n|[ \t\n\r\f])?")
# Escapes, comments and quotes one CSS text may hold before it is refused unread: normalising
# costs a Python step per token, and no design needs this many.
MAX_CSS_TOKENS = 100_000
# Encodings checked (Python codec names): ASCII supersets, whose markup bytes are ASCII whatever
# the decoder, plus UTF-16. Others (UTF-7, UTF-32, EBCDIC, Shift_JIS...) could show a renderer
# markup the checker never saw, so they are refused.
_ASCII_SUPERSETS = frozenset(
    {"utf-8", "ascii"}
    | {f"iso8859-{n}" for n in (*range(1, 12), *range(13, 17))}
    | {f"cp{n}" for n in range(1250, 1259)}
)
_UTF16 = frozenset({"utf-16", "utf-16-le", "utf-16-be"})
_DECLARED_ENCODING = re.compile(
    r"<\?xml\s[^>]*?\bencoding\s*=\s*([\"'])([^\"']{0,40})\1", re.IGNORECASE
)
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
    text = decode_svg(data)
    if isinstance(text, MetadataFailure):
        return text
    if _INTERNAL_SUBSET.search(text):
        return MetadataFailure(HOSTILE_CONTENT, "SVG declares a DTD internal subset")
    if _STYLESHEET_PI.search(text):
        return MetadataFailure(HOSTILE_CONTENT, "SVG links an external stylesheet")
    try:
        # Parsed as text: expat reads exactly what was checked, whatever the declaration says.
        root = fromstring(text, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return MetadataFailure(HOSTILE_CONTENT, describe(exc))
    except ParseError as exc:
        return MetadataFailure(_parse_error_code(exc, text), describe(exc))
    if _local_name(root.tag) != "svg":
        return MetadataFailure(UNREADABLE_FILE, f"root element is <{_local_name(root.tag)}>")
    refusal = _find_refusal(root) or _depth_refusal(root, MAX_SVG_DEPTH)
    if refusal:
        return MetadataFailure(HOSTILE_CONTENT, refusal)
    return _embedded_pixels_refusal(root, max_embedded_pixels) or _intrinsic_size(root)


def decode_svg(data: bytes) -> str | MetadataFailure:
    """The document's text as an XML parser reads it (XML 1.0 Appendix F, "Autodetection of
    Character Encodings", https://www.w3.org/TR/xml/#sec-guessing): a byte order mark decides,
    else the first bytes and the XML declaration; UTF-8 when nothing is declared."""
    codec, bom = _sniff_encoding(data)
    if codec is None:
        return MetadataFailure(UNREADABLE_FILE, "SVG is in UTF-32 or EBCDIC, which is not read")
    if codec not in _UTF16 and not bom:
        declared = _declared_encoding(data[:256].decode("latin-1"))
        if isinstance(declared, MetadataFailure):
            return declared
        if declared in _UTF16:
            return MetadataFailure(UNREADABLE_FILE, f"SVG declares {declared} but is not UTF-16")
        codec = declared or codec
    try:
        text = data[len(bom) :].decode(codec)
    except UnicodeDecodeError as exc:
        # Bytes that stop inside a character are a cut file; others are not this encoding.
        at_end = exc.end >= len(data) - len(bom)
        return MetadataFailure(
            TRUNCATED_FILE if at_end else UNREADABLE_FILE,
            f"SVG is not valid {codec} at byte {exc.start + len(bom)}",
        )
    declared = _declared_encoding(text)
    if isinstance(declared, MetadataFailure):
        return declared
    if declared is not None and _family(declared) != _family(codec):
        return MetadataFailure(
            UNREADABLE_FILE, f"SVG is {codec} but its XML declaration says {declared}"
        )
    return text


def _sniff_encoding(data: bytes) -> tuple[str | None, bytes]:
    """(Python codec or None for one not read, the byte order mark) from the first 4 bytes."""
    head = data[:4]
    if head in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\x00<", b"<\x00\x00\x00"):
        return None, b""  # UTF-32, with or without its mark
    if head == b"\x4c\x6f\xa7\x94":  # "<?xm" in EBCDIC
        return None, b""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", codecs.BOM_UTF8
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", codecs.BOM_UTF16_LE
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", codecs.BOM_UTF16_BE
    if head == b"<\x00?\x00":
        return "utf-16-le", b""
    if head == b"\x00<\x00?":
        return "utf-16-be", b""
    return "utf-8", b""


def _declared_encoding(text: str) -> str | MetadataFailure | None:
    """The Python codec an XML declaration at the start of text names (None: none named)."""
    match = _DECLARED_ENCODING.match(text.lstrip("\ufeff"))
    if match is None:
        return None
    name = match.group(2)
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        codec = ""
    if codec not in _ASCII_SUPERSETS | _UTF16:
        return MetadataFailure(UNREADABLE_FILE, f"SVG declares encoding {name[:40]!r}, not read")
    return codec


def _family(codec: str) -> str:
    return "utf-16" if codec in _UTF16 else codec


def _parse_error_code(exc: ParseError, text: str) -> str:
    """An XML error on the last line of the data means the document stops early."""
    line = exc.position[0] if exc.position else 0
    return TRUNCATED_FILE if line >= text.count("\n") + 1 else UNREADABLE_FILE


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
    """Refuse CSS that imports or references anything outside the document, read as a CSS
    tokenizer reads it (see normalize_css); text that cannot be normalised is refused."""
    css = normalize_css(text)
    if css is None:
        return f"SVG style has more than {MAX_CSS_TOKENS} CSS escapes, comments or quotes"
    if "@" in css and _IMPORT.search(css):
        return "SVG style uses @import"
    for match in _URL_START.finditer(css):
        # The target up to the next ')' or the end (CSS closes an unterminated url() at EOF);
        # a ')' inside a quoted target only shortens it, and only its start decides.
        target = css[match.end() :].split(")", 1)[0].strip().strip("'\"")
        if not _is_internal(target):
            return f"SVG style references url({target[:80]!r})"
    return None


def normalize_css(text: str) -> str | None:
    """text with CSS comments removed and escapes resolved, quotes kept; None past
    MAX_CSS_TOKENS. Comments are told apart from strings as a tokenizer does, so a "/*" inside
    a string hides nothing. Conservative: an escaped newline outside a string joins the text."""
    if "\\" not in text and "/*" not in text:
        return text
    out: list[str] = []
    position, quote, tokens = 0, "", 0
    while (match := _CSS_SPECIAL.search(text, position)) is not None:
        tokens += 1
        if tokens > MAX_CSS_TOKENS:
            return None
        out.append(text[position : match.start()])
        token, position = match.group(), match.end()
        if token == "\\":
            resolved, position = _css_escape(text, position)
            out.append(resolved)
        elif token == "/*" and not quote:
            end = text.find("*/", position)
            position = len(text) if end < 0 else end + 2
        elif token in "\"'":
            quote = "" if token == quote else quote or token
            out.append(token)
        else:  # a newline ends an unterminated string; "/*" inside a string is text
            quote = "" if token in "\n\r\f" else quote
            out.append(token)
    out.append(text[position:])
    return "".join(out)


def _css_escape(text: str, position: int) -> tuple[str, int]:
    """The code point an escape stands for (position is just past the backslash), and where
    the text goes on: hex digits with one optional whitespace, or any other character."""
    hex_digits = _CSS_HEX_ESCAPE.match(text, position)
    if hex_digits is not None:
        number = int(hex_digits.group().rstrip(), 16)
        valid = 0 < number <= 0x10FFFF and not 0xD800 <= number <= 0xDFFF
        return (chr(number) if valid else "\ufffd"), hex_digits.end()
    if position >= len(text):
        return "", position
    if text.startswith("\r\n", position):
        return "", position + 2
    if text[position] in "\n\r\f":
        return "", position + 1  # a line continuation inside a string
    return text[position], position + 1


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
            targets = _LOCAL_URL.findall(normalize_css(value) or value)
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
