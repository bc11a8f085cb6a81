"""Part 1: in-process prefetch path, heavy and typical patient, against ``json.loads`` of the same body.

Two ways of calling, timed in the same rounds as ``json.loads`` (so they share the machine's conditions):
``flask`` = the Flask app with a freshly minted ES384 token, JWT verification and the SQLite database on
(replay-cache insert + card records, as in production); ``pipeline`` = ``cds.pipeline.run_patient_view``
on an already parsed request (no HTTP, no auth, no database). ``json.loads`` is timed with the garbage collector
paused (the parse alone; otherwise a collection owed by the previous call lands in it at random). Then a split
of the pipeline into its stages.

The service remembers validation verdicts by content digest across calls (cds/normalise/validation.py: the
same hospital's codes, units, ranges and dates recur), so a patient sent again costs less than one never seen.
``typical, cold`` empties that memo before every call: the figure for the first patient a worker ever sees
(an upper bound: a new patient from the same hospital still finds its codes, units and ranges remembered).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import time
from typing import Any

from bench.common import Context, Figure
from bench.patients import heavy_patient, resource_count, typical_patient
from bench.service import HOOK_PATH, inprocess_app, service_config
from bench.stats import GcMeter, Measured, Timing, interleaved

PART = "1 in-process prefetch"
LOCAL_AUD = "http://localhost" + HOOK_PATH


def run(ctx: Context) -> None:
    ctx.heading(f"Part {PART}: JWT + database on, Flask test client and run_patient_view")
    config = service_config(ctx.workdir, ctx.signer)
    app = inprocess_app(config, ctx.catalogue)
    client = app.test_client()
    cases = (
        ("heavy", heavy_patient(ctx.today), ctx.reps(30, 8), 100.0, 5.0, False),
        ("typical", typical_patient(ctx.today), ctx.reps(200, 30), 10.0, None, False),
        ("typical, cold", typical_patient(ctx.today), ctx.reps(100, 20), 10.0, None, True),
    )
    for label, builder, reps, target_ms, target_ratio, cold in cases:
        counts = resource_count(builder)
        body = json.dumps(builder.hook_request()).encode()
        ctx.say(
            f"{label} patient: {sum(counts.values())} resources {counts}, request body {len(body) / 1e6:.2f} MB"
        )
        with GcMeter() as gc_meter:
            timings, failures = _measure(ctx, client, config, body, reps, cold=cold)
        parse, flask, pipe = timings["json.loads"], timings["flask"], timings["pipeline"]
        ctx.say(f"json.loads {parse.short()}")
        ctx.say(f"flask      {flask.short()}")
        ctx.say(f"pipeline   {pipe.short()}")
        for clock, f_t, p_t, j_t in (
            ("wall", flask.wall, pipe.wall, parse.wall),
            ("CPU", flask.cpu, pipe.cpu, parse.cpu),
        ):
            _report_clock(ctx, label, clock, f_t, p_t, j_t, target_ms, target_ratio)
        ctx.report(Figure(PART, f"{label}: non-200 answers", failures, "", "0", failures == 0))
        rounds = reps + 2  # with the warm-up rounds
        ctx.report(
            Figure(
                PART,
                f"{label}: garbage-collector time per round (json.loads + Flask + pipeline)",
                gc_meter.total_s * 1000 / rounds,
                "ms",
                note=f"{gc_meter.collections / rounds:.0f} collections per round",
            )
        )
        stage_reps = ctx.reps(10, 3) if label == "heavy" else ctx.reps(50, 10)
        stages = _stages(ctx, config, body, stage_reps, cold=cold)
        ctx.say("stages (CPU median ms): " + ", ".join(f"{k} {v.median:.1f}" for k, v in stages.items()))
        ctx.tables[f"stages-{label}"] = [
            {"stage": k, "median_ms": v.median, "p99_ms": v.p99} for k, v in stages.items()
        ]


def _report_clock(
    ctx: Context,
    label: str,
    clock: str,
    flask: Timing,
    pipe: Timing,
    parse: Timing,
    target_ms: float,
    target_ratio: float | None,
) -> None:
    """The figures of one clock: wall time (what a client waits) or thread CPU time (what the call costs;
    on an idle machine wall = CPU + the two fsync waits of the database writes)."""
    ctx.report(
        Figure(
            PART,
            f"{label}: hook call via Flask (JWT+DB), {clock} median",
            flask.median,
            "ms",
            f"< {target_ms:.0f} ms",
            flask.median < target_ms,
            f"p99 {flask.p99:.1f} ms, n={flask.n}",
        )
    )
    ctx.report(
        Figure(
            PART,
            f"{label}: run_patient_view, {clock} median",
            pipe.median,
            "ms",
            f"< {target_ms:.0f} ms",
            pipe.median < target_ms,
            f"p99 {pipe.p99:.1f} ms",
        )
    )
    ratio = flask.median / parse.median
    ctx.report(
        Figure(
            PART,
            f"{label}: Flask median / json.loads median ({clock})",
            ratio,
            "x",
            f"<= {target_ratio:.0f}x" if target_ratio else "",
            (ratio <= target_ratio) if target_ratio else None,
            f"json.loads {parse.median:.2f} ms; run_patient_view / json.loads = {pipe.median / parse.median:.1f}x",
        )
    )


def _measure(
    ctx: Context, client: Any, config: Any, body: bytes, reps: int, cold: bool = False
) -> tuple[dict[str, Measured], int]:
    """``cold``: the validation memo is emptied at the start of each timed Flask / pipeline call (inside the
    timing: clearing a few thousand entries costs well under 0.1 ms)."""
    from cds.normalise.validation import MEMO
    from cds.pipeline import run_patient_view

    state: dict[str, Any] = {"failures": 0}

    def prepare() -> None:
        state["token"] = ctx.signer.token(LOCAL_AUD)
        state["request"] = json.loads(body)
        state["now"] = dt.datetime.now(dt.UTC)

    def via_flask() -> None:
        if cold:
            MEMO.clear()
        response = client.post(
            HOOK_PATH,
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {state['token']}"},
        )
        if response.status_code != 200:
            state["failures"] += 1

    def via_pipeline() -> None:
        if cold:
            MEMO.clear()
        run_patient_view(state["request"], ctx.catalogue, config, state["now"])

    def parse() -> None:
        # The reference is the parse itself: with the collector paused, so that a collection triggered by
        # (and paid for) whatever ran before does not land here. The hook calls run with it on.
        gc.disable()
        try:
            json.loads(body)
        finally:
            gc.enable()

    timings = interleaved(
        {"json.loads": parse, "flask": via_flask, "pipeline": via_pipeline}, reps, prepare=prepare
    )
    return timings, state["failures"]


def _stages(ctx: Context, config: Any, body: bytes, reps: int, cold: bool = False) -> dict[str, Timing]:
    """gather / build_facts / evaluate (all trials) / render_cards, each timed separately (thread CPU time);
    ``cold``: the validation memo emptied before each round."""
    from zoneinfo import ZoneInfo

    from cds.cards import render_cards
    from cds.engine import evaluate_trials
    from cds.gather import gather
    from cds.normalise import build_facts
    from cds.normalise.validation import MEMO

    cat = ctx.catalogue
    names = ("gather", "build_facts", "evaluate", "render_cards")
    samples: dict[str, list[float]] = {n: [] for n in names}
    for round_no in range(reps + 1):
        request = json.loads(body)
        day = dt.datetime.now(dt.UTC).astimezone(ZoneInfo(config.timezone)).date()
        if cold:
            MEMO.clear()
        t0 = time.thread_time()
        raw = gather(request, config)
        t1 = time.thread_time()
        facts = build_facts(raw, day, cat.mappings, config)
        t2 = time.thread_time()
        results = list(
            evaluate_trials(cat.trials, facts, config, cat.definitions_version, mappings=cat.mappings)
        )
        t3 = time.thread_time()
        render_cards(results, cat.trials, facts, config)
        t4 = time.thread_time()
        if round_no:
            for name, elapsed in zip(names, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                samples[name].append(elapsed)
        # Freed here, outside the timed stages: otherwise the next round's ``raw = gather(...)`` frees this
        # round's tree inside gather's time (about 7 ms of the heavy patient's "gather").
        del request, raw, facts, results
    return {n: Timing.of(v) for n, v in samples.items()}
