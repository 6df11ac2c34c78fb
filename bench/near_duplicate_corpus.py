"""The generated corpus of bench/near_duplicates.py and its scoring: originals of four kinds
(logos, UI mockups, photo-like images, text pages), their variants (resized to half,
recompressed as JPEG and WebP at quality 40-75, cropped by 2-5% on all sides or two, logos
recoloured by swapping colour channels) and unrelated distractors, each hashed through the
service's render code: the 256 px WebP of render_thumbnails, then its visual facet
(ecs_render.visual): its pHash and its edge hash. Scored against the ground truth (recall per
kind, precision) and the all-pairs baseline, with the candidates a banded join compares."""

from __future__ import annotations

import io
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

KINDS = ("logo", "ui", "photo", "text")
WORDS = [
    "launch",
    "poster",
    "brand",
    "review",
    "final",
    "draft",
    "sprint",
    "roadmap",
    "pricing",
    "hero",
    "banner",
    "spring",
    "sale",
    "dashboard",
    "settings",
    "profile",
    "checkout",
]


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, ...]:
    return tuple(int(v) for v in rng.integers(low, high, 3))


def logo(rng: np.random.Generator) -> Image.Image:
    image = Image.new("RGB", (800, 800), _colour(rng, 200))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 5))):
        x0, y0 = (int(v) for v in rng.integers(50, 500, 2))
        w, h = (int(v) for v in rng.integers(100, 300, 2))
        box, fill = (x0, y0, x0 + w, y0 + h), _colour(rng, 0, 200)
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse(box, fill=fill)
        elif shape == 1:
            draw.rectangle(box, fill=fill)
        else:
            draw.polygon([(x0, y0 + h), (x0 + w // 2, y0), (x0 + w, y0 + h)], fill=fill)
    return image


def ui_mockup(rng: np.random.Generator) -> Image.Image:
    width, height = 1440, 900
    image = Image.new("RGB", (width, height), (245, 246, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, int(rng.integers(50, 90))), fill=_colour(rng))
    side = int(rng.integers(150, 350))
    draw.rectangle((0, 90, side, height), fill=_colour(rng, 180, 235))
    for _ in range(int(rng.integers(3, 9))):
        x0 = int(rng.integers(side + 20, width - 300))
        y0 = int(rng.integers(120, height - 200))
        box = (x0, y0, x0 + int(rng.integers(150, 400)), y0 + int(rng.integers(80, 250)))
        draw.rounded_rectangle(box, 12, fill="white", outline=_colour(rng, 100, 220), width=3)
        for line in range(3):
            top = y0 + 20 + 22 * line
            draw.rectangle(
                (x0 + 15, top, x0 + 15 + int(rng.integers(60, 140)), top + 10), fill=(90, 90, 100)
            )
    return image


def photo_like(rng: np.random.Generator) -> Image.Image:
    width, height = 1200, 800
    coarse = Image.fromarray(rng.integers(0, 256, (6, 9, 3), dtype=np.uint8))
    smooth = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), np.int16)
    grain = rng.integers(-20, 21, (height, width, 3))
    return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))


def text_page(rng: np.random.Generator) -> Image.Image:
    width, height = 850, 1100
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=int(rng.integers(22, 40)))
    top = int(rng.integers(30, 120))
    while top < height - 60:
        words = rng.choice(WORDS, int(rng.integers(2, 8)))
        draw.text((int(rng.integers(30, 120)), top), " ".join(words), fill=(20, 20, 20), font=font)
        top += int(rng.integers(40, 110))
    return image


MAKERS: dict[str, Callable[[np.random.Generator], Image.Image]] = {
    "logo": logo,
    "ui": ui_mockup,
    "photo": photo_like,
    "text": text_page,
}


