"""Versioned facets on the embedded stack: the extract step writes a raw.file_facets row per
covered facet of every readable version; `pixelforge reprocess --facet NAME` recomputes a facet
only where its stored version is older than its extractor's (or missing), exactly once per
current version, and nothing else; its dry run writes nothing; the nightly reconciliation counts
stale facets before and after.

Which facets extraction computed is read from what extract_metadata returned (a spy around it);
until the facet extractors fill DesignMetadata.facets, the spy stands in for them with a result
per facet asked for and covered, at the registry's current version. The graph is the pipeline's
without its dbt steps, as in test_reprocess.py.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from orchestration import corpus
from orchestration.cli import app
from orchestration.local.runner import RunReport
from orchestration.local.stack import LocalStack
from pixelforge_core import facets as facet_registry
from pixelforge_core.facets import FacetResult, facets_of
from pixelforge_core.records import DesignMetadata
from snowpark_procs import metadata
from snowpark_procs.run_config import RunConfig, reprocess_config
from snowpark_procs.steps.common import StepSummary
from tests.integration.conftest import FILES_ONLY, query, runner_for, upload

pytestmark = pytest.mark.integration

EXTRACTION_FACETS = tuple(f.name for f in facets_of("extract_metadata"))

FILES = {
    "team-a/logo.png": corpus.png_with_alpha(64, 48, seed=1),
    "team-a/icon.svg": corpus.svg_simple(seed=2, width=240, height=160),
    "team-b/guide.pdf": corpus.pdf_multipage(pages=2, seed=3, width=120, height=160),
    "team-b/mockup.psd": corpus.psd_layered(64, 48, seed=4),
    "broken/noise.png": corpus.random_bytes_named_png(seed=5),
}
# the readable files and their formats (the noise is no format: quarantined, no facets)
READABLE = {
    "team-a/logo.png": "png",
    "team-a/icon.svg": "svg",
    "team-b/guide.pdf": "pdf",
    "team-b/mockup.psd": "psd",
}
WRITES = {
    "requests": "select count(*) as n from ops.run_requests",
    "runs": "select count(*) as n from ops.pipeline_runs",
    "changes": "select count(*) as n from raw.file_changes",
    "facets": "select relative_path, facet, facet_version, run_id, extracted_at "
    "from raw.file_facets order by relative_path, facet",
}
METADATA = "select relative_path, etag, run_id, extracted_at from raw.file_metadata order by 1"


class FacetSpy:
    """Wraps extract_metadata: records each facet result it returned, by facet and file."""

    def __init__(self) -> None:
        self.computed: list[tuple[str, str]] = []
        self.real = metadata.extract_metadata

    def __call__(self, source: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        result = self.real(source, name, *args, **kwargs)
        if isinstance(result, DesignMetadata) and not result.facets:
            result = dataclasses.replace(result, facets=_stand_in(result, kwargs.get("facets")))
        if isinstance(result, DesignMetadata):
            self.computed += [(f.facet, name) for f in result.facets]
        return result

    def take(self) -> Counter[tuple[str, str]]:
        taken, self.computed = Counter(self.computed), []
        return taken


def _stand_in(result: DesignMetadata, wanted: frozenset[str] | None) -> tuple[FacetResult, ...]:
    """A result per extraction facet covering the format (and asked for), at the registry's
    version now; its payload names the version, so a bumped facet's row changes."""
    return tuple(
        FacetResult(f.name, f.version, "ok", {"sha256": result.sha256, "v": f.version})
        for f in facets_of("extract_metadata", result.format)
        if wanted is None or f.name in wanted
    )


def summary(report: RunReport, step: str) -> StepSummary:
    outcome = next(
        o for o in report.steps if o.step_run.step == step and o.step_run.state == "SUCCEEDED"
    )
    assert outcome.summary is not None, outcome.step_run.error_message
    return outcome.summary


def snapshot(stack: LocalStack, sql: str) -> list[dict[str, Any]]:
    return query(stack, sql)


