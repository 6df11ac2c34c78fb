"""STEP 2 core: stream, hash, sniff, then read header-level facts and the extraction facets;
failures come back as data (a facet's failure as that facet's result)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from typing import BinaryIO

from pixelforge_core.failures import classify_exception, describe
from pixelforge_core.formats import HEAD_BYTES, PILLOW_PLUGINS, sniff_format
from pixelforge_core.limits import DEFAULT_LIMITS, ExtractionLimits
from pixelforge_core.reason_codes import EMPTY_FILE, FILE_TOO_LARGE, UNSUPPORTED_FORMAT
from pixelforge_core.records import DesignMetadata, MetadataFailure
from snowpark_procs.metadata.facet_extraction import extract_facets
from snowpark_procs.metadata.opened import OpenedFile
from snowpark_procs.metadata.pdf import read_pdf
from snowpark_procs.metadata.psd import read_psd
from snowpark_procs.metadata.raster import read_raster
from snowpark_procs.metadata.webp import read_webp


def extract_metadata(
    source: BinaryIO,
    name: str,
    limits: ExtractionLimits = DEFAULT_LIMITS,
    facets: frozenset[str] | None = None,
) -> DesignMetadata | MetadataFailure:
    """Describe one design file read from a seekable stream (rewound first, any position).

    `facets`: the names of the extraction facets to compute (pixelforge_core/facets.py) where
    the file's format is covered; None: all of them. A re-processing of one facet asks for it
    alone, so an unchanged facet is never recomputed.

    The stream is read once in chunks for size and sha256, then again only as far as the
    headers need. `name` appears in messages only: the format comes from the magic bytes.
    Errors of the stream itself (the object vanished mid-read) propagate to the caller; anything
    about the content becomes a MetadataFailure with a reason code.
    """
    size = _stream_size(source)
    if size == 0:
        return MetadataFailure(
            EMPTY_FILE, f"{name}: the file has zero bytes", hashlib.sha256().hexdigest(), 0
        )
    if size > limits.max_file_bytes:
        return MetadataFailure(
            FILE_TOO_LARGE,
            f"{name}: {size} bytes, over the limit of {limits.max_file_bytes}",
            size_bytes=size,
        )
    sha256, size = _hash_stream(source, limits.chunk_bytes)
    source.seek(0)
    fmt = sniff_format(source.read(HEAD_BYTES))
    if fmt is None:
        return MetadataFailure(
            UNSUPPORTED_FORMAT, f"{name}: not a supported design format", sha256, size
        )
    opened = OpenedFile(source, fmt, size, limits)
    try:
        result = _read_format(opened)
    except Exception as exc:  # per-file boundary: any decoder error is a fact about this file
        result = MetadataFailure(classify_exception(exc), describe(exc))
    if isinstance(result, MetadataFailure):
        return dataclasses.replace(
            result, message=f"{name}: {result.message}", sha256=sha256, size_bytes=size, format=fmt
        )
    return dataclasses.replace(
        result, sha256=sha256, size_bytes=size, facets=extract_facets(opened, facets)
    )


def _stream_size(source: BinaryIO) -> int:
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    return size


def _hash_stream(source: BinaryIO, chunk_bytes: int) -> tuple[str, int]:
    """sha256 and size of the stream, read chunk by chunk into one buffer (a cache-sized
    chunk, not a fresh `bytes` of it each time: no new pages for every chunk)."""
    digest = hashlib.sha256()
    buffer = memoryview(bytearray(chunk_bytes))
    size = 0
    source.seek(0)
    while count := source.readinto(buffer):  # type: ignore[attr-defined]
        digest.update(buffer[:count])
        size += count
    return digest.hexdigest(), size


def _read_format(opened: OpenedFile) -> DesignMetadata | MetadataFailure:
    source, fmt, size, limits = opened.source, opened.fmt, opened.size, opened.limits
    if fmt == "svg":
        return _read_svg(opened)
    if fmt == "pdf":
        return read_pdf(opened)
    if fmt == "psd":
        return read_psd(opened)
    if fmt == "webp":
        return read_webp(source, size, limits)
    if fmt in PILLOW_PLUGINS:
        return read_raster(opened)
    return MetadataFailure(UNSUPPORTED_FORMAT, f"no reader for {fmt}")


def _read_svg(opened: OpenedFile) -> DesignMetadata | MetadataFailure:
    info = opened.svg_info
    if isinstance(info, MetadataFailure):
        return info
    return DesignMetadata(
        format="svg",
        width_px=info.width_px,
        height_px=info.height_px,
        mode=None,
        bit_depth=None,
        dpi_x=None,
        dpi_y=None,
        frame_count=None,
        page_count=None,
        layer_count=None,
        exif={},
    )
