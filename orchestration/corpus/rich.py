"""Design files with what the extraction facets read (pixelforge_core/facets.py): XMP lineage
ids, an ICC profile, PDF document info, text and fonts, layer trees and artboards.

psd-tools writes pixel layers and groups only ("textual information is read-only"), so a type
layer is a pixel layer given the type tool block Photoshop writes (a TypeToolObjectSetting
holding the text and its EngineData: the font set and the style runs), and an artboard a group
given an artboard block; psd-tools reads both back as TypeLayer and Artboard. The PDF with
text is in rich_pdf.py.
"""

from __future__ import annotations

import base64
import io
import struct

from PIL import Image, ImageCms, PngImagePlugin, TiffImagePlugin
from psd_tools import PSDImage
from psd_tools.constants import BlendMode, Resource, Tag
from psd_tools.psd.descriptor import Descriptor, DescriptorBlock, Double, RawData, String
from psd_tools.psd.image_resources import ImageResource
from psd_tools.psd.tagged_blocks import TaggedBlock

from orchestration.corpus.content import artwork, encode

SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
DOCUMENT_ID = "xmp.did:6f1c2a4e-0d5b-4b8e-9a43-3c2f1e7d9b10"
INSTANCE_ID = "xmp.iid:0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"
DERIVED_FROM = "xmp.did:1e2d3c4b-5a69-4788-96a5-b4c3d2e1f0a9"
CREATOR_TOOL = "Adobe Photoshop 25.0 (Macintosh)"
ARABIC_HELLO = "\u0645\u0631\u062d\u0628\u0627"  # right-to-left text


