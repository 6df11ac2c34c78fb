"""PSD/PSB facts: the header is parsed by hand (so bombs are refused before psd-tools reads
anything), the layer count comes from psd-tools (Pillow skips layers that carry a mask), counted
by pixelforge_core/psd_tree.py's walk, without recursion."""

from __future__ import annotations

import struct
from typing import BinaryIO

from psd_tools import PSDImage
from psd_tools.constants import Resource

from pixelforge_core.exif import exif_subset, load_exif
from pixelforge_core.psd_tree import walk_layers
from pixelforge_core.raster import pixel_limit_failure
from pixelforge_core.reason_codes import TRUNCATED_FILE, UNREADABLE_FILE
from pixelforge_core.records import DesignMetadata, MetadataFailure
from snowpark_procs.metadata.opened import OpenedFile

_HEADER = struct.Struct(">4sH6xHIIHH")
# Photoshop colour mode -> a Pillow-style mode name.
_MODES = {
    0: "1",
    1: "L",
    2: "P",
    3: "RGB",
    4: "CMYK",
    7: "multichannel",
    8: "duotone",
    9: "LAB",
}
_BASE_CHANNELS = {"L": 1, "RGB": 3}
_DEPTHS = frozenset({1, 8, 16, 32})


def read_psd(opened: OpenedFile) -> DesignMetadata | MetadataFailure:
    source, size, limits = opened.source, opened.size, opened.limits
    source.seek(0)
    header = source.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return MetadataFailure(TRUNCATED_FILE, "PSD ends inside its 26-byte header")
    _, version, channels, height, width, depth, colour_mode = _HEADER.unpack(header)
    if colour_mode not in _MODES or depth not in _DEPTHS or not 1 <= channels <= 56:
        return MetadataFailure(
            UNREADABLE_FILE,
            f"PSD header is invalid (mode {colour_mode}, depth {depth}, channels {channels})",
        )
    bomb = pixel_limit_failure(width, height, limits.max_pixels)
    if bomb:
        return bomb
    problem = _section_truncation(source, size, is_psb=version == 2)
    if problem:
        return MetadataFailure(TRUNCATED_FILE, problem)
    psd = opened.psd
    mode = _MODES[colour_mode]
    if channels > _BASE_CHANNELS.get(mode, channels):
        mode = {"L": "LA", "RGB": "RGBA"}[mode]
    dpi_x, dpi_y = _resolution(psd)
    return DesignMetadata(
        format="psd",
        width_px=width,
        height_px=height,
        mode=mode,
        bit_depth=depth,
        dpi_x=dpi_x,
        dpi_y=dpi_y,
        frame_count=None,
        page_count=None,
        # Every entry of the Layers panel: pixel, type, shape and smart-object layers and groups.
        layer_count=sum(1 for _ in walk_layers(psd)),
        exif=_exif(psd),
    )


def _section_truncation(source: BinaryIO, size: int, *, is_psb: bool) -> str | None:
    """Walk the section lengths: colour mode data, image resources, layer and mask info."""
    position = _HEADER.size
    for name, length_bytes in (
        ("colour mode data", 4),
        ("image resources", 4),
        ("layer and mask information", 8 if is_psb else 4),
    ):
        source.seek(position)
        raw = source.read(length_bytes)
        if len(raw) < length_bytes:
            return f"PSD ends before its {name} section"
        position += length_bytes + int.from_bytes(raw, "big")
        if position > size:
            return f"PSD {name} section runs past the end of the file"
    if position + 2 > size:
        return "PSD ends before its merged image data"
    return None


def _resolution(psd: PSDImage) -> tuple[float | None, float | None]:
    try:
        info = psd.image_resources.get_data(Resource.RESOLUTION_INFO)
    except Exception:  # an odd resource block must not cost the whole file
        return None, None
    if info is None:
        return None, None
    # Stored as 16.16 fixed-point numbers.
    x, y = info.horizontal / 65536, info.vertical / 65536
    # Photoshop stores the resolution per inch (unit 1) or per centimetre (unit 2).
    if int(info.horizontal_unit) == 2:
        x *= 2.54
    if int(info.vertical_unit) == 2:
        y *= 2.54
    return (round(x, 3) if x > 0 else None), (round(y, 3) if y > 0 else None)


def _exif(psd: PSDImage) -> dict[str, str]:
    try:
        raw = psd.image_resources.get_data(Resource.EXIF_DATA_1)
        return exif_subset(load_exif(raw)) if isinstance(raw, bytes) else {}
    except Exception:  # EXIF is a bonus in a PSD; a broken block must not fail the file
        return {}