def cli(stack: LocalStack, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--data-dir", str(stack.settings.data_dir)])


def bump(monkeypatch: pytest.MonkeyPatch, name: str) -> int:
    """The facet's extractor version raised by one in the registry; returns it."""
    bumped = tuple(
        replace(f, version=f.version + 1) if f.name == name else f for f in facet_registry.FACETS
    )
    monkeypatch.setattr(facet_registry, "FACETS", bumped)
    return facet_registry.facet(name).version


def covered(name: str) -> set[str]:
    """The readable files of FILES whose format `name` covers."""
    formats = facet_registry.facet(name).formats
    return {path for path, fmt in READABLE.items() if fmt in formats}


def stale_counts(stack: LocalStack) -> dict[str, int]:
    """What a nightly reconciliation run counts now, per facet."""
    report = runner_for(stack, pipeline=FILES_ONLY).run(
        kind="reconcile", config=RunConfig("reconcile")
    )
    assert report.succeeded, report.run.error_message
    rows = query(
        stack,
        "select check_name, files from ops.reconciliation_checks "
        "where run_id = ? and startswith(check_name, 'stale_facet_')",
        [report.run.run_id],
    )
    return {r["CHECK_NAME"].removeprefix("stale_facet_"): int(r["FILES"]) for r in rows}


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> FacetSpy:
    spy = FacetSpy()
    monkeypatch.setattr(metadata, "extract_metadata", spy)
    return spy


@pytest.fixture
def loaded(fresh_stack: LocalStack, monkeypatch: pytest.MonkeyPatch, spy: FacetSpy) -> LocalStack:
    """The stack with FILES processed once; the CLI attaches to it (its ports in the env)."""
    for name, port in (
        ("PIXELFORGE_WAREHOUSE_PORT", fresh_stack.settings.warehouse_port),
        ("PIXELFORGE_S3_PORT", fresh_stack.settings.s3_port),
        ("PIXELFORGE_RENDER_PORT", fresh_stack.settings.render_port),
    ):
        monkeypatch.setenv(name, str(port))
    upload(fresh_stack, FILES)
    first = runner_for(fresh_stack, pipeline=FILES_ONLY).run(kind="manual")
    assert first.succeeded, first.run.error_message
    return fresh_stack


def test_a_run_writes_each_covered_facet_of_every_readable_version_at_its_version(
    loaded: LocalStack, spy: FacetSpy
):
    rows = query(loaded, "select relative_path, facet, facet_version, status from raw.file_facets")
    expected = {
        (path, name, facet_registry.facet(name).version, "ok")
        for name in facet_registry.FACET_NAMES  # the visual facet's rows: the render step's
        for path in covered(name)
    }
    assert {tuple(r.values()) for r in rows} == expected
    # each extraction facet computed once, by the run that extracted the file
    assert spy.take() == Counter(
        {(name, path): 1 for path, name, _, _ in expected if name in EXTRACTION_FACETS}
    )
    # the metadata rows hold no facet
    columns = query(loaded, "select * from raw.file_metadata limit 1")[0]
    assert not {"FACETS", "FACET_ROWS"} & set(columns)
    # nothing is stale after the run
    assert stale_counts(loaded) == dict.fromkeys(facet_registry.FACET_NAMES, 0)


def test_a_missing_visual_facet_is_rendered_again_for_those_versions_alone(loaded: LocalStack):
    """A facet added (or rows lost): its versions without a row are stale; a visual
    re-processing runs the render step over them only, and its rows come back."""
    gone = sorted(covered("visual"))[:2]
    with loaded.session() as session:
        for path in gone:
            session.sql(
                "delete from raw.file_facets where facet = 'visual' and relative_path = ?",
                params=[path],
            ).collect()
    assert stale_counts(loaded)["visual"] == len(gone)
    kept = "select * from raw.file_facets where not (facet = 'visual' and relative_path in (?, ?))"
    before, meta = query(loaded, kept, gone), snapshot(loaded, METADATA)
    report = runner_for(loaded, pipeline=FILES_ONLY).run(
        kind="reprocess", config=reprocess_config(facet="visual")
    )
    assert report.succeeded, report.run.error_message
    assert summary(report, "extract_metadata").files_in == 0  # not the facet's step
    assert summary(report, "render_thumbnails").files_in == len(gone)
    rows = query(loaded, "select relative_path, run_id from raw.file_facets where facet = 'visual'")
    assert {r["RELATIVE_PATH"] for r in rows if r["RUN_ID"] == report.run.run_id} == set(gone)
    assert query(loaded, kept, gone) == before and snapshot(loaded, METADATA) == meta
    assert stale_counts(loaded)["visual"] == 0


def test_reprocess_facet_without_a_bump_recomputes_nothing(loaded: LocalStack, spy: FacetSpy):
    spy.take()
    before = {name: snapshot(loaded, sql) for name, sql in WRITES.items()}
    refused = cli(loaded, "reprocess", "--facet", "structure")
    assert refused.exit_code == 2, refused.output
    text = " ".join(refused.output.split())
    assert "nothing to re-process" in text and "stale structure facet" in text
    assert {name: snapshot(loaded, sql) for name, sql in WRITES.items()} == before

    # served anyway (a request queued before another one brought the facet up to date)
    facets, meta = snapshot(loaded, WRITES["facets"]), snapshot(loaded, METADATA)
    report = runner_for(loaded, pipeline=FILES_ONLY).run(
        kind="reprocess", config=reprocess_config(facet="structure")
    )
    assert report.succeeded, report.run.error_message
    assert summary(report, "discover").details["changes"] == {}
    assert summary(report, "extract_metadata").files_in == 0
    assert spy.take() == Counter()
    assert snapshot(loaded, WRITES["facets"]) == facets
    assert snapshot(loaded, METADATA) == meta


def test_a_bumped_facet_is_recomputed_once_per_current_version_and_nothing_else(
    loaded: LocalStack, spy: FacetSpy, monkeypatch: pytest.MonkeyPatch
):
    spy.take()
    version = bump(monkeypatch, "structure")
    structured = covered("structure")
    assert stale_counts(loaded)["structure"] == len(structured)

    before = {name: snapshot(loaded, sql) for name, sql in WRITES.items()}
    dry = cli(loaded, "reprocess", "--facet", "structure", "--dry-run")
    assert dry.exit_code == 0, dry.output
    text = " ".join(dry.output.split())
    size = sum(len(FILES[path]) for path in structured)
    assert f"files {len(structured)} bytes to read" in text and f"({size:,} bytes)" in text
    assert f"facet structure v{version}" in text
    assert "dry run: nothing was queued or run" in text
    assert {name: snapshot(loaded, sql) for name, sql in WRITES.items()} == before
    assert spy.take() == Counter()

    others = "select * from raw.file_facets where facet <> 'structure' order by 1, 3"
    untouched, meta = snapshot(loaded, others), snapshot(loaded, METADATA)
    runner = runner_for(loaded, pipeline=FILES_ONLY)
    report = runner.run(kind="reprocess", config=reprocess_config(facet="structure"))
    assert report.succeeded, report.run.error_message
    assert summary(report, "discover").details["changes"] == {"reprocess": len(structured)}
    assert summary(report, "extract_metadata").files_in == len(structured)
    assert summary(report, "render_thumbnails").files_in == 0  # not the facet's step
    # the bumped facet alone, once per covered current version
    assert spy.take() == Counter({("structure", path): 1 for path in structured})
    rows = query(
        loaded,
        "select relative_path, facet_version, run_id from raw.file_facets "
        "where facet = 'structure'",
    )
    assert {r["RELATIVE_PATH"]: r["FACET_VERSION"] for r in rows} == dict.fromkeys(
        structured, version
    )
    assert {r["RUN_ID"] for r in rows} == {report.run.run_id}
    assert snapshot(loaded, others) == untouched  # other facets: same rows, run ids, times
    assert snapshot(loaded, METADATA) == meta  # the header facts did not change either

    # a second re-processing finds nothing stale
    assert stale_counts(loaded)["structure"] == 0
    again = cli(loaded, "reprocess", "--facet", "structure")
    assert again.exit_code == 2 and "nothing to re-process" in again.output, again.output
    report = runner.run(kind="reprocess", config=reprocess_config(facet="structure"))
    assert report.succeeded, report.run.error_message
    assert summary(report, "extract_metadata").files_in == 0
    assert spy.take() == Counter()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--facet", "colour"], "unknown facet 'colour': one of document, structure, text"),
        (["--facet", "structure", "--format", "png"], "does not cover format 'png'"),
        (["--facet", "text", "--steps", "render_thumbnails"], "give --facet or --steps"),
    ],
)
def test_bad_facet_arguments_are_refused_before_the_stack_is_reached(tmp_path, args, message):
    refused = CliRunner().invoke(app, ["reprocess", *args, "--data-dir", str(tmp_path)])
    assert refused.exit_code == 2, refused.output
    assert message in " ".join(refused.output.split())
    assert "Traceback" not in refused.output
    assert list(tmp_path.iterdir()) == []  # no stack started: nothing queued, nothing run


