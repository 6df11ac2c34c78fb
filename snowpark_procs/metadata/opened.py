"""One design file and the parsers its header reader and its facets share, each opened once:
a PSD is parsed by psd-tools once, a PDF's cross-reference table read once, an SVG decoded and
parsed (defused) once more after its safety check. A PSD is parsed without its pixels
(psd_record.py): no extractor decodes them."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring
from PIL import Image
from psd_tools import PSDImage
from pypdf import PdfReader

from pixelforge_core.limits import ExtractionLimits, psd_parse_limits
from pixelforge_core.raster import open_raster
from pixelforge_core.records import MetadataFailure
from pixelforge_core.svg import SvgInfo, check_svg, decode_svg
from snowpark_procs.metadata.animation import Timing, gif_timing
from snowpark_procs.metadata.psd_record import read_without_pixels


@dataclass
class OpenedFile:
    source: BinaryIO
    fmt: str
    size: int
    limits: ExtractionLimits

    @functools.cached_property
    def psd(self) -> PSDImage:
        """The document's layers, tagged blocks and image resources, as PSDImage.open gives
        them; its channel and merged image data are not read (psd_record.py)."""
        self.source.seek(0)
        return PSDImage(read_without_pixels(self.source, psd_parse_limits(self.size)))

    @functools.cached_property
    def pdf(self) -> PdfReader:
        self.source.seek(0)
        return PdfReader(self.source, strict=False)

    @functools.cached_property
    def svg_bytes(self) -> bytes:
        self.source.seek(0)
        return self.source.read(self.limits.max_svg_bytes + 1)

    @functools.cached_property
    def svg_info(self) -> SvgInfo | MetadataFailure:
        """The SVG's safety check (pixelforge_core.svg) and, if it passes, its size."""
        return check_svg(self.svg_bytes, self.limits.max_svg_bytes)

    @functools.cached_property
    def svg_root(self) -> Element:
        """The SVG's tree; only for an SVG that passed pixelforge_core.svg.check_svg, parsed
        as that check parses it."""
        if isinstance(self.svg_info, MetadataFailure):
            raise ValueError(self.svg_info.message)
        text = decode_svg(self.svg_bytes)
        if isinstance(text, MetadataFailure):
            raise ValueError(text.message)
        return fromstring(text, forbid_dtd=False, forbid_entities=True, forbid_external=True)

    @functools.cached_property
    def gif_timing(self) -> Timing:
        """Frames, delays and loop count of a GIF, walked once for the header and the facet."""
        return gif_timing(self.source, self.size, self.limits.max_frames)

    @contextmanager
    def raster(self) -> Iterator[Image.Image]:
        """The raster opened lazily again (a header read), for a `with` block."""
        opened = open_raster(self.source, self.fmt, self.size, self.limits.max_pixels)
        if isinstance(opened, MetadataFailure):
            raise ValueError(opened.message)
        with opened as im:
            yield im
