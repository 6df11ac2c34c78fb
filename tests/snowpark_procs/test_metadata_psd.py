from __future__ import annotations

import hashlib
import io

from PIL import Image
from psd_tools import PSDImage

from pixelforge_core.records import DesignMetadata, MetadataFailure
from snowpark_procs.metadata import extract_metadata
from tests.fixtures.design_files import small, stream


def test_layered_psd_facts():
    data = small("psd_layered")
    meta = extract_metadata(stream(data), "mockup.psd")
    assert isinstance(meta, DesignMetadata), meta
    assert (meta.format, meta.width_px, meta.height_px) == ("psd", 400, 300)
    assert (meta.mode, meta.bit_depth) == ("RGB", 8)
    # Background, Headline, Masked photo, the Badges group and its Sale badge.
    assert meta.layer_count == 5
    assert meta.sha256 == hashlib.sha256(data).hexdigest()


def test_layer_count_is_not_pillows_under_count():
    data = small("psd_layered")
    pillow_layers = len(Image.open(io.BytesIO(data)).layers)
    meta = extract_metadata(stream(data), "mockup.psd")
    assert isinstance(meta, DesignMetadata)
    assert pillow_layers < meta.layer_count


def test_resolution_resource_gives_dpi():
    psd = PSDImage.open(io.BytesIO(small("psd_layered")))
    # 300 dpi as Photoshop stores it: 16.16 fixed point, unit 1 = pixels per inch.
    from psd_tools.constants import Resource
    from psd_tools.psd.image_resources import ImageResource, ResoulutionInfo

    info = ResoulutionInfo(
        horizontal=300 << 16, horizontal_unit=1, width_unit=1,
        vertical=300 << 16, vertical_unit=1, height_unit=1,
    )  # fmt: skip
    psd.image_resources[Resource.RESOLUTION_INFO] = ImageResource(
        key=Resource.RESOLUTION_INFO, data=info
    )
    buffer = io.BytesIO()
    psd.save(buffer)
    meta = extract_metadata(stream(buffer.getvalue()), "dpi.psd")
    assert isinstance(meta, DesignMetadata), meta
    assert (meta.dpi_x, meta.dpi_y) == (300.0, 300.0)


def test_truncated_psd():
    data = small("psd_layered")
    result = extract_metadata(stream(data[: len(data) // 3]), "cut.psd")
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "truncated_file"
    assert result.format == "psd"


def test_psd_bomb_is_refused_from_the_header():
    data = bytearray(small("psd_layered"))
    data[14:18] = (30_000).to_bytes(4, "big")  # height
    data[18:22] = (30_000).to_bytes(4, "big")  # width
    result = extract_metadata(stream(bytes(data)), "huge.psd")
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "decompression_bomb"


def test_invalid_psd_header_is_unreadable():
    data = bytearray(small("psd_layered"))
    data[24:26] = (5).to_bytes(2, "big")  # colour mode 5 does not exist
    result = extract_metadata(stream(bytes(data)), "odd.psd")
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "unreadable_file"


def test_16bit_psd_reports_its_depth():
    psd = PSDImage.new("RGB", (64, 48), color=(255, 255, 255), depth=16)
    psd.create_pixel_layer(Image.new("RGB", (64, 48), "navy"), name="Background")
    buffer = io.BytesIO()
    psd.save(buffer)
    meta = extract_metadata(stream(buffer.getvalue()), "deep.psd")
    assert isinstance(meta, DesignMetadata), meta
    assert (meta.bit_depth, meta.width_px, meta.height_px, meta.layer_count) == (16, 64, 48, 1)
