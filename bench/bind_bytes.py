"""Measured: the JSON bytes a file costs in the write batches of the two file-reading steps.

    python -m bench.bind_bytes [--smoke]    (bench.initial_load prints the same report)

The capacity model counts a step's statements a file as its statements a batch over the batch's
rows plus the bytes it binds a file over a bind's (orchestration/capacity.py fixed_s_per_file,
pixelforge_core/write_batch.py MAX_BIND_BYTES); bench/prices.toml [assumptions]
`extract_bind_bytes_per_file` and `render_bind_bytes_per_file` own the figures the model reads.
This measures them, so they are not a one-off's: the production step handlers
(snowpark_procs/steps/extract.py extract_metadata_with with the production SetBasedExtractor,
render.py render_thumbnails_with with the production ExternalFunctionRenderer) run over
bench.metadata_bytes's corpus against `BindMeter`, a session that adds up the UTF-8 bytes of
every value each statement binds (the request rows, the charges, the metadata, facet and
thumbnail rows, the clear and mark rows; the pending-page query's run id too) and answers the
statements whose answers the steps read: the pending pages (every file new, no retry), the
set-based extraction (the UDF's handler, udf_extract.file_outcome, on the file's bytes) and the
render call (ecs_render/rows.py ensure_thumbnails itself, over an in-process S3 holding the
files and no thumbnail yet). Every path is padded to
KEY_BYTES: an S3 key's length is the one input the corpus does not set, so the report also
gives the bytes a file's binds grow by per byte of key (the rows that carry it).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from bench.common import parse_options, print_table, write_results
from bench.corpus import mix_files
from ecs_render.rows import ensure_thumbnails
from ecs_render.settings import RenderSettings
from ecs_render.thumbnails import render_thumbnails
from ecs_render.visual import visual_of_thumbnail
from orchestration import corpus
from orchestration.capacity import BENCH_PRICES, read_bench_prices
from pixelforge_core.render_wire import (
    RenderRequest,
    result_to_json,
)
from pixelforge_core.write_batch import utf8_len
from snowpark_procs.run_config import RunConfig
from snowpark_procs.sql import read_sql
from snowpark_procs.steps.extract import extract_metadata_with
from snowpark_procs.steps.extractors import SetBasedExtractor
from snowpark_procs.steps.render import ExternalFunctionRenderer, render_thumbnails_with
from snowpark_procs.udf_extract import facets_of_argument, file_outcome

KEY_BYTES = 64  # an S3 key's UTF-8 bytes (the figure in prices.toml assumes 64)
RUN_ID = "bench-bind-bytes"
STEPS = ("extract", "render")


class _Row(dict[str, Any]):
    """A result row as Snowpark's Row reads in the steps (`row["COLUMN"]`, `as_dict()`)."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self)


class _Statement:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def collect(self) -> list[_Row]:
        return [_Row(row) for row in self._rows]


