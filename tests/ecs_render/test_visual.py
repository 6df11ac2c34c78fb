"""The visual facet (ecs_render/visual.py, ecs_render/thumbhash.py), checked against literal
transliterations of the reference algorithms (imagehash.phash's DCT, thumbhash's
rgbaToThumbHash loops) and for the properties near-duplicate detection needs."""

from __future__ import annotations

import base64
import io
import math
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from ecs_render.thumbhash import rgba_to_thumbhash, thumbhash
from ecs_render.thumbnails import render_thumbnails
from ecs_render.visual import (
    content_box,
    dominant_colors,
    edge_phash,
    hamming,
    phash,
    visual_of_thumbnail,
    visual_payload,
)
from pixelforge_core.render_wire import visual_payload_problem


def _scene(seed: int, size: tuple[int, int] = (600, 400)) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        x1, y1 = x0 + int(rng.integers(20, 300)), y0 + int(rng.integers(20, 200))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return image


# --- pHash ----------------------------------------------------------------------------------


def _reference_phash(image: Image.Image) -> str:
    """imagehash.phash (4.3.2) spelled out: scipy.fftpack.dct type II (unnormalised) along
    axis 0 then axis 1, the 8x8 low frequencies above their median, row-major bits."""
    grey = image.convert("L").resize((32, 32), Image.Resampling.LANCZOS)
    pixels = [[float(v) for v in row] for row in np.asarray(grey)]

    def dct(values: list[float], k: int) -> float:
        n = len(values)
        return 2 * sum(
            v * math.cos(math.pi * k * (2 * i + 1) / (2 * n)) for i, v in enumerate(values)
        )

    columns = [[dct([pixels[y][x] for y in range(32)], k) for x in range(32)] for k in range(8)]
    low = [[dct(columns[k], j) for j in range(8)] for k in range(8)]
    flat = [v for row in low for v in row]
    median = float(np.median(flat))
    return f"{int(''.join('1' if v > median else '0' for v in flat), 2):016x}"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_phash_is_imagehash_phash(seed):
    image = _scene(seed)
    assert phash(image) == _reference_phash(image)


def test_phash_survives_resizing_recompression_and_blur_but_not_another_picture():
    original = _scene(7)
    buffer = io.BytesIO()
    original.resize((300, 200)).save(buffer, "JPEG", quality=60)
    variant = Image.open(buffer)
    blurred = original.filter(ImageFilter.GaussianBlur(1.5))

    assert hamming(phash(original), phash(variant)) <= 4
    assert hamming(phash(original), phash(blurred)) <= 4
    assert min(hamming(phash(original), phash(_scene(s))) for s in range(20, 30)) > 12


def test_phash_composites_transparency_on_white():
    logo = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(logo).ellipse((40, 40, 160, 160), fill=(30, 30, 30, 255))
    on_white = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(on_white).ellipse((40, 40, 160, 160), fill=(30, 30, 30))

    assert phash(logo) == phash(on_white)


# --- edge pHash (near-duplicates) ----------------------------------------------------------


