"""Hostile files for the extraction facets: PSD layer floods and deep group nesting (written
byte by byte: psd-tools builds a layer in milliseconds, thousands in minutes), text bombs, fonts
and layer names with control characters, bidirectional overrides, right-to-left script and
10000 characters, XMP with entity expansion (the billion laughs) in each format's own place.

PSD layout: Adobe Photoshop File Formats Specification, "Layer and Mask Information Section"
(layer records, channel image data, the 'lsct' section divider and 'luni' Unicode name blocks).
"""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image, PngImagePlugin
from psd_tools import PSDImage
from psd_tools.constants import Resource
from psd_tools.psd.image_resources import ImageResource

from orchestration.corpus.content import encode
from orchestration.corpus.rich import make_type_layer
from orchestration.corpus.rich_pdf import pdf_file, pdf_with_text

# Names a hostile author may give a layer or a font.
ODD_NAMES = (
    "Inter\x00\x07\x1b[31mRed\x7f\x9b",  # NUL, BEL, an ANSI escape, DEL, a C1 control
    "W" * 10_000,
    "\u0646\u0633\u062e Naskh",  # right-to-left script, kept
    "Safe\u202eexe.fdp",  # a right-to-left override (Trojan Source), removed
)
LONE_SURROGATE = "\ud800lone surrogate"  # not in ODD_NAMES: neither UTF-16 nor XML can hold it
SEPARATE = "|"


def _pascal(name: bytes) -> bytes:
    raw = bytes([len(name)]) + name
    return raw + b"\x00" * (-len(raw) % 4)


def _block(key: bytes, data: bytes) -> bytes:
    data += b"\x00" * (-len(data) % 4)
    return b"8BIM" + key + struct.pack(">I", len(data)) + data


