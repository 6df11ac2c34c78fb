"""The metadata facets: what is extracted from a design file beyond its header facts, each with
its own extractor version, declared once here and read everywhere else (the extract and render
steps, the stale-facet selection of `pixelforge reprocess --facet`, the nightly reconciliation's
stale count, the dbt staging models' accepted values, the deploy plan).

A facet's version is bumped when its extractor changes what it produces; the raw table
raw.file_facets records the version that produced each (file version, facet) row, so a bumped or
new facet re-processes only the current file versions whose format it covers and whose stored
version is older. A facet computed by the render step (visual) is computed from the decoded
256 px thumbnail, not by decoding the original again.

The payload of each facet is a JSON object stored as a VARIANT; its shape is the TypedDict below
(one owner for the shape: the extractors build it, the dbt staging models read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from pixelforge_core.formats import SUPPORTED_FORMATS

FacetName = Literal["document", "structure", "text", "visual"]
FacetStep = Literal["extract_metadata", "render_thumbnails"]
# The status of a raw.file_facets row. A format a facet does not cover has no row at all.
FacetStatus = Literal["ok", "failed"]
FACET_STATUSES: tuple[FacetStatus, ...] = ("ok", "failed")

_RASTERS = frozenset({"png", "jpeg", "tiff", "webp", "gif", "bmp"})


@dataclass(frozen=True)
class Facet:
    name: FacetName
    version: int
    step: FacetStep
    formats: frozenset[str]
    summary: str


FACETS: tuple[Facet, ...] = (
    Facet(
        "document",
        1,
        "extract_metadata",
        frozenset({"psd", "pdf", "svg"}) | _RASTERS,
        "XMP creator tool and document lineage ids, PDF info, ICC profile, transparency, animation",
    ),
    Facet(
        "structure",
        1,
        "extract_metadata",
        frozenset({"psd", "svg", "pdf"}),
        "PSD layer tree and artboards, SVG viewBox and element counts, PDF pages",
    ),
    Facet(
        "text",
        1,
        "extract_metadata",
        frozenset({"psd", "svg", "pdf"}),
        "text of PSD text layers, SVG text, PDF text of the first pages; font families",
    ),
    Facet(
        "visual",
        2,  # 2: edge_phash added (the near-duplicate hash)
        "render_thumbnails",
        frozenset(SUPPORTED_FORMATS),
        "dominant colours, perceptual hashes and ThumbHash of the 256 px thumbnail",
    ),
)
FACET_NAMES: tuple[FacetName, ...] = tuple(facet.name for facet in FACETS)


def facet(name: str) -> Facet:
    """The facet called `name`; ValueError naming the known ones otherwise."""
    for candidate in FACETS:
        if candidate.name == name:
            return candidate
    raise ValueError(f"unknown facet {name!r}: one of {', '.join(FACET_NAMES)}")


def facets_of(step: FacetStep, fmt: str | None = None) -> tuple[Facet, ...]:
    """The facets `step` computes (for files of format `fmt`, when given)."""
    return tuple(
        candidate
        for candidate in FACETS
        if candidate.step == step and (fmt is None or fmt in candidate.formats)
    )


# --- Payload shapes (JSON objects; None where the file does not say) -------------------------


class DocumentPayload(TypedDict):
    creator_tool: str | None  # XMP xmp:CreatorTool, e.g. "Adobe Photoshop 25.0 (Macintosh)"
    document_id: str | None  # XMP xmpMM:DocumentID
    instance_id: str | None  # XMP xmpMM:InstanceID
    derived_from: str | None  # XMP xmpMM:DerivedFrom stRef:documentID (lineage)
    title: str | None  # PDF /Title, XMP dc:title
    author: str | None  # PDF /Author, XMP dc:creator
    creator: str | None  # PDF /Creator
    producer: str | None  # PDF /Producer
    icc_profile: str | None  # the ICC profile's description
    color_space: str | None  # the ICC profile's colour space (RGB, CMYK, GRAY, LAB)
    uses_transparency: bool | None  # some pixel is not fully opaque (not just an alpha channel)
    animation_duration_ms: int | None
    loop_count: int | None  # 0: forever


class LayerPayload(TypedDict):
    index: int  # position in a depth-first walk of the layer tree, from 0
    parent_index: int | None
    depth: int  # 0 for a top-level layer
    name: str
    kind: Literal["pixel", "text", "shape", "group", "smart_object", "adjustment", "other"]
    visible: bool
    opacity: float  # 0..1
    blend_mode: str
    bbox: list[int]  # [left, top, right, bottom] in px


class ArtboardPayload(TypedDict):
    name: str
    bbox: list[int]


class PagePayload(TypedDict):
    page: int  # from 1
    width_pt: float
    height_pt: float


class SvgStructurePayload(TypedDict):
    view_box: list[float] | None  # [min_x, min_y, width, height]
    element_counts: dict[str, int]  # local tag name -> count
    embedded_rasters: int


class StructurePayload(TypedDict):
    layers: list[LayerPayload]
    layers_truncated: bool  # more layers than the limit; `layers` holds the first ones
    artboards: list[ArtboardPayload]
    svg: SvgStructurePayload | None
    pages: list[PagePayload]
    has_annotations: bool | None
    has_forms: bool | None


class TextRunPayload(TypedDict):
    source: Literal["layer", "svg", "page"]
    ref: int  # the layer index, the SVG text element's ordinal, or the page number
    text: str


class TextPayload(TypedDict):
    runs: list[TextRunPayload]
    fonts: list[str]  # font family names, sorted, distinct
    truncated: bool  # text or runs were cut at the limits


class ColorPayload(TypedDict):
    hex: str  # "#rrggbb"
    share: float  # of the thumbnail's opaque pixels, 0..1


class VisualPayload(TypedDict):
    dominant_colors: list[ColorPayload]  # largest share first
    phash: str  # 64-bit DCT perceptual hash, 16 lower-case hex digits
    edge_phash: str  # the same hash of the trimmed edges (near-duplicates), 16 hex digits
    thumbhash: str  # ThumbHash placeholder, base64


@dataclass(frozen=True)
class FacetResult:
    """One facet of one file version, as extraction or rendering produced it."""

    facet: FacetName
    version: int
    status: FacetStatus
    payload: dict | None = None
    reason_code: str | None = None
    message: str | None = None

    def row(self, relative_path: str, etag: str, run_id: str) -> dict:
        """Its raw.file_facets row, as snowpark_procs/sql/merge_file_facets.sql binds it."""
        return {
            "relative_path": relative_path,
            "etag": etag,
            "facet": self.facet,
            "facet_version": self.version,
            "status": self.status,
            "reason_code": self.reason_code,
            "error_message": None if self.message is None else self.message[:2000],
            "payload": self.payload,
            "run_id": run_id,
        }
