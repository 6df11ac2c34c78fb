"""The render budget moved to pixelforge_core/render_budget.py, its one owner, so that the
capacity model (pixelforge_core/capacity.py) and the deploy renderer read the same renderer
facts; this name stays importable for code written against it."""

from __future__ import annotations

from pixelforge_core.render_budget import RENDER_BUDGET, RenderBudget

__all__ = ["RENDER_BUDGET", "RenderBudget"]
