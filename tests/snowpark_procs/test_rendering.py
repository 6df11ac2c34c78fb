"""The render step's core (snowpark_procs/rendering.py) turns the renderer's answers into
raw.thumbnails rows and visual facet rows; the wire's visual checks refuse malformed facets."""

from __future__ import annotations

import copy

import pytest

from pixelforge_core.facets import facet
from pixelforge_core.reason_codes import FILE_CHANGED, RENDER_FAILED
from pixelforge_core.render_wire import (
    RENDERER_UNAVAILABLE,
    RenderRequest,
    visual_from_json,
    visual_payload_problem,
)
from snowpark_procs.rendering import thumbnail_rows

SIZES = (1024, 256)
PAYLOAD = {
    "dominant_colors": [{"hex": "#c81e1e", "share": 0.75}, {"hex": "#141ec8", "share": 0.25}],
    "phash": "8f00ff00ff00ff01",
    "edge_phash": "0f0f33cc0f0f33cc",
    "thumbhash": "HwgCBYDZvfVpZoWmiVi4Z2SQHPdq",
}
VISUAL = {
    "facet": "visual",
    "version": 3,  # the renderer's: it computed the facet
    "status": "ok",
    "payload": PAYLOAD,
    "reason_code": None,
    "message": None,
}


def request(name: str) -> RenderRequest:
    return RenderRequest(name, f"etag-{name}", "ab" * 32, 10)


def ok(visual: dict | None = VISUAL) -> dict:
    thumbnails = [
        {
            "size_px": s,
            "thumbnail_key": f"k/{s}",
            "width_px": s,
            "height_px": s,
            "thumbnail_bytes": 9,
            "created": True,
        }
        for s in SIZES
    ]
    return {"status": "ok", "thumbnails": thumbnails, "visual": visual}


def failed(code: str) -> dict:
    return {"status": "failed", "reason_code": code, "message": "why", "thumbnails": []}


def test_each_file_gets_its_facet_row_rendered_failed_or_none_when_deferred_or_absent():
    requests = [request(n) for n in ("a.png", "b.png", "c.png", "d.png")]
    results = [ok(), failed(FILE_CHANGED), failed(RENDERER_UNAVAILABLE), ok(visual=None)]

    outcome = thumbnail_rows(requests, results, SIZES, "run-1")

    assert outcome.facet_rows == [
        {
            "relative_path": "a.png",
            "etag": "etag-a.png",
            "facet": "visual",
            "facet_version": 3,
            "status": "ok",
            "reason_code": None,
            "error_message": None,
            "payload": PAYLOAD,
            "run_id": "run-1",
        },
        {
            "relative_path": "b.png",
            "etag": "etag-b.png",
            "facet": "visual",
            "facet_version": facet("visual").version,
            "status": "failed",
            "reason_code": FILE_CHANGED,
            "error_message": "why",
            "payload": None,
            "run_id": "run-1",
        },
    ]  # c.png is retried later (no row), d.png came from a renderer without the facet
    assert (outcome.files_succeeded, outcome.files_failed, outcome.files_deferred) == (2, 1, 1)


def test_a_failed_visual_facet_of_a_rendered_file_is_recorded_as_failed():
    visual = {
        **VISUAL,
        "status": "failed",
        "payload": None,
        "reason_code": RENDER_FAILED,
        "message": "not a WebP",
    }

    (row,) = thumbnail_rows([request("a.png")], [ok(visual)], SIZES, "r").facet_rows

    assert (row["status"], row["reason_code"], row["payload"]) == ("failed", RENDER_FAILED, None)


def _broken(path: tuple, value) -> dict:
    broken = copy.deepcopy(VISUAL)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return broken


@pytest.mark.parametrize(
    "visual",
    [
        _broken(("facet",), "document"),
        _broken(("version",), "1"),
        _broken(("status",), "maybe"),
        _broken(("payload", "phash"), "8F00FF00FF00FF01"),
        _broken(("payload", "phash"), "8f00"),
        _broken(("payload", "edge_phash"), "0F0F33CC0F0F33CC"),
        _broken(("payload", "edge_phash"), None),
        _broken(("payload", "thumbhash"), "A" * 49),
        _broken(("payload", "thumbhash"), "not base64!"),
        _broken(("payload", "dominant_colors"), [{"hex": "#fff", "share": 1}]),
        _broken(("payload", "dominant_colors"), [{"hex": "#ffffff", "share": 1.5}]),
        _broken(("payload", "dominant_colors"), [{"hex": "#ffffff", "share": 0.1}] * 6),
        _broken(("payload", "extra"), 1),
        {**VISUAL, "status": "failed", "payload": None},  # no reason code
        [],
    ],
)
def test_a_malformed_visual_facet_is_a_renderer_bug_not_a_row(visual):
    with pytest.raises(ValueError):
        visual_from_json(visual)
    with pytest.raises(ValueError):
        thumbnail_rows([request("a.png")], [ok(visual)], SIZES, "r")


def test_the_payload_check_accepts_what_the_renderer_makes():
    assert visual_payload_problem(PAYLOAD) is None
    assert visual_payload_problem({**PAYLOAD, "dominant_colors": []}) is None
    assert visual_from_json(None) is None
    assert visual_from_json(VISUAL).payload == PAYLOAD