def _reference_edge_phash(image: Image.Image) -> str:
    """ecs_render.visual.edge_phash spelled out with loops: trim to the pixels more than 24
    from the top-left one (summed over RGB), BILINEAR to 64x64, |dx| + |dy| summed over the
    channels, a Gaussian (sigma 1.5 cells) average at each of the 32x32 cell centres, the
    scipy-style DCT-II's 8x8 lowest frequencies above their median."""
    rgb = image.convert("RGB")
    pixels = np.asarray(rgb).astype(int)
    corner = pixels[0, 0]
    inside = [
        (x, y)
        for y in range(pixels.shape[0])
        for x in range(pixels.shape[1])
        if sum(abs(int(v)) for v in pixels[y, x] - corner) > 24
    ]
    if inside:
        left, top = min(x for x, _ in inside), min(y for _, y in inside)
        right, bottom = max(x for x, _ in inside) + 1, max(y for _, y in inside) + 1
        if min(right - left, bottom - top) >= 8:
            rgb = rgb.crop((left, top, right, bottom))
    small = np.asarray(rgb.resize((64, 64), Image.Resampling.BILINEAR)).astype(float)
    edges = [
        [
            sum(
                abs(small[y, min(x + 1, 63), c] - small[y, x, c])
                + abs(small[min(y + 1, 63), x, c] - small[y, x, c])
                for c in range(3)
            )
            for x in range(64)
        ]
        for y in range(64)
    ]

    def weights(cell: int) -> list[float]:
        centre, sigma = (cell + 0.5) * 2, 1.5 * 2
        raw = [math.exp(-0.5 * ((i + 0.5 - centre) / sigma) ** 2) for i in range(64)]
        return [w / sum(raw) for w in raw]

    rows = [weights(cell) for cell in range(32)]
    # the weighted sum over x, then over y (separable)
    across = [
        [sum(rows[i][x] * edges[y][x] for x in range(64)) for i in range(32)] for y in range(64)
    ]
    grid = [
        [sum(rows[j][y] * across[y][i] for y in range(64)) for i in range(32)] for j in range(32)
    ]

    def dct(values: list[float], k: int) -> float:
        return 2 * sum(v * math.cos(math.pi * k * (2 * i + 1) / 64) for i, v in enumerate(values))

    columns = [[dct([grid[y][x] for y in range(32)], k) for x in range(32)] for k in range(8)]
    low = [dct(columns[k], j) for k in range(8) for j in range(8)]
    median = float(np.median(low))
    return f"{int(''.join('1' if v > median else '0' for v in low), 2):016x}"


@pytest.mark.parametrize("seed", [1, 2])
def test_edge_phash_is_the_dct_hash_of_the_trimmed_edges(seed):
    on_margin = Image.new("RGB", (160, 120), (250, 250, 250))
    on_margin.paste(_scene(seed, (120, 80)), (25, 15))
    for image in (on_margin, _scene(seed + 10, (90, 60))):
        assert edge_phash(image) == _reference_edge_phash(image)


def test_the_content_box_is_what_differs_from_the_top_left_pixel():
    blank = np.full((50, 80, 3), 240, np.uint8)
    assert content_box(blank) is None
    speck = blank.copy()
    speck[10:13, 20:23] = 0
    assert content_box(speck) is None  # smaller than 8 px: not trimmed to
    logo = blank.copy()
    logo[5:30, 12:60] = (200, 40, 40)
    logo[31, 10] = (235, 245, 240)  # within the tolerance of the background (15 <= 24)
    assert content_box(logo) == (12, 5, 60, 30)


