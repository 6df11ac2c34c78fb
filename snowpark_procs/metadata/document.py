"""The "document" facet (pixelforge_core/facets.py): XMP authoring and lineage ids, PDF document
info, the ICC profile, real transparency use and animation timing, for every format it covers.

Where each fact comes from: XMP and ICC bytes as the format stores them (Pillow's `xmp` and
`icc_profile` for PNG, JPEG, TIFF and GIF; PSD image resources 1060 and 1039; the WebP "XMP "
and ICCP chunks; the PDF catalog's /Metadata stream; an SVG's <metadata>), read by xmp.py and
icc.py; transparency by transparency.py; timing by animation.py. A fact the format cannot hold,
or that was not checked within its budget, is None. An XMP packet that is not well-formed XML,
or declares a DTD or entities, fails the facet (its reason: unreadable_file / hostile_content);
an unreadable ICC profile only leaves its two fields None.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from PIL import Image
from psd_tools.constants import Resource

from pixelforge_core.facets import DocumentPayload
from pixelforge_core.limits import ExtractionLimits
from snowpark_procs.metadata.animation import Timing, apng_timing, webp_timing
from snowpark_procs.metadata.clean import clean_optional
from snowpark_procs.metadata.icc import icc_facts
from snowpark_procs.metadata.opened import OpenedFile
from snowpark_procs.metadata.psd_alpha import psd_transparency
from snowpark_procs.metadata.transparency import has_transparent_pixel, raster_transparency
from snowpark_procs.metadata.webp import read_at, riff_chunks, riff_end, webp_canvas
from snowpark_procs.metadata.xmp import XmpFields, read_xmp, read_xmp_element

_NO_TIMING = Timing(1, None, None)
_SVG = "{http://www.w3.org/2000/svg}"
_SVG_HEAD_BYTES = 4096
_GENERATOR_COMMENT = re.compile(r"<!--\s*Generator:\s*([^\n]{1,200}?)\s*-->")
_INKSCAPE_VERSION = "{http://www.inkscape.org/namespaces/inkscape}version"


def document_payload(opened: OpenedFile) -> DocumentPayload:
    readers = {"psd": _psd, "pdf": _pdf, "svg": _svg, "webp": _webp}
    return readers.get(opened.fmt, _raster)(opened)


def _payload(
    limits: ExtractionLimits,
    xmp: XmpFields,
    icc: bytes | None = None,
    transparency: bool | None = None,
    timing: Timing = _NO_TIMING,
    info: dict[str, object] | None = None,
) -> DocumentPayload:
    description, space = icc_facts(icc, limits.max_icc_bytes)
    info = info or {}

    def text(key: str) -> str | None:
        return clean_optional(info.get(key), limits.max_name_chars)

    return {
        "creator_tool": xmp.creator_tool or text("creator"),
        "document_id": xmp.document_id,
        "instance_id": xmp.instance_id,
        "derived_from": xmp.derived_from,
        "title": text("title") or xmp.title,
        "author": text("author") or xmp.author,
        "creator": text("creator"),
        "producer": text("producer"),
        "icc_profile": clean_optional(description, limits.max_name_chars),
        "color_space": space,
        "uses_transparency": transparency,
        "animation_duration_ms": timing.duration_ms,
        "loop_count": timing.loop_count,
    }


def _xmp(packet: object, limits: ExtractionLimits) -> XmpFields:
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    if not isinstance(packet, bytes) or not packet.strip(b"\x00 \t\r\n"):
        return XmpFields()
    return read_xmp(packet, limits.max_xmp_bytes, limits.max_name_chars)


def _raster(opened: OpenedFile) -> DocumentPayload:
    limits = opened.limits
    with opened.raster() as im:
        xmp = _xmp(im.info.get("xmp"), limits)
        icc = im.info.get("icc_profile")
        timing = _timing(opened, im)
    transparency = raster_transparency(opened.raster, limits.max_transparency_pixels)
    return _payload(limits, xmp, icc if isinstance(icc, bytes) else None, transparency, timing)


def _timing(opened: OpenedFile, im: Image.Image) -> Timing:
    if opened.fmt == "gif":
        return opened.gif_timing
    if opened.fmt == "png" and getattr(im, "is_animated", False):
        position = opened.source.tell()
        try:
            return apng_timing(opened.source, opened.size, opened.limits.max_frames)
        finally:
            opened.source.seek(position)  # Pillow holds the same stream open
    return _NO_TIMING


def _webp(opened: OpenedFile) -> DocumentPayload:
    source, size, limits = opened.source, opened.size, opened.limits
    packets: dict[bytes, bytes] = {}
    alpha = False
    canvas: tuple[int, int] | None = None
    for fourcc, position, length in riff_chunks(source, min(riff_end(source), size), size):
        if fourcc == b"XMP " and b"XMP " not in packets:
            packets[fourcc] = read_at(source, position, min(length, limits.max_xmp_bytes + 1))
        elif fourcc == b"ICCP" and length <= limits.max_icc_bytes:
            packets[fourcc] = read_at(source, position, length)
        elif fourcc == b"ALPH":
            alpha = True
        elif fourcc in (b"VP8X", b"VP8 ", b"VP8L") and canvas is None:
            canvas, has_alpha = webp_canvas(fourcc, read_at(source, position, min(length, 10)))
            alpha = alpha or has_alpha
    timing = webp_timing(source, size, limits.max_frames)
    return _payload(
        limits,
        _xmp(packets.get(b"XMP "), limits),
        packets.get(b"ICCP"),
        _webp_transparency(opened, canvas) if alpha else False,
        timing,
    )


def _webp_transparency(opened: OpenedFile, canvas: tuple[int, int] | None) -> bool | None:
    """Pillow reads a WebP whole at open and decodes it whole (the first frame of an
    animation): only within the budget, judged from the canvas the chunks declare."""
    width, height = canvas or (0, 0)
    if not 0 < width * height <= opened.limits.max_transparency_pixels:
        return None
    with opened.raster() as im:
        return has_transparent_pixel(im)


def _psd(opened: OpenedFile) -> DocumentPayload:
    psd, limits = opened.psd, opened.limits
    resources = psd.image_resources
    icc = resources.get_data(Resource.ICC_PROFILE)
    return _payload(
        limits,
        _xmp(resources.get_data(Resource.XMP_METADATA), limits),
        icc if isinstance(icc, bytes) else None,
        psd_transparency(opened.source, opened.size, limits.max_transparency_pixels),
    )


def _pdf(opened: OpenedFile) -> DocumentPayload:
    reader, limits = opened.pdf, opened.limits
    info = reader.metadata or {}
    catalog = reader.trailer["/Root"].get_object()
    stream = catalog.get("/Metadata")
    packet = stream.get_object().get_data() if stream is not None else None
    fields = {
        key: info.get(f"/{key.title()}") for key in ("title", "author", "creator", "producer")
    }
    return _payload(limits, _xmp(packet, limits), info=fields)


def _svg(opened: OpenedFile) -> DocumentPayload:
    root, limits = opened.svg_root, opened.limits
    xmp = XmpFields()
    title: str | None = None
    for element in root.iter():
        tag = str(element.tag)
        if tag in (f"{_SVG}metadata", "metadata") and xmp == XmpFields():
            xmp = read_xmp_element(element, limits.max_name_chars)
        elif tag in (f"{_SVG}title", "title") and title is None:
            title = "".join(element.itertext())
    if xmp.creator_tool is None:
        xmp.creator_tool = _svg_generator(opened.svg_bytes[:_SVG_HEAD_BYTES], root)
    return _payload(limits, xmp, info={"title": title})


def _svg_generator(head: bytes, root: Element) -> str | None:
    """What exported the SVG when no XMP says: Illustrator's and Sketch's "Generator" comment
    (the XML parser drops comments, so it is matched in the file's first bytes), Inkscape's
    inkscape:version attribute on the root."""
    match = _GENERATOR_COMMENT.search(head.decode("utf-8", "replace"))
    if match:
        return match.group(1)
    version = root.get(_INKSCAPE_VERSION)
    return f"Inkscape {version.split()[0]}" if version and version.split() else None