def _record(name: str, divider: int | None = None, unicode: bool = False) -> bytes:
    """An empty (0 x 0) layer with one raw channel, its name (also as a Unicode name block),
    a section divider."""
    extra = struct.pack(">II", 0, 0) + _pascal(name.encode("ascii", "replace")[:31])
    if unicode:
        encoded = name.encode("utf-16-be", "surrogatepass")
        extra += _block(b"luni", struct.pack(">I", len(encoded) // 2) + encoded)
    if divider is not None:
        extra += _block(b"lsct", struct.pack(">I", divider))
    return (
        struct.pack(">iiiiH", 0, 0, 0, 0, 1)
        + struct.pack(">hI", 0, 2)  # channel 0: 2 bytes (its compression field only)
        + b"8BIMnorm"
        + bytes([255, 0, 0x08, 0])  # opacity, clipping, flags (bit 3: bit 4 is valid), filler
        + struct.pack(">I", len(extra))
        + extra
    )


def psd_layers(
    records: list[bytes], side: int = 8, depth: int = 8, has_composite: bool | None = None
) -> bytes:
    """A grey PSD of side x side and `depth` bits holding the given layer records (bottom
    first). With `has_composite` it carries a version info resource (1057) saying whether its
    merged image is real: Photoshop writes False when "Maximize PSD compatibility" is off, and
    readers then composite the layers themselves."""
    layer_info = struct.pack(">h", len(records)) + b"".join(records) + b"\x00\x00" * len(records)
    layer_info += b"\x00" * (len(layer_info) % 2)
    section = struct.pack(">I", len(layer_info)) + layer_info + struct.pack(">I", 0)
    header = struct.pack(">4sH6xHIIHH", b"8BPS", 1, 1, side, side, depth, 1)
    resources = b""
    if has_composite is not None:
        writer = "Adobe Photoshop".encode("utf-16-be")
        info = struct.pack(">I?", 1, has_composite) + struct.pack(">I", len(writer) // 2)
        info += writer + struct.pack(">I", len(writer) // 2) + writer + struct.pack(">I", 1)
        info += b"\x00" * (len(info) % 2)
        resources = b"8BIM" + struct.pack(">H", Resource.VERSION_INFO) + b"\x00\x00"
        resources += struct.pack(">I", len(info)) + info
    merged = b"\x00\x00" + b"\x80" * side * side * (depth // 8)  # raw grey
    return (
        header
        + struct.pack(">I", 0)
        + struct.pack(">I", len(resources))
        + resources
        + struct.pack(">I", len(section))
        + section
        + merged
    )


def psd_layer_flood(layers: int = 30_000) -> bytes:
    """The most layers a PSD's layer count (a signed 16-bit number) can declare."""
    return psd_layers([_record(f"layer {index}") for index in range(layers)])


def psd_deep_groups(
    depth: int = 500, side: int = 8, bits: int = 8, has_composite: bool | None = None
) -> bytes:
    """Groups nested `depth` deep around one pixel layer: each group is a bounding divider
    record below its children and an open-folder record above them (a layer count is a signed
    16-bit number, so at most 16,383 deep). psd_layers says what side, bits and has_composite
    are: a 16-bit PSD without a real merged image is composited from its layers."""
    closing = [_record("</Layer group>", divider=3) for _ in range(depth)]
    opening = [_record(f"group {depth - level}", divider=1) for level in range(depth)]
    return psd_layers(
        [*closing, _record("deepest"), *opening], side, bits, has_composite=has_composite
    )


def psd_odd_layer_names() -> bytes:
    # a 256 px merged image: psd-tools may materialise twice the file (psd_parse_limits), and
    # the 10000-character name alone is 20 KB of UTF-16
    names = [*ODD_NAMES, LONE_SURROGATE]
    return psd_layers([_record(name, unicode=True) for name in names], side=256)


def psd_text(texts: list[str], fonts: list[str], noise_side: int = 0) -> bytes:
    """A PSD with one type layer per text, every layer using every font; a noise layer of
    noise_side px makes the file large enough for psd-tools' parse limit (psd_parse_limits:
    twice the file) to let long texts through."""
    psd = PSDImage.new("RGB", (64, 64))
    if noise_side:
        noise = Image.frombytes("RGB", (noise_side,) * 2, random.randbytes(3 * noise_side**2))
        psd.create_pixel_layer(noise, name="noise")
    for index, text in enumerate(texts):
        layer = psd.create_pixel_layer(Image.new("RGBA", (8, 8)), name=f"text {index}")
        make_type_layer(layer, text, fonts, [(i, 1) for i in range(len(fonts))])
    buffer = io.BytesIO()
    psd.save(buffer)
    return buffer.getvalue()


def svg_text_flood(elements: int = 50_000, chars: int = 200) -> bytes:
    """Many <text> elements of `chars` characters each: text far over the facet's limits."""
    run = "<text>" + "x" * chars + "</text>"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        + run * elements
        + "</svg>"
    ).encode("ascii")


def svg_odd_fonts() -> bytes:
    families = "".join(f'<text font-family="{_xml(name)}">t</text>' for name in ODD_NAMES)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{families}</svg>'.encode()
    )


def _xml(text: str) -> str:
    # XML 1.0 allows no C0 controls but tab, newline and carriage return, even as references.
    allowed = "".join(c for c in text if c >= " " or c in "\t\n\r")
    return allowed.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def pdf_odd_fonts(long_name_chars: int = 3_000) -> bytes:
    """The PDF generator's file with its heading font named by all odd names at once (one
    font object, one BaseFont), written with PDF name escapes (ISO 32000-1 §7.3.5). pypdf
    refuses a name token over 4096 bytes: the long name is cut to long_name_chars."""
    # the long name last: the joined name is cut at the facet's name limit
    names = sorted((name[:long_name_chars] for name in (*ODD_NAMES, LONE_SURROGATE)), key=len)
    return pdf_with_text(1, heading_font="QXKZAB+" + SEPARATE.join(names))


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">'
        % (level, (b"&lol%d;" % (level - 1) if level > 1 else b"&lol;") * 10)
        for level in range(1, 10)
    )
    + b']><x:xmpmeta xmlns:x="adobe:ns:meta/">&lol9;</x:xmpmeta>'
)


def xmp_bomb(fmt: str) -> bytes:
    """A file whose XMP packet is the billion laughs, where `fmt` keeps its XMP."""
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", BILLION_LAUGHS.decode("ascii"))
        return encode(Image.new("RGB", (8, 8)), "PNG", pnginfo=info)
    if fmt == "jpeg":
        return encode(Image.new("RGB", (8, 8)), "JPEG", xmp=BILLION_LAUGHS)
    if fmt == "webp":
        return encode(Image.new("RGB", (8, 8)), "WEBP", xmp=BILLION_LAUGHS)
    if fmt == "psd":
        psd = PSDImage.new("RGB", (8, 8))
        psd.image_resources[Resource.XMP_METADATA] = ImageResource(
            key=Resource.XMP_METADATA, data=BILLION_LAUGHS
        )
        buffer = io.BytesIO()
        psd.save(buffer)
        return buffer.getvalue()
    if fmt == "pdf":
        data = pdf_with_text(1)
        start = data.index(b"<?xpacket begin")
        end = data.index(b'<?xpacket end="w"?>') + len(b'<?xpacket end="w"?>')
        packet = BILLION_LAUGHS.ljust(end - start)  # same length: the offsets stay right
        assert len(packet) == end - start
        return data[:start] + packet + data[end:]
    raise ValueError(fmt)


def pdf_dense_text(pages: int = 10, operators: int = 70_000) -> bytes:
    """Pages whose content streams are `operators` tiny text-showing operators each (about
    1 MB a page decoded): what costs pypdf's text extraction most per byte."""
    content = zlib.compress(b"BT /F1 12 Tf 72 720 Td " + b"(a) Tj 1 0 Td " * operators + b"ET")
    kids = " ".join(f"{10 + 2 * page} 0 R" for page in range(pages))
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        4: b"<< /Producer (dense) >>",
    }
    for page in range(pages):
        number = 10 + 2 * page
        objects[number] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (number + 1)
        )
        objects[number + 1] = (
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
            + content
            + b"\nendstream"
        )
    return pdf_file(objects, root=1, info=4)


def pdf_text_bomb(megabytes: int = 60) -> bytes:
    """A one-page PDF whose content stream inflates from ~60 KB to `megabytes` MB (under
    pypdf's own 75 MB cap per stream) of one text string."""
    return pdf_with_text(1, body="A" * (megabytes * 1_000_000))
