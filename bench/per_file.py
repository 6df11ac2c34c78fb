"""Benchmark 1: metadata + both thumbnails per file, against naive Pillow and pyvips.

    python -m bench.per_file [--full]

Every (approach, file) runs in a fresh process (bench.per_file_cells), so peak RSS is per file.
CPU time (user+sys) is the per-core figure: the host is shared, wall time is noisy.
Reduced scale: 12 of the 18 design-mix files at full resolution, 1 timed run after a warm-up;
--full: all 18, 3 timed runs, plus the 50 MP WebP/TIFF and the 200 MB TIFF.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import corpus
from bench.common import (
    BenchOptions,
    corpus_dir,
    parse_options,
    print_table,
    run_cell,
    write_results,
)

CELLS = "bench.per_file_cells"
APPROACHES = ("ours", "naive", "pyvips")
REDUCED_FILES = frozenset(
    {
        "photo_0.jpg",
        "photo_2_progressive.jpg",
        "photo_4_orientation6.jpg",
        "print_cmyk.jpg",
        "design_rgba_0.png",
        "ui_palette.png",
        "photo.webp",
        "scan_rgb8_lzw.tif",
        "scan_gray16.tif",
        "layered.psd",
        "brochure.pdf",
        "poster.svg",
    }
)
SMOKE_FILES = frozenset({"photo_0.jpg", "design_rgba_0.png", "poster.svg"})
# (quality, method) pairs for the encoder table: the earlier choice, Pillow's default, and
# the neighbours of the current one.
ENCODER_SETTINGS = "80:2,80:4,80:0,85:0,90:0,92:0,95:0,92:2"
ENCODER_FILES = ("photo_0.jpg", "design_rgba_0.png", "ui_palette.png")
PSNR_TARGET_DB = 40.0


def select_corpus(options: BenchOptions) -> tuple[list[tuple[Any, Path]], list[tuple[Any, Path]]]:
    scale = 0.1 if options.smoke else 1.0
    wanted = SMOKE_FILES if options.smoke else None if options.full else REDUCED_FILES
    mix = [f for f in corpus.mix_files(scale) if wanted is None or f.name in wanted]
    limits = corpus.limit_files(options.full)
    if options.smoke:
        limits = [f for f in limits if f.name.startswith("bomb")]
    root = corpus_dir(options)
    print(f"corpus: {len(mix)} design-mix files at scale {scale}, {len(limits)} limit files")
    return (
        corpus.materialize(mix, root / f"mix-{scale}", f"mix-{scale}"),
        corpus.materialize(limits, root / "limits", "limits"),
    )


def measure(
    files: Sequence[tuple[Any, Path]], approaches: Sequence[str], repeat: int
) -> list[dict[str, Any]]:
    cells = []
    for item, path in files:
        for approach in approaches:
            cell = run_cell(CELLS, ["timed", approach, str(path), str(repeat)])
            cell.setdefault("approach", approach)
            cell.setdefault("file", item.name)
            cell["kind"] = item.kind
            cells.append(cell)
        print(f"  measured {item.name}", flush=True)
    return cells


def summarize(cells: list[dict[str, Any]], approach: str) -> dict[str, Any]:
    done = [c for c in cells if c["approach"] == approach and "meta_cpu_s" in c]
    if not done:
        reasons = {c.get("skipped") or c.get("error") for c in cells if c["approach"] == approach}
        return {"approach": approach, "skipped": "; ".join(sorted(str(r) for r in reasons))}
    meta = sum(c["meta_cpu_s"] for c in done)
    render = sum(c["render_cpu_s"] for c in done)
    megabytes = sum(c["mb"] for c in done)
    total = meta + render
    return {
        "approach": approach,
        "files": len(done),
        "failed": [c["file"] for c in cells if c["approach"] == approach and "error" in c],
        "meta_cpu_s": meta,
        "render_cpu_s": render,
        "cpu_s": total,
        "cpu_s_per_file": total / len(done),
        "render_cpu_s_per_file": render / len(done),
        "meta_cpu_s_per_file": meta / len(done),
        "files_per_s_per_core": len(done) / total,
        "mb_per_s_per_core": megabytes / total,
        "peak_rss_mib": max(c["peak_rss_mib"] for c in done),
    }


def common_files(cells: list[dict[str, Any]], approaches: Sequence[str]) -> set[str]:
    """Files every approach handled: ratios compare like with like."""
    handled = [
        {c["file"] for c in cells if c["approach"] == a and "meta_cpu_s" in c} for a in approaches
    ]
    return set.intersection(*handled) if handled else set()


def ratio(cells: list[dict[str, Any]], slow: str, fast: str, key: str, files: set[str]) -> float:
    def total(approach: str) -> float:
        return sum(
            c[key] if key != "cpu_s" else c["meta_cpu_s"] + c["render_cpu_s"]
            for c in cells
            if c["approach"] == approach and c["file"] in files
        )

    fast_total = total(fast)
    return total(slow) / fast_total if fast_total else float("nan")


def per_file_table(cells: list[dict[str, Any]], quality: dict[str, dict[str, Any]]) -> None:
    rows = []
    for name in dict.fromkeys(c["file"] for c in cells):
        by = {c["approach"]: c for c in cells if c["file"] == name}
        ours = by.get("ours", {})

        def ms(cell: dict[str, Any]) -> float:
            if "meta_cpu_s" not in cell:
                return float("nan")
            return 1000 * (cell["meta_cpu_s"] + cell["render_cpu_s"])

        q = quality.get(name, {})
        rows.append(
            [
                name,
                ours.get("mb", float("nan")),
                ms(ours),
                ms(by.get("naive", {})),
                ms(by.get("pyvips", {})),
                ours.get("peak_rss_mib", float("nan")),
                by.get("naive", {}).get("peak_rss_mib", float("nan")),
                by.get("pyvips", {}).get("peak_rss_mib", float("nan")),
                q.get("psnr_1024_db", float("nan")),
                q.get("psnr_256_db", float("nan")),
            ]
        )
    print_table(
        "Per file: CPU ms for metadata + 1024 + 256 px WebP (median), peak RSS MiB, PSNR dB",
        [
            "file", "MB", "ours ms", "naive ms", "pyvips ms",
            "ours MiB", "naive MiB", "pyvips MiB", "PSNR 1024", "PSNR 256",
        ],
        rows,
    )  # fmt: skip


def quality_table(files: Sequence[tuple[Any, Path]]) -> dict[str, dict[str, Any]]:
    quality = {}
    for item, path in files:
        result = run_cell(CELLS, ["quality", str(path)])
        if "skipped" not in result:
            quality[item.name] = result
    return quality


def encoder_table(mix: Sequence[tuple[Any, Path]], repeat: int) -> list[dict[str, Any]]:
    rows, printable = [], []
    for item, path in mix:
        if item.name not in ENCODER_FILES:
            continue
        result = run_cell(CELLS, ["encoder", str(path), ENCODER_SETTINGS, str(repeat)])
        for setting in result.get("settings", []):
            rows.append({"file": item.name, **setting})
            printable.append(
                [item.name, setting["quality"], setting["method"], setting["cpu_ms"],
                 setting["bytes"] / 1024, setting["psnr_db"]]
            )  # fmt: skip
    print_table(
        "WebP encoder on the exact 1024 px LANCZOS thumbnail (PSNR: luma, vs that thumbnail)",
        ["file", "quality", "method", "encode ms", "KiB", "PSNR dB"],
        printable,
    )
    return rows


def limits_table(limit_cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for cell in limit_cells:
        first = cell.get("first", {})
        rejected = first.get("render_reason_code") or first.get("reason_code")
        rows.append(
            {
                "file": cell["file"],
                "mb": cell.get("mb"),
                "peak_rss_mib": cell.get("peak_rss_mib"),
                # the first call in the fresh worker: what a row costs when it arrives
                "wall_ms": 1000 * cell["first_wall_s"] if "first_wall_s" in cell else None,
                "cpu_ms": 1000 * (cell["meta_cpu_s"] + cell["render_cpu_s"])
                if "meta_cpu_s" in cell
                else None,
                "outcome": rejected or ("ok" if "meta_cpu_s" in cell else cell.get("error")),
            }
        )
    print_table(
        "Limits (ours, fresh process each): peak RSS per worker, first call's time to finish "
        "or refuse",
        ["file", "MB", "peak MiB", "first call wall ms", "timed CPU ms", "outcome"],
        [
            [r["file"], r["mb"], r["peak_rss_mib"], r["wall_ms"], r["cpu_ms"], r["outcome"]]
            for r in rows
        ],
    )
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options = parse_options(__doc__ or "", argv)
    repeat = 3 if options.full else 1
    mix, limit_files = select_corpus(options)
    print(f"measuring {len(mix)} files x {len(APPROACHES)} approaches, {repeat} timed run(s) each")
    cells = measure(mix, APPROACHES, repeat)
    quality = quality_table(mix)
    per_file_table(cells, quality)

    summaries = {a: summarize(cells, a) for a in APPROACHES}
    summary_rows = []
    for approach, s in summaries.items():
        if "skipped" in s:
            summary_rows.append([approach, f"skipped: {s['skipped']}"] + [None] * 6)
            continue
        summary_rows.append(
            [approach, s["files"], s["files_per_s_per_core"], s["mb_per_s_per_core"],
             1000 * s["meta_cpu_s_per_file"], 1000 * s["render_cpu_s_per_file"],
             s["peak_rss_mib"], ", ".join(s["failed"]) or "-"]
        )  # fmt: skip
    print_table(
        "Summary (1 core; CPU = user+sys of the worker process)",
        ["approach", "files", "files/s/core", "MB/s/core", "meta ms/file", "render ms/file",
         "peak MiB", "failed"],
        summary_rows,
    )  # fmt: skip

    figures: dict[str, Any] = {"summary": summaries, "cells": cells, "quality": quality}
    both = common_files(cells, ("ours", "naive"))
    speedup = ratio(cells, "naive", "ours", "cpu_s", both)
    figures["speedup_vs_naive"] = speedup
    print(
        f"\nours: {speedup:.1f}x faster than naive (metadata + both thumbnails, {len(both)} files)"
    )
    if "skipped" in summaries["pyvips"]:
        print(f"pyvips comparison skipped: {summaries['pyvips']['skipped']}")
    else:
        shared = common_files(cells, ("ours", "pyvips"))
        versus = ratio(cells, "pyvips", "ours", "render_cpu_s", shared)
        total = ratio(cells, "pyvips", "ours", "cpu_s", shared)
        figures["render_speedup_vs_pyvips"] = versus
        print(
            f"ours vs pyvips on the same {len(shared)} files and encoder settings: "
            f"render {versus:.2f}x, metadata + render {total:.2f}x (> 1 means ours is faster)"
        )
    psnr = [q[k] for q in quality.values() for k in ("psnr_1024_db", "psnr_256_db") if k in q]
    if psnr:
        figures["psnr_min_db"] = min(psnr)
        verdict = "meets" if min(psnr) >= PSNR_TARGET_DB else "MISSES"
        print(
            f"WebP fidelity (luma PSNR vs full-resolution LANCZOS): min {min(psnr):.1f} dB over "
            f"{len(quality)} raster files, {verdict} the {PSNR_TARGET_DB:.0f} dB target"
        )
    if not options.smoke:
        figures["encoder"] = encoder_table(mix, 3)
    limit_cells = measure(limit_files, ("ours",), 1 if not options.smoke else 0)
    figures["limits"] = limits_table(limit_cells)
    write_results(options, "per_file", figures)
    return figures


if __name__ == "__main__":
    main()
