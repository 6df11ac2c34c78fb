"""The capacity model's arithmetic, checked against figures computed here by hand from the
inputs (round numbers, so each expected value can be read off)."""

from __future__ import annotations

import dataclasses

import pytest

from pixelforge_core.capacity import CapacityModel, JobSize, estimate

EXTRACT, RENDER = "extract_metadata", "render_thumbnails"


def model(**changes: object) -> CapacityModel:
    base = CapacityModel(
        extract_step=EXTRACT,
        render_step=RENDER,
        extract_cpu_s_per_file=0.01,
        extract_cpu_s_per_mb=0.002,
        render_cpu_s_per_file=0.2,
        measured_on="by hand",
        render_cpu_derate=1.5,
        warehouse_size="XSMALL",
        clusters=1,
        xs_warehouse_vcpu=8,
        parallel_efficiency=0.5,
        stage_read_mb_per_s=50.0,
        extract_fixed_s_per_file=0.0,
        render_fixed_s_per_file=0.0,
        step_budget_s=300.0,
        run_interval_s=0.0,
        run_overhead_s=60.0,
        task_vcpu=4.0,
        task_memory_gb=8.0,
        min_tasks=1,
        max_tasks=4,
        workers_per_task=4,
        max_batch_rows=45,
        render_statement_rows=45 * 8 * 4,  # enough batches for every worker: not the limit
        extract_batch_rows=500,
        credit_usd=3.0,
        credits_per_hour={"XSMALL": 1.0, "SMALL": 2.0, "LARGE": 8.0},
        credit_multiplier=0.9,
        fargate_vcpu_hour_usd=0.04,
        fargate_gb_hour_usd=0.005,
        s3_get_per_1000_usd=0.0004,
        api_gateway_usd_per_million=3.5,
        rows_per_request=50,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


BOTH = frozenset({EXTRACT, RENDER})
# 3,600,000 files of 5 MB: 18 TB.
JOB = JobSize(files=3_600_000, bytes=3_600_000 * 5_000_000, steps=BOTH)


def test_a_read_bound_extraction_and_the_renderer_at_its_maximum() -> None:
    found = estimate(JOB, model())
    # extraction CPU per file: 0.01 + 0.002 x 5 MB = 0.02 s -> 3.6M x 0.02 / 3600 = 20 h
    assert found.extract_cpu_hours == pytest.approx(20.0)
    # slots: 8 vCPU x 0.5 = 4; by CPU 4 / 0.02 = 200 files/s, by reads 4 x 50 / 5 = 40 files/s
    # -> read-bound: 3.6M / 40 = 90,000 s = 25 h
    assert found.extract_wall_hours == pytest.approx(25.0)
    # render: 3.6M x 0.2 / 3600 = 200 CPU-h; 16 vCPU / (0.2 x 1.5) = 53.33 files/s -> 18.75 h
    assert found.render_cpu_hours == pytest.approx(200.0)
    assert found.render_wall_hours == pytest.approx(18.75)
    # runs: the longer step, 90,000 s, in 300 s budgets = 300 runs; back to back (interval 0)
    # each lasts (90,000 + 67,500) / 300 + 60 = 585 s -> 300 x 585 s = 48.75 h
    assert found.runs == 300
    assert found.wall_hours == pytest.approx(48.75)
    # both steps read every byte
    assert found.bytes_read == 2 * JOB.bytes
    # warehouse: (25 + 18.75) busy hours x 1 credit x 0.9 x $3 = $118.125
    assert found.warehouse_usd == pytest.approx(118.125)
    # renderer: 48.75 h x 4 tasks x (4 x 0.04 + 8 x 0.005 = $0.20) = $39
    assert found.renderer_usd == pytest.approx(39.0)
    # 7.2M GETs x $0.0004 / 1000 = $2.88; 72,000 calls x $3.5 / 1M = $0.252
    assert found.requests_usd == pytest.approx(2.88 + 0.252)
    assert found.usd == pytest.approx(118.125 + 39.0 + 3.132)


def test_runs_wait_for_the_schedule() -> None:
    # a run every 15 minutes: each 585 s run then waits for the next tick;
    # 299 gaps of 900 s + the last run's 585 s = 269,685 s
    found = estimate(JOB, model(run_interval_s=900.0))
    assert found.runs == 300
    assert found.wall_hours == pytest.approx((299 * 900 + 585) / 3600)
    # a run longer than the interval starts the next one late, not early
    slow = estimate(JOB, model(run_interval_s=900.0, run_overhead_s=600.0))
    assert slow.wall_hours == pytest.approx(300 * (525 + 600) / 3600)
    # one small job: one run, no wait
    small = estimate(JobSize(400, 400 * 5_000_000, BOTH), model(run_interval_s=900.0))
    assert small.runs == 1
    assert small.wall_hours == pytest.approx((400 / 40 + 400 / (16 / 0.3) + 60) / 3600)


def test_a_cpu_bound_extraction() -> None:
    # 0.1 MB files: CPU 0.01 + 0.0002 = 0.0102 s -> 4 / 0.0102 = 392 files/s; reads 2,000/s
    small = JobSize(files=1_000_000, bytes=1_000_000 * 100_000, steps=frozenset({EXTRACT}))
    found = estimate(small, model())
    assert found.extract_wall_hours == pytest.approx(1_000_000 * 0.0102 / 4 / 3600)
    assert found.render_wall_hours == 0 and found.render_cpu_hours == 0
    assert found.bytes_read == small.bytes
    assert found.renderer_usd == 0
    # no render: no API Gateway call, one GET a file
    assert found.requests_usd == pytest.approx(1_000_000 / 1000 * 0.0004)


def test_one_render_statement_fans_out_over_its_batches_only() -> None:
    # 16 rows: one batch, 4 of its rows at once on one task's 4 workers: 4 vCPU of 16
    narrow = model(render_statement_rows=16)
    assert narrow.render_fanout_vcpu == 4 and narrow.render_vcpu_in_use == 4
    found = estimate(JOB, narrow)
    # 3.6M files x 0.2 x 1.5 / 4 vCPU = 270,000 s = 75 h, as if one task ran
    assert found.render_wall_hours == pytest.approx(75.0)
    # 90 rows: two batches of 45, each on 4 workers: 8 vCPU
    assert model(render_statement_rows=90).render_vcpu_in_use == 8
    # 2 rows: one batch keeps 2 workers busy
    assert model(render_statement_rows=2).render_vcpu_in_use == 2
    # more batches than the tasks hold: the tasks are the limit
    assert model(render_statement_rows=100_000).render_vcpu_in_use == 16


def test_only_the_steps_of_the_job_are_counted() -> None:
    render_only = estimate(dataclasses.replace(JOB, steps=frozenset({RENDER})), model())
    assert render_only.extract_wall_hours == 0 and render_only.extract_cpu_hours == 0
    # 67,500 s of rendering in 225 runs of 300 + 60 s
    assert render_only.runs == 225
    assert render_only.wall_hours == pytest.approx(225 * 360 / 3600)
    assert render_only.bytes_read == JOB.bytes
    nothing = estimate(dataclasses.replace(JOB, steps=frozenset({"load"})), model())
    assert (nothing.wall_hours, nothing.usd, nothing.bytes_read) == (0, 0, 0)
    empty = estimate(JobSize(0, 0, BOTH), model())
    assert (empty.wall_hours, empty.usd) == (0, 0)


def test_a_larger_warehouse_is_faster_until_it_is_not_the_bound() -> None:
    hours = [
        estimate(JOB, model().with_capacity(warehouse_size=size)).extract_wall_hours
        for size in ("XSMALL", "SMALL", "LARGE")
    ]
    assert hours == pytest.approx([25.0, 12.5, 3.125])  # x1, x2, x8 the XS's slots
    walls = [
        estimate(JOB, model().with_capacity(warehouse_size=size)).wall_hours
        for size in ("XSMALL", "SMALL", "LARGE")
    ]
    assert walls == sorted(walls, reverse=True)
    # clusters multiply like sizes
    assert estimate(JOB, model(clusters=2)).extract_wall_hours == pytest.approx(12.5)


def test_more_tasks_render_faster() -> None:
    render = dataclasses.replace(JOB, steps=frozenset({RENDER}))
    estimates = [estimate(render, model(max_tasks=tasks)) for tasks in (1, 4, 16)]
    assert [e.render_wall_hours for e in estimates] == pytest.approx([75.0, 18.75, 18.75 / 4])
    walls = [e.wall_hours for e in estimates]
    assert walls == sorted(walls, reverse=True)
    # without run overhead, tasks x hours is constant: the renderer bills the same task-hours
    bare = [estimate(render, model(max_tasks=t, run_overhead_s=0.0)) for t in (1, 4, 16)]
    assert {round(e.renderer_usd, 9) for e in bare} == {15.0}


def test_the_model_round_trips_through_json_and_refuses_unknown_sizes() -> None:
    original = model(warehouse_size="LARGE")
    assert CapacityModel.from_json(original.to_json()) == original
    assert original.size_multiplier == 8
    with pytest.raises(ValueError, match="no credits per hour"):
        original.with_capacity(warehouse_size="MEDIUM")
    with pytest.raises(ValueError, match="missing"):
        CapacityModel.from_json('{"extract_step": "x"}')
    with pytest.raises(ValueError, match="min_tasks"):
        model(min_tasks=5)


def test_lines_name_every_figure_a_cli_prints() -> None:
    labels = dict(estimate(JOB, model()).lines())
    assert labels["files"] == "3,600,000"
    assert labels["wall time"] == "48.8 h"
    assert labels["bounded runs"].startswith("300 ")
    assert labels["total cost"] == "$160.26"
    assert labels["measured per-file figures"] == "by hand"
    assert {"bytes to read", "extraction CPU-hours", "render CPU-hours"} <= labels.keys()


def test_fixed_seconds_per_file_add_to_each_step_one_after_the_other() -> None:
    plain = estimate(JOB, model())
    fixed = estimate(JOB, model(extract_fixed_s_per_file=0.005, render_fixed_s_per_file=0.002))
    # not divided by the slots or the renderer's vCPU: 3.6M x 5 ms = 5 h, 3.6M x 2 ms = 2 h
    assert fixed.extract_wall_hours == pytest.approx(plain.extract_wall_hours + 5.0)
    assert fixed.render_wall_hours == pytest.approx(plain.render_wall_hours + 2.0)
    assert fixed.fixed_hours == pytest.approx(7.0) and plain.fixed_hours == 0
    # CPU is CPU: unchanged
    assert fixed.extract_cpu_hours == plain.extract_cpu_hours
    # runs: extraction is the longer step, (25 + 5) h = 108,000 s in 300 s budgets = 360 runs
    # of (108,000 + 74,700) / 360 + 60 = 567.5 s, back to back
    assert fixed.runs == 360
    assert fixed.wall_hours == pytest.approx(360 * 567.5 / 3600)
    # the warehouse bills the steps' time, fixed seconds included: 51.75 h x 0.9 x $3
    assert fixed.warehouse_usd == pytest.approx((30.0 + 20.75) * 0.9 * 3.0)
    # a step the job does not run adds none
    render_only = dataclasses.replace(JOB, steps=frozenset({RENDER}))
    assert estimate(render_only, model(extract_fixed_s_per_file=0.005)).fixed_hours == 0
    labels = dict(fixed.lines())
    assert labels["of which fixed per file"] == "7.0 h (5 + 2 ms a file)"


def test_small_files_are_bound_by_the_fixed_seconds_not_cpu() -> None:
    # 1,000 files of 500 bytes on one slot: CPU 0.01 s a file, fixed 0.04 s
    tiny = JobSize(1_000, 500_000, BOTH)
    local = model(xs_warehouse_vcpu=1, parallel_efficiency=1.0, extract_fixed_s_per_file=0.04)
    found = estimate(tiny, local)
    assert found.extract_wall_hours * 3600 == pytest.approx(1_000 * (0.01 + 0.000001) + 40.0)
    with pytest.raises(ValueError, match="not negative"):
        model(render_fixed_s_per_file=-0.001)


def test_a_run_takes_at_least_one_whole_batch() -> None:
    # 1,000 tiny files on one slot at 0.05 s each (fixed 0.04 + CPU 0.01), extraction only, a
    # 20 s budget: a 500-row batch takes 25 s, past the budget, so a run takes one batch
    # (not 20 s of one): 2 runs, not ceil(50 / 20) = 3
    tiny = JobSize(1_000, 1_000, frozenset({EXTRACT}))
    local = model(xs_warehouse_vcpu=1, parallel_efficiency=1.0, extract_cpu_s_per_mb=0.0,
                  extract_fixed_s_per_file=0.04, step_budget_s=20.0)  # fmt: skip
    assert estimate(tiny, local).runs == 2
    # batches shorter than the budget: the budget's worth a run (100-row batches of 5 s)
    assert estimate(tiny, model(**{**local.__dict__, "extract_batch_rows": 100})).runs == 3
    # fewer files than a batch: one run however long
    assert estimate(JobSize(300, 300, frozenset({EXTRACT})), local).runs == 1
    # the longer of the two steps' counts: 720-row render statements of 0.1 s a file (72 s)
    both = model(**{**local.__dict__, "render_cpu_s_per_file": 0.1, "render_cpu_derate": 1.0,
                    "task_vcpu": 1.0, "workers_per_task": 1, "max_tasks": 1,
                    "render_statement_rows": 720})  # fmt: skip
    assert both.render_vcpu_in_use == 1
    assert estimate(dataclasses.replace(tiny, steps=BOTH), both).runs == 2  # ceil(100 s / 72 s)