class ReadClock:
    """Simulated seconds that pass only when a file is read (READ_S each), so a bounded
    step's budget holds one file whatever the machine (the runner's clock seam)."""

    READ_S = 60.0  # over the 50 s budget of BOUNDED's steps, within their 100 s timeout

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def source(self, inner: Any) -> Any:
        clock = self

        class Timed:
            def open(self, relative_path: str, etag: str) -> Any:
                with clock.lock:
                    clock.now += clock.READ_S
                return inner.open(relative_path, etag)

        return Timed()


def test_a_bounded_facet_reprocessing_resumes_with_that_facet_alone(
    loaded: LocalStack, spy: FacetSpy, monkeypatch: pytest.MonkeyPatch
):
    """One file a run (batches of one, a budget one read overruns): the request is DONE after
    its first run and the later scheduled runs drain its versions as backlog, each still
    computing the re-processed facet alone."""
    spy.take()
    version = bump(monkeypatch, "text")
    clock = ReadClock()
    bounded = replace(FILES_ONLY, step_timeout_ms=100_000, step_budget_fraction=0.5)
    runner = runner_for(
        loaded,
        pipeline=bounded,
        clock=clock,
        mirror_object_store=False,
        wrap_byte_source=clock.source,
        extract_batch_rows=1,  # the graph CONFIG's extraction batch: one version
    )
    texts = covered("text")
    reports = [runner.run(kind="reprocess", config=reprocess_config(facet="text"))]
    while len(reports) <= len(texts) and summary(reports[-1], "extract_metadata").details.get(
        "backlog"
    ):
        reports.append(runner.run(kind="scheduled"))
    assert all(r.succeeded for r in reports), [r.run.error_message for r in reports]
    assert [summary(r, "extract_metadata").files_in for r in reports] == [1] * len(texts)
    assert summary(reports[0], "extract_metadata").details["stopped_by_budget"] is True
    assert spy.take() == Counter({("text", path): 1 for path in texts})
    rows = query(
        loaded, "select relative_path, facet_version from raw.file_facets where facet = 'text'"
    )
    assert {r["RELATIVE_PATH"]: r["FACET_VERSION"] for r in rows} == dict.fromkeys(texts, version)
    assert stale_counts(loaded)["text"] == 0