def _encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def variants(image: Image.Image, kind: str, rng: np.random.Generator) -> dict[str, bytes]:
    width, height = image.size
    fraction = float(rng.uniform(0.02, 0.05))
    dx, dy = int(width * fraction), int(height * fraction)
    centred = bool(rng.integers(0, 2))  # all sides, or the right and bottom edges only
    box = (dx, dy, width - dx, height - dy) if centred else (0, 0, width - dx, height - dy)
    made = {
        "resized": _encoded(
            image.resize((width // 2, height // 2), Image.Resampling.LANCZOS), "PNG"
        ),
        "jpeg": _encoded(image, "JPEG", quality=int(rng.integers(40, 76))),
        "webp": _encoded(image, "WEBP", quality=int(rng.integers(40, 76))),
        "cropped": _encoded(image.crop(box), "PNG"),
    }
    if kind == "logo":
        order = [(1, 2, 0), (2, 0, 1), (0, 2, 1), (1, 0, 2), (2, 1, 0)][int(rng.integers(0, 5))]
        channels = np.asarray(image)[..., list(order)]
        made["recoloured"] = _encoded(Image.fromarray(np.ascontiguousarray(channels)), "PNG")
    return made


@dataclass(frozen=True)
class HashedFile:
    relative_path: str
    group: int | None  # the original it was made from; None for a distractor
    variant: str  # "original", a variant kind, or "distractor"
    phash: str
    edge_phash: str

    def hash(self, column: str) -> str:
        """The hash called `column` ("phash" or "edge_phash")."""
        return self.phash if column == "phash" else self.edge_phash


@dataclass
class Cpu:
    render_s: float = 0.0
    visual_s: float = 0.0
    files: int = 0


def hash_file(data: bytes, cpu: Cpu) -> tuple[str, str]:
    """The file's pHash and edge hash as the service computes them: render, then the 256 px
    WebP's facet."""
    from ecs_render.thumbnails import render_thumbnails
    from ecs_render.visual import visual_of_thumbnail
    from pixelforge_core.render_wire import THUMBNAIL_SIZES, VISUAL_THUMBNAIL_PX

    started = time.process_time()
    rendered = render_thumbnails(io.BytesIO(data), THUMBNAIL_SIZES)
    rendered_at = time.process_time()
    if not isinstance(rendered, list):
        raise RuntimeError(f"a generated file failed to render: {rendered}")
    thumbnail = next(t.data for t in rendered if t.size_px == VISUAL_THUMBNAIL_PX)
    payload = visual_of_thumbnail(thumbnail)
    cpu.render_s += rendered_at - started
    cpu.visual_s += time.process_time() - rendered_at
    cpu.files += 1
    return payload["phash"], payload["edge_phash"]


def build_corpus(per_kind: int, distractors: int, cpu: Cpu) -> list[HashedFile]:
    rng = np.random.default_rng(20261206)
    files: list[HashedFile] = []
    for group in range(per_kind * len(KINDS)):
        kind = KINDS[group % len(KINDS)]
        image = MAKERS[kind](rng)
        base = f"{kind}/{group:04d}"
        files.append(
            HashedFile(
                f"{base}/original.png", group, "original", *hash_file(_encoded(image, "PNG"), cpu)
            )
        )
        for name, data in variants(image, kind, rng).items():
            files.append(HashedFile(f"{base}/{name}", group, name, *hash_file(data, cpu)))
    for index in range(distractors):
        image = MAKERS[KINDS[index % len(KINDS)]](rng)
        files.append(
            HashedFile(
                f"distractor/{index:04d}.png",
                None,
                "distractor",
                *hash_file(_encoded(image, "PNG"), cpu),
            )
        )
    return files


# --- scoring: files made from one original are duplicates, anything else is not -----------


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def all_pairs(
    files: Sequence[HashedFile], column: str, max_distance: int
) -> set[tuple[str, str, int]]:
    """The exact baseline: every pair compared."""
    found = set()
    for one, two in itertools.combinations(files, 2):
        first, second = sorted((one, two), key=lambda f: f.relative_path)
        d = distance(first.hash(column), second.hash(column))
        if d <= max_distance:
            found.add((first.relative_path, second.relative_path, d))
    return found


def unrelated_candidates(
    files: Sequence[HashedFile], column: str, bands: int, max_distance: int
) -> tuple[int, int]:
    """Pairs of unrelated files (not made from one original) sharing at least one band, which
    the banded join compares for nothing, and all unrelated pairs: at 8M files nearly every
    pair is unrelated, so their ratio is the share of 8M files' pairs the join compares."""
    group = {f.relative_path: f.group for f in files}

    def related(a: str, b: str) -> bool:
        return group[a] is not None and group[a] == group[b]

    radius = max_distance // bands
    shared = {pair for pair in candidate_pairs(files, column, bands, radius) if not related(*pair)}
    unrelated = sum(1 for a, b in itertools.combinations(group, 2) if not related(a, b))
    return len(shared), unrelated


def candidate_pairs(
    files: Sequence[HashedFile], column: str, bands: int, radius: int
) -> set[tuple[str, str]]:
    """Distinct pairs with some band within `radius` bits (equal for 0): what the banded join
    compares."""
    narrow, wide = divmod(64, bands)
    values = {f.relative_path: int(f.hash(column), 16) for f in files}
    pairs: set[tuple[str, str]] = set()
    end = 64
    for band in range(bands):
        width = narrow + (1 if band < wide else 0)
        buckets: dict[int, list[str]] = defaultdict(list)
        for path, value in values.items():  # bands from the most significant bit, as in SQL
            buckets[(value >> (end - width)) & ((1 << width) - 1)].append(path)
        for one, two in itertools.combinations_with_replacement(sorted(buckets), 2):
            if (one ^ two).bit_count() <= radius:
                for a, b in itertools.product(buckets[one], buckets[two]):
                    if a != b:
                        pairs.add((min(a, b), max(a, b)))
        end -= width
    return pairs


def score(files: Sequence[HashedFile], reported: set[tuple[str, str, int]]) -> dict[str, Any]:
    by_path = {f.relative_path: f for f in files}
    found = {(a, b) for a, b, _ in reported}
    true = sum(
        1 for a, b in found if by_path[a].group is not None and by_path[a].group == by_path[b].group
    )
    originals = {f.group: f for f in files if f.variant == "original"}
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in files:
        if f.group is None or f.variant == "original":
            continue
        pair = tuple(sorted((originals[f.group].relative_path, f.relative_path)))
        recall[f.variant][1] += 1
        recall[f.variant][0] += pair in found
    hits, total = sum(h for h, _ in recall.values()), sum(n for _, n in recall.values())
    return {
        "reported": len(found),
        "precision": true / len(found) if found else 1.0,
        "recall": hits / total if total else 0.0,
        "recall_by_kind": {kind: h / n for kind, (h, n) in sorted(recall.items())},
    }
