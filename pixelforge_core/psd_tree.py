"""A PSD's layer tree walked without recursion, for extraction's structure facet and layer count
(snowpark_procs/metadata) and the renderer's nesting check (ecs_render/thumbnails.py).

psd-tools' descendants() recurses, and its group test (a runtime Protocol check) evaluates each
group's box, which recurses again, so a few hundred nested groups exhaust Python's stack; this
walk keeps its own stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from psd_tools import PSDImage
from psd_tools.api.layers import Group, Layer


@dataclass(frozen=True)
class LayerEntry:
    index: int  # position in the walk
    parent: int | None
    depth: int  # 0 for a top-level layer
    layer: Layer


def walk_layers(psd: PSDImage) -> Iterator[LayerEntry]:
    """Every layer and group, a group before its children, bottom of the panel first (the
    order of psd.descendants())."""
    stack: list[tuple[Layer, int | None, int]] = [(layer, None, 0) for layer in reversed(psd)]
    index = 0
    while stack:
        layer, parent, depth = stack.pop()
        yield LayerEntry(index, parent, depth, layer)
        if isinstance(layer, Group):
            stack.extend((child, index, depth + 1) for child in reversed(layer))
        index += 1


def nesting_depth(psd: PSDImage) -> int:
    """Levels of group nesting: the depth of the deepest entry (0 without groups, 1 for layers
    in a top-level group, and so on)."""
    return max((entry.depth for entry in walk_layers(psd)), default=0)
