"""ThumbHash placeholders: a port of Evan Wallace's reference encoder, on purpose.

The algorithm and its bit layout are the reference's, `rgbaToThumbHash` in js/thumbhash.js of
https://github.com/evanw/thumbhash (MIT licence, Copyright (c) 2023 Evan Wallace); any ThumbHash
decoder (the reference's `thumbHashToRGBA`, its Swift/Java/Rust ports, the npm package) renders
the string this module makes. Ported rather than installed: the PyPI ports were checked and do
not fit: `thumbhash` 0.1.2 is pure-Python per-pixel loops (tens of ms for a 100x100 image) and
mis-encodes images with alpha (its `a_dc, a_ac, a_scale = ... if has_alpha else 1.0, [], 1.0`
binds a tuple), `thumbhash-python` 1.0.1 pins Pillow < 11 (we run 13), the Rust bindings are
young single-maintainer builds. The DCT sums here are the reference's, written as numpy matrix
products (numpy is already in the render image through psd-tools); rounding is the reference's
`Math.round` (half up), not Python's round (half to even). A term that lands exactly on a
half (an AC term of exactly 0 in a symmetric image) may round the other way than the reference's
loop does, as floating-point sums in another order differ in the last bit: one 1/15 step of one
term, deterministic here.
"""

from __future__ import annotations

import base64
import math

import numpy as np
from PIL import Image

# The reference refuses larger inputs ("Encoding an image larger than 100x100 is slow with no
# benefit"); callers shrink the thumbnail to fit first.
MAX_SIDE = 100


def _round(value: float) -> int:
    """JavaScript's Math.round: halves go up."""
    return math.floor(value + 0.5)


def _encode_channel(channel: np.ndarray, nx: int, ny: int) -> tuple[float, list[float], float]:
    """The reference's encodeChannel: DC, normalised AC terms in its (cy, cx) order, scale."""
    h, w = channel.shape
    cx = np.arange(nx)[:, None]
    cy = np.arange(ny)[:, None]
    fx = np.cos(math.pi / w * cx * (np.arange(w)[None, :] + 0.5))  # nx x w
    fy = np.cos(math.pi / h * cy * (np.arange(h)[None, :] + 0.5))  # ny x h
    coefficients = fy @ channel @ fx.T / (w * h)  # ny x nx: f[cy, cx]
    dc, ac = 0.0, []
    for y in range(ny):
        x = 0
        while x * ny < nx * (ny - y):
            if x or y:
                ac.append(float(coefficients[y, x]))
            else:
                dc = float(coefficients[0, 0])
            x += 1
    scale = max((abs(f) for f in ac), default=0.0)
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale


def rgba_to_thumbhash(rgba: np.ndarray) -> bytes:
    """The ThumbHash of an h x w x 4 uint8 RGBA array (not premultiplied), w, h <= MAX_SIDE."""
    h, w = rgba.shape[:2]
    if w > MAX_SIDE or h > MAX_SIDE or w < 1 or h < 1:
        raise ValueError(f"{w}x{h} doesn't fit in {MAX_SIDE}x{MAX_SIDE}")
    pixels = rgba.astype(np.float64)
    alpha = pixels[..., 3] / 255
    avg_a = float(alpha.sum())
    avg = [float((alpha / 255 * pixels[..., i]).sum()) for i in range(3)]
    if avg_a:
        avg = [value / avg_a for value in avg]
    has_alpha = avg_a < w * h
    l_limit = 5 if has_alpha else 7  # fewer luminance bits if there's alpha
    lx = max(1, _round(l_limit * w / max(w, h)))
    ly = max(1, _round(l_limit * h / max(w, h)))
    # RGBA -> LPQA, composited atop the average colour
    r, g, b = (avg[i] * (1 - alpha) + alpha / 255 * pixels[..., i] for i in range(3))
    l_dc, l_ac, l_scale = _encode_channel((r + g + b) / 3, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel((r + g) / 2 - b, 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(r - g, 3, 3)
    is_landscape = w > h
    header24 = (
        _round(63 * l_dc)
        | (_round(31.5 + 31.5 * p_dc) << 6)
        | (_round(31.5 + 31.5 * q_dc) << 12)
        | (_round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if is_landscape else lx)
        | (_round(63 * p_scale) << 3)
        | (_round(63 * q_scale) << 9)
        | (int(is_landscape) << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    channels = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _encode_channel(alpha, 5, 5)
        out.append(_round(15 * a_dc) | (_round(15 * a_scale) << 4))
        channels.append(a_ac)
    start = len(out)
    factors = [f for ac in channels for f in ac]
    out.extend([0] * ((len(factors) + 1) // 2))
    for index, f in enumerate(factors):
        out[start + (index >> 1)] |= _round(15 * f) << ((index & 1) << 2)
    return bytes(out)


def thumbhash(image: Image.Image) -> str:
    """The base64 ThumbHash of an image, shrunk to fit MAX_SIDE first (Pillow's thumbnail box
    filter keeps the aspect ratio, as the reference's examples do)."""
    rgba = image.convert("RGBA")
    if max(rgba.size) > MAX_SIDE:
        rgba = rgba.copy()
        rgba.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
    return base64.b64encode(rgba_to_thumbhash(np.asarray(rgba))).decode("ascii")