class _MemorySource:
    """The files' bytes by path (udf_extract's ByteSource)."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self._files = files

    @contextlib.contextmanager
    def open(self, relative_path: str, etag: str) -> Iterator[io.BytesIO]:
        yield io.BytesIO(self._files[relative_path])


@contextlib.contextmanager
def render_service_rows(files: Mapping[str, bytes]) -> Iterator[Callable[[RenderRequest], Any]]:
    """The render service's answer to a row, ecs_render/rows.py ensure_thumbnails itself, over an
    in-process S3 (moto) holding `files` and no thumbnail yet: every size written at its
    content-addressed key, the visual facet of the 256 px one."""
    settings = RenderSettings(designs_bucket="designs", thumbnails_bucket="thumbnails")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (settings.designs_bucket, settings.thumbnails_bucket):
            client.create_bucket(Bucket=bucket)
        for path, data in files.items():
            client.put_object(Bucket=settings.designs_bucket, Key=path, Body=data)

        def row(request: RenderRequest) -> Any:
            return result_to_json(
                ensure_thumbnails(
                    client, settings, request, render_thumbnails, visual=visual_of_thumbnail
                )
            )

        yield row


@dataclass
class BindMeter:
    """A session (steps/common.py SqlSession) that counts the bytes each statement binds, under
    the step being run (`step`), and answers the statements the steps read (module docstring)."""

    files: Mapping[str, bytes]
    render_row: Callable[[RenderRequest], Any]
    step: str = ""
    bound: dict[str, int] = field(default_factory=dict)

    def sql(self, query: str, params: Sequence[Any] | None = None) -> _Statement:
        values = list(params or ())
        self.bound[self.step] = self.bound.get(self.step, 0) + sum(
            utf8_len(value if isinstance(value, str) else json.dumps(value)) for value in values
        )
        if query == read_sql("select_files_to_extract"):
            return _Statement(self._pending({}))
        if query == read_sql("select_files_to_render"):
            return _Statement(
                self._pending(
                    {"SHA256": hashlib.sha256(data).hexdigest(), "SIZE_BYTES": len(data)}
                    for data in self.files.values()
                )
            )
        if query == read_sql("extract_files_set_based"):
            run_id, limit_s, batch = values
            source = _MemorySource(self.files)
            return _Statement(
                [
                    {
                        "FILE_INDEX": index,
                        "OUTCOME": json.dumps(
                            file_outcome(
                                source,
                                row["relative_path"],
                                row["etag"],
                                run_id,
                                float(limit_s),
                                facets_of_argument(row.get("facets")),
                            )
                        ),
                    }
                    for index, row in enumerate(json.loads(batch))
                ]
            )
        if query == read_sql("call_render_function"):
            requests = [RenderRequest(**row) for row in json.loads(values[0])]
            return _Statement(
                [
                    {
                        "REQUEST_INDEX": index,
                        "RENDER_RESULT": json.dumps(self.render_row(request)),
                    }
                    for index, request in enumerate(requests)
                ]
            )
        return _Statement([])  # the writes: MERGEs, clears, marks

    def _pending(self, extra: Any) -> list[dict[str, Any]]:
        """Every file as a pending version (one page), with `extra` columns per file."""
        extras = list(extra) or [{}] * len(self.files)
        return [
            {"RELATIVE_PATH": path, "ETAG": etag_of(data), "PENDING_FILES": len(self.files), **more}
            for (path, data), more in zip(self.files.items(), extras, strict=True)
        ]


def etag_of(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()  # a single-part upload's ETag


def padded(path: str, key_bytes: int = KEY_BYTES) -> str:
    """`path` under a directory that makes its key `key_bytes` long (never shorter than it)."""
    pad = key_bytes - utf8_len(path) - 1
    return path if pad < 1 else f"{'k' * pad}/{path}"


def bind_bytes_per_file(files: Mapping[str, bytes], key_bytes: int = KEY_BYTES) -> dict[str, float]:
    """Bytes each step binds a file, over `files` (path -> bytes; paths padded to `key_bytes`),
    in one batch each: {"extract": ..., "render": ..., "files": n}."""
    keyed = {padded(path, key_bytes): data for path, data in files.items()}
    with render_service_rows(keyed) as render_row:
        meter = BindMeter(keyed, render_row)
        config = RunConfig(extract_batch_rows=len(keyed))
        meter.step = "extract"
        extract_metadata_with(meter, RUN_ID, SetBasedExtractor(meter), config)
        meter.step = "render"
        render_thumbnails_with(
            meter, RUN_ID, ExternalFunctionRenderer(meter), config, batch_rows=len(keyed)
        )
    return {**{step: meter.bound.get(step, 0) / len(keyed) for step in STEPS}, "files": len(keyed)}


# The corpus the figure is measured on: bench.metadata_bytes's reduced one (its design mix at a
# quarter of its sides and 4 files rich in facets; the sides move the figure by 0.1%: the rows
# hold sizes, not pixels). The smoke run measures four files of its smoke corpus: a photo, a
# design PNG and two rich in facets (a layered PSD, an SVG with text).
CORPUS_SCALE, SMOKE_SCALE = 0.25, 0.1
SMOKE_MIX_FILES = ("photo_0.jpg", "design_rgba_0.png", "layered.psd")


def bench_corpus(smoke: bool) -> dict[str, bytes]:
    """Path -> bytes of the corpus the figure is measured on (above)."""
    if not smoke:
        from bench.metadata_bytes import corpus_files  # imports the warehouse profiler, dbt's

        return corpus_files(CORPUS_SCALE)
    files = {
        f"mix/{item.name}": item.build()
        for item in mix_files(SMOKE_SCALE)
        if item.name in SMOKE_MIX_FILES
    }
    return {**files, "rich/brand logo.svg": corpus.svg_with_text()}


def report(smoke: bool, bench_prices: Path = BENCH_PRICES) -> dict[str, Any]:
    """Measure over the bench corpus; print it beside the figures the model reads (`bench_prices`
    [assumptions]) and the bytes per key byte; the figures."""
    files = bench_corpus(smoke)
    measured = bind_bytes_per_file(files)
    longer = bind_bytes_per_file(files, KEY_BYTES + 100)
    assume = read_bench_prices(bench_prices)["assumptions"]
    figures: dict[str, Any] = {
        step: {
            "measured": measured[step],
            "model": float(assume[f"{step}_bind_bytes_per_file"]),
            "per_key_byte": (longer[step] - measured[step]) / 100,
        }
        for step in STEPS
    }
    print_table(
        f"JSON bytes a file binds in a step's write batches, measured over {len(files)} files "
        f"at a {KEY_BYTES}-byte key, beside the model's (bench/prices.toml)",
        ["step", "measured", "model", "model / measured", "per key byte"],
        [
            [
                step,
                f"{f['measured']:,.0f}",
                f"{f['model']:,.0f}",
                f"{f['model'] / f['measured']:.2f}",
                f"{f['per_key_byte']:.1f}",
            ]
            for step, f in figures.items()
        ],
    )
    return {"files": len(files), "key_bytes": KEY_BYTES, **figures}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options = parse_options(__doc__ or "", argv)
    figures = report(options.smoke)
    write_results(options, "bind_bytes", figures)
    return figures


if __name__ == "__main__":
    main()