def xmp_packet(
    creator_tool: str = CREATOR_TOOL,
    document_id: str = DOCUMENT_ID,
    instance_id: str = INSTANCE_ID,
    derived_from: str = DERIVED_FROM,
    title: str = "Spring campaign key visual",
    authors: tuple[str, ...] = ("Ana Ruiz", "Li Wei"),
    padding: int = 512,
) -> bytes:
    """An XMP packet as Adobe apps write it: simple properties as attributes, DerivedFrom as a
    structure, dc:title an rdf:Alt, dc:creator an rdf:Seq, whitespace padding at the end."""
    creators = "".join(f"<rdf:li>{author}</rdf:li>" for author in authors)
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
        'xmlns:stRef="http://ns.adobe.com/xap/1.0/sType/ResourceRef#" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmp:CreatorTool="{creator_tool}" xmpMM:DocumentID="{document_id}" '
        f'xmpMM:InstanceID="{instance_id}">'
        '<xmpMM:DerivedFrom stRef:instanceID="xmp.iid:previous" '
        f'stRef:documentID="{derived_from}"/>'
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>'
        f"<dc:creator><rdf:Seq>{creators}</rdf:Seq></dc:creator>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>\n" + " " * padding + '\n<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def raster_with_xmp(fmt: str = "png", width: int = 320, height: int = 200, seed: int = 0) -> bytes:
    """A PNG, JPEG, TIFF or WebP export carrying XMP and an sRGB profile; the PNG, TIFF and
    WebP with an alpha channel whose first rows are transparent (a cut-out)."""
    image = artwork(width, height, seed, noise=0).convert("RGBA")
    alpha = Image.new("L", (width, height), 255)
    alpha.paste(0, (0, 0, width, max(1, height // 10)))
    image.putalpha(alpha)
    packet = xmp_packet()
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", packet.decode("utf-8"))
        return encode(image, "PNG", pnginfo=info, icc_profile=SRGB_PROFILE)
    if fmt == "jpeg":
        return encode(image.convert("RGB"), "JPEG", xmp=packet, icc_profile=SRGB_PROFILE)
    if fmt == "tiff":
        directory = TiffImagePlugin.ImageFileDirectory_v2()
        directory[700] = packet
        directory.tagtype[700] = 1  # BYTE, as XMP is stored (TIFF tag 700)
        return encode(image, "TIFF", tiffinfo=directory, icc_profile=SRGB_PROFILE)
    if fmt == "webp":
        return encode(image, "WEBP", xmp=packet, icc_profile=SRGB_PROFILE, lossless=True)
    raise ValueError(f"no XMP writer for {fmt}")


# --- PSD with text layers and an artboard --------------------------------------------------


def _engine_string(text: str) -> bytes:
    raw = b"\xfe\xff" + text.encode("utf-16-be", "surrogatepass")  # hostile names too
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def engine_data(text: str, fonts: list[str], runs: list[tuple[int, int]]) -> bytes:
    """EngineData as Photoshop writes it (a PostScript-like dictionary): the text, its style
    runs (font index, length) and the font set."""
    font_set = b" ".join(
        b"<< /Name " + _engine_string(font) + b" /Script 0 /FontType 1 /Synthetic 0 >>"
        for font in fonts
    )
    run_array = b" ".join(
        b"<< /StyleSheet << /StyleSheetData << /Font %d /FontSize 24.0 >> >> >>" % font
        for font, _ in runs
    )
    lengths = b" ".join(b"%d" % length for _, length in runs)
    return (
        b"<<\n/EngineDict <<\n/Editor << /Text " + _engine_string(text + "\r") + b" >>\n"
        b"/StyleRun << /RunArray [ " + run_array + b" ] /RunLengthArray [ " + lengths + b" ] >>"
        b"\n>>\n/ResourceDict << /FontSet [ " + font_set + b" ] >>\n>>"
    )


def make_type_layer(
    layer: object, text: str, fonts: list[str], runs: list[tuple[int, int]]
) -> None:
    """Give a psd-tools pixel layer the type tool block of a text layer."""
    data = DescriptorBlock()
    data[b"Txt "] = String(text + "\r")
    data[b"EngineData"] = RawData(engine_data(text, fonts, runs))
    transform = (1.0, 0.0, 0.0, 1.0, float(layer.left), float(layer.bottom))  # type: ignore[attr-defined]
    blocks = layer._record.tagged_blocks  # type: ignore[attr-defined]  # noqa: SLF001
    blocks.set_data(Tag.TYPE_TOOL_OBJECT_SETTING, 1, transform, 50, data, 1, DescriptorBlock())


def make_artboard(group: object, bbox: tuple[int, int, int, int]) -> None:
    rect = Descriptor(classID=b"classFloatRect")
    for key, value in zip((b"Left", b"Top ", b"Rght", b"Btom"), bbox, strict=True):
        rect[key] = Double(float(value))
    block = DescriptorBlock()
    block[b"artboardRect"] = rect
    blocks = group._record.tagged_blocks  # type: ignore[attr-defined]  # noqa: SLF001
    blocks[Tag.ARTBOARD_DATA1] = TaggedBlock(key=Tag.ARTBOARD_DATA1, data=block)


def psd_with_text(width: int = 800, height: int = 600, seed: int = 0) -> bytes:
    """An artboard holding a background, a hidden half-opaque multiply layer, two text layers
    (one with two fonts) and a group with a third; XMP and an sRGB profile as resources."""
    psd = PSDImage.new("RGB", (width, height), color=(255, 255, 255))
    board = psd.create_group(name="Instagram post")
    board.create_pixel_layer(artwork(width, height, seed, noise=0), name="Background")
    shade = board.create_pixel_layer(
        Image.new("RGBA", (width // 2, height // 2), (20, 30, 90, 255)), name="Shade", top=10
    )
    shade.opacity, shade.visible, shade.blend_mode = 128, False, BlendMode.MULTIPLY
    texts = [
        ("Headline", "Summer sale", ["Inter-Bold", "ArialMT"], [(0, 7), (1, 5)]),
        (
            "Subline",
            "Up to 50% off \u2013 \u0645\u0631\u062d\u0628\u0627",
            ["Inter-Regular"],
            [(0, 21)],
        ),
    ]
    for index, (name, text, fonts, runs) in enumerate(texts):
        layer = board.create_pixel_layer(
            Image.new("RGBA", (width // 2, 40), (0, 0, 0, 255)),
            name=name,
            top=40 + 60 * index,
            left=40,
        )
        make_type_layer(layer, text, fonts, runs)
    badges = board.create_group(name="Badges")
    badge = badges.create_pixel_layer(
        Image.new("RGBA", (80, 40), (250, 200, 20, 255)), name="Badge text", top=200, left=300
    )
    make_type_layer(badge, "NEW", ["Inter-Bold"], [(0, 4)])
    make_artboard(board, (0, 0, width, height))
    resources = psd.image_resources
    resources[Resource.XMP_METADATA] = ImageResource(key=Resource.XMP_METADATA, data=xmp_packet())
    resources[Resource.ICC_PROFILE] = ImageResource(key=Resource.ICC_PROFILE, data=SRGB_PROFILE)
    buffer = io.BytesIO()
    psd.save(buffer)
    return buffer.getvalue()


def psd_transparent(
    width: int = 64,
    height: int = 48,
    transparent: tuple[tuple[int, int], ...] = ((10, 20),),
    merged_alpha: bool = True,
    rle: bool = True,
) -> bytes:
    """An RGB PSD whose merged image has a fourth channel, opaque but at the (x, y) pixels in
    `transparent`; `merged_alpha`: the layer count is negative, so that channel is the
    composite's transparency (else a saved selection). One empty layer; merged rows PackBits
    (literal runs) or raw. Written byte by byte: psd-tools writes no negative layer count."""
    record = (
        struct.pack(">iiiiH", 0, 0, 0, 0, 1)
        + struct.pack(">hI", 0, 2)
        + b"8BIMnorm"
        + bytes([255, 0, 0, 0])
        + struct.pack(">I", 12)
        + struct.pack(">II", 0, 0)
        + b"\x01a\x00\x00"
    )
    info = struct.pack(">h", -1 if merged_alpha else 1) + record + b"\x00\x00"
    info += b"\x00" * (len(info) % 2)
    section = struct.pack(">I", len(info)) + info + struct.pack(">I", 0)
    alpha = [bytearray(b"\xff" * width) for _ in range(height)]
    for x, y in transparent:
        alpha[y][x] = 0
    rows = [bytes([0x80]) * width] * (3 * height) + [bytes(row) for row in alpha]
    if rle:
        packed = [_packbits_literal(row) for row in rows]
        merged = struct.pack(">H", 1) + b"".join(struct.pack(">H", len(r)) for r in packed)
        merged += b"".join(packed)
    else:
        merged = struct.pack(">H", 0) + b"".join(rows)
    header = struct.pack(">4sH6xHIIHH", b"8BPS", 1, 4, height, width, 8, 3)
    return header + struct.pack(">II", 0, 0) + struct.pack(">I", len(section)) + section + merged


def _packbits_literal(row: bytes) -> bytes:
    return b"".join(
        bytes([len(row[i : i + 128]) - 1]) + row[i : i + 128] for i in range(0, len(row), 128)
    )


# --- SVG with text, metadata and an embedded raster -----------------------------------------


def svg_with_text(seed: int = 0) -> bytes:
    """An Illustrator-like SVG export: generator comment, <title>, XMP in <metadata>, nested
    groups, <text>/<tspan> runs in three font families, an embedded PNG."""
    thumbnail = base64.b64encode(encode(artwork(16, 16, seed, noise=0), "PNG")).decode("ascii")
    packet = xmp_packet(creator_tool="Adobe Illustrator 28.0 (Macintosh)").decode("utf-8")
    packet = packet.split("?>", 1)[1].rsplit("<?xpacket", 1)[0]  # the xmpmeta element alone
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!-- Generator: Adobe Illustrator 28.0.0, SVG Export Plug-In -->\n"
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="600" height="400" viewBox="0 0 600 400">'
        "<title>Spring poster</title>"
        f"<metadata>{packet}</metadata>"
        '<defs><linearGradient id="g"><stop offset="0" stop-color="#123456"/></linearGradient>'
        "</defs>"
        '<g id="layer-1"><rect width="600" height="400" fill="url(#g)"/>'
        '<g id="art"><circle cx="100" cy="100" r="40" fill="#f0a35e"/>'
        '<circle cx="200" cy="100" r="30" fill="#1e3c72"/></g></g>'
        '<image x="10" y="10" width="16" height="16" '
        f'xlink:href="data:image/png;base64,{thumbnail}"/>'
        '<text x="40" y="300" font-family="\'Inter\', sans-serif" font-size="48">Spring '
        '<tspan font-weight="bold" style="font-family: Playfair Display">collection</tspan></text>'
        '<text x="40" y="360" style="font-size:20px;font-family:Roboto Mono">'
        "Caf\u00e9 \u2013 2026</text>"
        "</svg>"
    ).encode()
