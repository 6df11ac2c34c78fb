"""What a render produces, shared by the decode workers and the server (which must not import
the decoders themselves: it never parses a customer's file)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thumbnail:
    """One rendered size: WebP bytes whose longest edge is size_px (or less: never upscaled)."""

    size_px: int
    width_px: int
    height_px: int
    data: bytes


@dataclass(frozen=True)
class RenderFailure:
    """Why a file has no thumbnails: a reason code of dbt_project/seeds/quality_rules.csv, or
    renderer_unavailable when the renderer, not the file, failed (the server's own verdict)."""

    reason_code: str
    message: str
