"""Part 4: growth. Cost of one hook call (``run_patient_view`` on a parsed prefetch request) as the number
of trials (5, 50, 500: copies of the real trial definitions with new ids, built in memory) and the number of
resources per patient (100, 1,000, 10,000 in the heavy patient's proportions) grow.

"At most linear" is judged per step: cost ratio / size ratio <= 1.25 (fixed costs make small sizes dearer
per unit, so a linear cost shows a falling per-unit cost). Times are thread CPU time (robust against other
processes on the machine), wall time is shown next to them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from typing import Any

from bench.common import Context, Figure
from bench.patients import scaled_patient, typical_patient
from bench.stats import Timing

PART = "4 growth"
LINEAR_SLACK = 1.25


def _time_call(request_json: str, catalogue: Any, config: Any, reps: int) -> tuple[Timing, Timing]:
    from cds.pipeline import run_patient_view

    wall, cpu = [], []
    for round_no in range(reps + 1):
        request = json.loads(request_json)
        now = dt.datetime.now(dt.UTC)
        c0, w0 = time.thread_time(), time.perf_counter()
        run_patient_view(request, catalogue, config, now)
        w1, c1 = time.perf_counter(), time.thread_time()
        if round_no:
            wall.append(w1 - w0)
            cpu.append(c1 - c0)
    return Timing.of(cpu), Timing.of(wall)


def many_trials(catalogue: Any, n: int) -> Any:
    """A catalogue of ``n`` trials: the real ones, then copies with ids NCT9xxxxxxx."""
    from cds.pipeline import Catalogue

    base = catalogue.trials
    trials = []
    for i in range(n):
        original = base[i % len(base)]
        if i < len(base):
            trials.append(original)
            continue
        new_id = f"NCT9{i:07d}"
        trials.append(dataclasses.replace(original, id=new_id, raw={**original.raw, "id": new_id}))
    return Catalogue(
        trials=tuple(trials), mappings=catalogue.mappings, definitions_version=catalogue.definitions_version
    )


def _table(ctx: Context, title: str, unit: str, rows: list[tuple[int, Timing, Timing]]) -> None:
    ctx.say(f"{title}:")
    ctx.say(
        f"  {unit:>10} | CPU median ms | wall median ms | CPU per {unit[:-1]} ms | step cost ratio / size ratio"
    )
    prev = None
    worst = 0.0
    table = []
    for size, cpu, wall in rows:
        step = ""
        if prev is not None:
            factor = (cpu.median / prev[1].median) / (size / prev[0])
            worst = max(worst, factor)
            step = f"{factor:.2f}"
        ctx.say(
            f"  {size:>10} | {cpu.median:13.1f} | {wall.median:14.1f} | {cpu.median / size:14.3f} | {step}"
        )
        table.append(
            {
                unit: size,
                "cpu_median_ms": cpu.median,
                "wall_median_ms": wall.median,
                "cpu_per_unit_ms": cpu.median / size,
            }
        )
        prev = (size, cpu)
    ctx.tables[title] = table
    ctx.report(
        Figure(
            PART,
            f"{title}: largest step (cost ratio / size ratio)",
            worst,
            "",
            f"<= {LINEAR_SLACK} = at most linear",
            worst <= LINEAR_SLACK,
        )
    )


def run(ctx: Context) -> None:
    from bench.service import service_config

    ctx.heading(f"Part {PART}: trials and resources per patient")
    config = service_config(ctx.workdir, ctx.signer)
    request_json = json.dumps(typical_patient(ctx.today).hook_request())
    rows = []
    for n, reps in ((5, ctx.reps(20, 5)), (50, ctx.reps(8, 2)), (500, ctx.reps(3, 1))):
        cpu, wall = _time_call(request_json, many_trials(ctx.catalogue, n), config, reps)
        rows.append((n, cpu, wall))
    _table(ctx, "trials (typical patient)", "trials", rows)
    rows = []
    for n, reps in ((100, ctx.reps(20, 5)), (1000, ctx.reps(8, 3)), (10000, ctx.reps(4, 1))):
        started = time.perf_counter()
        request_json = json.dumps(scaled_patient(n, ctx.today).hook_request())
        built = time.perf_counter() - started
        cpu, wall = _time_call(request_json, ctx.catalogue, config, reps)
        ctx.say(f"{n} resources: request {len(request_json) / 1e6:.2f} MB (built in {built:.1f} s)")
        rows.append((n, cpu, wall))
    _table(ctx, "resources per patient (5 trials)", "resources", rows)
