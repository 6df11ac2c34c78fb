"""The structure and text facets of a PSD: its layer tree and artboards, the text of its type
layers and their fonts, from the document psd-tools parsed once (opened.py) under the same
parse limits as the header reader.

The tree is walked as the header reader counts it (pixelforge_core/psd_tree.py: without
recursion, in psd-tools' order, bottom of the Layers panel first, a group before its
children): a layer's `index` is its position in that walk, the `ref` of its text run. The
first `limits.max_layers` entries are listed, those nested at most `limits.max_layer_depth`
deep (a cap reached is the facet's reason, capped.py); a group's box is the union of its
visible listed children's boxes (psd-tools computes it recursively).
"""

from __future__ import annotations

from collections.abc import Mapping

from psd_tools.api.adjustments import FillLayer
from psd_tools.api.layers import (
    AdjustmentLayer,
    Artboard,
    Group,
    Layer,
    PixelLayer,
    ShapeLayer,
    SmartObjectLayer,
    TypeLayer,
)

from pixelforge_core.facets import ArtboardPayload, LayerPayload, StructurePayload
from pixelforge_core.limits import ExtractionLimits
from pixelforge_core.psd_tree import LayerEntry, walk_layers
from snowpark_procs.metadata.capped import Capped, capped
from snowpark_procs.metadata.clean import clean_name
from snowpark_procs.metadata.opened import OpenedFile
from snowpark_procs.metadata.text_runs import TextCollector

_KINDS: tuple[tuple[type, str], ...] = (
    (TypeLayer, "text"),
    (ShapeLayer, "shape"),
    (SmartObjectLayer, "smart_object"),
    (Group, "group"),
    (AdjustmentLayer, "adjustment"),
    (FillLayer, "other"),  # a solid colour, gradient or pattern fill without a vector mask
    (PixelLayer, "pixel"),
)


def psd_structure(opened: OpenedFile) -> Mapping[str, object] | Capped:
    limits = opened.limits
    layers: list[LayerPayload] = []
    artboards: list[ArtboardPayload] = []
    caps: list[str] = []
    for entry in walk_layers(opened.psd):
        if entry.index >= limits.max_layers:
            caps.append("max_layers")
            break
        if entry.depth > limits.max_layer_depth:
            caps.append("max_layer_depth")
            continue
        layers.append(_layer(entry, limits))
        if isinstance(entry.layer, Artboard):
            artboards.append({"name": layers[-1]["name"], "bbox": layers[-1]["bbox"]})
    _group_boxes(layers)
    payload: StructurePayload = {
        "layers": layers,
        "layers_truncated": bool(caps),
        "artboards": artboards,
        "svg": None,
        "pages": [],
        "has_annotations": None,
        "has_forms": None,
    }
    return capped(payload, caps)


def _layer(entry: LayerEntry, limits: ExtractionLimits) -> LayerPayload:
    layer = entry.layer
    kind = next((name for cls, name in _KINDS if isinstance(layer, cls)), "other")
    blend = getattr(layer.blend_mode, "name", str(layer.blend_mode))
    return {
        "index": entry.index,
        "parent_index": entry.parent,
        "depth": entry.depth,
        "name": clean_name(layer.name, limits.max_name_chars),
        "kind": kind,  # type: ignore[typeddict-item]
        "visible": bool(layer.visible),
        "opacity": round(min(max(int(layer.opacity), 0), 255) / 255, 4),
        "blend_mode": clean_name(blend, limits.max_name_chars).lower(),
        # an artboard's box is its own rectangle; a group's comes from its children (below)
        "bbox": [0, 0, 0, 0]
        if kind == "group" and not isinstance(layer, Artboard)
        else _box(layer),
    }


def _box(layer: Layer) -> list[int]:
    try:
        return [int(side) for side in layer.bbox]
    except (ValueError, TypeError, OverflowError):  # an unreadable artboard rectangle
        return [0, 0, 0, 0]


def _group_boxes(layers: list[LayerPayload]) -> None:
    """Each group's box: the union of its visible children's, deepest groups first (children
    follow their parent in the walk, so a reverse pass sees every child before its parent).
    An artboard keeps its own rectangle. Entries nested past max_layer_depth are not listed,
    so a parent is found by its index, not its position."""
    by_index = {layer["index"]: layer for layer in layers}
    pending = {
        layer["index"] for layer in layers if layer["kind"] == "group" and _empty(layer["bbox"])
    }
    for layer in reversed(layers):
        parent = layer["parent_index"]
        if parent not in pending or not layer["visible"] or _empty(layer["bbox"]):
            continue
        group, box = by_index[parent], layer["bbox"]
        group["bbox"] = box if _empty(group["bbox"]) else _union(group["bbox"], box)


def _union(a: list[int], b: list[int]) -> list[int]:
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def _empty(box: list[int]) -> bool:
    return box[2] <= box[0] or box[3] <= box[1]


def psd_text(opened: OpenedFile) -> Mapping[str, object] | Capped:
    collector = TextCollector(opened.limits)
    for entry in walk_layers(opened.psd):
        if not isinstance(entry.layer, TypeLayer):
            continue
        try:
            text = entry.layer.text
        except ValueError:  # a legacy type layer ('tySh') without the type tool object block
            continue
        if not collector.add("layer", entry.index, text):
            break
        try:
            fonts = entry.layer.font_names
        except Exception:  # an odd style run leaves the text, without its fonts
            fonts = []
        collector.add_fonts(fonts)
    return collector.result()
