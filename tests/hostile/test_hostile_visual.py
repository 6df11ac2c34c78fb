"""Hostile inputs through the visual facet (ecs_render/visual.py): what it decodes is the stored
256 px thumbnail, but a foreign or corrupt object in the thumbnails bucket, or a compromised
worker's reply, must fail the facet quickly and never the worker, the server or the row."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from ecs_render.decode_pool import DecodePool, WorkerConfig, WorkerLostError, parse_visual_reply
from ecs_render.results import RenderFailure
from ecs_render.visual import visual_of_thumbnail
from ecs_render.worker_frames import Frame
from pixelforge_core.reason_codes import RENDER_FAILED

MIB = 1024 * 1024


def webp(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("side", "refusal"),
    [(4000, "not a 256 px thumbnail"), (16383, "decompression bomb")],  # Pillow's own, at open
)
def test_hostile_a_huge_webp_is_refused_from_its_header_without_decoding(side, refusal):
    bomb = webp(Image.new("RGB", (side, side), "white"), lossless=True)
    assert len(bomb) < 200_000  # a few KiB declaring megapixels

    started = time.perf_counter()
    with pytest.raises(Exception, match=refusal):
        visual_of_thumbnail(bomb)
    assert time.perf_counter() - started < 1.0


def test_hostile_the_most_colourful_thumbnail_is_still_cheap():
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 4), dtype=np.uint8)
    data = webp(Image.fromarray(noise, "RGBA"), lossless=True)

    started = time.process_time()
    payload = visual_of_thumbnail(data)
    elapsed = time.process_time() - started

    assert len(payload["dominant_colors"]) == 5
    assert elapsed < 0.1, f"{elapsed * 1000:.0f} ms"


@pytest.mark.parametrize(
    "header",
    [
        {"type": "visual", "payload": {"phash": "x" * 16, "edge_phash": "0" * 16,
                                       "dominant_colors": [], "thumbhash": ""}},
        {"type": "visual", "payload": {"phash": "0" * 16, "edge_phash": "y" * 16,
                                       "dominant_colors": [], "thumbhash": ""}},
        {"type": "visual", "payload": {"phash": "0" * 16, "edge_phash": "0" * 16,
                                       "dominant_colors": [{"hex": "red", "share": 2}],
                                       "thumbhash": "AA=="}},
        {"type": "visual", "payload": "A" * 60_000},
        {"type": "thumbnails", "thumbnails": []},
    ],
    ids=["bad-phash", "bad-edge-phash", "bad-colour", "not-an-object", "wrong-type"],
)  # fmt: skip
def test_hostile_a_forged_visual_reply_is_a_lost_worker_not_a_facet(header):
    with pytest.raises(WorkerLostError):
        parse_visual_reply(Frame(header, b""))


def test_hostile_a_worker_cannot_claim_a_transient_failure_for_the_facet():
    failure = parse_visual_reply(
        Frame({"type": "failure", "reason_code": "renderer_unavailable", "message": "x"}, b"")
    )
    assert isinstance(failure, RenderFailure)
    assert failure.reason_code == RENDER_FAILED  # only the server may say "not the file"


def test_hostile_corrupt_thumbnails_fail_the_facet_and_the_worker_goes_on():
    good = webp(Image.new("RGB", (256, 171), (200, 30, 30)), lossless=True)
    truncated = good[: len(good) // 2]
    pool = DecodePool(WorkerConfig(1024 * MIB, 10.0, MIB, allow_unconfined=True), 1)
    try:
        pool.start()
        pids = pool.pids()
        outcomes = [pool.visual(data) for data in (b"RIFF\0\0\0\0WEBPjunk", truncated, good)]
        after = pool.pids()
    finally:
        pool.close(5)

    *failed, served = outcomes
    for outcome in failed:
        assert isinstance(outcome, RenderFailure), outcome
        assert outcome.reason_code == RENDER_FAILED
    assert isinstance(served, dict)
    assert served["dominant_colors"][0]["hex"] == "#c81e1e"
    assert after == pids  # the same worker answered all three
