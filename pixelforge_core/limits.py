"""Safety limits for extraction and rendering, passed in by the caller (no module settings)."""

from __future__ import annotations

from dataclasses import dataclass

from psd_tools import ParseLimits

MIB = 1024 * 1024

# Pillow refuses more than 2 x Image.MAX_IMAGE_PIXELS at open(); the default matches it so that
# our verdict and Pillow's agree. A higher limit is still capped by Pillow's own check.
PILLOW_HARD_PIXEL_LIMIT = 178_956_970

# Levels of PSD layer-group nesting, extraction's and the renderer's (one cap, both read it).
# psd-tools composites a document without a stored composite image group by group, recursively
# (about ten Python frames a level: measured with psd-tools 1.26, 100 levels exceed Python's
# default recursion limit of 1,000), so a deeper one is refused by the renderer
# (ecs_render/thumbnails.py) and listed only this deep by the structure facet, flagged as
# truncated. Design tools nest far less: Photoshop allowed 5 levels before CS5 (GIMP's PSD
# plug-in, psd-save.c, "Photoshop CS5 adds support for layer groups whose nesting depth is
# above 5").
MAX_LAYER_DEPTH = 32


@dataclass(frozen=True)
class ExtractionLimits:
    """What one file may cost extraction before it is refused."""

    max_file_bytes: int = 256 * MIB
    max_pixels: int = PILLOW_HARD_PIXEL_LIMIT
    max_svg_bytes: int = 16 * MIB
    # Pages of a TIFF or frames of an animation; design files have a handful, a few-MB file
    # can declare millions.
    max_frames: int = 10_000
    chunk_bytes: int = MIB
    # --- the extraction facets (pixelforge_core/facets.py) ---
    # Bytes of an XMP packet fed to the (streaming, defused) XML parser; a longer packet is read
    # no further (Photoshop's photoshop:DocumentAncestors can grow an XMP to megabytes; the ids
    # the document facet reads come first).
    max_xmp_bytes: int = MIB
    # Bytes of an embedded ICC profile read for its description and colour space; a larger one
    # is not read (profiles are a few KB, a few hundred KB with large lookup tables).
    max_icc_bytes: int = 4 * MIB
    # Pixels decoded to tell whether some pixel is not fully opaque: the whole image when it is
    # this small, else its first rows for formats that store rows in order (PNG, TIFF strips);
    # an image with an alpha channel checked no further and found opaque so far is unknown.
    max_transparency_pixels: int = 262_144
    # Entries of a PSD's layer tree (and artboards) listed; more are flagged as truncated.
    max_layers: int = 1_000
    # Levels of layer-group nesting listed (MAX_LAYER_DEPTH above): deeper entries are not
    # listed, and the structure facet is flagged as truncated.
    max_layer_depth: int = MAX_LAYER_DEPTH
    # PDF pages whose size is listed, and whose annotations are looked for.
    max_pages: int = 1_000
    # PDF pages whose text is extracted (the first ones), and the decoded content-stream bytes
    # their text extraction may parse in all: a page that would go over is skipped. pypdf
    # parses about 0.45 MB of dense text operators a second on this host (4 MB took 9 s), so
    # this keeps the text facet to about 2 s of the per-file parse limit's 120.
    max_text_pages: int = 10
    max_text_content_bytes: int = MIB
    # Characters of text kept per file (all runs together), text runs kept, fonts kept; and the
    # characters kept of one name (a layer, a font, an XMP field).
    max_text_chars: int = 100_000
    max_text_runs: int = 2_000
    max_fonts: int = 200
    max_name_chars: int = 256


DEFAULT_LIMITS = ExtractionLimits()


def psd_parse_limits(size_bytes: int) -> ParseLimits:
    """What psd-tools may materialise while it parses a PSD of size_bytes: extraction
    (snowpark_procs/metadata/psd.py) and the renderer parse with the same limits, so a document
    cannot cost the renderer more than it cost extraction (tests/ecs_render/test_thumbnails.py)."""
    return ParseLimits(max_total_bytes=2 * size_bytes + 1024)
