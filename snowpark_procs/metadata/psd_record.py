"""A PSD document as psd-tools reads it, without its pixels: what extraction parses (opened.py).

No extractor decodes a PSD's pixels: the header reader and the structure, text and document
facets read the layer records, their tagged blocks and the image resources, and the document
facet samples the merged image's transparency from the stream itself (psd_alpha.py). Yet
psd-tools' PSD.read copies every layer's compressed channel data and the whole merged image into
`bytes`: 41 of the 41 MB of the benchmarks' layered PSD (bench/README.md, "Extraction
scaling"), about half of that file's extraction CPU, most of it the kernel handing out fresh
pages for the copies.

This module copies psd-tools' reader on purpose (psd-tools 1.26, pinned in pyproject.toml:
psd_tools/psd/document.py PSD.read, psd_tools/psd/layer_and_mask.py LayerAndMaskInformation,
LayerInfo and ChannelDataList, psd_tools/psd/image_data.py ImageData), with psd-tools' own
readers for every section, in the same order, under the same ParseLimits, but two steps: each
channel's and the merged image's data is skipped (a seek) where psd-tools reads it. Their
2-byte compression codes are still read and checked as psd-tools checks them, the skipped
lengths are bounds-checked with psd-tools' own message and charged to the same parse budget
(consume_bytes), so a document psd-tools refuses is refused alike, and the parse limits still
mean what they mean for the renderer, which parses the same document with pixels
(pixelforge_core/limits.py psd_parse_limits). The data of a skipped section is an `Unread`
of its length: psd-tools' has_pixels() (a shape layer's box reads it) sees the same length,
and decoding it fails loudly (TypeError) instead of giving wrong pixels. The layer info of a
16- or 32-bit document sits in a tagged block (Lr16, Lr32), which psd-tools reads with its
pixels as before. tests/snowpark_procs/test_psd_record.py holds this reader equal to PSD.read.
"""

from __future__ import annotations

from typing import IO, Any

from psd_tools.constants import Compression
from psd_tools.psd import PSD
from psd_tools.psd.bin_utils import is_readable, read_exact, read_fmt
from psd_tools.psd.color_mode_data import ColorModeData
from psd_tools.psd.header import FileHeader
from psd_tools.psd.image_data import ImageData
from psd_tools.psd.image_resources import ImageResources
from psd_tools.psd.layer_and_mask import (
    ChannelData,
    ChannelDataList,
    ChannelImageData,
    GlobalLayerMaskInfo,
    LayerAndMaskInformation,
    LayerInfo,
    LayerRecords,
)
from psd_tools.psd.parse_limits import ParseLimits, consume_bytes, parse_context
from psd_tools.psd.tagged_blocks import TaggedBlocks


class Unread:
    """The data of a section that was skipped, not read: only its length is known."""

    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        return f"Unread({self.length})"


def read_without_pixels(
    fp: IO[bytes], parse_limits: ParseLimits, encoding: str = "macroman"
) -> PSD:
    """PSD.read(fp, encoding, parse_limits), the channel and merged image data skipped."""
    with parse_context(parse_limits):
        header = FileHeader.read(fp)
        return PSD(
            header,
            ColorModeData.read(fp),
            ImageResources.read(fp, encoding),
            _LayerAndMask.read(fp, encoding, header.version),
            _merged_image(fp),
        )


def _skipped(fp: IO[bytes], length: int) -> Unread | bytes:
    """read_exact(fp, length)'s checks and charge, then a seek past the bytes."""
    if length < 0 or length > _remaining(fp):
        raise OSError(f"Invalid data section size: {length}")
    consume_bytes(length)
    fp.seek(length, 1)
    return Unread(length) if length else b""


def _remaining(fp: IO[bytes]) -> int:
    position = fp.tell()
    try:
        return fp.seek(0, 2) - position
    finally:
        fp.seek(position)


def _merged_image(fp: IO[bytes]) -> ImageData:
    """ImageData.read: the compression code, then the rest of the file."""
    compression = Compression(read_fmt("H", fp)[0])
    return ImageData(compression, _skipped(fp, _remaining(fp)))  # type: ignore[arg-type]


def _channels(fp: IO[bytes], record: Any) -> ChannelDataList:
    """ChannelDataList.read for one layer record: length 0 has no data, a (malformed) length
    1 is one stray byte, any other is a compression code and length - 2 bytes of data."""
    items = []
    for channel in record.channel_info:
        if channel.length == 1:
            read_exact(fp, 1)
        if channel.length <= 1:
            items.append(ChannelData())
            continue
        compression = Compression(read_fmt("H", fp)[0])
        items.append(ChannelData(compression, _skipped(fp, channel.length - 2)))  # type: ignore[arg-type]
    return ChannelDataList(items)


class _LayerInfo(LayerInfo):
    """LayerInfo.read, the channel image data skipped (a LayerInfo, as psd-tools gives)."""

    @classmethod
    def read(
        cls, fp: IO[bytes], encoding: str = "macroman", version: int = 1, **kwargs: Any
    ) -> Any:
        info = super().read(fp, encoding, version)
        return LayerInfo() if type(info) is cls else info  # an empty section

    @classmethod
    def _read_body(cls, fp: IO[bytes], encoding: str, version: int) -> Any:
        layer_count = read_fmt("h", fp)[0]
        layer_records = LayerRecords.read(fp, layer_count, encoding, version)
        return LayerInfo(
            layer_count=layer_count,
            layer_records=layer_records,
            channel_image_data=ChannelImageData(
                [_channels(fp, record) for record in layer_records]
            ),
        )


class _LayerAndMask(LayerAndMaskInformation):
    """LayerAndMaskInformation.read, its layer info read by _LayerInfo (a
    LayerAndMaskInformation, as psd-tools gives)."""

    @classmethod
    def read(
        cls, fp: IO[bytes], encoding: str = "macroman", version: int = 1, **kwargs: Any
    ) -> Any:
        section = super().read(fp, encoding, version)
        return LayerAndMaskInformation() if type(section) is cls else section  # an empty one

    @classmethod
    def _read_body(cls, fp: IO[bytes], end_pos: int, encoding: str, version: int) -> Any:
        layer_info = _LayerInfo.read(fp, encoding, version)
        global_layer_mask_info = None
        if is_readable(fp, 4):
            marker = read_fmt("4s", fp)[0]
            fp.seek(-4, 1)
            if marker not in (b"8BIM", b"8B64"):
                global_layer_mask_info = GlobalLayerMaskInfo.read(fp)
        tagged_blocks = TaggedBlocks()
        if is_readable(fp):
            # psd-tools: "for some reason, global tagged blocks aligns 4 byte"
            tagged_blocks = TaggedBlocks.read(fp, version=version, padding=4, end_pos=end_pos)
        return LayerAndMaskInformation(layer_info, global_layer_mask_info, tagged_blocks)
