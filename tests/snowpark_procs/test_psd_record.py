"""The PSD reader without pixels (snowpark_procs/metadata/psd_record.py) against psd-tools' own
PSD.read: the same document but the skipped data, the same refusals, the same parse budget."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from psd_tools import ParseLimits, PSDImage
from psd_tools.psd import PSD

from orchestration.corpus.rich import psd_transparent, psd_with_text
from pixelforge_core.limits import psd_parse_limits
from pixelforge_core.psd_tree import walk_layers
from snowpark_procs.metadata.psd_record import Unread, read_without_pixels
from tests.fixtures.design_files import small
from tests.hostile.corpus_facets import psd_deep_groups, psd_odd_layer_names
from tests.hostile.corpus_raster import psd_odd_mode

_DOCUMENTS: dict[str, Callable[[], bytes]] = {
    "layered": lambda: small("psd_layered"),
    "text": lambda: psd_with_text(160, 120),
    "merged alpha": lambda: psd_transparent(),
    "odd names": psd_odd_layer_names,
    "16-bit groups (Lr16)": lambda: psd_deep_groups(3, 16, 16, has_composite=False),
    "cmyk, no layers": lambda: psd_odd_mode("cmyk"),
    "bitmap": lambda: psd_odd_mode("bitmap"),
}


def _channel_offset(data: bytes) -> int:
    """Where the first layer record's first channel length is (psd_layered's layout)."""
    position = 26
    for _ in range(2):  # colour mode data, image resources
        position += 4 + int.from_bytes(data[position : position + 4], "big")
    return position + 4 + 4 + 2 + 16 + 2 + 2  # section, layer info, count, box, channels, id


def _merged_offset(data: bytes) -> int:
    """Where the merged image data starts: after the layer and mask information."""
    position = 26
    for _ in range(3):  # colour mode data, image resources, layer and mask information
        position += 4 + int.from_bytes(data[position : position + 4], "big")
    return position


def _damaged() -> dict[str, bytes]:
    data = small("psd_layered")
    field = _channel_offset(data)
    length = int.from_bytes(data[field : field + 4], "big")
    variants = {f"cut at {share}": data[: int(len(data) * share)] for share in (0.1, 0.5, 0.9)}
    for name, value in {
        "channel length 0": 0,
        "channel length 1": 1,
        "channel length 2": 2,
        "channel longer": length + 1,
        "channel past its section": length + 10**7,
    }.items():
        variants[name] = data[:field] + value.to_bytes(4, "big") + data[field + 4 :]
    record = field + 4 + 6 * 5 + 4  # past the channel list, at the blend mode key
    variants["damaged layer record"] = data[:record] + b"\x00\x07" + data[record + 2 :]
    merged = _merged_offset(data)
    variants["bad merged compression"] = data[:merged] + b"\x00\x09" + data[merged + 2 :]
    variants["merged compression only"] = data[: merged + 2]
    return variants


def _read(reader: Callable[..., PSD], data: bytes, limits: ParseLimits) -> PSD | str:
    try:
        return reader(io.BytesIO(data), parse_limits=limits)
    except Exception as error:
        return f"{type(error).__name__}: {error}"


def _without_pixels(record: PSD) -> tuple[object, ...]:
    """The record with every pixel section's data replaced by its length."""
    layer_info = record._get_layer_info()
    channels = [
        [(channel.compression, len(channel.data)) for channel in layer]
        for layer in (layer_info.channel_image_data if layer_info else [])
    ]
    mask = record.layer_and_mask_information
    return (
        record.header,
        record.color_mode_data,
        record.image_resources,
        layer_info.layer_count if layer_info else None,
        layer_info.layer_records if layer_info else None,
        mask.global_layer_mask_info,
        mask.tagged_blocks if layer_info is mask.layer_info else None,  # Lr16 holds pixels
        channels,
        record.image_data.compression,
        len(record.image_data.data),
    )


@pytest.mark.parametrize("kind", sorted(_DOCUMENTS))
def test_the_document_is_psd_tools_own_but_its_pixels(kind):
    data = _DOCUMENTS[kind]()
    limits = psd_parse_limits(len(data))
    full = PSD.read(io.BytesIO(data), parse_limits=limits)
    skipped = read_without_pixels(io.BytesIO(data), limits)
    assert _without_pixels(skipped) == _without_pixels(full)
    assert isinstance(skipped.image_data.data, Unread) or not full.image_data.data
    layers = [(e.index, e.parent, e.depth, e.layer) for e in walk_layers(PSDImage(full))]
    seen = [(e.index, e.parent, e.depth, e.layer) for e in walk_layers(PSDImage(skipped))]
    assert [(i, p, d, type(x), x.name, x.bbox, x.has_pixels()) for i, p, d, x in seen] == [
        (i, p, d, type(x), x.name, x.bbox, x.has_pixels()) for i, p, d, x in layers
    ]


@pytest.mark.parametrize("damage", sorted(_damaged()))
def test_a_damaged_document_is_refused_or_read_alike(damage):
    data = _damaged()[damage]
    limits = psd_parse_limits(len(data))
    full = _read(PSD.read, data, limits)
    skipped = _read(_skipping, data, limits)
    if isinstance(full, str) or isinstance(skipped, str):
        assert skipped == full
    else:
        assert _without_pixels(skipped) == _without_pixels(full)


def test_the_skipped_bytes_are_charged_to_the_parse_budget_as_psd_tools_charges_them():
    """The least max_total_bytes psd-tools reads the document under is the reader's too."""
    data = small("psd_layered")

    def refused(reader: Callable[..., PSD], total: int) -> bool:
        return isinstance(_read(reader, data, ParseLimits(max_total_bytes=total)), str)

    low, high = 1, 4 * len(data)  # refused at low, read at high
    assert refused(PSD.read, low) and not refused(PSD.read, high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if refused(PSD.read, middle) else (low, middle)
    assert high > len(data) // 2  # the pixels are most of what psd-tools charges
    assert refused(_skipping, low) and not refused(_skipping, high)


def _skipping(fp: io.BytesIO, parse_limits: ParseLimits) -> PSD:
    return read_without_pixels(fp, parse_limits)


def test_pixels_that_were_not_read_cannot_be_decoded():
    data = small("psd_layered")
    psd = PSDImage(read_without_pixels(io.BytesIO(data), psd_parse_limits(len(data))))
    layer = next(layer for layer in psd.descendants() if layer.has_pixels())
    with pytest.raises(TypeError):
        layer.topil()
