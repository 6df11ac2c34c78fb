"""Benchmark: extraction CPU per file with the extraction facets on vs off, in the same run.

    python -m bench.facets [--full]

"Off" is extraction as it was before the facets (the header facts only: `facets=frozenset()`),
"on" computes every extraction facet that covers the file (document, structure, text), as the
extract step does. Both run in one process on the same bytes, alternating, after a warm-up of
each; the figure is the median CPU time (user+sys, time.process_time) of each. Target: the
design mix with all facets on costs at most 2x the extraction CPU of facets off.

Corpus: the design mix (bench/corpus.py, the 18 files at full resolution; --smoke: 3 files at
a tenth of the size) plus the generated files that carry what the facets read (a PSD with type
layers and an artboard, an SVG and a PDF with text and fonts, a PNG with XMP), listed apart.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench import corpus
from bench.common import BenchOptions, corpus_dir, median, parse_options, print_table, write_results
from orchestration.corpus import pdf_with_text, psd_with_text, raster_with_xmp, svg_with_text
from snowpark_procs.metadata import extract_metadata

SMOKE_FILES = frozenset({"photo_0.jpg", "design_rgba_0.png", "poster.svg"})
TARGET_RATIO = 2.0
RICH: tuple[tuple[str, Callable[[], bytes]], ...] = (
    ("rich_text_layers.psd", lambda: psd_with_text(2400, 1600)),
    ("rich_text.svg", svg_with_text),
    ("rich_text_12_pages.pdf", lambda: pdf_with_text(12)),
    ("rich_xmp.png", lambda: raster_with_xmp("png", 2400, 1600)),
)


def cpu_of(data: bytes, facets: frozenset[str] | None) -> float:
    started = time.process_time()
    result = extract_metadata(io.BytesIO(data), "bench", facets=facets)
    spent = time.process_time() - started
    if getattr(result, "reason_code", None):
        raise RuntimeError(f"extraction failed: {result}")
    return spent


def measure(name: str, data: bytes, repeat: int) -> dict[str, Any]:
    off: list[float] = []
    on: list[float] = []
    cpu_of(data, frozenset())  # warm-up: imports, caches
    cpu_of(data, None)
    for _ in range(repeat):
        off.append(cpu_of(data, frozenset()))
        on.append(cpu_of(data, None))
    result = extract_metadata(io.BytesIO(data), name)
    statuses = {f.facet: f.status for f in getattr(result, "facets", ())}
    return {
        "file": name,
        "mb": len(data) / 1e6,
        "off_ms": 1000 * median(off),
        "on_ms": 1000 * median(on),
        "facets": statuses,
    }


def table(title: str, rows: Sequence[dict[str, Any]]) -> None:
    print_table(
        title,
        ["file", "MB", "facets off ms", "facets on ms", "on / off", "facets"],
        [
            [r["file"], r["mb"], r["off_ms"], r["on_ms"], r["on_ms"] / max(r["off_ms"], 1e-9),
             " ".join(f"{k}:{v}" for k, v in r["facets"].items())]
            for r in rows
        ],
    )  # fmt: skip


def totals(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    off = sum(r["off_ms"] for r in rows)
    on = sum(r["on_ms"] for r in rows)
    return {
        "files": len(rows),
        "off_ms_per_file": off / len(rows),
        "on_ms_per_file": on / len(rows),
        "ratio": on / off if off else float("nan"),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options: BenchOptions = parse_options(__doc__ or "", argv)
    scale = 0.1 if options.smoke else 1.0
    repeat = 1 if options.smoke else 9 if options.full else 5
    mix = [f for f in corpus.mix_files(scale) if not options.smoke or f.name in SMOKE_FILES]
    files = corpus.materialize(mix, corpus_dir(options) / f"mix-{scale}", f"mix-{scale}")
    print(f"measuring {len(files)} design-mix files, {repeat} timed run(s) each way")
    mix_rows = [measure(item.name, path.read_bytes(), repeat) for item, path in files]
    table("Design mix: extraction CPU per file (median), facets off vs all on", mix_rows)
    rich_rows = [
        measure(name, build(), repeat) for name, build in RICH[: 1 if options.smoke else None]
    ]
    table("Files with layers, text, fonts and XMP (not part of the mix)", rich_rows)

    figures: dict[str, Any] = {
        "mix": totals(mix_rows),
        "rich": totals(rich_rows),
        "cells": mix_rows + rich_rows,
    }
    mix_totals = figures["mix"]
    figures["ratio"] = mix_totals["ratio"]
    verdict = "meets" if mix_totals["ratio"] <= TARGET_RATIO else "MISSES"
    print(
        f"\ndesign mix ({mix_totals['files']:.0f} files): extraction CPU "
        f"{mix_totals['off_ms_per_file']:.1f} ms/file with facets off, "
        f"{mix_totals['on_ms_per_file']:.1f} ms/file with all facets on: "
        f"{mix_totals['ratio']:.2f}x, {verdict} the {TARGET_RATIO:.0f}x target"
    )
    write_results(options, "facets", figures)
    return figures


if __name__ == "__main__":
    main()