def _logo(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (800, 800), tuple(int(v) for v in rng.integers(200, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x0, y0 = (int(v) for v in rng.integers(60, 480, 2))
        box = (x0, y0, x0 + int(rng.integers(100, 280)), y0 + int(rng.integers(100, 280)))
        fill = tuple(int(v) for v in rng.integers(0, 200, 3))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    return image


def test_edge_phash_survives_cropping_recolouring_and_resizing_but_not_another_logo():
    original = _logo(3)
    copies = {
        "cropped 4% of margin": original.crop((32, 32, 768, 768)),
        "cropped right and bottom": original.crop((0, 0, 776, 776)),
        "channels swapped": Image.fromarray(np.ascontiguousarray(np.asarray(original)[..., ::-1])),
        "half size": original.resize((400, 400), Image.Resampling.LANCZOS),
    }

    def hashed(image: Image.Image) -> str:
        return visual_of_thumbnail(_thumbnail_256(image))["edge_phash"]

    ours = hashed(original)
    # 10 bits: fct_near_duplicate_pairs' threshold
    assert {name: hamming(ours, hashed(copy)) <= 10 for name, copy in copies.items()} == {
        name: True for name in copies
    }
    assert min(hamming(ours, hashed(_logo(seed))) for seed in range(20, 26)) > 10


# --- ThumbHash ------------------------------------------------------------------------------


def _js_round(value: float) -> int:
    return math.floor(value + 0.5)


def _reference_thumbhash(w: int, h: int, rgba: list[int]) -> bytes:
    """js/thumbhash.js rgbaToThumbHash (github.com/evanw/thumbhash), line for line."""
    avg_r = avg_g = avg_b = avg_a = 0.0
    for i in range(w * h):
        alpha = rgba[4 * i + 3] / 255
        avg_r += alpha / 255 * rgba[4 * i]
        avg_g += alpha / 255 * rgba[4 * i + 1]
        avg_b += alpha / 255 * rgba[4 * i + 2]
        avg_a += alpha
    if avg_a:
        avg_r, avg_g, avg_b = avg_r / avg_a, avg_g / avg_a, avg_b / avg_a
    has_alpha = avg_a < w * h
    l_limit = 5 if has_alpha else 7
    lx = max(1, _js_round(l_limit * w / max(w, h)))
    ly = max(1, _js_round(l_limit * h / max(w, h)))
    lum, p, q, a = [], [], [], []
    for i in range(w * h):
        alpha = rgba[4 * i + 3] / 255
        r = avg_r * (1 - alpha) + alpha / 255 * rgba[4 * i]
        g = avg_g * (1 - alpha) + alpha / 255 * rgba[4 * i + 1]
        b = avg_b * (1 - alpha) + alpha / 255 * rgba[4 * i + 2]
        lum.append((r + g + b) / 3)
        p.append((r + g) / 2 - b)
        q.append(r - g)
        a.append(alpha)

    def encode(channel, nx, ny):
        dc, ac, scale = 0.0, [], 0.0
        for cy in range(ny):
            cx = 0
            while cx * ny < nx * (ny - cy):
                fx = [math.cos(math.pi / w * cx * (x + 0.5)) for x in range(w)]
                f = 0.0
                for y in range(h):
                    fy = math.cos(math.pi / h * cy * (y + 0.5))
                    for x in range(w):
                        f += channel[x + y * w] * fx[x] * fy
                f /= w * h
                if cx or cy:
                    ac.append(f)
                    scale = max(scale, abs(f))
                else:
                    dc = f
                cx += 1
        if scale:
            ac = [0.5 + 0.5 / scale * f for f in ac]
        return dc, ac, scale

    l_dc, l_ac, l_scale = encode(lum, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = encode(p, 3, 3)
    q_dc, q_ac, q_scale = encode(q, 3, 3)
    landscape = w > h
    header24 = (
        _js_round(63 * l_dc)
        | (_js_round(31.5 + 31.5 * p_dc) << 6)
        | (_js_round(31.5 + 31.5 * q_dc) << 12)
        | (_js_round(31 * l_scale) << 18)
        | (has_alpha << 23)
    )
    header16 = (
        (ly if landscape else lx)
        | (_js_round(63 * p_scale) << 3)
        | (_js_round(63 * q_scale) << 9)
        | (landscape << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    acs = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = encode(a, 5, 5)
        out.append(_js_round(15 * a_dc) | (_js_round(15 * a_scale) << 4))
        acs.append(a_ac)
    start, index = len(out), 0
    for ac in acs:
        for f in ac:
            if start + (index >> 1) >= len(out):
                out.append(0)
            out[start + (index >> 1)] |= _js_round(15 * f) << ((index & 1) << 2)
            index += 1
    return bytes(out)


@pytest.mark.parametrize(
    ("size", "alpha"), [((24, 16), False), ((16, 24), False), ((20, 20), True), ((30, 12), True)]
)
def test_thumbhash_is_the_reference_encoder(size, alpha):
    rgba = _scene(sum(size), (size[0] * 8, size[1] * 8)).resize(size).convert("RGBA")
    if alpha:
        mask = Image.new("L", size, 0)
        # Not symmetric: a symmetric mask has AC terms of exactly 0, i.e. 15 * f exactly 7.5,
        # which rounds either way depending on the order the DCT sums are added in (ours are
        # matrix products, the reference's a loop): one step of one AC term, either way valid.
        ImageDraw.Draw(mask).ellipse((1, 2, size[0] - 5, size[1] - 2), fill=255)
        rgba.putalpha(mask)
    pixels = list(np.asarray(rgba).flatten().tolist())

    ours = rgba_to_thumbhash(np.asarray(rgba))

    assert ours == _reference_thumbhash(size[0], size[1], pixels)
    assert (ours[2] >> 7) == int(alpha)  # header24's has-alpha bit


def test_thumbhash_refuses_more_than_100_px_and_shrinks_images_to_fit():
    big = _scene(4, (256, 171))
    with pytest.raises(ValueError, match="doesn't fit"):
        rgba_to_thumbhash(np.asarray(big.convert("RGBA")))
    decoded = base64.b64decode(thumbhash(big))
    assert 5 <= len(decoded) <= 25
    assert (decoded[4] >> 7) == 1  # landscape


# --- dominant colours -----------------------------------------------------------------------


def test_dominant_colours_are_the_opaque_pixels_colours_with_their_shares():
    logo = Image.new("RGBA", (100, 100), (0, 0, 0, 0))  # 40% transparent, ignored
    draw = ImageDraw.Draw(logo)
    draw.rectangle((0, 0, 99, 29), fill=(200, 30, 30, 255))  # 30 rows
    draw.rectangle((0, 30, 99, 59), fill=(20, 30, 200, 255))  # 30 rows

    assert dominant_colors(logo) == [
        {"hex": "#141ec8", "share": 0.5},
        {"hex": "#c81e1e", "share": 0.5},
    ]
    assert dominant_colors(Image.new("RGBA", (10, 10), (255, 0, 0, 0))) == []


def test_dominant_colours_are_at_most_five_largest_first_and_shares_sum_to_one():
    colours = dominant_colors(_scene(11, (256, 171)))
    noise = dominant_colors(
        Image.fromarray(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    )
    for found in (colours, noise):
        assert 1 <= len(found) <= 5
        shares = [c["share"] for c in found]
        assert shares == sorted(shares, reverse=True)
        assert sum(shares) == pytest.approx(1.0, abs=1e-3)


# --- the facet of a stored thumbnail ---------------------------------------------------------


def _thumbnail_256(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    rendered = render_thumbnails(io.BytesIO(buffer.getvalue()), (1024, 256))
    assert isinstance(rendered, list)
    return next(t.data for t in rendered if t.size_px == 256)


def test_the_facet_of_a_thumbnail_is_deterministic_valid_and_cheap():
    data = _thumbnail_256(_scene(5, (1600, 1000)))

    first = visual_of_thumbnail(data)
    started = time.process_time()
    for _ in range(10):
        again = visual_of_thumbnail(data)
    cpu_ms = (time.process_time() - started) * 100

    assert again == first
    assert visual_payload_problem(first) is None
    decoded = Image.open(io.BytesIO(data))
    assert first == visual_payload(decoded)
    assert cpu_ms < 30, f"{cpu_ms:.1f} ms of CPU a thumbnail (the budget is 10 ms; slack for CI)"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        b"RIFF\x00\x00\x00\x00WEBPjunk",
    ],
    ids=["empty", "png", "broken-webp"],
)
def test_anything_but_a_thumbnail_is_refused(data):
    with pytest.raises(Exception):  # noqa: B017 - Pillow's own errors for broken WebP
        visual_of_thumbnail(data)


def test_a_webp_larger_than_the_thumbnail_box_is_refused():
    buffer = io.BytesIO()
    Image.new("RGB", (300, 10)).save(buffer, "WEBP")
    with pytest.raises(ValueError, match="not a 256 px thumbnail"):
        visual_of_thumbnail(buffer.getvalue())
