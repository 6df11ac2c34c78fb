"""One (approach, file) measurement, run in a fresh process: `python -m bench.per_file_cells`.

A fresh process per cell makes peak RSS (ru_maxrss) belong to that approach and file alone.
The cell imports only what its approach needs, reads the object into memory as an S3 GET
would (or, above the render service's 32 MiB spool limit, reads it from disk as the spooled
object is), runs once to warm up (that run gives the peak RSS), then `repeat` timed runs.
Approaches: bench/approaches.py (ours, naive, pyvips); quality: bench/quality.py.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.approaches import prepare_naive, prepare_ours, prepare_pyvips
from bench.common import MIB, peak_rss_mib
from bench.quality import measure_encoder, measure_quality

SPOOL_MEMORY_BYTES = 32 * MIB  # ecs_render.storage spools larger objects to disk


# --- the cell -------------------------------------------------------------------------------

PREPARE = {"ours": prepare_ours, "naive": prepare_naive, "pyvips": prepare_pyvips}


def run_timed(approach: str, path: Path, repeat: int) -> dict[str, Any]:
    result: dict[str, Any] = {"approach": approach, "file": path.name}
    if approach == "pyvips":
        os.environ.setdefault("VIPS_CONCURRENCY", "1")  # per-core comparison
    run = PREPARE[approach]()
    size = path.stat().st_size
    result["mb"] = size / 1e6
    result["base_rss_mib"] = round(peak_rss_mib(), 1)
    data = path.read_bytes() if size <= SPOOL_MEMORY_BYTES else b""
    walls = []
    samples = []
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        try:
            sample = run(data, path)
        except Exception as error:  # a baseline that cannot do a file is a result, not a crash
            return {**result, "error": f"{type(error).__name__}: {error}"[:300]}
        walls.append(time.perf_counter() - started)
        if attempt == 0:
            result["peak_rss_mib"] = round(peak_rss_mib(), 1)
            result["first"] = sample
            result["first_wall_s"] = walls[0]
        else:
            samples.append(sample)
    if samples:
        walls = walls[1:]  # the warm-up run only gave the peak RSS
    else:
        samples = [result["first"]]  # repeat 0: the first run is the only one
    result["meta_cpu_s"] = sorted(s["meta_cpu_s"] for s in samples)[len(samples) // 2]
    result["render_cpu_s"] = sorted(s["render_cpu_s"] for s in samples)[len(samples) // 2]
    result["wall_s"] = sorted(walls)[len(walls) // 2]
    return result


def main(argv: list[str]) -> None:
    command, *rest = argv
    if command == "timed":
        approach, path, repeat = rest
        print(json.dumps(run_timed(approach, Path(path), int(repeat))))
    elif command == "quality":
        print(json.dumps(measure_quality(Path(rest[0]))))
    elif command == "encoder":
        path, settings, repeat = rest
        pairs = [tuple(int(x) for x in item.split(":")) for item in settings.split(",")]
        print(json.dumps(measure_encoder(Path(path), pairs, int(repeat))))  # type: ignore[arg-type]
    else:
        raise SystemExit(f"unknown cell command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
